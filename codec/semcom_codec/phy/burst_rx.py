"""The over-the-air receiver: raw complex samples in, each burst's payload symbols out with
the noise variance of every symbol, all from known symbols (numpy reference of the GNU
Radio burst receiver; design: ../shared/research/ota.md section 5).

Per burst, feed-forward:
1. detection on the matched filter's polyphase streams (burst_sync: a carrier-offset-
   blind differential pre-detector, then a coherent search over the offset grid around
   its candidates, coherent over the 256-symbol preamble: works at Es/N0 -5 dB);
2. blind IQ-imbalance correction over the burst (a proper signal has E[r^2] = 0);
3. fractional timing (the matched filter evaluated at any instant, pulse.matched_at),
   carrier offset, gain and phase from the preamble;
4. the header: its phase tracked on modulation-free chunks (the preamble's offset estimate
   drifts by a third of a turn over the header at -5 dB), LDPC decoded, CRC checked; from
   then on the header is known too;
5. the sample-clock offset from the postamble's timing, then start and clock refined on
   every known symbol; every symbol resampled on that clock;
6. a fractionally spaced LS equaliser (13 taps over +/- 3 symbols) trained on preamble
   and header, kept only where it lowers the residual on the pilots and postamble,
   which it was not trained on (a flat channel bypasses it);
7. phase and gain over the burst: a straight phase line (residual carrier offset) through
   every known group (preamble, header chunks, pilot blocks, postamble), and per group the
   departure from it where the departures stand out of their noise, shrunk by that noise
   (pilots follow phase noise at high SNR and add no noise at low SNR);
8. N0 from the residual on every known symbol (never from decisions);
9. at high SNR only, the payload's phase followed by decision direction between pilots
   (oscillator phase noise is faster than the pilot spacing).
"""

import math
from typing import NamedTuple

import numpy as np

from . import burst_format as fmt
from . import burst_sync as sync
from . import preamble as pre
from . import pulse

EQUALISER_SPAN = 3               # symbols each side; 13 taps at half-symbol spacing
EQUALISER_SIGNIFICANCE = 3.0    # standard errors by which the equaliser must win
HEADER_CHUNKS = 12              # phase estimates across the header (137 symbols each)
MAX_SRO_PPM = 200.0             # the postamble is searched this far from its nominal place
MAX_TOTAL = fmt.Layout(fmt.MAX_PAYLOAD).total
END_MARGIN = pulse.SPAN + 2     # symbols past a burst's end estimate: its pulse's tail
                                # and a timing estimate that moves between two readings
DD_BLOCK = 32                   # payload symbols per decision-directed phase estimate
DD_MAX_ERROR_RATE = 1e-3        # decisions this reliable per axis, or no decision direction


class ReceivedBurst(NamedTuple):
    """One decoded burst: payload symbols with gain and phase removed and the scrambling
    undone, the noise variance of each, and what the receiver measured."""

    header: fmt.BurstHeader
    start: float            # input sample at the first preamble symbol's peak
    symbols: np.ndarray     # complex64 [header.length]
    noise_var: np.ndarray   # float32 [header.length]: N0 per payload symbol
    esn0_db: float          # data-aided Es/N0 of the burst
    cfo: float              # carrier offset, cycles per symbol
    sro_ppm: float          # sample-clock offset
    gain_db: float
    equalised: bool
    metric: float           # detection metric in [0, 1]


class Acquisition(NamedTuple):
    """A burst whose header decoded: it lasts up to input sample ``end``."""

    header: fmt.BurstHeader
    end: int
    lo: int              # input sample of window.samples[0]
    window: "_Window"
    t0: float            # first preamble symbol's peak, in window samples
    cfo: float
    metric: float


class _Window:
    """One burst's samples (IQ corrected) and the matched filter on them."""

    def __init__(self, samples, base, sps, matched):
        self.samples, self.base, self.sps, self.matched = samples, base, sps, matched
        self.n = np.arange(len(samples))

    def derotated(self, offset):
        """The samples with a carrier offset (cycles per symbol) removed."""
        return self.samples * np.exp(-2j * np.pi * offset * (self.n - self.base) / self.sps)

    def at(self, x, t0, k):
        """Matched filter on ``x`` at symbols ``k`` counted from sample ``t0``."""
        return self.matched(x, t0 + self.sps * np.asarray(k, dtype=np.float64))


class Counters(NamedTuple):
    detected: int
    decoded: int
    dropped: int


def _slice(symbols, order):
    """Nearest points of the unit-power square QAM with ``order`` levels per axis."""
    scale = np.sqrt(2.0 * (order * order - 1) / 3.0)

    def axis(v):
        position = np.clip(np.round((v * scale + order - 1) / 2.0), 0, order - 1)
        return (2 * position - (order - 1)) / scale

    return axis(symbols.real) + 1j * axis(symbols.imag)


def _axis_error_rate(esn0_db, order):
    """Symbol error rate of one Gray PAM axis of the square QAM at Es/N0."""
    argument = np.sqrt(3.0 * 10 ** (esn0_db / 10.0) / (order * order - 1))
    return 2 * (1 - 1 / order) * 0.5 * math.erfc(argument / np.sqrt(2.0))


def follow_phase(symbols, order, n0):
    """Payload symbols with the phase that pilots spaced 528 symbols apart cannot follow
    (oscillator phase noise) removed by decision direction, block by block: only where
    decisions are reliable (each axis wrong less than DD_MAX_ERROR_RATE of the time) and
    where the blocks' phases stand out of their own estimation noise; shrunk by that
    noise like the pilots' departures. N0 is never taken from these decisions."""
    esn0_db = -10.0 * np.log10(max(n0, 1e-30))
    if len(symbols) < 2 * DD_BLOCK or _axis_error_rate(esn0_db, order) > DD_MAX_ERROR_RATE:
        return symbols
    decided = _slice(symbols, order)
    products = symbols * np.conj(decided)
    blocks = len(symbols) // DD_BLOCK
    cut = blocks * DD_BLOCK
    sums = products[:cut].reshape(blocks, DD_BLOCK).sum(axis=1)
    energy = (np.abs(decided[:cut]) ** 2).reshape(blocks, DD_BLOCK).sum(axis=1)
    phase = np.angle(sums)
    est_var = n0 / (2.0 * energy)
    if np.sum(phase ** 2 / est_var) < blocks + 3.0 * np.sqrt(2.0 * blocks):
        return symbols  # nothing beyond noise to follow
    spread = max(np.sum((phase ** 2 - est_var) / est_var ** 2) / np.sum(1.0 / est_var), 0.0)
    smooth = phase * spread / (spread + est_var)
    centres = DD_BLOCK * np.arange(blocks) + 0.5 * (DD_BLOCK - 1)
    return (symbols * np.exp(-1j * np.interp(np.arange(len(symbols)), centres, smooth))
            ).astype(symbols.dtype)


def _golden_max(f, lo, hi, iterations=24):
    """The maximiser of a unimodal ``f`` on [lo, hi]."""
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iterations):
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return 0.5 * (a + b)


def _parabolic_max(f, x0, step):
    """The vertex of the parabola through f at x0 - step, x0, x0 + step (kept within
    one step of x0): the peak of a smooth correlation near its top in three looks."""
    low, mid, high = f(x0 - step), f(x0), f(x0 + step)
    curvature = low - 2.0 * mid + high
    if not curvature < 0:
        return x0 - step if low > max(mid, high) else (x0 + step if high > mid else x0)
    return x0 + step * float(np.clip(0.5 * (low - high) / curvature, -1.0, 1.0))


def _line_fit(t, phase, weight):
    """Weighted LS phase = p0 + slope x t."""
    w = np.asarray(weight, dtype=np.float64)
    tm = np.sum(w * t) / np.sum(w)
    pm = np.sum(w * phase) / np.sum(w)
    slope = np.sum(w * (t - tm) * (phase - pm)) / max(np.sum(w * (t - tm) ** 2), 1e-300)
    return pm - slope * tm, slope


class BurstReceiver:
    """Finds and demodulates the bursts of BurstModulator(sps, rolloff) in raw samples.

    ``receive`` takes a block of samples and returns the bursts wholly inside it; the
    counters say how many preambles were detected, how many bursts decoded and how many
    were dropped (header not decoded, or cut off by the block's end)."""

    def __init__(self, *, sps=pulse.DEFAULT_SPS, rolloff=pulse.DEFAULT_ROLLOFF,
                 threshold=sync.DETECTION_THRESHOLD, equaliser=True, matched_filter=None):
        self.sps, self.rolloff, _ = pulse.check_shaping(sps, rolloff)
        # the matched filter at any instant: (samples, times) -> outputs; the GNU Radio
        # block hands in the C++ kernel, this package's numpy one is the reference
        self.matched = matched_filter or (
            lambda x, times: pulse.matched_at(x, times, self.sps, self.rolloff))
        if not 0.0 < float(threshold) < 1.0:
            raise ValueError(f"the detection threshold must be in (0, 1), got {threshold!r}")
        self.threshold = float(threshold)
        self.equaliser = bool(equaliser)
        self.detected = self.decoded = self.dropped = 0

    @property
    def counters(self):
        return Counters(self.detected, self.decoded, self.dropped)

    # -- detection ---------------------------------------------------------------------

    def detect(self, samples):
        """[(sample index, cfo, metric)] of every preamble in ``samples``, strongest
        polyphase branch per burst."""
        samples = np.asarray(samples, dtype=np.complex128)
        taps = pulse.taps(self.sps, self.rolloff)
        if len(samples) < pre.PREAMBLE_LENGTH * self.sps + len(taps):
            return []
        filtered = np.convolve(samples, taps, mode="same") / self.sps
        found = []
        for phase in range(self.sps):
            branch = filtered[phase::self.sps]
            if len(branch) < pre.PREAMBLE_LENGTH:
                continue
            for d in sync.detect(branch, self.threshold):
                found.append((d.start * self.sps + phase, d.cfo, d.metric))
        kept = []
        for candidate in sorted(found, key=lambda c: -c[2]):
            if all(abs(candidate[0] - k[0]) >= pre.PREAMBLE_LENGTH * self.sps for k in kept):
                kept.append(candidate)
        return sorted(kept)

    def receive(self, samples):
        """Every burst of ``samples`` that decodes (the others are counted as dropped).
        NaN and infinite samples count as zero."""
        samples = np.nan_to_num(np.asarray(samples, dtype=np.complex128), nan=0.0,
                                posinf=0.0, neginf=0.0)
        out = []
        for start, cfo, metric in self.detect(samples):
            self.detected += 1
            burst = self.demodulate(samples, start, cfo, metric)
            if burst is None:
                self.dropped += 1
            else:
                self.decoded += 1
                out.append(burst)
        return out

    # -- one burst ---------------------------------------------------------------------

    def acquire(self, samples, start, cfo, metric=1.0):
        """Stages 2 to 4 for the preamble that peaks near sample ``start`` with carrier
        offset ``cfo`` (cycles per symbol): an Acquisition, whose ``end`` says up to
        which sample the burst lasts, or None if the header has not arrived whole or
        does not decode."""
        sps = self.sps
        guard = (pulse.SPAN + 4) * sps
        lo = max(0, int(start) - guard)
        hi = min(len(samples), int(start) + int(MAX_TOTAL * sps * (1 + MAX_SRO_PPM * 1e-6))
                 + 2 * guard)
        r = np.asarray(samples[lo:hi], dtype=np.complex128)
        # 2. IQ imbalance: r = mu s + nu s*; E[r^2] / (2 E|r|^2) = nu / mu*, removed.
        power = np.mean(np.abs(r) ** 2) if len(r) else 0.0
        if not (power > 0 and np.isfinite(power)):
            return None
        r = r - (np.mean(r * r) / (2.0 * power)) * np.conj(r)
        window = _Window(r, float(start - lo), sps, self.matched)
        known_pre = pre.preamble()
        k_pre = np.arange(pre.PREAMBLE_LENGTH)

        def fit_preamble(x, centre):
            return _golden_max(lambda t: abs(np.vdot(known_pre, window.at(x, t, k_pre))),
                               centre - 0.75 * sps / 2, centre + 0.75 * sps / 2)

        # 3. timing, carrier offset, gain and phase from the preamble
        x = window.derotated(cfo)
        t0 = fit_preamble(x, window.base)
        cfo += sync.refine_cfo(window.at(x, t0, k_pre), sync.Detection(0, 0.0, metric),
                               known_pre)
        x = window.derotated(cfo)
        t0 = fit_preamble(x, t0)
        first = sync.estimate_channel(window.at(x, t0, k_pre), known_pre)
        if not abs(first.gain) > 1e-150:
            return None
        # 4. the header, its phase followed chunk by chunk; its last symbol's peak must
        # have arrived (what follows it is the pulse's tail)
        k_head = fmt.HEADER_SYMBOLS
        if t0 + sps * (pre.PREAMBLE_LENGTH + k_head) > len(r):
            return None
        y_head = window.at(x, t0, pre.PREAMBLE_LENGTH + np.arange(k_head))
        header, cfo_step = self._decode_header(y_head, first)
        if header is None:
            return None
        total = fmt.Layout(header.length).total
        end = lo + int(np.ceil(t0 + sps * total * (1 + MAX_SRO_PPM * 1e-6))) + 1
        return Acquisition(header, end, lo, window, t0, cfo + cfo_step, metric)

    def demodulate(self, samples, start, cfo, metric=1.0, end=None):
        """The burst whose preamble peaks near sample ``start`` with carrier offset ``cfo``
        (cycles per symbol), or None if its header does not decode or it is cut off.
        Only the burst's own samples count (up to ``end``, from a first reading of its
        header when not given): what follows it in the input changes nothing."""
        if end is None:
            first = self.acquire(samples, start, cfo, metric)
            if first is None:
                return None
            # (the input's end ends the burst too)
            end = min(first.end + END_MARGIN * self.sps, len(samples))
        if end > len(samples):
            return None
        found = self.acquire(samples[:end], start, cfo, metric)
        if found is None or found.end > end:
            return None
        return self._finish(found)

    def _finish(self, found):
        """Stages 5 to 9 of an acquired burst whose samples have all arrived."""
        sps, header, window, t0, cfo = self.sps, found.header, found.window, found.t0, found.cfo
        k_head = fmt.HEADER_SYMBOLS
        layout = fmt.Layout(header.length)
        x = window.derotated(cfo)
        at = window.at
        # 5. sample clock: where the postamble really is
        k_post = np.arange(pre.B_LENGTH)
        nominal = t0 + sps * layout.postamble_start
        reach = sps * layout.postamble_start * MAX_SRO_PPM * 1e-6 + 0.5
        known_post = fmt.postamble()

        def post_metric(t):
            return abs(np.vdot(known_post, at(x, t, k_post)))

        grid = nominal + np.linspace(-reach, reach, int(np.ceil(2 * reach / 0.25)) + 1)
        best = grid[int(np.argmax([post_metric(t) for t in grid]))]
        t_post = _golden_max(post_metric, best - 0.25, best + 0.25)
        clock = (t_post - t0) / (sps * layout.postamble_start)   # samples per nominal sample
        positions, known = fmt.known_symbols(header)
        t0, clock = self._refine_timing(x, t0, clock, header, positions, known)
        # at half-symbol spacing: the equaliser is fractionally spaced
        # (from EQUALISER_SPAN symbols before the burst to as many after it)
        lead = 2 * EQUALISER_SPAN
        j = np.arange(-lead, 2 * layout.total + lead)
        halves = self.matched(x, t0 + 0.5 * sps * clock * j)
        y = halves[lead:lead + 2 * layout.total:2]
        # 6. equaliser, trained on preamble and header with the phase line removed (the
        # residual carrier offset would otherwise look like a channel to it)
        equalised = False
        if self.equaliser:
            line = self._track(y, header, positions, known, departures=False)[0]
            turn = np.exp(-1j * np.angle(line))
            halves = halves * np.repeat(np.concatenate([[turn[0]] * EQUALISER_SPAN, turn,
                                                        [turn[-1]] * EQUALISER_SPAN]), 2)
            split = pre.PREAMBLE_LENGTH + k_head    # known_symbols: preamble, header first
            y, equalised = self._equalise(halves, positions[:split], known[:split],
                                          positions[split:], known[split:])
            y = y / turn
        # 7. phase and gain across the burst
        h, n0 = self._track(y, header, positions, known)
        payload = layout.payload_positions()
        gains = h[payload]
        symbols = fmt.unscramble(y[payload] / gains)
        noise_var = n0 / np.abs(gains) ** 2
        symbols = follow_phase(symbols, header.order, float(np.median(noise_var)))
        mean_gain = np.sqrt(np.mean(np.abs(h) ** 2))
        return ReceivedBurst(
            header=header, start=found.lo + t0, symbols=symbols.astype(np.complex64),
            noise_var=noise_var.astype(np.float32),
            esn0_db=float(10 * np.log10(mean_gain ** 2 / n0)), cfo=float(cfo),
            sro_ppm=float((clock - 1.0) * 1e6), gain_db=float(20 * np.log10(mean_gain)),
            equalised=equalised, metric=float(found.metric))

    def _decode_header(self, y_head, first):
        """(header or None, carrier-offset correction): the header's phase line fitted
        through the preamble's phase and each chunk's modulation-free phase."""
        chips = fmt.HEADER_CHIPS
        m = pre.PREAMBLE_LENGTH
        times = [0.5 * (m - 1)]
        phases = [np.angle(first.gain)]
        weights = [float(m) * 4.0]  # coherent over the preamble: worth more than a chunk
        rel = y_head * np.conj(chips)           # +-h e^{j phase}: BPSK with the chips off
        chunk = -(-len(rel) // HEADER_CHUNKS)
        predicted_slope = 0.0
        for c in range(0, len(rel), chunk):
            part = rel[c:c + chunk]
            doubled = np.angle(np.sum(part * part)) / 2.0       # phase mod pi
            centre = m + c + 0.5 * (len(part) - 1)
            guess = phases[0] + predicted_slope * (centre - times[0])
            doubled += np.pi * np.round((guess - doubled) / np.pi)
            times.append(centre)
            phases.append(doubled)
            weights.append(float(len(part)))
            p0, predicted_slope = _line_fit(np.array(times), np.array(phases),
                                            np.array(weights))
        p0, slope = _line_fit(np.array(times), np.array(phases), np.array(weights))
        k = m + np.arange(len(y_head))
        corrected = y_head * np.exp(-1j * (p0 + slope * k)) / abs(first.gain)
        header = fmt.decode_header(corrected, first.n0 / abs(first.gain) ** 2)
        return header, slope / (2 * np.pi)

    def _refine_timing(self, x, t0, clock, header, positions, known):
        """Start and clock rate from every known symbol: each group's correlation
        magnitude (blind to the slow phase drift), summed, maximised in turn over the
        start and over the clock, twice, by parabolas (the preamble alone leaves 0.04 T
        rms at -5 dB)."""
        sps = self.sps
        groups = self._groups(header)
        group_at = np.zeros(fmt.Layout(header.length).total, dtype=np.int64)
        for i, g in enumerate(groups):
            group_at[g] = i
        group_of, count = group_at[positions], len(groups)
        conj = np.conj(known)

        def score(start, rate):
            y = self.matched(x, start + sps * rate * positions)
            sums = (np.bincount(group_of, (y * conj).real, count)
                    + 1j * np.bincount(group_of, (y * conj).imag, count))
            return float(np.sum(np.abs(sums) ** 2))

        span = sps * positions.max()
        for step in (0.2, 0.05):   # samples at the burst's start, and at its end
            t0 = _parabolic_max(lambda t: score(t, clock), t0, step)
            clock = _parabolic_max(lambda c: score(t0, c), clock, step / span)
        return t0, clock

    def _groups(self, header):
        """Symbol positions of each known group, in time order: preamble, header chunks,
        pilot blocks, postamble."""
        layout = fmt.Layout(header.length)
        groups = [np.arange(pre.PREAMBLE_LENGTH)]
        head = layout.header_start + np.arange(fmt.HEADER_SYMBOLS)
        groups += np.array_split(head, HEADER_CHUNKS)
        groups += [layout.pilot_positions(b) for b in range(layout.segments + 1)]
        groups.append(layout.postamble_start + np.arange(pre.B_LENGTH))
        return groups

    def _equalise(self, halves, train, known_train, check, known_check):
        """The symbols through an LS equaliser trained on (train, known_train), or plain:
        the equaliser is kept only if, on the known symbols it was not trained on
        (``check``: pilots and postamble), it leaves a residual smaller by more than
        EQUALISER_SIGNIFICANCE standard errors (a paired comparison). ``halves`` are the
        matched filter's outputs at half-symbol spacing, symbol k at 2 (k +
        EQUALISER_SPAN); the taps span +/- EQUALISER_SPAN symbols."""
        reach = 2 * EQUALISER_SPAN
        count = (len(halves) - 2 * reach) // 2
        y = halves[reach:reach + 2 * count:2]

        def rows(positions):
            centre = reach + 2 * positions
            return np.stack([halves[centre + d] for d in range(-reach, reach + 1)], axis=1)

        taps, *_ = np.linalg.lstsq(rows(train), known_train, rcond=None)
        single = np.vdot(y[train], known_train) / np.vdot(y[train], y[train])
        with_taps = np.abs(rows(check) @ taps - known_check) ** 2
        plain = np.abs(single * y[check] - known_check) ** 2
        gain = plain - with_taps
        if np.mean(gain) <= EQUALISER_SIGNIFICANCE * np.std(gain) / np.sqrt(len(gain)):
            return y, False
        centres = reach + 2 * np.arange(count)
        out = sum(taps[i] * halves[centres + i - reach] for i in range(len(taps)))
        # keep the channel's own gain (the taps include 1 / h): tracking follows it
        return out / single, True

    def _track(self, y, header, positions, known, departures=True):
        """Per-symbol complex gain h (y = h x + noise) and the data-aided N0; without
        ``departures``, the straight phase line and constant level alone."""
        groups = self._groups(header)
        lookup = np.zeros(len(y), dtype=np.complex128)
        lookup[positions] = known
        estimates = np.array([np.vdot(lookup[g], y[g]) / np.vdot(lookup[g], lookup[g]).real
                              for g in groups])
        energy = np.array([np.sum(np.abs(lookup[g]) ** 2) for g in groups])
        centres = np.array([g.mean() for g in groups])
        # a first N0 from the groups' own fits, for the shrinkage below
        n0_groups = sum(np.sum(np.abs(y[g] - e * lookup[g]) ** 2) for g, e in
                        zip(groups, estimates)) / max(len(positions) - len(groups), 1)
        p0, slope = _line_fit(centres, np.unwrap(np.angle(estimates)), energy)
        trend = np.exp(1j * (p0 + slope * centres))
        # E|h_g|^2 = |h|^2 + N0 / E_g: the noise's share taken out
        level = np.sqrt(max(np.sum(energy * np.abs(estimates) ** 2 - n0_groups),
                            1e-30 * np.sum(energy)) / np.sum(energy))
        departure = estimates / (trend * level)            # ~1 + small
        log_dep = np.log(np.maximum(np.abs(departure), 1e-12)) + 1j * np.angle(departure)
        est_var = n0_groups / (2.0 * level ** 2 * energy)  # per real component
        # Departures from the line only where they stand out of the estimation noise:
        # without any, each group's sum of squares over its noise variance has mean 1
        # and variance 1 (chi-square, two degrees of freedom, halved).
        score = (log_dep.real ** 2 + log_dep.imag ** 2) / (2.0 * est_var)
        count = len(groups)
        if not departures or np.sum(score) < count + 3.0 * np.sqrt(count):
            spread = 0.0
        else:
            spread = max(np.sum((score - 1.0) * est_var / est_var ** 2)
                         / np.sum(1.0 / est_var), 0.0)
        shrink = spread / (spread + est_var)
        smooth = log_dep * shrink
        k = np.arange(len(y))
        curve = (np.interp(k, centres, smooth.real) + 1j * np.interp(k, centres, smooth.imag))
        h = level * np.exp(1j * (p0 + slope * k)) * np.exp(curve)
        residual = np.sum(np.abs(y[positions] - h[positions] * known) ** 2)
        dof = 2.0 + np.sum(shrink)
        n0 = residual / max(len(positions) - dof, 1.0)
        return h, max(float(n0), 1e-12)
