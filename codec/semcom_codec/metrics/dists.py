"""DISTS, Deep Image Structure and Texture Similarity (Ding et al. 2020), VGG16 backbone.

The image and five stages of VGG16 features (conv1_2, conv2_2, conv3_3, conv4_3,
conv5_3 after ReLU; max-pooling replaced by L2 pooling with a 3x3 Hanning window,
stride 2) are compared per channel: texture by the global means (2 mu_x mu_y + c) /
(mu_x^2 + mu_y^2 + c), structure by the global (co)variances (2 s_xy + c) /
(s_x^2 + s_y^2 + c), c = 1e-6. DISTS = 1 - sum of alpha x texture + beta x structure,
with alpha and beta the learned weights, normalised to sum to one. 0: the same image.

A second perceptual metric beside LPIPS, which no gr-semcom model trains on.
"""

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..checkpoints import load_state_into
from . import dists_weights

# ImageNet normalisation of VGG16's input (x in [0, 1])
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
C = 1e-6


class L2Pool(nn.Module):
    """sqrt of the 3x3 Hanning-weighted mean of x^2, stride 2, per channel."""

    def __init__(self, channels):
        super().__init__()
        window = torch.tensor([0.5, 1.0, 0.5])
        kernel = window[:, None] * window[None, :]
        self.register_buffer("kernel", (kernel / kernel.sum()).expand(channels, 1, 3, 3)
                             .contiguous(), persistent=False)

    def forward(self, x):
        out = F.conv2d(x * x, self.kernel, stride=2, padding=1, groups=x.shape[1])
        return torch.sqrt(out + 1e-12)


class DISTS(nn.Module):
    """``DISTS()(x, y)`` -> [B] distances for x, y [B, 3, H, W] in [0, 1]."""

    def __init__(self, state_dict=None, bf16=None):
        super().__init__()
        # bf16 convolutions where the CPU has them natively (faster there), and the
        # calibration pairs stay within 1e-4 of the original (tests/test_dists.py)
        self.bf16 = (torch.ops.mkldnn._is_mkldnn_bf16_supported() if bf16 is None
                     else bool(bf16))
        convs, pools, in_ch = [], [], 3
        self.stage_sizes = []
        for i, stage in enumerate(dists_weights.VGG16_STAGES):
            pools.append(L2Pool(in_ch) if i else nn.Identity())
            for out_ch in stage:
                convs.append(nn.Conv2d(in_ch, out_ch, 3, padding=1))
                in_ch = out_ch
            self.stage_sizes.append(len(stage))
        self.convs = nn.ModuleList(convs)
        self.pools = nn.ModuleList(pools)
        total = sum(dists_weights.CHANNELS)
        self.alpha = nn.Parameter(torch.zeros(1, total, 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, total, 1, 1))
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)
        if state_dict is None:
            state_dict = dists_weights.dists_state_dict()
        load_state_into(self, state_dict, "DISTS weights")
        self.to(memory_format=torch.channels_last)
        self.requires_grad_(False)
        self.eval()

    def features(self, x):
        """The image and the five stages' last ReLU outputs (fp32, channels-last: the
        layout oneDNN's convolutions run fastest in on CPU)."""
        feats = [x]
        with torch.autocast(x.device.type, dtype=torch.bfloat16,
                            enabled=self.bf16 and x.device.type == "cpu"):
            # channels-last whatever the caller's strides (an HWC array seen as CHW has
            # them already but with a batch stride that hides it)
            h = torch.empty_like(x, memory_format=torch.channels_last)
            h.copy_((x - self.mean) / self.std)
            convs = iter(self.convs)
            for pool, size in zip(self.pools, self.stage_sizes):
                h = pool(h)
                for _ in range(size):
                    h = F.relu(next(convs)(h), inplace=True)
                feats.append(h.float().contiguous(memory_format=torch.channels_last))
        return feats

    def reference(self, x):
        """The features of reference images x [B, 3, H, W], centred, with their means and
        variances, to score many images against them (``compare``) at half the cost."""
        out = []
        for f in self.features(x.to(self.mean.dtype)):
            v, m = torch.var_mean(f, dim=(2, 3), correction=0, keepdim=True)
            out.append((f - m, m, v))
        return out

    def compare(self, reference, y):
        """[B] DISTS of images y against a ``reference`` of the same shape."""
        if y.dim() != 4 or tuple(y.shape[1:]) != tuple(reference[0][0].shape[1:]):
            raise ValueError(f"DISTS: image {tuple(y.shape)} does not match the reference "
                             f"{tuple(reference[0][0].shape)}")
        total = self.alpha.sum() + self.beta.sum()
        alphas = torch.split(self.alpha / total, dists_weights.CHANNELS, dim=1)
        betas = torch.split(self.beta / total, dists_weights.CHANNELS, dim=1)
        similarity = y.new_zeros(y.shape[0], dtype=self.mean.dtype)
        for (cx, mx, vx), fy, alpha, beta in zip(reference, self.features(y.to(self.mean.dtype)),
                                                  alphas, betas):
            # two products and a mean per stage (a fused variance is three times slower);
            # the reference is centred, so E[cx fy] is the covariance itself
            my = fy.mean((2, 3), keepdim=True)
            vy = ((fy * fy).mean((2, 3), keepdim=True) - my * my).clamp_min(0)
            cov = (cx * fy).mean((2, 3), keepdim=True)
            texture = (2 * mx * my + C) / (mx ** 2 + my ** 2 + C)
            structure = (2 * cov + C) / (vx + vy + C)
            similarity = similarity + (alpha * texture + beta * structure).sum((1, 2, 3))
        return 1 - similarity

    def forward(self, x, y):
        if x.shape != y.shape or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"DISTS wants two [B, 3, H, W] tensors of the same shape, "
                             f"got {tuple(x.shape)} and {tuple(y.shape)}")
        return self.compare(self.reference(x), y)


@functools.lru_cache(maxsize=1)
def shared_module():
    """One DISTS per process (its weights are 59 MB)."""
    return DISTS()


def dists_distance(a, b):
    """DISTS between two numpy HWC float images in [0, 1], as a float."""
    ta, tb = (torch.from_numpy(np.ascontiguousarray(np.asarray(v, np.float32)
                                                    .transpose(2, 0, 1)))[None] for v in (a, b))
    if ta.shape != tb.shape:
        raise ValueError(f"images differ in shape: {np.shape(a)} vs {np.shape(b)}")
    with torch.inference_mode():
        return float(shared_module()(ta, tb)[0])
