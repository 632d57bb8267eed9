"""Layers shared by the codec systems (no system-specific code here)."""
