"""PSNR of 8-bit images, the fidelity figure every table of gr-semcom reports."""

import numpy as np

from ..images import to_uint8


def psnr(reference, test):
    """PSNR in dB of 8-bit-quantised images given as floats in 0..1."""
    a = to_uint8(reference).astype(np.float64)
    b = to_uint8(test).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0 ** 2 / mse))
