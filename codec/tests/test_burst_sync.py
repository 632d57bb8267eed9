"""The OTA receiver's acquisition reference: preamble sequences, detection over the
carrier-offset range at Es/N0 -5 dB, no false alarm on noise, and data-aided gain, phase
and N0 within the figures of ../shared/research/ota.md section 6."""

import numpy as np
import pytest

from semcom_codec.phy import burst_sync as sync
from semcom_codec.phy import preamble as pre

PREAMBLE = pre.preamble()


def qam64(rng, count):
    """Unit-power Gray-free 64-QAM filler standing in for a payload."""
    axis = (2 * rng.integers(0, 8, (2, count)) - 7) / np.sqrt(42)
    return axis[0] + 1j * axis[1]


def burst(rng, esn0_db, cfo, start, length=1200, gain=1.0, phase=0.3):
    """Noise, then at ``start`` the preamble and a payload, through gain, phase and a
    carrier offset (cycles per symbol); Es/N0 for unit-power symbols before the gain."""
    n0 = 10.0 ** (-esn0_db / 10.0)
    x = np.zeros(length, complex)
    x[start:start + len(PREAMBLE)] = PREAMBLE
    x[start + len(PREAMBLE):] = qam64(rng, length - start - len(PREAMBLE))
    x *= gain * np.exp(1j * phase) * np.exp(2j * np.pi * cfo * np.arange(length))
    noise = rng.standard_normal((2, length)) * np.sqrt(n0 / 2)
    return x + noise[0] + 1j * noise[1], n0


def test_preamble_is_unit_power_periodic_then_not():
    assert PREAMBLE.shape == (pre.PREAMBLE_LENGTH,) == (256,)
    assert np.allclose(np.abs(PREAMBLE), 1.0)
    a, b = PREAMBLE[:128], PREAMBLE[128:]
    assert np.allclose(a[8:], a[:-8])  # A: period 8
    lag8 = abs(np.vdot(b[:-8], b[8:])) / len(b)
    assert lag8 < 0.2  # B: no period 8
    for length, root in ((8, 1), (128, 3)):
        seq = pre.chu(length, root)
        periodic = [abs(np.vdot(seq, np.roll(seq, k))) for k in range(1, length)]
        assert max(periodic) < 1e-9  # Chu: zero periodic autocorrelation off lag 0
    with pytest.raises(ValueError, match="even length"):
        pre.chu(7, 1)
    with pytest.raises(ValueError, match="shares a factor"):
        pre.chu(128, 4)


def derotate(samples, cfo, start=0):
    """``samples`` with the carrier offset removed, phase referenced to sample ``start``."""
    n = np.arange(len(samples)) - start
    return np.asarray(samples) * np.exp(-2j * np.pi * cfo * n)


def acquire(samples):
    """[(Detection with refined offset, ChannelEstimate)]: the steps of acquisition at
    the symbol rate, as the receiver takes them."""
    out = []
    for found in sync.detect(samples):
        cfo = sync.refine_cfo(samples, found)
        window = derotate(samples[found.start:found.start + len(PREAMBLE)], cfo)
        out.append((found._replace(cfo=cfo), sync.estimate_channel(window, PREAMBLE)))
    return out


def test_bursts_are_found_at_minus_5_db_over_the_whole_offset_range():
    rng = np.random.default_rng(1)
    hits, errors = 0, []
    for cfo in np.linspace(-0.98, 0.98, 40) * sync.MAX_CFO:
        start = int(rng.integers(20, 300))
        samples, _ = burst(rng, -5.0, cfo, start)
        found = acquire(samples)
        if found and found[0][0].start == start:
            hits += 1
            errors.append(found[0][0].cfo - cfo)
    assert hits >= 39  # Pd >= 0.99 target; 40 trials here
    assert np.max(np.abs(errors)) < 2e-3  # cycles per symbol, before pilot tracking


def test_noise_alone_raises_no_detection_whatever_its_level():
    rng = np.random.default_rng(2)
    noise = (rng.standard_normal(60_000) + 1j * rng.standard_normal(60_000)) / np.sqrt(2)
    for scale in (1e-3, 1.0, 1e3):
        assert sync.detect(noise * scale) == []
    metric, offsets = sync.detection_metric(noise[:4096])
    assert metric.shape == (len(offsets), 4096 - 255)
    assert abs(metric.mean() * 256 - 1) < 0.05  # exponential with mean 1/256


def test_two_bursts_are_both_found_in_order():
    rng = np.random.default_rng(3)
    first, _ = burst(rng, 5.0, 0.01, 100, length=800)
    second, _ = burst(rng, 5.0, -0.03, 50, length=800)
    found = acquire(np.concatenate([first, second]))
    assert [d.start for d, _ in found] == [100, 850]
    assert [round(d.cfo, 3) for d, _ in found] == [0.01, -0.03]


@pytest.mark.parametrize("esn0_db", [-5.0, 10.0, 30.0])
def test_data_aided_n0_is_unbiased(esn0_db):
    rng = np.random.default_rng(4)
    errors = []
    for _ in range(200):
        cfo = rng.uniform(-1, 1) * sync.MAX_CFO
        samples, n0 = burst(rng, esn0_db, cfo, 100, length=600)
        detection = sync.Detection(100, cfo + rng.uniform(-1, 1) / 1024, 1.0)
        window = derotate(samples[100:356], sync.refine_cfo(samples, detection))
        errors.append(10 * np.log10(sync.estimate_channel(window, PREAMBLE).n0 / n0))
    assert abs(np.mean(errors)) < 0.3 and np.std(errors) < 0.5  # dB, per frame


def test_gain_and_phase_at_25_db_are_within_the_payloads_tolerance():
    rng = np.random.default_rng(5)
    gains, phases = [], []
    for _ in range(100):
        cfo, phase = rng.uniform(-1, 1) * sync.MAX_CFO, rng.uniform(-np.pi, np.pi)
        samples, _ = burst(rng, 25.0, cfo, 100, length=600, gain=0.7, phase=phase)
        (found, estimate), = acquire(samples)
        assert found.start == 100
        # the estimate's phase is referenced to the preamble's first symbol
        want = phase + 2 * np.pi * cfo * 100
        phases.append(np.angle(estimate.gain * np.exp(-1j * want)))
        gains.append(estimate.gain_db - 20 * np.log10(0.7))
        assert estimate.esn0_db == pytest.approx(25.0 + 20 * np.log10(0.7), abs=1.5)
    assert np.degrees(np.sqrt(np.mean(np.square(phases)))) < 1.0
    assert np.std(gains) < 0.1 and abs(np.mean(gains)) < 0.05


def test_bad_lengths_are_clear_errors():
    with pytest.raises(ValueError, match="fewer than the 256-symbol preamble"):
        sync.detection_metric(np.zeros(100, complex))
    with pytest.raises(ValueError, match="same length"):
        sync.estimate_channel(np.zeros(5, complex), np.ones(4, complex))
