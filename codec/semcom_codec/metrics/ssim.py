"""SSIM and MS-SSIM (Wang et al. 2003/2004) on 8-bit-quantised RGB images.

Conventions, fixed so that every scheme in an evaluation is scored alike: images are
float HWC in 0..1, quantised to 8 bits first (as PSNR in images.py); the statistics use an
11x11 Gaussian window of sigma 1.5 over 'valid' positions, C1 = (0.01 * 255)^2 and
C2 = (0.03 * 255)^2; each RGB channel is scored separately and the three are averaged;
no automatic downsampling. MS-SSIM uses five scales (2x2 average pooling between them)
with the exponents of the paper; negative contrast-structure terms are clipped to 0.
"""

import numpy as np
from scipy import ndimage

from ..errors import MetricUndefined
from ..images import to_uint8

WINDOW = 11
SIGMA = 1.5
C1 = (0.01 * 255.0) ** 2
C2 = (0.03 * 255.0) ** 2
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _as_array(image):
    """HWC float in 0..1 -> [C, H, W] float64 in 0..255 after 8-bit quantisation."""
    array = to_uint8(np.asarray(image, dtype=np.float32)).astype(np.float64)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise ValueError(f"expected an HWC image, got shape {array.shape}")
    return np.ascontiguousarray(array.transpose(2, 0, 1))


def _gaussian_window():
    x = np.arange(WINDOW, dtype=np.float64) - (WINDOW - 1) / 2
    g = np.exp(-x ** 2 / (2 * SIGMA ** 2))
    return g / g.sum()


def _filter(x, window):
    """'valid' separable Gaussian filtering of every channel of [C, H, W]."""
    r = WINDOW // 2
    x = ndimage.correlate1d(x, window, axis=2, mode="constant")[:, :, r:-r]
    return ndimage.correlate1d(x, window, axis=1, mode="constant")[:, r:-r, :]


MS_SSIM_MIN_SIDE = WINDOW * 2 ** (len(MS_SSIM_WEIGHTS) - 1)


def check_ssim_size(height, width):
    """Raises MetricUndefined for an image SSIM is not defined on."""
    if min(height, width) < WINDOW:
        raise MetricUndefined(f"SSIM is not defined for images under {WINDOW}x{WINDOW} "
                              f"pixels (its window); got {width}x{height}")


def check_ms_ssim_size(height, width):
    """Raises MetricUndefined for an image MS-SSIM is not defined on."""
    need = MS_SSIM_MIN_SIDE
    if min(height, width) < need:
        raise MetricUndefined(f"MS-SSIM is not defined for images under {need}x{need} "
                              f"pixels (five scales); got {width}x{height}")


def _moments(a):
    """(a, its local means, its local variances): what a scale of the reference gives
    every comparison with it."""
    window = _gaussian_window()
    mu = _filter(a, window)
    return a, mu, _filter(a * a, window) - mu ** 2


def _ssim_terms(a, b, reference=None):
    """Per-channel means of the SSIM map and of the contrast-structure map: ([C], [C]);
    ``reference``: ``_moments(a)``, computed once for many b."""
    check_ssim_size(*a.shape[-2:])
    window = _gaussian_window()
    _, mu_a, var_a = reference or _moments(a)
    mu_b = _filter(b, window)
    var_b = _filter(b * b, window) - mu_b ** 2
    cov = _filter(a * b, window) - mu_a * mu_b
    cs = (2 * cov + C2) / (var_a + var_b + C2)
    luminance = (2 * mu_a * mu_b + C1) / (mu_a ** 2 + mu_b ** 2 + C1)
    return (luminance * cs).mean(axis=(1, 2)), cs.mean(axis=(1, 2))


def _pair(reference, test):
    a, b = _as_array(reference), _as_array(test)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(np.shape(reference))} vs {tuple(np.shape(test))}")
    return a, b


def _halve(x):
    """2x2 average pooling of [C, H, W] (an odd last row or column is dropped)."""
    c, h, w = x.shape
    x = x[:, :h - h % 2, :w - w % 2]
    return x.reshape(c, h // 2, 2, w // 2, 2).mean(axis=(2, 4))


def ssim(reference, test):
    """Mean SSIM over the RGB channels, in [-1, 1] (1: identical)."""
    a, b = _pair(reference, test)
    return float(_ssim_terms(a, b)[0].mean())


def ms_ssim(reference, test):
    """Five-scale MS-SSIM averaged over the RGB channels; needs sides >= 176 pixels."""
    return ssim_and_ms_ssim(reference, test)[1]


def ssim_and_ms_ssim(reference, test):
    """(SSIM, MS-SSIM) in one pass: MS-SSIM's first scale already holds the SSIM map."""
    return MultiScaleReference(reference)(test)


class MultiScaleReference:
    """SSIM and MS-SSIM of many images against one reference, whose local statistics
    at each scale are computed once (two of the five filterings per scale)."""

    def __init__(self, reference):
        a = _as_array(reference)
        check_ms_ssim_size(*a.shape[-2:])
        self.shape = np.shape(reference)
        self.scales = []
        for _ in MS_SSIM_WEIGHTS:
            self.scales.append(_moments(a))
            a = _halve(a)

    def __call__(self, test):
        """(SSIM, MS-SSIM) of ``test`` against the reference."""
        b = _as_array(test)
        if tuple(np.shape(test)) != tuple(self.shape):
            raise ValueError(f"shapes differ: {tuple(self.shape)} vs {tuple(np.shape(test))}")
        return _multi_scale(self.scales, b)


def _multi_scale(scales, b):
    """(SSIM, MS-SSIM) of [C, H, W] ``b`` against the reference's per-scale moments."""
    terms = []
    single = None
    for scale, reference in enumerate(scales):
        full, cs = _ssim_terms(reference[0], b, reference)
        if scale == 0:
            single = float(full.mean())
        last = scale == len(MS_SSIM_WEIGHTS) - 1
        terms.append(np.clip(full if last else cs, 0.0, None))
        if not last:
            b = _halve(b)
    stacked = np.stack(terms)  # [scales, C]
    weights = np.asarray(MS_SSIM_WEIGHTS)[:, None]
    return single, float(np.prod(stacked ** weights, axis=0).mean())
