"""Analog payloads: real latent channels paired into complex channel symbols, per-image
power normalisation and the complex AWGN channel, as the deep JSCC family trains them.

Air order of one image's symbols: complex channel k = 0..C/2-1 (real channel k is I,
real channel k + C/2 is Q, the pairing of the official perceptual deep JSCC code), then
latent row, then column.
"""

import torch


def to_symbols(latent):
    """Real latent [B, C, h, w] (C even) -> complex symbols [B, C/2 * h * w], air order."""
    b, c = latent.shape[:2]
    if c % 2:
        raise ValueError(f"an analog latent needs an even channel count, got {c}")
    i, q = latent.float().reshape(b, 2, c // 2 * latent.shape[2] * latent.shape[3]).unbind(1)
    return torch.complex(i, q)


def from_symbols(symbols, channels, height, width):
    """Inverse of to_symbols: complex [B, C/2 * h * w] -> real [B, C, h, w]."""
    b = symbols.shape[0]
    real = torch.stack([symbols.real, symbols.imag], dim=1)
    return real.reshape(b, channels, height, width)


def normalize_power(symbols):
    """Scales each image's symbols [B, n] to unit mean power (Es = 1)."""
    power = symbols.abs().square().mean(dim=1, keepdim=True)
    return symbols / torch.sqrt(power.clamp_min(1e-12))


def awgn(symbols, snr_db, generator=None):
    """Complex AWGN at Es/N0 = snr_db ([B] or a float) for unit-power symbols [B, n]:
    N0 = 10^(-snr/10), i.e. variance N0 / 2 per real component."""
    snr_db = torch.as_tensor(snr_db, dtype=torch.float32, device=symbols.device)
    n0 = torch.pow(10.0, -snr_db / 10.0).reshape(-1, 1)
    std = torch.sqrt(n0 / 2)
    noise = torch.randn(symbols.shape + (2,), generator=generator, device=symbols.device)
    return symbols + std * torch.complex(noise[..., 0], noise[..., 1])
