"""Burst acquisition at the symbol rate: find the preamble, its carrier offset, gain, phase
and the noise level, from known symbols only (numpy reference of the OTA receiver; the
design is ../shared/research/ota.md section 5).

The detector correlates the samples with the whole preamble under a grid of carrier-offset
hypotheses spanning +/- Rs/16 (the qdetector approach): a coherent 256-symbol correlation
finds a burst at Es/N0 -5 dB, where a lag correlation on the periodic part alone cannot.
The metric |c|^2 / (E_p E_r) lies in [0, 1] and does not depend on the receive gain; on
noise alone it is exponential with mean 1 / 256, so a threshold of 0.1 gives about one
false alarm per 10^10 hypotheses.

Offsets are in cycles per symbol (a fraction of the symbol rate Rs).
"""

from typing import NamedTuple

import numpy as np

from . import preamble as pre

MAX_CFO = 1.0 / 16          # the acquisition range, cycles per symbol
DETECTION_THRESHOLD = 0.1


class Detection(NamedTuple):
    """A preamble found in the samples: its first sample, the carrier offset (cycles per
    symbol) and the detection metric in [0, 1]."""

    start: int
    cfo: float
    metric: float


class ChannelEstimate(NamedTuple):
    """What the known symbols tell of one burst: complex gain h (received = h x sent +
    noise), its magnitude in dB, and the noise variance N0 per complex symbol."""

    gain: complex
    gain_db: float
    n0: float

    @property
    def esn0_db(self):
        """The burst's Es/N0 for unit-power symbols: |h|^2 / N0 in dB."""
        return 10.0 * np.log10(abs(self.gain) ** 2 / self.n0)


def _cfo_grid(length, oversample=2):
    """Carrier-offset hypotheses over +/- MAX_CFO, spaced 1 / (oversample x length): the
    largest residual then rotates the template by at most a quarter turn."""
    step = 1.0 / (oversample * length)
    count = int(np.ceil(MAX_CFO / step))
    return np.arange(-count, count + 1) * step


def _sliding_energy(samples, length):
    power = np.concatenate([[0.0], np.cumsum(np.abs(samples) ** 2)])
    return power[length:] - power[:-length]


def detection_metric(samples, template=None):
    """[offsets, lags] metric of every carrier-offset hypothesis and start, and the
    offsets. Lags run over the starts where the whole template fits."""
    template = pre.preamble() if template is None else np.asarray(template)
    samples = np.asarray(samples, dtype=np.complex128)
    n, m = len(samples), len(template)
    if n < m:
        raise ValueError(f"{n} samples are fewer than the {m}-symbol preamble")
    size = 1 << int(np.ceil(np.log2(n + m)))
    spectrum = np.fft.fft(samples, size)
    offsets = _cfo_grid(m)
    ramp = np.arange(m)
    energy = _sliding_energy(samples, m)
    # windows of (almost) nothing: the FFT's rounding would look like a perfect match
    floor = max(1e-9 * float(energy.max(initial=0.0)), np.finfo(np.float64).tiny)
    metric = np.empty((len(offsets), n - m + 1))
    template_energy = float(np.sum(np.abs(template) ** 2))
    for i, cfo in enumerate(offsets):
        shifted = template * np.exp(2j * np.pi * cfo * ramp)
        corr = np.fft.ifft(spectrum * np.conj(np.fft.fft(shifted, size)))[:n - m + 1]
        metric[i] = np.where(energy > floor, np.abs(corr) ** 2, 0.0) / np.maximum(
            template_energy * energy, template_energy * floor)
    return metric, offsets


def detect(samples, threshold=DETECTION_THRESHOLD, template=None):
    """Every preamble in ``samples``: the strongest start and offset above ``threshold``,
    then the next one at least a preamble length away, and so on."""
    template = pre.preamble() if template is None else template
    metric, offsets = detection_metric(samples, template)
    best = metric.max(axis=0)
    which = metric.argmax(axis=0)
    found = []
    taken = np.zeros(best.shape, dtype=bool)
    for lag in np.argsort(best)[::-1]:
        if best[lag] < threshold:
            break
        if taken[lag]:
            continue
        lo, hi = max(0, lag - len(template) + 1), lag + len(template)
        taken[lo:hi] = True
        found.append(Detection(int(lag), float(offsets[which[lag]]), float(best[lag])))
    return sorted(found)


def refine_cfo(samples, detection, template=None):
    """The carrier offset of a detected burst to a small fraction of the grid step: the
    phase advance between the two halves of the de-rotated template correlation."""
    template = pre.preamble() if template is None else np.asarray(template)
    m = len(template)
    window = np.asarray(samples[detection.start:detection.start + m], dtype=np.complex128)
    products = window * np.conj(template) * np.exp(-2j * np.pi * detection.cfo * np.arange(m))
    half = m // 2
    turn = np.angle(np.sum(products[half:2 * half] * np.conj(products[:half])))
    return detection.cfo + turn / (2 * np.pi * half)


def derotate(samples, cfo, start=0):
    """``samples`` with the carrier offset removed, phase referenced to sample ``start``."""
    n = np.arange(len(samples)) - start
    return np.asarray(samples) * np.exp(-2j * np.pi * cfo * n)


def estimate_channel(received, known):
    """Least-squares gain and phase from known symbols and the data-aided noise variance
    (the residual's energy over K - 1 degrees of freedom: unbiased for the LS fit)."""
    received = np.asarray(received, dtype=np.complex128)
    known = np.asarray(known, dtype=np.complex128)
    if received.shape != known.shape or received.ndim != 1 or len(known) < 2:
        raise ValueError(f"received {received.shape} and known {known.shape} symbols must "
                         f"be two vectors of the same length >= 2")
    gain = complex(np.vdot(known, received) / np.vdot(known, known).real)
    residual = received - gain * known
    n0 = float(np.sum(np.abs(residual) ** 2) / (len(known) - 1))
    return ChannelEstimate(gain, 20.0 * np.log10(max(abs(gain), 1e-300)), max(n0, 1e-300))


def acquire(samples, threshold=DETECTION_THRESHOLD):
    """[(Detection with refined offset, ChannelEstimate)] of every burst in ``samples``."""
    template = pre.preamble()
    out = []
    for found in detect(samples, threshold, template):
        cfo = refine_cfo(samples, found, template)
        window = derotate(samples[found.start:found.start + len(template)], cfo)
        out.append((found._replace(cfo=cfo), estimate_channel(window, template)))
    return out
