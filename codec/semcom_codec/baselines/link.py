"""The classical digital link: a bitstream over an 802.11n LDPC code (n = 648) and Gray
BPSK / QPSK / 16-QAM / 64-QAM.

A modulation-and-coding scheme (``Mcs``) fixes both. Bits go into codewords in order (the
last one padded with seeded random bits), codewords onto symbols in order (648 bits fill
a whole number of symbols of every modulation), through a channel realisation, back as
max-log LLRs, and through belief propagation. The bitstream counts as arrived only if
every one of its information bits is right: the evaluation (DESIGN section 4) scores a
bitstream with any residual error as a failed image, since what a JPEG or HEVC decoder
makes of a damaged stream is not a property of the scheme.

The paper's baselines use one scheme, 64-QAM with the rate-1/2 code (``PAPER_MCS``); a
link engineer picks among all of them (``MCS_TABLE``) by SNR.
"""

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from ..fec import ldpc
from ..phy.constellation import bit_llrs, bits_to_indices, map_indices

# modulation -> indices per axis of the square QAM (0: BPSK, one real axis)
MODULATIONS = {"bpsk": 0, "qpsk": 2, "16qam": 4, "64qam": 8}
_LABELS = {"bpsk": "BPSK", "qpsk": "QPSK", "16qam": "16-QAM", "64qam": "64-QAM"}


@dataclass(frozen=True, order=True)
class Mcs:
    """One modulation and code rate of the link."""

    modulation: str = "64qam"
    rate: str = "1/2"

    def __post_init__(self):
        if self.modulation not in MODULATIONS:
            raise ValueError(f"modulation must be one of {', '.join(MODULATIONS)}, "
                             f"not {self.modulation!r}")
        if self.rate not in ldpc.RATES:
            raise ValueError(f"code rate must be one of {', '.join(ldpc.RATES)}, "
                             f"not {self.rate!r}")

    @property
    def code(self):
        return ldpc.wifi_n648(self.rate)

    @property
    def bits_per_symbol(self):
        order = MODULATIONS[self.modulation]
        return 1 if order == 0 else 2 * int(math.log2(order))

    @property
    def efficiency(self):
        """Information bits per channel symbol."""
        return float(Fraction(self.rate)) * self.bits_per_symbol

    @property
    def name(self):
        return f"{self.modulation}-{self.rate.replace('/', '')}"   # e.g. 64qam-12

    @property
    def label(self):
        return f"{_LABELS[self.modulation]} rate {self.rate}"

    @classmethod
    def parse(cls, name):
        """The scheme of a ``name`` such as "16qam-34"."""
        modulation, _, rate = name.partition("-")
        rate = f"{rate[:1]}/{rate[1:]}" if len(rate) == 2 else rate
        return cls(modulation, rate)

    def modulate(self, bits):
        """Unit-power symbols [K] of bits [K * bits_per_symbol] (uint8 numpy)."""
        order = MODULATIONS[self.modulation]
        if order == 0:
            return torch.from_numpy(1.0 - 2.0 * bits.astype(np.float32)).to(torch.complex64)
        return map_indices(bits_to_indices(torch.from_numpy(bits), order), order)

    def llrs(self, received, noise_var):
        """Max-log bit LLRs log P(0)/P(1) [K * bits_per_symbol] of received symbols [K]
        with complex noise variance ``noise_var`` (a float or per symbol)."""
        order = MODULATIONS[self.modulation]
        if order == 0:  # real axis only: its noise variance is N0 / 2
            return (4.0 * received.real.double() / torch.as_tensor(noise_var).double()
                    ).to(torch.float32)
        return bit_llrs(received, noise_var, order)


PAPER_MCS = Mcs("64qam", "1/2")
# every modulation with every rate, by information bits per symbol
MCS_TABLE = tuple(sorted((Mcs(m, r) for m in MODULATIONS for r in ldpc.RATES),
                         key=lambda s: (s.efficiency, MODULATIONS[s.modulation])))


def codewords_for(symbols, mcs=PAPER_MCS):
    """How many whole codewords fit in ``symbols`` channel symbols."""
    return int(symbols) * mcs.bits_per_symbol // mcs.code.n


def payload_bytes_for(symbols, mcs=PAPER_MCS):
    """The largest bitstream (bytes) the coded link carries in ``symbols`` symbols."""
    return codewords_for(symbols, mcs) * mcs.code.k // 8


def capacity_bytes(esn0_db, channel_power):
    """Bytes an ideal code carries: sum over symbols of log2(1 + |h|^2 Es/N0) bits."""
    snr = 10.0 ** (float(esn0_db) / 10.0)
    bits = float(torch.log2(1.0 + channel_power.double() * snr).sum())
    return int(bits // 8)


def send_bitstream(payload, symbols, realisation, esn0_db, seed=0, mcs=PAPER_MCS,
                   chunk=64, max_iterations=50):
    """Whether ``payload`` (bytes) arrives intact over the coded link.

    ``symbols`` is the budget; a payload larger than the link carries raises. Codewords are
    decoded in chunks and the first failed chunk ends the attempt (the image is lost
    anyway). Returns (arrived, symbols used).
    """
    code = mcs.code
    capacity = payload_bytes_for(symbols, mcs)
    if len(payload) > capacity:
        raise ValueError(f"a {len(payload)}-byte bitstream does not fit the {capacity} bytes "
                         f"that {symbols} symbols carry with {mcs.label}")
    bits = np.unpackbits(np.frombuffer(bytes(payload), dtype=np.uint8))
    count = -(-len(bits) // code.k)
    if count == 0:
        return True, 0
    padding = np.random.default_rng(seed).integers(0, 2, count * code.k - len(bits))
    info = np.concatenate([bits, padding.astype(np.uint8)]).reshape(count, code.k)
    per_codeword = code.n // mcs.bits_per_symbol
    for start in range(0, count, chunk):
        block = info[start:start + chunk]
        sent = mcs.modulate(code.encode(block).reshape(-1))
        # Chunks continue the same burst through the same realisation.
        received, n0 = realisation.apply(sent, esn0_db, offset=start * per_codeword)
        llr = mcs.llrs(received, n0).numpy()
        decoded, _, _ = code.decode(llr.reshape(len(block), code.n), max_iterations)
        if not np.array_equal(decoded[:, :code.k], block):
            return False, count * per_codeword
    return True, count * per_codeword
