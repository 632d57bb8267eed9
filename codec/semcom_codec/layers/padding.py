"""Padding images to a multiple of a codec's downsampling factor (any H, W encodes)."""

import torch.nn.functional as F


def pad_to_factor(images, factor):
    """Reflect-pads [B, 3, H, W] to multiples of ``factor`` (replicate where the image
    is too small to reflect); returns (padded, (H, W))."""
    h, w = images.shape[-2:]
    ph, pw = (-h) % factor, (-w) % factor
    if ph or pw:
        mode = "reflect" if h > ph and w > pw else "replicate"
        images = F.pad(images, (0, pw, 0, ph), mode=mode)
    return images, (h, w)
