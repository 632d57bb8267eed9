"""Encoder E and decoder G of the f = 8 image autoencoder (paper section III-A).

Images are [B, 3, H, W] in 0..1 with H, W multiples of 8; latents are [B, n_q, H/8, W/8].
Space-to-depth stems put almost all computation at 1/4 and 1/8 resolution.
"""

from torch import nn


class ResBlock(nn.Module):
    """Pre-activation residual block: two 3x3 convolutions, SiLU, no normalisation."""

    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(
            nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
            nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c1, c2 = cfg.stem_channels, cfg.body_channels
        self.net = nn.Sequential(
            nn.PixelUnshuffle(4),                       # 3 -> 48 channels at 1/4
            nn.Conv2d(48, c1, 3, padding=1),
            *[ResBlock(c1) for _ in range(cfg.stem_blocks)],
            nn.PixelUnshuffle(2),                       # 4 c1 channels at 1/8
            nn.Conv2d(4 * c1, c2, 1),
            *[ResBlock(c2) for _ in range(cfg.body_blocks)],
            nn.SiLU(),
            nn.Conv2d(c2, cfg.n_q, 1))

    def forward(self, image):
        return self.net(image * 2.0 - 1.0)


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c1, c2 = cfg.stem_channels, cfg.body_channels
        self.net = nn.Sequential(
            nn.Conv2d(cfg.n_q, c2, 3, padding=1),
            *[ResBlock(c2) for _ in range(cfg.body_blocks)],
            nn.SiLU(),
            nn.Conv2d(c2, 4 * c1, 1),
            nn.PixelShuffle(2),                         # c1 channels at 1/4
            *[ResBlock(c1) for _ in range(cfg.stem_blocks)],
            nn.SiLU(),
            nn.Conv2d(c1, 48, 3, padding=1),
            nn.PixelShuffle(4))                         # 3 channels at full resolution

    def forward(self, z_q):
        """Image in 0..1 (not clamped, so that losses see overshoot during training)."""
        return self.net(z_q) * 0.5 + 0.5
