"""Noise-reduction block (NRB): residual Swin Transformer layers on the received latent.

Paper section III-B: after the receiver rebuilds z from (possibly wrong) indices, a stack
of Swin layers (window self-attention, every second layer on windows shifted by half a
window) predicts a correction; its output is then requantized by MOC-RVQ. Trained in
stage 2 with everything else frozen. The number of levels received is given to the block
as a learned embedding, since the latent's statistics differ per level; so is, with
``nrb_modes``, the index constellation each level came on (its errors differ too).
"""

import torch
import torch.nn.functional as F
from torch import nn

from ...phy.modes import CONSTELLATION_IDS, mode_named, qam64_mode


def window_partition(x, window):
    """[B, H, W, C] -> [B * nW, window*window, C] (H, W multiples of window)."""
    b, h, w, c = x.shape
    x = x.view(b, h // window, window, w // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, c)


def window_merge(windows, window, b, h, w):
    c = windows.shape[-1]
    x = windows.view(b, h // window, w // window, window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)


def shifted_window_mask(h, w, window, shift, device):
    """Additive attention mask [nW, T, T] keeping tokens of different regions apart
    after the cyclic shift (they were not neighbours in the image)."""
    region = torch.zeros(1, h, w, 1, device=device)
    label = 0
    for hs in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
        for ws in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
            region[:, hs, ws, :] = label
            label += 1
    ids = window_partition(region, window).squeeze(-1)          # [nW, T]
    different = ids.unsqueeze(1) != ids.unsqueeze(2)
    return torch.zeros(different.shape, device=device).masked_fill(different, float("-inf"))


class WindowAttention(nn.Module):
    """Multi-head self-attention inside a window, with a learned relative position bias."""

    def __init__(self, dim, heads, window):
        super().__init__()
        if dim % heads:
            raise ValueError(f"NRB width {dim} is not divisible by {heads} heads")
        self.heads, self.window = heads, window
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.bias_table, std=0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window),
                                            indexing="ij")).flatten(1)       # [2, T]
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("bias_index", rel[..., 0] * (2 * window - 1) + rel[..., 1],
                             persistent=False)

    def forward(self, x, mask=None):
        bw, t, c = x.shape
        q, k, v = self.qkv(x).view(bw, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        bias = self.bias_table[self.bias_index].permute(2, 0, 1)          # [heads, T, T]
        attn_mask = bias.unsqueeze(0)
        if mask is not None:
            n_windows = mask.shape[0]
            attn_mask = (attn_mask.view(1, 1, self.heads, t, t)
                         + mask.view(1, n_windows, 1, t, t)).view(1, n_windows, self.heads, t, t)
            q, k, v = (u.view(bw // n_windows, n_windows, self.heads, t, -1) for u in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.proj(out.reshape(bw, self.heads, t, -1).transpose(1, 2).reshape(bw, t, c))


class SwinLayer(nn.Module):
    def __init__(self, dim, heads, window, shift):
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        """x [B, H, W, C], H and W multiples of the window."""
        b, h, w, c = x.shape
        y = self.norm1(x)
        shift = self.shift if min(h, w) > self.window else 0  # one window: nothing to shift
        mask = None
        if shift:
            y = torch.roll(y, (-shift, -shift), dims=(1, 2))
            mask = shifted_window_mask(h, w, self.window, shift, x.device)
        y = window_merge(self.attn(window_partition(y, self.window), mask), self.window, b, h, w)
        if shift:
            y = torch.roll(y, (shift, shift), dims=(1, 2))
        x = x + y
        return x + self.mlp(self.norm2(x))


class NoiseReductionBlock(nn.Module):
    """z_hat [B, n_q, h, w] (from `levels` received levels) -> refined z [B, n_q, h, w]."""

    def __init__(self, cfg):
        super().__init__()
        dim, window = cfg.nrb_dim, cfg.nrb_window
        self.window = window
        self.embed = nn.Linear(cfg.n_q, dim)
        self.level_embedding = nn.Embedding(cfg.levels, dim)
        self.snr_input = bool(cfg.nrb_snr_input)
        if self.snr_input:
            self.snr_embedding = nn.Linear(2, dim)  # (scaled Es/N0, "unknown" flag)
        self.mode_input = bool(cfg.nrb_modes)
        if self.mode_input:
            # one vector per (level, constellation), summed over the levels sent; zero at
            # first, so that a fine-tuned 64-QAM NRB starts as it was
            self.constellation_embedding = nn.Embedding(cfg.levels * len(CONSTELLATION_IDS), dim)
            nn.init.zeros_(self.constellation_embedding.weight)
        self.layers = nn.ModuleList(
            SwinLayer(dim, cfg.nrb_heads, window, shift=(window // 2) * (i % 2))
            for i in range(2 * cfg.nrb_layers))
        self.norm = nn.LayerNorm(dim)
        self.out = nn.Linear(dim, cfg.n_q)
        nn.init.zeros_(self.out.weight)  # starts as the identity on z
        nn.init.zeros_(self.out.bias)

    def forward(self, z, levels, esn0_db=None, mode=None):
        """``esn0_db``: the channel's Es/N0 in dB, a float or one per image [B]; None or
        NaN entries mean unknown. Ignored by an NRB built without ``nrb_snr_input``.
        ``mode``: the phy.modes.Mode the levels came on (None: all on 64-QAM); an NRB
        built without ``nrb_modes`` knows only that one and is not told."""
        b, c, h, w = z.shape
        ph, pw = (-h) % self.window, (-w) % self.window
        x = F.pad(z, (0, pw, 0, ph), mode="replicate") if ph or pw else z
        x = self.embed(x.permute(0, 2, 3, 1))
        x = x + self.level_embedding.weight[levels - 1].view(1, 1, 1, -1)
        if self.snr_input:
            features = snr_features(esn0_db, b, z.device).to(x.dtype)
            x = x + self.snr_embedding(features).view(b, 1, 1, -1)
        if self.mode_input:
            mode = qam64_mode(levels) if mode is None else mode_named(mode)
            if mode.levels != levels:
                raise ValueError(f"mode {mode.name} sends {mode.levels} levels, not {levels}")
            slots = torch.tensor([level * len(CONSTELLATION_IDS) + cid
                                  for level, cid in enumerate(mode.constellation_ids)],
                                 device=z.device)
            x = x + self.constellation_embedding(slots).sum(0).view(1, 1, 1, -1)
        for layer in self.layers:
            x = layer(x)
        delta = self.out(self.norm(x)).permute(0, 3, 1, 2)[:, :, :h, :w]
        return z + delta


def snr_features(esn0_db, batch, device):
    """[B, 2]: Es/N0 scaled to about -1..1 over -5..30 dB (clamped to -10..40 dB), and 1 in
    the second column where it is unknown (None or NaN)."""
    if esn0_db is None:
        snr = torch.full((batch,), float("nan"), device=device)
    else:
        snr = torch.as_tensor(esn0_db, dtype=torch.float32, device=device).reshape(-1)
        snr = snr.expand(batch) if snr.numel() == 1 else snr
        if snr.numel() != batch:
            raise ValueError(f"esn0_db has {snr.numel()} values for a batch of {batch}")
    unknown = torch.isnan(snr)
    scaled = (torch.clamp(torch.nan_to_num(snr, nan=12.5), -10.0, 40.0) - 12.5) / 17.5
    return torch.stack([torch.where(unknown, torch.zeros_like(scaled), scaled),
                        unknown.float()], dim=1)


def gram(z):
    """Channel Gram matrices [B, C, C] of z [B, C, h, w], normalised by positions."""
    f = z.flatten(2)
    return f @ f.transpose(1, 2) / f.shape[-1]


def noise_reduction_loss(z_r, z_q, l2_weight=0.25, per_sample=False):
    """Paper eq. 10: Gram (style) loss + alpha x L2 against the noiseless z_q; the batch
    mean, or one value per sample [B] with ``per_sample``."""
    target = z_q.detach()
    style = (gram(z_r) - gram(target)).pow(2).flatten(1).mean(1)
    l2 = (z_r - target).pow(2).flatten(1).mean(1)
    loss = style + l2_weight * l2
    return loss if per_sample else loss.mean()


def snr_balanced(loss, baseline, floor=0.05):
    """Batch loss with each sample's eq.-10 loss divided by its loss without the NRB.

    Noise energy falls by orders of magnitude from -5 to 30 dB Es/N0, so a plain mean
    trains the NRB for low SNRs only and it then alters nearly clean latents. Dividing by
    the unrefined loss (floored at ``floor`` x its batch mean, since a clean latent has
    none) weighs each SNR alike; times the batch mean it keeps the plain loss's scale.
    """
    baseline = baseline.detach()
    scale = baseline.mean()
    return (loss * scale / (baseline + floor * scale + 1e-12)).mean()
