"""VQ-DeepSC networks: image -> one index map per scale -> image.

Each scale's features are quantized by their own codebook (an EMA vector quantizer with
k-means initialisation and dead-entry restarts: MOCRVQ with one head and one level), so
a 4-scale model turns a 128^2 crop into 64^2 4-bit, 32^2 3-bit, 16^2 2-bit and 8^2
1-bit indices. The decoder starts from the coarsest scale and at each finer one
concatenates that scale's code vectors with its up-sampled features. Trained without a
channel (as in the paper): what errors do to it is measured, not trained for.
"""

import torch
from torch import nn

from ...quantizers.moc_rvq import MOCRVQ
from .config import VqDeepScConfig


class ResBlock(nn.Module):
    """conv-BN-PReLU-conv-BN plus the input, then PReLU."""

    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
            nn.PReLU(channels),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        self.act = nn.PReLU(channels)

    def forward(self, x):
        return self.act(x + self.body(x))


def down_block(in_ch, out_ch):
    """Residual block, 4x4 stride-2 convolution (BN, PReLU), residual block."""
    return nn.Sequential(ResBlock(in_ch),
                         nn.Conv2d(in_ch, out_ch, 4, stride=2, padding=1, bias=False),
                         nn.BatchNorm2d(out_ch), nn.PReLU(out_ch), ResBlock(out_ch))


def up_block(in_ch, out_ch):
    """Residual block, 4x4 stride-2 transposed convolution (BN, PReLU)."""
    return nn.Sequential(ResBlock(in_ch),
                         nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1, bias=False),
                         nn.BatchNorm2d(out_ch), nn.PReLU(out_ch))


class VqDeepScEncoder(nn.Module):
    """Image [B, 3, H, W] in 0..1 (H, W multiples of 2^scales) -> features per scale,
    finest first: [B, widths[k], H / 2^(k+1), W / 2^(k+1)]."""

    def __init__(self, cfg: VqDeepScConfig):
        super().__init__()
        self.inp = nn.Sequential(nn.Conv2d(3, cfg.input_width, 3, padding=1, bias=False),
                                 nn.BatchNorm2d(cfg.input_width), nn.PReLU(cfg.input_width))
        widths = (cfg.input_width, *cfg.widths)
        self.blocks = nn.ModuleList(down_block(a, b) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, image):
        x = self.inp(image * 2.0 - 1.0)
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return features


class VqDeepScDecoder(nn.Module):
    """Code vectors per scale (finest first) -> image [B, 3, H, W] in 0..1."""

    def __init__(self, cfg: VqDeepScConfig):
        super().__init__()
        w = cfg.widths
        self.ups = nn.ModuleList(up_block(w[k], w[k - 1]) for k in range(len(w) - 1, 0, -1))
        self.fuse = nn.ModuleList(
            nn.Sequential(nn.Conv2d(2 * w[k - 1], w[k - 1], 1, bias=False),
                          nn.BatchNorm2d(w[k - 1]), nn.PReLU(w[k - 1]))
            for k in range(len(w) - 1, 0, -1))
        self.out = nn.Sequential(ResBlock(w[0]),
                                 nn.ConvTranspose2d(w[0], 3, 4, stride=2, padding=1))

    def forward(self, codes):
        x = codes[-1]
        for up, fuse, finer in zip(self.ups, self.fuse, reversed(codes[:-1])):
            x = fuse(torch.cat([up(x), finer], dim=1))
        return torch.sigmoid(self.out(x))


class VqDeepSc(nn.Module):
    """Encoder, one EMA codebook per scale, decoder."""

    def __init__(self, cfg: VqDeepScConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = VqDeepScEncoder(cfg)
        self.quantizers = nn.ModuleList(
            MOCRVQ(width, heads=1, entries=n, levels=1, ema=True, decay=cfg.ema_decay,
                   beta=cfg.beta_c, restart_after=cfg.restart_after)
            for width, n in zip(cfg.widths, cfg.entries)) if cfg.quantize else None
        self.decoder = VqDeepScDecoder(cfg)

    def quantize(self, features):
        """(code vectors with a straight-through gradient, indices uint8 [B, h_k, w_k]
        per scale, VQ loss, codebook loss, commitment loss); the upper bound passes the
        features through."""
        if self.quantizers is None:
            zero = features[0].new_zeros(())
            return features, None, zero, zero, zero
        codes, indices, vq, cb, commit = [], [], 0.0, 0.0, 0.0
        for quantizer, z in zip(self.quantizers, features):
            z_q, idx, losses = quantizer(z)
            codes.append(z_q)
            indices.append(idx[:, 0, 0])
            vq = vq + losses["total"]
            cb = cb + losses["codebook"].sum()
            commit = commit + losses["commitment"].sum()
        return codes, indices, vq, cb, commit

    def forward(self, image):
        """Noiseless pass: (reconstruction, indices per scale, VQ loss, codebook loss,
        commitment loss)."""
        codes, indices, vq, cb, commit = self.quantize(self.encoder(image))
        return self.decoder(codes), indices, vq, cb, commit

    @torch.no_grad()
    def encode_indices(self, image):
        """uint8 index maps per scale, finest first, of images [B, 3, H, W]."""
        if self.quantizers is None:
            raise ValueError("the unquantized upper bound has no indices")
        return [q.quantize(z)[0][:, 0, 0]
                for q, z in zip(self.quantizers, self.encoder(image))]

    def code_vectors(self, indices):
        """Code vectors per scale from uint8 index maps [B, h_k, w_k] per scale."""
        return [q.dequantize(idx[:, None, None]) for q, idx in zip(self.quantizers, indices)]

    def soft_code_vectors(self, posteriors):
        """Posterior-weighted code vectors per scale from [B, h_k, w_k, N_k] per scale."""
        return [q.dequantize_soft(p[:, None, None]) for q, p in zip(self.quantizers, posteriors)]
