"""Deep JSCC networks: image -> power-normalised complex channel symbols -> image.

Analog: the encoder's output goes on the air as it is (no quantization, no channel
code); the channel's noise enters the decoder, which is told the Es/N0 through SNR
attention modules after every stage, so one model serves every SNR. The encoder is not
told the SNR: a transmitter rarely knows it, and the image source then needs no SNR.
"""

import torch
from torch import nn

from ...layers.snr_attention import SnrAttention
from ...phy import analog
from .config import DeepJsccConfig


class ResBlock(nn.Module):
    """Pre-activation residual block: two 3x3 convolutions, SiLU, no normalisation."""

    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
                                  nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


class JsccEncoder(nn.Module):
    """Image [B, 3, H, W] in 0..1 (H, W multiples of f) -> real latent [B, C, H/f, W/f].

    Space-to-depth by 4, then by 2 per further stage: every convolution works at 1/4 or
    coarser, where it is 16x or more cheaper than at full resolution."""

    def __init__(self, cfg: DeepJsccConfig):
        super().__init__()
        layers, in_ch = [nn.PixelUnshuffle(4)], 48
        for i, (width, blocks) in enumerate(zip(cfg.widths, cfg.res_blocks)):
            if i:
                layers.append(nn.PixelUnshuffle(2))
                in_ch *= 4
            layers += [nn.Conv2d(in_ch, width, 3 if i == 0 else 1, padding=1 if i == 0 else 0),
                       *[ResBlock(width) for _ in range(blocks)]]
            in_ch = width
        layers += [nn.SiLU(), nn.Conv2d(in_ch, cfg.latent_channels, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, image):
        return self.net(image * 2.0 - 1.0)


class _DecoderStage(nn.Module):
    """Residual blocks at one resolution, then channel gains from the SNR."""

    def __init__(self, in_ch, width, blocks):
        super().__init__()
        self.inp = nn.Conv2d(in_ch, width, 3, padding=1)
        self.blocks = nn.Sequential(*[ResBlock(width) for _ in range(blocks)])
        self.attention = SnrAttention(width)

    def forward(self, x, snr_db):
        return self.attention(self.blocks(self.inp(x)), snr_db)


class JsccDecoder(nn.Module):
    """Received real latent [B, C, h, w] -> image [B, 3, f h, f w] (unclamped)."""

    def __init__(self, cfg: DeepJsccConfig):
        super().__init__()
        widths, blocks = tuple(reversed(cfg.widths)), tuple(reversed(cfg.res_blocks))
        stages, in_ch = [], cfg.latent_channels
        for i, (width, count) in enumerate(zip(widths, blocks)):
            stages.append(_DecoderStage(in_ch, width, count))
            in_ch = widths[i + 1] if i + 1 < len(widths) else width  # after the shuffle
        self.stages = nn.ModuleList(stages)
        # between stages: 1x1 to 4 x the next width, pixel shuffle by 2
        self.ups = nn.ModuleList(nn.Sequential(nn.SiLU(), nn.Conv2d(w, 4 * nxt, 1),
                                               nn.PixelShuffle(2))
                                 for w, nxt in zip(widths[:-1], widths[1:]))
        self.out = nn.Sequential(nn.SiLU(), nn.Conv2d(widths[-1], 48, 3, padding=1),
                                 nn.PixelShuffle(4))

    def forward(self, y, snr_db):
        x = y
        for i, stage in enumerate(self.stages):
            if i:
                x = self.ups[i - 1](x)
            x = stage(x, snr_db)
        return self.out(x) * 0.5 + 0.5


class DeepJscc(nn.Module):
    """Encoder, power normalisation and decoder of one configuration."""

    def __init__(self, cfg: DeepJsccConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = JsccEncoder(cfg)
        self.decoder = JsccDecoder(cfg)

    def decoder_snr(self, snr_db, batch, device):
        """The Es/N0 the decoder's attention sees: [B], clamped to the training range."""
        low, high = self.cfg.snr_range
        snr = torch.as_tensor(snr_db, dtype=torch.float32, device=device).reshape(-1)
        return snr.expand(batch).clamp(low, high) if snr.numel() == 1 else snr.clamp(low, high)

    def transmit(self, images):
        """Images [B, 3, H, W] -> (unit-power symbols [B, n], clean latent [B, C, h, w])."""
        latent = self.encoder(images).float()  # power and noise in fp32 under autocast
        return analog.normalize_power(analog.to_symbols(latent)), latent

    def receive(self, symbols, snr_db, latent_shape):
        """Received symbols [B, n] -> image [B, 3, f h, f w] (unclamped)."""
        c, h, w = latent_shape
        snr = self.decoder_snr(snr_db, symbols.shape[0], symbols.device)
        return self.decoder(analog.from_symbols(symbols, c, h, w), snr)

    def forward(self, images, snr_db, generator=None):
        """End to end through complex AWGN: (reconstruction, clean latent)."""
        symbols, latent = self.transmit(images)
        received = analog.awgn(symbols, snr_db, generator)
        return self.receive(received, snr_db, latent.shape[1:]), latent
