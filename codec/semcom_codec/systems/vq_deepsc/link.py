"""The VQ-DeepSC link: index maps -> bits -> (5G NR LDPC) -> Gray QAM index pairs, and back.

Bits: each index in natural binary, most significant bit first (the convention of the
VQ-DeepSC group's public code), scales coarse to fine, each map row-major. Coded links
put the bits through the BG1 code (fec.nr_ldpc) and the coded bits two at a time onto
one axis of Gray 16-QAM (an order-4 index per axis, two per symbol: the mapper's Gray
labelling makes 16-QAM's Gray map); the uncoded link packs the bits three at a time as
order-8 indices on the 64-QAM of MOC-RVQ.

A link configuration says which scales go on the air and how many channel symbols they
fill: the paper's (every scale, LDPC rate 1/3, 16-QAM) or one matched to a channel
bandwidth ratio, whose code rate is set by the symbols MOC-RVQ sends at that CBR.
"""

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

import numpy as np

from ...fec.nr_ldpc import NrLdpcLink

MOTHER_RATE = Fraction(1, 3)
# A coded configuration refuses code rates above this: BG1 punctured further decodes
# at no SNR worth sending at.
MAX_CODE_RATE = 0.93


@dataclass(frozen=True)
class LinkConfig:
    """One way of sending a model's indices.

    scales  the scales sent (1 = finest), in air order; the others the receiver fills
            with their codebook means (a decoder trained for that is needed)
    coded   BG1 LDPC, else uncoded bits
    order   indices per QAM axis: 4 (16-QAM) or 8 (64-QAM)
    cbr     coded: the channel bandwidth ratio to fill, the symbols MOC-RVQ sends at
            that CBR (L / 96 on an f = 8 grid); None: the mother rate 1/3
    """

    name: str
    scales: tuple
    coded: bool = True
    order: int = 4
    cbr: Optional[Fraction] = None

    @property
    def bits_per_index(self):
        return int(math.log2(self.order))


# rate knob -> configuration of a coded codec: 1 the paper's, 2 and 4 matched to the
# CBRs of MOC-RVQ's L2 (1/48) and L4 (1/24).
CODED_LINKS = {
    1: LinkConfig("paper: 4 scales, LDPC 1/3, 16-QAM", (4, 3, 2, 1)),
    2: LinkConfig("CBR 1/48: scales 4-2, LDPC, 16-QAM", (4, 3, 2), cbr=Fraction(1, 48)),
    4: LinkConfig("CBR 1/24: scales 4-2, LDPC, 16-QAM", (4, 3, 2), cbr=Fraction(1, 24)),
}
# the uncoded codec: the scales that fit MOC-RVQ's budget uncoded, on its Gray 64-QAM
UNCODED_LINKS = {
    1: LinkConfig("uncoded: scales 4-2, 64-QAM", (4, 3, 2), coded=False, order=8),
}


def map_sizes(height, width, scales):
    """(h, w) of each scale's index map (scale k: 1 / 2^k of the image padded to a
    multiple of 2^scales)."""
    factor = 2 ** scales
    hp, wp = -(-height // factor) * factor, -(-width // factor) * factor
    return [(hp >> k, wp >> k) for k in range(1, scales + 1)]


def budget_symbols(height, width, cbr):
    """Channel symbols MOC-RVQ sends at ``cbr`` for this image: CBR x 3 values per pixel
    of the image padded to whole 8 x 8 blocks."""
    blocks = -(-height // 8) * -(-width // 8)
    symbols = Fraction(cbr) * 3 * 64 * blocks
    if symbols.denominator != 1:
        raise ValueError(f"CBR {cbr} gives no whole number of symbols per 8 x 8 block")
    return int(symbols)


def indices_to_bits(maps, entries, scales):
    """uint8 bits, MSB first, of the index maps (finest first, one per scale) of the
    ``scales`` sent, in that order."""
    out = []
    for s in scales:
        width = int(math.log2(entries[s - 1]))
        values = np.asarray(maps[s - 1], dtype=np.uint16).ravel()
        shifts = np.arange(width - 1, -1, -1, dtype=np.uint16)
        out.append(((values[:, None] >> shifts) & 1).astype(np.uint8).ravel())
    return np.concatenate(out) if out else np.zeros(0, np.uint8)


def bits_to_indices(bits, entries, scales, sizes):
    """Index maps {scale: uint8 [h, w]} of the bits ``indices_to_bits`` wrote."""
    maps, start = {}, 0
    for s in scales:
        width = int(math.log2(entries[s - 1]))
        h, w = sizes[s - 1]
        chunk = np.asarray(bits[start:start + h * w * width], dtype=np.uint16)
        start += h * w * width
        weights = 1 << np.arange(width - 1, -1, -1, dtype=np.uint16)
        maps[s] = (chunk.reshape(h * w, width) * weights).sum(1).astype(np.uint8).reshape(h, w)
    return maps


def message_bits(entries, sizes, scales):
    return sum(int(math.log2(entries[s - 1])) * sizes[s - 1][0] * sizes[s - 1][1]
               for s in scales)


class LinkLayout:
    """The bits and channel entries one image takes on a link configuration."""

    def __init__(self, link, entries, height, width):
        self.link = link
        self.sizes = map_sizes(height, width, len(entries))
        self.message = message_bits(entries, self.sizes, link.scales)
        width_bits = link.bits_per_index
        if link.coded:
            if link.cbr is None:
                coded = math.ceil(self.message / MOTHER_RATE)
            else:
                coded = budget_symbols(height, width, link.cbr) * 2 * width_bits
            # whole QAM symbols: two indices of width_bits bits each
            coded = -(-coded // (2 * width_bits)) * 2 * width_bits
            if self.message / coded > MAX_CODE_RATE:
                raise ValueError(
                    f"{link.name}: {self.message} bits in {coded} coded bits is a code rate "
                    f"of {self.message / coded:.2f}, above {MAX_CODE_RATE}")
            self.coded_bits = coded
            self.ldpc = NrLdpcLink(self.message, coded)
        else:
            self.coded_bits = -(-self.message // (2 * width_bits)) * 2 * width_bits
            self.ldpc = None
        self.length = self.coded_bits // width_bits   # indices on the air

    def to_indices(self, bits):
        """Message bits -> air indices (uint8, order of the link)."""
        if self.ldpc is not None:
            air = self.ldpc.encode(bits)
        else:
            air = np.zeros(self.coded_bits, np.uint8)
            air[:bits.size] = bits
        w = self.link.bits_per_index
        weights = 1 << np.arange(w - 1, -1, -1)
        return (air.reshape(-1, w) * weights).sum(1).astype(np.uint8)

    def to_bits(self, llrs, max_iterations=50):
        """Air bit LLRs [coded_bits] -> (message bits, codewords that met every check;
        None uncoded)."""
        if self.ldpc is not None:
            return self.ldpc.decode(llrs, max_iterations)
        return (np.asarray(llrs[:self.message]) < 0).astype(np.uint8), None


def posterior_bit_llrs(posteriors):
    """Exact bit LLRs log P(0) / P(1), MSB first, of per-index posteriors [n, N]
    over natural-binary labels: [n * log2 N]."""
    p = np.asarray(posteriors, dtype=np.float64)
    order = p.shape[1]
    width = int(math.log2(order))
    labels = np.arange(order)
    out = np.empty((p.shape[0], width))
    for j in range(width):
        one = ((labels >> (width - 1 - j)) & 1).astype(bool)
        p1 = p[:, one].sum(1)
        p0 = p[:, ~one].sum(1)
        out[:, j] = np.log(np.maximum(p0, 1e-300)) - np.log(np.maximum(p1, 1e-300))
    return out.ravel()
