"""Evaluations: the model card (semcom evaluate) and the comparison (semcom eval)."""
