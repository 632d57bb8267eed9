"""SSIM / MS-SSIM against an independent float64 reference written with scipy."""

import numpy as np
import pytest
from scipy import ndimage

from semcom_codec.errors import MetricUndefined
from semcom_codec.images import to_uint8
from semcom_codec.metrics.ssim import MultiScaleReference, ms_ssim, ssim, ssim_and_ms_ssim


def reference_ssim_channel(a, b):
    """Textbook SSIM of one channel: 2-D Gaussian window (sigma 1.5, 11 taps), valid part."""
    g = np.exp(-(np.arange(11) - 5.0) ** 2 / (2 * 1.5 ** 2))
    w = np.outer(g, g) / np.outer(g, g).sum()

    def filt(x):
        return ndimage.correlate(x, w, mode="constant")[5:-5, 5:-5]

    mu_a, mu_b = filt(a), filt(b)
    s_aa = filt(a * a) - mu_a ** 2
    s_bb = filt(b * b) - mu_b ** 2
    s_ab = filt(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    lum = (2 * mu_a * mu_b + c1) / (mu_a ** 2 + mu_b ** 2 + c1)
    cs = (2 * s_ab + c2) / (s_aa + s_bb + c2)
    return (lum * cs).mean(), cs.mean()


def pair(seed, shape=(200, 240, 3), noise=0.03):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:shape[0], :shape[1]] / 40.0
    base = 0.5 + 0.3 * np.sin(x)[..., None] * np.cos(y)[..., None] * np.array([1, 0.7, 0.4])
    ref = np.clip(base, 0, 1).astype(np.float32)
    test = np.clip(ref + rng.normal(0, noise, ref.shape), 0, 1).astype(np.float32)
    return ref, test


def as255(image):
    return to_uint8(image).astype(np.float64)


def test_ssim_matches_reference():
    ref, test = pair(0)
    a, b = as255(ref), as255(test)
    want = np.mean([reference_ssim_channel(a[..., c], b[..., c])[0] for c in range(3)])
    assert ssim(ref, test) == pytest.approx(want, abs=1e-9)
    assert 0.2 < want < 0.95  # a real distortion, not a trivial case


def test_ms_ssim_matches_reference():
    ref, test = pair(1, shape=(192, 256, 3), noise=0.05)
    a, b = as255(ref), as255(test)
    weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
    per_channel = []
    for c in range(3):
        x, y, value = a[..., c], b[..., c], 1.0
        for scale, w in enumerate(weights):
            full, cs = reference_ssim_channel(x, y)
            value *= max(full if scale == 4 else cs, 0.0) ** w
            h, v = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
            x = x[:h, :v].reshape(h // 2, 2, v // 2, 2).mean(axis=(1, 3))
            y = y[:h, :v].reshape(h // 2, 2, v // 2, 2).mean(axis=(1, 3))
        per_channel.append(value)
    assert ms_ssim(ref, test) == pytest.approx(np.mean(per_channel), abs=1e-9)


def test_identity_and_ordering():
    ref, test = pair(2)
    assert ssim(ref, ref) == pytest.approx(1.0, abs=1e-12)
    assert ms_ssim(ref[:176, :176], ref[:176, :176]) == pytest.approx(1.0, abs=1e-12)
    _, worse = pair(2, noise=0.2)
    assert ssim(ref, worse) < ssim(ref, test) < 1.0
    assert ms_ssim(ref, worse) < ms_ssim(ref, test) < 1.0


def test_bad_shapes_are_named():
    ref, test = pair(3)
    with pytest.raises(ValueError, match="shapes differ"):
        ssim(ref, test[:-1])
    with pytest.raises(MetricUndefined, match="SSIM is not defined .* under 11x11"):
        ssim(ref[:8, :8], test[:8, :8])
    with pytest.raises(MetricUndefined, match="under 176x176 pixels"):
        ms_ssim(ref[:100], test[:100])


def test_ssim_and_ms_ssim_in_one_pass_equal_the_separate_ones():
    rng = np.random.default_rng(9)
    ref = rng.random((180, 190, 3))
    test = np.clip(ref + rng.normal(0, 0.1, ref.shape), 0, 1)
    assert ssim_and_ms_ssim(ref, test) == (ssim(ref, test), ms_ssim(ref, test))


def test_a_reference_scored_against_many_images_gives_each_ones_own_figures():
    rng = np.random.default_rng(10)
    ref = rng.random((180, 190, 3))
    reference = MultiScaleReference(ref)
    for noise in (0.02, 0.2, 0.0):
        test = np.clip(ref + rng.normal(0, noise, ref.shape), 0, 1)
        assert reference(test) == (ssim(ref, test), ms_ssim(ref, test))
    assert reference(ref)[1] == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="shapes differ"):
        reference(ref[:-1])
