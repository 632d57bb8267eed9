"""SSIM and MS-SSIM (Wang et al. 2003/2004) on 8-bit-quantised RGB images.

Conventions, fixed so that every scheme in an evaluation is scored alike: images are
float HWC in 0..1, quantised to 8 bits first (as PSNR in images.py); the statistics use an
11x11 Gaussian window of sigma 1.5 over 'valid' positions, C1 = (0.01 * 255)^2 and
C2 = (0.03 * 255)^2; each RGB channel is scored separately and the three are averaged;
no automatic downsampling. MS-SSIM uses five scales (2x2 average pooling between them)
with the exponents of the paper; negative contrast-structure terms are clipped to 0.
"""

import numpy as np
import torch
import torch.nn.functional as F

from .images import to_uint8

WINDOW = 11
SIGMA = 1.5
C1 = (0.01 * 255.0) ** 2
C2 = (0.03 * 255.0) ** 2
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _as_tensor(image):
    """HWC float in 0..1 -> [1, C, H, W] float64 in 0..255 after 8-bit quantisation."""
    array = to_uint8(np.asarray(image, dtype=np.float32)).astype(np.float64)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise ValueError(f"expected an HWC image, got shape {array.shape}")
    return torch.from_numpy(array).permute(2, 0, 1)[None].contiguous()


def _gaussian_window(channels):
    x = torch.arange(WINDOW, dtype=torch.float64) - (WINDOW - 1) / 2
    g = torch.exp(-x ** 2 / (2 * SIGMA ** 2))
    g = g / g.sum()
    return g.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)  # separable, one per channel


def _filter(x, window):
    """'valid' Gaussian filtering of every channel of [1, C, H, W]."""
    c = x.shape[1]
    x = F.conv2d(x, window, groups=c)
    return F.conv2d(x, window.transpose(2, 3), groups=c)


def _ssim_terms(a, b):
    """Per-channel means of the SSIM map and of the contrast-structure map: ([C], [C])."""
    if min(a.shape[-2:]) < WINDOW:
        raise ValueError(f"images of {tuple(a.shape[-2:])} are smaller than the "
                         f"{WINDOW}x{WINDOW} SSIM window")
    window = _gaussian_window(a.shape[1])
    mu_a, mu_b = _filter(a, window), _filter(b, window)
    var_a = _filter(a * a, window) - mu_a ** 2
    var_b = _filter(b * b, window) - mu_b ** 2
    cov = _filter(a * b, window) - mu_a * mu_b
    cs = (2 * cov + C2) / (var_a + var_b + C2)
    luminance = (2 * mu_a * mu_b + C1) / (mu_a ** 2 + mu_b ** 2 + C1)
    return (luminance * cs).mean(dim=(0, 2, 3)), cs.mean(dim=(0, 2, 3))


def _pair(reference, test):
    a, b = _as_tensor(reference), _as_tensor(test)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(np.shape(reference))} vs {tuple(np.shape(test))}")
    return a, b


def ssim(reference, test):
    """Mean SSIM over the RGB channels, in [-1, 1] (1: identical)."""
    a, b = _pair(reference, test)
    return float(_ssim_terms(a, b)[0].mean())


def ms_ssim(reference, test):
    """Five-scale MS-SSIM averaged over the RGB channels; needs sides >= 176 pixels."""
    a, b = _pair(reference, test)
    need = WINDOW * 2 ** (len(MS_SSIM_WEIGHTS) - 1)
    if min(a.shape[-2:]) < need:
        raise ValueError(f"MS-SSIM needs sides of at least {need} pixels, got "
                         f"{tuple(a.shape[-2:])}")
    weights = torch.tensor(MS_SSIM_WEIGHTS, dtype=torch.float64)
    terms = []
    for scale in range(len(MS_SSIM_WEIGHTS)):
        full, cs = _ssim_terms(a, b)
        last = scale == len(MS_SSIM_WEIGHTS) - 1
        terms.append(torch.clamp(full if last else cs, min=0.0))
        if not last:
            a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
    stacked = torch.stack(terms)  # [scales, C]
    return float(torch.prod(stacked ** weights[:, None], dim=0).mean())
