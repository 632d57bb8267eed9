"""What a pair of real radios does to a burst between the two antennas, in numpy: the
simulator every over-the-air figure is measured on (the ZMQ virtual radio and
examples/ota_loopback.py run it inside a GNU Radio block).

In order: a multipath echo, the receiver's sample clock (fractional delay and offset in
ppm), gain and phase, the carrier offset and the oscillators' phase noise, thermal noise
(drawn fresh for every call, never from a pool), and the receiver's IQ imbalance.
Carrier offsets are fractions of the symbol rate; samples are at ``sps`` per symbol.
"""

from dataclasses import dataclass

import numpy as np
from scipy import signal

INTERPOLATOR_HALF_WIDTH = 16  # samples each side of the interpolated instant
KAISER_BETA = 8.0


def interpolate(samples, times):
    """Band-limited values of ``samples`` at fractional sample ``times`` (Kaiser-windowed
    sinc; zero outside the input)."""
    samples = np.asarray(samples, dtype=np.complex128)
    times = np.asarray(times, dtype=np.float64)
    half = INTERPOLATOR_HALF_WIDTH
    out = np.zeros(times.shape, dtype=np.complex128)
    for chunk in range(0, times.size, 1 << 15):
        t = times[chunk:chunk + (1 << 15)]
        base = np.floor(t).astype(np.int64)
        index = base[:, None] + np.arange(-half + 1, half + 1)[None, :]
        x = t[:, None] - index
        window = np.i0(KAISER_BETA * np.sqrt(np.clip(1.0 - (x / half) ** 2, 0.0, 1.0)))
        weights = np.sinc(x) * window / np.i0(KAISER_BETA)
        inside = (index >= 0) & (index < len(samples))
        picked = np.where(inside, samples[np.clip(index, 0, max(len(samples) - 1, 0))], 0)
        out[chunk:chunk + t.size] = np.sum(picked * weights, axis=1)
    return out


def raised_cosine(t, rolloff):
    """The raised-cosine pulse (the RRC's autocorrelation) at ``t`` symbol periods."""
    t = float(t)
    if abs(abs(2 * rolloff * t) - 1.0) < 1e-9:
        return np.pi / 4 * np.sinc(1 / (2 * rolloff))
    return float(np.sinc(t) * np.cos(np.pi * rolloff * t) / (1 - (2 * rolloff * t) ** 2))


@dataclass
class Impairments:
    """One link's impairments. ``esn0_db`` is the received symbol energy (both paths when
    there is an echo) over N0 (None: no noise); ``signal_power`` the transmitter's mean
    sample power during a burst (1 without back-off), ``rolloff`` its pulse's."""

    esn0_db: float = None
    sps: int = 2
    cfo: float = 0.0              # cycles per symbol
    sro_ppm: float = 0.0          # receiver clock faster by this many ppm
    delay: float = 0.0            # samples
    gain_db: float = 0.0
    phase: float = 0.0            # radians
    phase_noise_deg: float = 0.0  # rms of the oscillators' phase
    phase_noise_alpha: float = 0.01
    iq_image_dbc: float = None    # receiver IQ imbalance: image power relative to signal
    echo_db: float = None         # a second path half a symbol later, this much weaker
    echo_phase: float = 1.0
    signal_power: float = 1.0
    rolloff: float = 0.35

    def check(self):
        """Refuse settings no link has, naming them."""
        if int(self.sps) != self.sps or self.sps < 2:
            raise ValueError(f"samples per symbol must be an integer >= 2, got {self.sps!r}")
        if abs(self.cfo) >= 0.5:
            raise ValueError(f"the carrier offset must be under half the symbol rate, got "
                             f"{self.cfo} cycles per symbol")
        if abs(self.sro_ppm) > 1e4:
            raise ValueError(f"the sample-clock offset must be within +/- 10000 ppm, got "
                             f"{self.sro_ppm}")
        if self.delay < 0:
            raise ValueError(f"the delay must be >= 0 samples, got {self.delay}")
        if self.phase_noise_deg < 0 or not 0 < self.phase_noise_alpha <= 1:
            raise ValueError("phase noise: rms >= 0 degrees and alpha in (0, 1] needed")
        for name in ("iq_image_dbc", "echo_db"):
            value = getattr(self, name)
            if value is not None and value > 0:
                raise ValueError(f"{name} must be at most 0 dB (weaker than the signal), "
                                 f"got {value}")
        return self

    def received_power(self):
        """Mean received signal power per sample for the transmitter's ``signal_power``."""
        power = self.signal_power * 10 ** (self.gain_db / 10.0)
        if self.echo_db is not None:
            echo = self._echo()
            # the two paths' pulses overlap: their correlation at half a symbol is the
            # raised cosine's value there
            power *= 1.0 + abs(echo) ** 2 + 2.0 * echo.real * raised_cosine(0.5, self.rolloff)
        return power

    def _echo(self):
        return 10 ** (self.echo_db / 20.0) * np.exp(1j * self.echo_phase)

    def stream(self, rng):
        """An ImpairedStream: these impairments on samples that arrive in pieces."""
        return ImpairedStream(self.check(), rng)

    def apply(self, samples, rng):
        """The receiver's samples for transmitted ``samples`` (as many of them)."""
        link = self.stream(rng)
        head = link.process(samples)
        return np.concatenate([head, link.flush()])[:len(samples)]


class ImpairedStream:
    """Impairments on a stream, piece by piece: the same output, however the input is
    cut (the clock, carrier and phase-noise states carry over; the noise is fresh)."""

    def __init__(self, impairments, rng):
        self.p = impairments
        # one generator per random process, seeded once from ``rng``: each is drawn in
        # stream order, so the scheduler's cuts cannot interleave them differently
        seeds = rng.integers(0, 2 ** 63, size=4)
        self.real, self.imag, self.drive = (np.random.default_rng(int(s)) for s in seeds[:3])
        rng = np.random.default_rng(int(seeds[3]))
        self.history = np.zeros(0, dtype=np.complex128)   # input not yet behind us
        self.base = 0            # input index of history[0]
        self.produced = 0        # output samples so far
        self.ended_at = None     # input length once flushed
        alpha = impairments.phase_noise_alpha
        self.sigma = np.deg2rad(impairments.phase_noise_deg)
        self.phase_state = [(1.0 - alpha) * rng.standard_normal() * self.sigma]
        self.n0 = (None if impairments.esn0_db is None else
                   impairments.received_power() * 10 ** (-impairments.esn0_db / 10.0))

    def _time(self, n):
        """Input time (samples) at which output sample n is taken."""
        return (n - self.p.delay) / (1.0 + self.p.sro_ppm * 1e-6)

    def process(self, samples):
        """The output samples that the input so far fully determines."""
        self.history = np.concatenate([self.history, np.asarray(samples, np.complex128)])
        end = self.base + len(self.history)
        reach = INTERPOLATOR_HALF_WIDTH + 1
        # output n is ready once every input it reads has arrived
        last = int(np.floor((end - reach) * (1.0 + self.p.sro_ppm * 1e-6) + self.p.delay))
        return self._produce(max(last + 1 - self.produced, 0))

    def flush(self):
        """The rest: outputs up to the end of the input (the input counts as zero after)."""
        end = self.base + len(self.history)
        last = int(np.floor(end * (1.0 + self.p.sro_ppm * 1e-6) + self.p.delay))
        return self._produce(max(last - self.produced, 0))

    def _produce(self, count):
        p = self.p
        n = self.produced + np.arange(count)
        times = self._time(n) - self.base
        x = interpolate(self.history, times)
        if p.echo_db is not None:
            x = x + p._echo() * interpolate(self.history, times - p.sps / 2.0)
        phase = p.phase + 2 * np.pi * p.cfo * n / p.sps
        if self.sigma and count:
            alpha = p.phase_noise_alpha
            drive = (self.drive.standard_normal(count) * self.sigma
                     * np.sqrt((2.0 - alpha) / alpha) * alpha)
            noise, self.phase_state = signal.lfilter([1.0], [1.0, alpha - 1.0], drive,
                                                     zi=self.phase_state)
            phase = phase + noise
        x = x * 10 ** (p.gain_db / 20.0) * np.exp(1j * phase)
        if self.n0 is not None:
            scale = np.sqrt(p.sps * self.n0 / 2.0)  # N0 per symbol after the matched filter
            x = x + scale * (self.real.standard_normal(count)
                             + 1j * self.imag.standard_normal(count))
        if p.iq_image_dbc is not None:
            x = x + 10 ** (p.iq_image_dbc / 20.0) * np.exp(0.7j) * np.conj(x)
        self.produced += count
        # keep only the input that later outputs can still read
        keep_from = int(np.floor(self._time(self.produced))) - INTERPOLATOR_HALF_WIDTH - p.sps
        drop = min(max(keep_from - self.base, 0), len(self.history))
        self.history, self.base = self.history[drop:], self.base + drop
        return x
