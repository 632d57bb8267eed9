"""The over-the-air burst: what is sent, symbol by symbol (numpy reference, no GNU Radio).

    preamble   256  16 x Chu-8 + Chu-128 (preamble.py): detection, timing, CFO, gain, N0
    header    1644  28 bytes (version, QAM order, burst index, payload symbols, 20 bytes
                    of the image frame's header, CRC-16) -> the 802.11n n = 648 rate-1/2
                    LDPC code shortened to 224 information bits (548 coded bits), sent
                    three times on BPSK: decodes at Es/N0 -5 dB
    pilots      16  before each payload segment and after the last: known QPSK
    segments   512  up to 16 segments of payload symbols (the last one may be short):
                    Gray QAM as index_mapper, each symbol turned by a known multiple of 90
                    degrees (a square QAM maps onto itself, so the slicer's neighbours stay
                    neighbours, unlike an XOR of the labels)
    postamble  128  Chu-128 of a third root: the timing at the burst's end gives the
                    sample-clock offset

A full burst is 256 + 1644 + 17 x 16 + 8192 + 128 = 10492 symbols (21.9 % overhead). The
header is known to the receiver once its CRC passes, so the receiver estimates the channel
from 2300 known symbols per full burst.
"""

import struct
from dataclasses import dataclass

import numpy as np

from ..fec import ldpc
from . import preamble as pre
from .constellation import ORDERS, label_amplitudes
from .crc import lfsr_bits, opened, sealed

VERSION = 1
SEGMENT = 512
PILOT_LENGTH = 16
MAX_SEGMENTS = 16
MAX_PAYLOAD = SEGMENT * MAX_SEGMENTS
POSTAMBLE_ROOT = 5
INFO_BYTES = 20                      # the opaque image-frame header the burst carries
_FORMAT = ">BBHH"                    # version, order, burst index, payload symbols
HEADER_BYTES = struct.calcsize(_FORMAT) + INFO_BYTES + 2
HEADER_BITS = 8 * HEADER_BYTES       # 224
CODE_RATE = "1/2"
HEADER_REPEATS = 3
_CODE_K = 324
CODED_BITS = HEADER_BITS + (648 - _CODE_K)   # the shortened zeros are not sent: 548
HEADER_SYMBOLS = CODED_BITS * HEADER_REPEATS  # 1644
_PN_TAPS = 0xB8  # x^8 + x^6 + x^5 + x^4 + 1: maximal length 255


def _pn_bits(count, seed):
    """A fixed bit sequence from an 8-bit maximal-length LFSR (period 255)."""
    return lfsr_bits(count, _PN_TAPS, seed)


HEADER_CHIPS = np.exp(1j * np.pi * (0.25 + 0.5 * _pn_bits(HEADER_SYMBOLS, 0x5A)))
_PILOT_PHASES = _pn_bits(2 * PILOT_LENGTH * (MAX_SEGMENTS + 1), 0x2D).reshape(-1, 2)
_TURNS = (_pn_bits(2 * MAX_PAYLOAD, 0x93).reshape(-1, 2) @ np.array([2, 1])).astype(np.int64)


def postamble():
    return pre.chu(pre.B_LENGTH, POSTAMBLE_ROOT)


def pilots(block):
    """The 16 known QPSK symbols of pilot block ``block`` (0 before the first segment)."""
    bits = _PILOT_PHASES[block * PILOT_LENGTH:(block + 1) * PILOT_LENGTH]
    return ((1 - 2.0 * bits[:, 0]) + 1j * (1 - 2.0 * bits[:, 1])) / np.sqrt(2.0)


def turns(count):
    """Quarter turns (0..3) applied to payload symbols 0..count-1 of every burst."""
    return _TURNS[:count]


@dataclass(frozen=True)
class BurstHeader:
    """One burst's header: QAM ``order`` (indices per axis), ``burst`` index within the
    image, ``length`` payload symbols, and ``info``, the image frame's own header bytes,
    so that every burst can be placed in its image whichever others are lost."""

    order: int
    burst: int
    length: int
    info: bytes
    version: int = VERSION

    def __post_init__(self):
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {self.order!r}")
        if not 0 <= self.burst < 1 << 16:
            raise ValueError(f"burst index must be in 0..65535, got {self.burst}")
        if not 1 <= self.length <= MAX_PAYLOAD:
            raise ValueError(f"a burst carries 1..{MAX_PAYLOAD} payload symbols, "
                             f"got {self.length}")
        if len(self.info) != INFO_BYTES:
            raise ValueError(f"info is {INFO_BYTES} bytes, got {len(self.info)}")

    def pack(self):
        return sealed(struct.pack(_FORMAT, self.version, self.order, self.burst,
                                  self.length) + bytes(self.info))

    @classmethod
    def unpack(cls, data):
        """The header in HEADER_BYTES bytes, or None when the CRC or a field is wrong."""
        body = opened(data)
        if body is None:
            return None
        version, order, burst, length = struct.unpack(_FORMAT, body[:6])
        if version != VERSION or order not in ORDERS or not 1 <= length <= MAX_PAYLOAD:
            return None
        return cls(order, burst, length, bytes(body[6:]), version)


def _code():
    return ldpc.wifi_n648(CODE_RATE)


def header_symbols(header):
    """The 1644 BPSK symbols that carry ``header`` (unit power, chip-scrambled)."""
    bits = np.unpackbits(np.frombuffer(header.pack(), dtype=np.uint8))
    info = np.zeros(_CODE_K, dtype=np.uint8)
    info[:HEADER_BITS] = bits
    word = _code().encode(info)[0]
    sent = np.concatenate([word[:HEADER_BITS], word[_CODE_K:]])
    return np.tile(1.0 - 2.0 * sent, HEADER_REPEATS) * HEADER_CHIPS


def decode_header(received, n0):
    """The header from its received symbols (gain and phase removed, noise variance n0
    per complex symbol), or None when the code does not converge or the CRC fails."""
    received = np.asarray(received, dtype=np.complex128)
    if received.shape != (HEADER_SYMBOLS,) or not np.all(np.isfinite(received)):
        return None
    # BPSK on the chip's axis: LLR = 4 Re(y c*) / N0; the three copies add.
    llr = (4.0 * np.real(received * np.conj(HEADER_CHIPS)) / max(float(n0), 1e-12))
    llr = llr.reshape(HEADER_REPEATS, CODED_BITS).sum(axis=0)
    full = np.empty(648, dtype=np.float32)
    full[:HEADER_BITS] = llr[:HEADER_BITS]
    full[HEADER_BITS:_CODE_K] = 1e3  # the shortened bits are known zeros
    full[_CODE_K:] = llr[HEADER_BITS:]
    bits, converged, _ = _code().decode(full[None, :])
    if not converged[0]:
        return None
    return BurstHeader.unpack(np.packbits(bits[0, :HEADER_BITS]).tobytes())


@dataclass(frozen=True)
class Layout:
    """Where each part of a burst with ``length`` payload symbols lies (symbol offsets
    from the first preamble symbol)."""

    length: int

    @property
    def segments(self):
        return -(-self.length // SEGMENT)

    @property
    def header_start(self):
        return pre.PREAMBLE_LENGTH

    def pilot_start(self, block):
        """Block ``b`` < segments precedes segment b; block ``segments`` follows the last."""
        first = pre.PREAMBLE_LENGTH + HEADER_SYMBOLS
        if block < self.segments:
            return first + block * (PILOT_LENGTH + SEGMENT)
        return first + self.segments * PILOT_LENGTH + self.length

    def pilot_positions(self, block):
        return self.pilot_start(block) + np.arange(PILOT_LENGTH)

    @property
    def postamble_start(self):
        return self.pilot_start(self.segments) + PILOT_LENGTH

    @property
    def total(self):
        return self.postamble_start + pre.B_LENGTH

    def payload_positions(self):
        """Symbol offsets of the payload symbols, in order."""
        k = np.arange(self.length)
        return (pre.PREAMBLE_LENGTH + HEADER_SYMBOLS + PILOT_LENGTH
                + (k // SEGMENT) * (SEGMENT + PILOT_LENGTH) + k % SEGMENT)


def payload_symbols(indices, order):
    """Index pairs -> the Gray QAM symbols of index_mapper, then the scrambling turns."""
    indices = np.asarray(indices, dtype=np.int64).ravel()
    if indices.size % 2 or indices.size == 0:
        raise ValueError(f"payload indices come in pairs, got {indices.size}")
    if indices.min() < 0 or indices.max() >= order:
        raise ValueError(f"payload indices must be in 0..{order - 1} for order {order}")
    amplitudes = label_amplitudes(order).numpy().astype(np.float64)
    symbols = amplitudes[indices[0::2]] + 1j * amplitudes[indices[1::2]]
    return symbols * 1j ** turns(symbols.size)


def unscramble(symbols):
    """Undo payload_symbols' turns on received payload symbols (burst order)."""
    symbols = np.asarray(symbols)
    return symbols * (-1j) ** turns(symbols.size)


def burst_symbols(header, payload):
    """The whole burst's symbols: preamble, header, pilots and payload, postamble."""
    payload = np.asarray(payload, dtype=np.complex128)
    if payload.size != header.length:
        raise ValueError(f"header says {header.length} payload symbols, got {payload.size}")
    layout = Layout(header.length)
    out = np.zeros(layout.total, dtype=np.complex128)
    out[:pre.PREAMBLE_LENGTH] = pre.preamble()
    out[layout.header_start:layout.header_start + HEADER_SYMBOLS] = header_symbols(header)
    for block in range(layout.segments + 1):
        out[layout.pilot_positions(block)] = pilots(block)
    out[layout.payload_positions()] = payload
    out[layout.postamble_start:] = postamble()
    return out


def known_symbols(header):
    """(positions, symbols) of everything the receiver knows once ``header`` decoded."""
    layout = Layout(header.length)
    parts = [(np.arange(pre.PREAMBLE_LENGTH), pre.preamble()),
             (layout.header_start + np.arange(HEADER_SYMBOLS), header_symbols(header))]
    parts += [(layout.pilot_positions(b), pilots(b)) for b in range(layout.segments + 1)]
    parts.append((layout.postamble_start + np.arange(pre.B_LENGTH), postamble()))
    return (np.concatenate([p for p, _ in parts]), np.concatenate([s for _, s in parts]))
