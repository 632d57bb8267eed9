"""Root-raised-cosine pulse shaping, and the matched filter evaluated at any instant.

Times are in symbol periods (T = 1). The pulse has unit energy, so a unit-power symbol
stream shaped at any number of samples per symbol gives unit average sample power, and the
matched filter sampled at the symbol instants returns the symbols (Nyquist: no ISI).

The receiver samples the matched filter where its own timing estimate says, at fractional
sample positions: ``matched_at`` evaluates the continuous pulse at each offset instead of
interpolating filtered samples. At two or more samples per symbol this is exact apart from
the pulse's truncation (the product of a received signal and the pulse is band-limited to
(1 + roll-off) / T, below the sampling rate), so timing costs nothing in accuracy.
"""

import math

import numpy as np

DEFAULT_ROLLOFF = 0.35
DEFAULT_SPS = 2
SPAN = 8  # symbols each side of the peak: truncation ISI far below 64-QAM's needs


def check_shaping(sps, rolloff, span=SPAN):
    """Refuse what the pulse cannot be: samples per symbol >= 2, roll-off in (0, 1]."""
    if int(sps) != sps or sps < 2:
        raise ValueError(f"samples per symbol must be an integer >= 2, got {sps!r}")
    if not 0.0 < float(rolloff) <= 1.0:
        raise ValueError(f"the roll-off must be in (0, 1], got {rolloff!r}")
    if int(span) != span or span < 1:
        raise ValueError(f"the pulse span must be an integer >= 1 symbol, got {span!r}")
    return int(sps), float(rolloff), int(span)


def rrc(t, rolloff=DEFAULT_ROLLOFF):
    """The unit-energy root-raised-cosine pulse at times ``t`` (symbol periods)."""
    t = np.asarray(t, dtype=np.float64)
    a = float(rolloff)
    out = np.empty_like(t)
    at_zero = np.abs(t) < 1e-9
    at_pole = np.abs(np.abs(4.0 * a * t) - 1.0) < 1e-9
    rest = ~(at_zero | at_pole)
    x = t[rest]
    out[rest] = ((np.sin(np.pi * x * (1 - a)) + 4 * a * x * np.cos(np.pi * x * (1 + a)))
                 / (np.pi * x * (1 - (4 * a * x) ** 2)))
    out[at_zero] = 1.0 - a + 4.0 * a / np.pi
    quarter = np.pi / (4.0 * a)
    out[at_pole] = (a / math.sqrt(2.0)) * ((1 + 2 / np.pi) * math.sin(quarter)
                                          + (1 - 2 / np.pi) * math.cos(quarter))
    return out


def taps(sps=DEFAULT_SPS, rolloff=DEFAULT_ROLLOFF, span=SPAN):
    """The transmit filter: the pulse at 2 x span x sps + 1 sample instants."""
    sps, rolloff, span = check_shaping(sps, rolloff, span)
    return rrc(np.arange(-span * sps, span * sps + 1) / sps, rolloff)


def shape(symbols, sps=DEFAULT_SPS, rolloff=DEFAULT_ROLLOFF, span=SPAN):
    """Complex baseband samples of ``symbols``: (len + 2 x span) x sps + 1 of them, the
    first symbol's peak at sample span x sps (the filter rises and falls around it)."""
    sps, rolloff, span = check_shaping(sps, rolloff, span)
    symbols = np.asarray(symbols, dtype=np.complex128)
    stuffed = np.zeros(len(symbols) * sps, dtype=np.complex128)
    stuffed[::sps] = symbols
    out = np.convolve(stuffed, taps(sps, rolloff, span))
    tail = (len(symbols) + 2 * span) * sps + 1 - len(out)
    return np.concatenate([out, np.zeros(max(tail, 0), np.complex128)])


PHASES = 512  # rows of the matched filter's table per sample: linear interpolation
              # between them stays within 5e-6 of the pulse itself (a test checks it)
_TABLES = {}


def _table(sps, rolloff, span):
    """The pulse at offsets frac + half - j (samples) for frac = q / PHASES, q = 0..PHASES
    and taps j = 0..2 half + 1: one row per fractional position."""
    key = (sps, rolloff, span)
    if key not in _TABLES:
        half = span * sps
        frac = np.arange(PHASES + 1)[:, None] / PHASES
        offsets = frac + half - np.arange(2 * half + 2)[None, :]
        _TABLES[key] = rrc(offsets / sps, rolloff)
    return _TABLES[key]


def matched_at(samples, times, sps=DEFAULT_SPS, rolloff=DEFAULT_ROLLOFF, span=SPAN):
    """The matched filter's output at ``times`` (in samples, fractional): for unit-power
    symbols shaped by ``shape`` the output at a symbol's peak is that symbol. Samples
    outside ``samples`` count as zero."""
    sps, rolloff, span = check_shaping(sps, rolloff, span)
    samples = np.asarray(samples, dtype=np.complex128)
    times = np.asarray(times, dtype=np.float64)
    half = span * sps
    base = np.floor(times)
    position = (times - base) * PHASES
    row = np.minimum(position.astype(np.int64), PHASES - 1)
    share = (position - row)[:, None]
    table = _table(sps, rolloff, span)
    weights = table[row] * (1.0 - share) + table[row + 1] * share
    index = (base.astype(np.int64) - half)[:, None] + np.arange(2 * half + 2)[None, :]
    if len(samples) and index.size and index.min() >= 0 and index.max() < len(samples):
        picked = samples[index]
    else:
        inside = (index >= 0) & (index < len(samples))
        picked = np.where(inside, samples[np.clip(index, 0, max(len(samples) - 1, 0))], 0.0)
    return np.einsum("ij,ij->i", picked, weights) / sps
