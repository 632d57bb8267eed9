"""The contract between a codec system and the radio (GNU Radio blocks) or the evaluation.

A codec turns one image into a payload, the radio carries the payload, and the codec
turns what was received back into an image. Payloads are either digital indices (each
in 0..order-1, sent two per QAM symbol: the I and the Q index, on Gray-mapped
order^2-QAM) or analog complex symbols (unit mean power, Es = 1). The blocks read the
payload's kind and size from the codec and never look inside a system.
"""

import abc
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar, Optional, Union

import numpy as np

INDICES, SYMBOLS = "indices", "symbols"


@dataclass(frozen=True)
class PayloadSpec:
    """What one image occupies on the air.

    kind     "indices" (digital) or "symbols" (analog complex)
    length   indices, or complex symbols
    order    digital: values per index (8: two indices per 64-QAM symbol); analog: 0
    minimum  leading entries a truncated frame needs to be decoded at all (MOC-RVQ: its
             first level); a frame cut before them is dropped
    mode     digital, optional: the phy.modes.Mode that puts each level of ``minimum``
             entries on its own index constellation (None: two indices per QAM symbol)
    """

    kind: str
    length: int
    order: int = 0
    minimum: int = 1
    mode: object = None

    def __post_init__(self):
        if self.kind not in (INDICES, SYMBOLS):
            raise ValueError(f"payload kind must be {INDICES!r} or {SYMBOLS!r}, got {self.kind!r}")
        if self.kind == INDICES and self.order < 2:
            raise ValueError(f"a digital payload needs an index order of 2 or more, got {self.order}")
        if not 1 <= self.minimum <= max(self.length, 1):
            raise ValueError(f"minimum {self.minimum} outside 1..{self.length}")

    @property
    def channel_symbols(self):
        """Complex channel uses of the payload (indices go two per symbol, or as the
        mode puts them)."""
        if self.mode is not None:
            return self.mode.symbols_for(self.minimum)
        return (self.length + 1) // 2 if self.kind == INDICES else self.length

    def entry_symbols(self):
        """(first, last) int arrays [length]: the channel symbols each entry rides on."""
        entries = np.arange(self.length)
        if self.kind == SYMBOLS:
            return entries, entries
        if self.mode is None:
            return entries // 2, entries // 2
        return self.mode.entry_symbols(self.minimum)

    def entries_in(self, symbols):
        """Payload entries carried whole by the first ``symbols`` channel symbols."""
        if self.mode is not None:
            return int(np.searchsorted(self.entry_symbols()[1], symbols))
        if self.kind == INDICES:
            return min(2 * symbols, self.length)
        return min(symbols, self.length)

    def lost_entries(self, lost, count):
        """bool [count]: the first ``count`` entries that ride on a lost channel symbol
        (``lost``: bool per symbol, or None), or None when none is lost."""
        if lost is None:
            return None
        lost = np.asarray(lost, dtype=bool)
        if not lost.any():
            return None
        padded = np.concatenate([lost, np.zeros(self.channel_symbols, dtype=bool)])
        first, last = self.entry_symbols()
        out = padded[first[:count]] | padded[last[:count]]
        return out if out.any() else None


@dataclass
class Received:
    """What the receiver hands a codec for one image.

    values     digital: uint8 [arrived] hard decisions, or float32 [arrived, order]
               posteriors p(index | received); analog: complex64 [arrived] equalised
               symbols. Entries past ``arrived`` did not arrive (a truncated frame).
    noise_var  N0 of the channel symbols the values came from: a float, float32
               [symbols] per symbol (after equalisation: N0 / |h|^2), or None (unknown)
    lost       bool [symbols] or None: channel symbols that never arrived (a burst lost
               on the air); their values are placeholders and carry nothing
    """

    values: np.ndarray
    noise_var: Union[float, np.ndarray, None] = None
    lost: Optional[np.ndarray] = None

    def lost_entries(self, per_symbol, count):
        """bool [count]: the payload entries carried by lost symbols (``per_symbol``
        entries per channel symbol), or None when nothing was lost."""
        if self.lost is None:
            return None
        lost = np.repeat(np.asarray(self.lost, dtype=bool), per_symbol)[:count]
        if not lost.any():
            return None
        return np.concatenate([lost, np.zeros(count - len(lost), dtype=bool)])

    def esn0_db(self):
        """Es/N0 in dB the values were received at (unit-power symbols), None if
        unknown: 1 / N0, or with per-symbol N0 the mean of 1 / N0 over the symbols
        that arrived."""
        if self.noise_var is None:
            return None
        n0 = np.asarray(self.noise_var, dtype=np.float64)
        if n0.ndim and self.lost is not None:
            arrived = ~np.asarray(self.lost, dtype=bool)[:n0.size]
            n0 = n0[:arrived.size][arrived]
        if n0.size == 0:
            return None
        inverse = float(np.mean(1.0 / np.maximum(n0, 1e-30)))
        return 10.0 * math.log10(max(inverse, 1e-30))


class ImageCodec(abc.ABC):
    """One trained codec of a registered system, ready to encode and decode images.

    ``identity`` is 32 bits of the weight file's SHA-256, carried in frame headers so
    that a receiver refuses frames of another codec; ``rates`` are the values of the
    rate knob (MOC-RVQ: levels; an analog codec of one bandwidth ratio: (1,)).
    """

    system: ClassVar[str]
    kind: ClassVar[str]

    def __init__(self, *, name, identity, rates, source=""):
        self.name, self.identity, self.rates, self.source = name, identity, tuple(rates), source

    @property
    def default_rate(self):
        return self.rates[-1]

    def check_rate(self, rate):
        """The rate as an int, or ValueError naming the codec's rates."""
        if rate is None:
            return self.default_rate
        if isinstance(rate, bool) or int(rate) != rate or int(rate) not in self.rates:
            raise ValueError(f"{self.system} codec {self.name}: rate must be one of "
                             f"{', '.join(map(str, self.rates))}, got {rate!r}")
        return int(rate)

    def cbr(self, height, width, *, rate=None):
        """Channel bandwidth ratio: complex channel uses per real source value."""
        return Fraction(self.payload(height, width, rate=rate).channel_symbols,
                        3 * height * width)

    @abc.abstractmethod
    def payload(self, height, width, *, rate=None) -> PayloadSpec:
        """The payload of an image of height x width pixels at ``rate``."""

    @abc.abstractmethod
    def encode(self, image, *, rate=None) -> np.ndarray:
        """HWC float image in 0..1 -> uint8 indices in air order, or complex64 symbols
        of unit mean power; length = payload(H, W, rate).length."""

    @abc.abstractmethod
    def decode(self, received: Received, *, height, width, rate=None) -> np.ndarray:
        """What arrived of a payload -> HWC float image in 0..1 of height x width."""

    def describe(self):
        return f"{self.system} {self.name} ({self.kind}, id {self.identity:08x})"


def check_image(image):
    """An HWC float RGB image as float32, or ValueError naming its shape."""
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or min(array.shape[:2]) < 1:
        raise ValueError(f"expected an RGB image [H, W, 3], got shape {array.shape}")
    return np.ascontiguousarray(array, dtype=np.float32)


def check_received(received, spec: PayloadSpec):
    """The received values, checked against the payload they claim to be part of."""
    if not isinstance(received, Received):
        raise TypeError(f"expected a Received, got {type(received).__name__}")
    values = np.asarray(received.values)
    if values.shape[0] > spec.length:
        raise ValueError(f"received {values.shape[0]} entries for a payload of {spec.length}")
    if spec.kind == SYMBOLS:
        if values.ndim != 1:
            raise ValueError(f"analog payload: expected complex symbols [n], got {values.shape}")
    elif values.ndim == 2:
        if values.shape[1] != spec.order:
            raise ValueError(f"posteriors over {values.shape[1]} values for indices of "
                             f"order {spec.order}")
    elif values.ndim != 1:
        raise ValueError(f"digital payload: expected indices [n] or posteriors [n, order], "
                         f"got {values.shape}")
    return values
