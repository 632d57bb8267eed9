"""The burst preamble of the over-the-air PHY (../shared/research/ota.md section 5).

256 unit-power symbols, the average power of the Gray QAM payload:
- A: 16 repetitions of an 8-symbol Chu sequence (128 symbols). Its lag-8 correlation is
  blind to the carrier offset and its phase gives the offset over +/- Rs/16.
- B: a 128-symbol Chu sequence of another root, not periodic, which fixes the timing that
  A leaves ambiguous by 8 symbols, and with A trains gain, phase, equaliser and N0.

This is the numpy reference the C++ kernels are tested against.
"""

import math

import numpy as np

A_PERIOD = 8
A_REPEATS = 16
B_LENGTH = 128
A_ROOT = 1
B_ROOT = 3


def chu(length, root):
    """The Chu (even-length Zadoff-Chu) sequence exp(-j pi root n^2 / length): unit
    modulus, zero periodic autocorrelation at every nonzero lag when gcd(root, length) = 1."""
    if length < 2 or length % 2:
        raise ValueError(f"a Chu sequence needs an even length >= 2, got {length}")
    if math.gcd(root, length) != 1:
        raise ValueError(f"root {root} shares a factor with the length {length}")
    n = np.arange(length, dtype=np.float64)
    return np.exp(-1j * math.pi * root * n * n / length)


def part_a():
    """A: the 8-symbol Chu sequence 16 times (128 symbols)."""
    return np.tile(chu(A_PERIOD, A_ROOT), A_REPEATS)


def part_b():
    """B: one 128-symbol Chu sequence."""
    return chu(B_LENGTH, B_ROOT)


def preamble():
    """A then B: 256 complex128 symbols of unit power."""
    return np.concatenate([part_a(), part_b()])


PREAMBLE_LENGTH = A_PERIOD * A_REPEATS + B_LENGTH
