"""The over-the-air transmitter: an image frame's header and payload indices in, shaped
complex baseband bursts out (numpy reference of the GNU Radio burst transmitter)."""

from typing import NamedTuple

import numpy as np

from . import burst_format as fmt
from . import pulse


class Burst(NamedTuple):
    header: fmt.BurstHeader
    samples: np.ndarray   # complex64, the filter's rise and fall included


class BurstModulator:
    """Cuts an image's payload into bursts of at most MAX_PAYLOAD symbols and shapes each
    with the root-raised cosine (``rolloff``, ``sps`` samples per symbol). Mean power
    during a burst is 1 less ``backoff_db``."""

    def __init__(self, *, order=8, sps=pulse.DEFAULT_SPS, rolloff=pulse.DEFAULT_ROLLOFF,
                 backoff_db=0.0):
        self.sps, self.rolloff, _ = pulse.check_shaping(sps, rolloff)
        if order not in fmt.ORDERS:
            raise ValueError(f"order must be one of {fmt.ORDERS}, got {order!r}")
        if not 0.0 <= float(backoff_db) <= 60.0:
            raise ValueError(f"the back-off must be 0..60 dB, got {backoff_db!r}")
        self.order = int(order)
        self.amplitude = 10.0 ** (-float(backoff_db) / 20.0)

    def longest_burst(self):
        """Samples of a full burst, the filter's rise and fall included."""
        return (fmt.Layout(fmt.MAX_PAYLOAD).total + 2 * pulse.SPAN) * self.sps + 1

    def bursts(self, info, indices):
        """The bursts of one image: ``info`` its frame header bytes (INFO_BYTES), the
        payload ``indices`` in frame order (an odd count is completed with 0, as the
        in-band frame does)."""
        indices = np.asarray(indices, dtype=np.int64).ravel()
        if indices.size == 0:
            raise ValueError("an image needs at least one payload index")
        if indices.size % 2:
            indices = np.append(indices, 0)
        out = []
        for burst, first in enumerate(range(0, indices.size // 2, fmt.MAX_PAYLOAD)):
            part = indices[2 * first:2 * (first + fmt.MAX_PAYLOAD)]
            header = fmt.BurstHeader(self.order, burst, part.size // 2, bytes(info))
            symbols = fmt.payload_symbols(part, self.order)
            out.append(Burst(header, self.shape(fmt.burst_symbols(header, symbols))))
        return out

    def shape(self, symbols):
        samples = pulse.shape(symbols, self.sps, self.rolloff) * self.amplitude
        return samples.astype(np.complex64)


def stream(bursts, gap, lead=0):
    """Bursts back to back with ``gap`` zero samples between them (``lead`` before the
    first): the continuous stream of a radio that cannot send bursts."""
    parts = [np.zeros(int(lead), np.complex64)]
    for burst in bursts:
        parts += [np.asarray(burst.samples, np.complex64), np.zeros(int(gap), np.complex64)]
    return np.concatenate(parts)
