"""Torch twins of the radio: what the GNU Radio blocks do, differentiable and batched."""
