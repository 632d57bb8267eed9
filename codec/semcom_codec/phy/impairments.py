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

    def apply(self, samples, rng):
        """The receiver's samples for transmitted ``samples`` (as many of them)."""
        x = np.asarray(samples, dtype=np.complex128)
        power = self.signal_power
        if self.echo_db is not None:
            late = interpolate(x, np.arange(x.size) - self.sps / 2.0)
            echo = 10 ** (self.echo_db / 20.0) * np.exp(1j * self.echo_phase)
            x = x + echo * late
            # the two paths' pulses overlap: their correlation at half a symbol is the
            # raised cosine's value there
            power *= 1.0 + abs(echo) ** 2 + 2.0 * echo.real * raised_cosine(0.5, self.rolloff)
        n = np.arange(x.size)
        if self.sro_ppm or self.delay:
            x = interpolate(x, (n - self.delay) / (1.0 + self.sro_ppm * 1e-6))
        amplitude = 10 ** (self.gain_db / 20.0)
        phase = self.phase + 2 * np.pi * self.cfo * n / self.sps
        if self.phase_noise_deg:
            phase = phase + self._phase_noise(x.size, rng)
        x = x * amplitude * np.exp(1j * phase)
        if self.esn0_db is not None:
            n0 = power * amplitude ** 2 * 10 ** (-self.esn0_db / 10.0)
            scale = np.sqrt(self.sps * n0 / 2.0)  # N0 per symbol after the matched filter
            x = x + scale * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))
        if self.iq_image_dbc is not None:
            x = x + 10 ** (self.iq_image_dbc / 20.0) * np.exp(0.7j) * np.conj(x)
        return x

    def _phase_noise(self, count, rng):
        """Gaussian noise through a one-pole low-pass (as gr-channels' phase_noise_gen),
        started in its steady state and scaled to the rms asked for."""
        alpha = self.phase_noise_alpha
        sigma = np.deg2rad(self.phase_noise_deg)
        drive = rng.standard_normal(count) * sigma * np.sqrt((2.0 - alpha) / alpha) * alpha
        start = rng.standard_normal() * sigma
        out, _ = signal.lfilter([1.0], [1.0, alpha - 1.0], drive, zi=[(1.0 - alpha) * start])
        return out
