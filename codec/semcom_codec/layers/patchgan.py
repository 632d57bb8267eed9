"""PatchGAN discriminator (pix2pix, n_layers = 3) with spectral normalisation, optionally
conditioned on a latent map: the conditional form of the perceptual deep JSCC paper,
whose official code feeds the clean encoder output through a 3x3 convolution and
nearest-neighbour upsampling beside the image."""

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

CONDITION_CHANNELS = 12


class PatchDiscriminator(nn.Module):
    """Image [B, 3, H, W] (+ latent [B, C, H/f, W/f]) -> logits [B, 1, h', w'], one per
    patch (70 x 70 receptive field at widths 64-128-256-512; 4x4 kernels)."""

    def __init__(self, *, widths=(32, 64, 128, 256), condition_channels=0, factor=1):
        super().__init__()
        self.factor = factor
        self.condition = (nn.Sequential(nn.Conv2d(condition_channels, CONDITION_CHANNELS, 3,
                                                  padding=1), nn.LeakyReLU(0.2))
                          if condition_channels else None)
        layers, in_ch = [], 3 + (CONDITION_CHANNELS if condition_channels else 0)
        for i, width in enumerate(widths):
            stride = 2 if i < len(widths) - 1 else 1
            layers += [spectral_norm(nn.Conv2d(in_ch, width, 4, stride=stride, padding=1)),
                       nn.LeakyReLU(0.2)]
            in_ch = width
        layers.append(spectral_norm(nn.Conv2d(in_ch, 1, 4, padding=1)))
        self.body = nn.Sequential(*layers)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, 0.0, 0.02)
                nn.init.zeros_(module.bias)

    def forward(self, image, latent=None):
        if self.condition is not None:
            if latent is None:
                raise ValueError("this discriminator is conditional: pass the latent")
            cond = F.interpolate(self.condition(latent), scale_factor=self.factor,
                                 mode="nearest")
            image = torch.cat([image, cond], dim=1)
        return self.body(image)
