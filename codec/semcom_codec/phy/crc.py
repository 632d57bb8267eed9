"""CRC-16/CCITT-FALSE, the check of every header gr-semcom sends (in-band frame header,
over-the-air burst header), and the Galois LFSR behind their fixed sequences."""

import struct

import numpy as np


def crc16(data):
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of bytes."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def sealed(body):
    """``body`` followed by its CRC-16 (big-endian)."""
    return bytes(body) + struct.pack(">H", crc16(body))


def opened(data):
    """The body of sealed ``data``, or None when its CRC-16 does not match."""
    body, (crc,) = data[:-2], struct.unpack(">H", data[-2:])
    return body if crc16(body) == crc else None


def lfsr_bits(count, taps, seed):
    """``count`` bits (uint8) of a Galois LFSR shifting right with feedback mask
    ``taps`` from state ``seed``: a fixed pseudo-random sequence."""
    state, out = seed, np.empty(count, dtype=np.uint8)
    for i in range(count):
        bit = state & 1
        state >>= 1
        if bit:
            state ^= taps
        out[i] = bit
    return out
