"""Burst acquisition at the symbol rate: find the preamble, its carrier offset, gain, phase
and the noise level, from known symbols only (numpy reference of the OTA receiver; the
design is ../shared/research/ota.md section 5).

The detector correlates the samples with the whole preamble under a grid of carrier-offset
hypotheses spanning +/- Rs/16 (the qdetector approach): a coherent 256-symbol correlation
finds a burst at Es/N0 -5 dB, where a lag correlation on the periodic part alone cannot.
The metric |c|^2 / (E_p E_r) lies in [0, 1] and does not depend on the receive gain; on
noise alone it is exponential with mean 1 / 256, so a threshold of 0.1 gives about one
false alarm per 10^10 hypotheses. A carrier-offset-blind differential correlation picks
the candidate starts first, so that only they are searched over the offset grid.

Offsets are in cycles per symbol (a fraction of the symbol rate Rs).
"""

from typing import NamedTuple

import numpy as np

from . import preamble as pre

MAX_CFO = 1.0 / 16          # the acquisition range, cycles per symbol
DETECTION_THRESHOLD = 0.1
DIFFERENTIAL_LAGS = (1, 2, 3, 4)
PRE_THRESHOLD = 0.018       # differential metric's candidates (see bench_ota for Pd)
VERIFY_REACH = 3            # lags either side of a candidate searched coherently


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
    metric = np.empty((len(offsets), n - m + 1))
    for i, cfo in enumerate(offsets):
        shifted = template * np.exp(2j * np.pi * cfo * ramp)
        corr = np.fft.ifft(spectrum * np.conj(np.fft.fft(shifted, size)))[:n - m + 1]
        metric[i] = _normalised(corr, energy, shifted)
    return metric, offsets


def _normalised(corr, energy, template):
    """|c|^2 / (E_template E_window) in [0, 1]; windows of (almost) nothing give 0, where
    the FFT's rounding would otherwise look like a perfect match."""
    floor = max(1e-9 * float(energy.max(initial=0.0)), np.finfo(np.float64).tiny)
    template_energy = float(np.sum(np.abs(template) ** 2))
    return np.where(energy > floor, np.abs(corr) ** 2, 0.0) / np.maximum(
        template_energy * energy, template_energy * floor)


def differential_metric(samples, template=None, lags=DIFFERENTIAL_LAGS):
    """[starts] the carrier-offset-blind pre-detector: for each lag d the correlation of
    y_k y*_(k+d) with the template's own products (an offset only turns it), normalised
    to [0, 1], averaged over ``lags``; on noise alone about 1 / (m - 1) on average, with
    a tail that the averaging over several lags thins. A few correlations instead of one
    per offset hypothesis."""
    template = pre.preamble() if template is None else np.asarray(template)
    samples = np.asarray(samples, dtype=np.complex128)
    n, m = len(samples), len(template)
    if n < m:
        raise ValueError(f"{n} samples are fewer than the {m}-symbol preamble")
    size = 1 << int(np.ceil(np.log2(n + m)))
    total = np.zeros(n - m + 1)
    for d in lags:
        z = samples[:-d] * np.conj(samples[d:])
        q = template[:-d] * np.conj(template[d:])
        corr = np.fft.ifft(np.fft.fft(z, size) * np.conj(np.fft.fft(q, size)))[:n - m + 1]
        total += _normalised(corr, _sliding_energy(z, m - d), q)
    return total / len(lags)


def _verify(samples, lags, template, offsets):
    """(lag, offset, metric) of the best coherent match at each of ``lags``."""
    m = len(template)
    ramp = np.arange(m)
    hypotheses = np.conj(template[None, :] * np.exp(2j * np.pi * offsets[:, None] * ramp))
    windows = np.stack([samples[lag:lag + m] for lag in lags])
    corr = windows @ hypotheses.T                                  # [lags, offsets]
    energy = np.sum(np.abs(windows) ** 2, axis=1)
    scale = float(np.sum(np.abs(template) ** 2)) * np.maximum(energy, np.finfo(float).tiny)
    metric = np.where(energy[:, None] > 0, np.abs(corr) ** 2, 0.0) / scale[:, None]
    which = metric.argmax(axis=1)
    return [(int(lag), float(offsets[w]), float(metric[i, w]))
            for i, (lag, w) in enumerate(zip(lags, which))]


def detect(samples, threshold=DETECTION_THRESHOLD, template=None, exhaustive=False):
    """Every preamble in ``samples``: the strongest start and offset above ``threshold``,
    then the next one at least a preamble length away, and so on.

    The differential pre-detector picks candidate starts (PRE_THRESHOLD); each, with
    VERIFY_REACH lags either side, is then searched
    coherently over every offset hypothesis, so the metric and the threshold are those
    of the exhaustive search (``exhaustive``: every lag, for reference and tests)."""
    template = pre.preamble() if template is None else np.asarray(template)
    samples = np.asarray(samples, dtype=np.complex128)
    if exhaustive:
        metric, offsets = detection_metric(samples, template)
        best, which = metric.max(axis=0), metric.argmax(axis=0)
        scored = [(int(lag), float(offsets[which[lag]]), float(best[lag]))
                  for lag in np.flatnonzero(best >= threshold)]
    else:
        pre_metric = differential_metric(samples, template)
        candidates = np.flatnonzero(pre_metric >= PRE_THRESHOLD)
        last = len(samples) - len(template)
        lags = np.unique(np.clip(candidates[:, None] + np.arange(-VERIFY_REACH,
                                                                  VERIFY_REACH + 1), 0, last))
        scored = []
        offsets = _cfo_grid(len(template))
        for chunk in range(0, len(lags), 256):
            scored += [c for c in _verify(samples, lags[chunk:chunk + 256], template, offsets)
                       if c[2] >= threshold]
    found, taken = [], []
    for lag, cfo, metric in sorted(scored, key=lambda c: -c[2]):
        if all(abs(lag - other) >= len(template) for other in taken):
            taken.append(lag)
            found.append(Detection(lag, cfo, metric))
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
