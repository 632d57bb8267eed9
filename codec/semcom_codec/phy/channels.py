"""Simulated channels in torch for stage-2 training and evaluation.

SNR is Es/N0 per complex symbol (unit-energy constellation): the noise has variance N0,
N0/2 on each of I and Q. Fading is flat block fading with perfect CSI at the receiver,
which equalises by zero forcing (y / h); the effective noise variance per symbol is then
N0 / |h|^2, which is what soft demapping needs.

``IndexChannel`` carries codebook indices end to end with the on-air order of the radio
blocks (DESIGN section 2): an image's indices [D, P, h, w] flattened level-major in C order,
consecutive pairs forming the symbols.
"""

import math

import torch
from torch import nn

from .constellation import (
    _check_order,
    esn0_db_to_noise_var,
    hard_demap,
    map_indices,
    soft_demap,
)

FADING_KINDS = ("rayleigh", "rician")
CHANNEL_KINDS = ("none", "awgn") + FADING_KINDS


def _noise_var_for(esn0_db, symbols):
    """N0 as a float, or as a tensor aligned to the leading dims of ``symbols``.

    A tensor SNR of shape [B] (one per image) applies to every symbol of row b of [B, K].
    """
    if not isinstance(esn0_db, torch.Tensor):
        return esn0_db_to_noise_var(esn0_db)
    n0 = esn0_db_to_noise_var(esn0_db.to(device=symbols.device, dtype=torch.float64))
    if n0.ndim > symbols.ndim:
        raise ValueError(f"esn0_db has more dims {tuple(n0.shape)} than symbols {tuple(symbols.shape)}")
    return n0.reshape(n0.shape + (1,) * (symbols.ndim - n0.ndim))


def _complex_normal(shape, variance, like, generator):
    """Circular complex Gaussian of total variance ``variance`` (variance/2 per axis)."""
    real_dtype = torch.empty(0, dtype=like.dtype).real.dtype
    w = torch.randn(tuple(shape) + (2,), generator=generator, device=like.device, dtype=real_dtype)
    if isinstance(variance, torch.Tensor):
        scale = torch.sqrt(variance / 2.0).to(real_dtype).unsqueeze(-1)
    else:
        scale = math.sqrt(variance / 2.0)
    return torch.view_as_complex((w * scale).contiguous())


def awgn(symbols, esn0_db, generator=None):
    """y = x + w with w ~ CN(0, N0), N0 = 10^(-Es/N0 dB / 10)."""
    n0 = _noise_var_for(esn0_db, symbols)
    return symbols + _complex_normal(symbols.shape, n0, symbols, generator)


def fading_gains(shape, kind="rayleigh", k_factor=1.0, block_length=1, generator=None,
                 device=None, dtype=torch.complex64):
    """Block-fading coefficients h of ``shape`` [..., K] with E|h|^2 = 1.

    One coefficient per run of ``block_length`` consecutive symbols along the last dim
    (None: one per row). Rayleigh: h ~ CN(0, 1). Rician: line of sight of power
    K/(K+1) (phase 0) plus CN(0, 1/(K+1)) scatter, ``k_factor`` K linear.
    """
    if kind not in FADING_KINDS:
        raise ValueError(f"fading kind must be one of {FADING_KINDS}, got {kind!r}")
    shape = tuple(shape)
    length = shape[-1]
    bl = length if block_length is None else int(block_length)
    if bl < 1:
        raise ValueError(f"block_length must be >= 1, got {block_length}")
    nblocks = max(1, -(-length // bl))
    like = torch.empty(0, dtype=dtype, device=device)
    if kind == "rayleigh":
        h = _complex_normal(shape[:-1] + (nblocks,), 1.0, like, generator)
    else:
        if k_factor < 0:
            raise ValueError(f"k_factor must be >= 0, got {k_factor}")
        los = math.sqrt(k_factor / (k_factor + 1.0))
        h = los + _complex_normal(shape[:-1] + (nblocks,), 1.0 / (k_factor + 1.0), like, generator)
    return h.repeat_interleave(bl, dim=-1)[..., :length]


def fading(symbols, esn0_db, kind="rayleigh", k_factor=1.0, block_length=1, generator=None):
    """Faded, noisy and zero-forcing equalised symbols with perfect CSI.

    Returns (y / h, N0 / |h|^2): the equalised symbols and the effective per-symbol noise
    variance (a real tensor of the symbols' shape) to pass to ``soft_demap``.
    """
    h = fading_gains(symbols.shape, kind, k_factor, block_length, generator,
                     symbols.device, symbols.dtype)
    n0 = _noise_var_for(esn0_db, symbols)
    y = h * symbols + _complex_normal(symbols.shape, n0, symbols, generator)
    return _equalise(y, h, n0)


def _equalise(y, h, n0):
    """Zero forcing with perfect CSI: (y / h, N0 / |h|^2)."""
    # Guard the measure-zero h = 0 so that a deep fade gives a huge, not infinite, N0.
    power = torch.clamp(h.real ** 2 + h.imag ** 2, min=torch.finfo(y.real.dtype).tiny)
    eq = y * torch.conj(h) / power
    noise_var = (n0 / power).to(y.real.dtype) if isinstance(n0, torch.Tensor) else n0 / power
    return eq, noise_var


def to_air_order(indices):
    """[B, D, P, h, w] (or [B, L]) -> [B, L]: level, head, row, column in C order."""
    if indices.ndim < 2:
        raise ValueError(f"indices need a batch dim: got shape {tuple(indices.shape)}")
    return indices.reshape(indices.shape[0], -1)


def from_air_order(sequence, shape):
    """Inverse of ``to_air_order``: [B, L] (+ trailing N for posteriors) -> ``shape`` (+ N)."""
    shape = tuple(shape)
    count = math.prod(shape[1:])
    if sequence.shape[1] != count:
        raise ValueError(f"sequence of {sequence.shape[1]} indices does not fill {shape}")
    return sequence.reshape(shape + tuple(sequence.shape[2:]))


class IndexChannel(nn.Module):
    """Indices -> Gray QAM -> channel -> hard indices or soft posteriors, per image.

    Each batch row is one transmission: its indices go on the air level-major; an odd
    count is padded with index 0, which is dropped again after demapping. Hard output is
    uint8 of the input's shape; soft output is float32 of that shape plus a trailing N.
    """

    def __init__(self, order=8, kind="awgn", esn0_db=10.0, output="hard", k_factor=1.0,
                 block_length=1):
        super().__init__()
        if kind not in CHANNEL_KINDS:
            raise ValueError(f"channel kind must be one of {CHANNEL_KINDS}, got {kind!r}")
        if output not in ("hard", "soft"):
            raise ValueError(f"output must be 'hard' or 'soft', got {output!r}")
        self.order = _check_order(order)
        self.kind = kind
        self.esn0_db = esn0_db
        self.output = output
        self.k_factor = k_factor
        self.block_length = block_length

    def modulate(self, indices):
        """Transmitted symbols [B, ceil(L/2)] for indices [B, ...]."""
        seq = to_air_order(indices)
        if seq.shape[1] % 2:
            seq = torch.cat([seq, seq.new_zeros(seq.shape[0], 1)], dim=1)
        return map_indices(seq, self.order)

    def transmit(self, symbols, esn0_db=None, generator=None):
        """Received (equalised) symbols and the per-symbol noise variance."""
        snr = self.esn0_db if esn0_db is None else esn0_db
        if self.kind == "none":
            return symbols, None
        if self.kind == "awgn":
            y = awgn(symbols, snr, generator)
            n0 = _noise_var_for(snr, symbols)
            return y, n0
        return fading(symbols, snr, self.kind, self.k_factor, self.block_length, generator)

    def forward(self, indices, esn0_db=None, generator=None, output=None):
        shape = tuple(indices.shape)
        y, n0 = self.transmit(self.modulate(indices), esn0_db, generator)
        return self.demodulate(y, n0, shape, output)

    def demodulate(self, y, n0, shape, output=None):
        """Received symbols [B, K] (N0: float, per symbol, or None when noiseless) ->
        hard indices or posteriors of ``shape``, the padding index dropped."""
        output = self.output if output is None else output
        length = math.prod(tuple(shape)[1:])
        if output == "hard":
            seq = hard_demap(y, self.order)[:, :length]
        elif output == "soft":
            if n0 is None:
                # Noiseless channel: posteriors are the one-hot hard decisions.
                hard = hard_demap(y, self.order)[:, :length].long()
                seq = torch.nn.functional.one_hot(hard, self.order).to(torch.float32)
            else:
                seq = soft_demap(y, n0, self.order)[:, :length]
        else:
            raise ValueError(f"output must be 'hard' or 'soft', got {output!r}")
        return from_air_order(seq, tuple(shape))

    def extra_repr(self):
        return (f"order={self.order}, kind={self.kind!r}, esn0_db={self.esn0_db}, "
                f"output={self.output!r}")


class Realisation:
    """One draw of a channel (unit noise and fading gains) for up to ``length`` symbols.

    The evaluation gives every scheme the same draw at a given SNR and seed: a scheme that
    sends K symbols meets the first K noise samples and gains, so schemes differ only in
    what they do with the same channel.
    """

    def __init__(self, length, kind="awgn", seed=0, k_factor=1.0, block_length=1):
        if kind not in ("awgn",) + FADING_KINDS:
            raise ValueError(f"channel kind must be 'awgn' or one of {FADING_KINDS}, got {kind!r}")
        gen = torch.Generator().manual_seed(int(seed))
        self.kind = kind
        self.length = int(length)
        like = torch.empty(0, dtype=torch.complex64)
        self.noise = _complex_normal((self.length,), 1.0, like, gen)
        self.gains = (None if kind == "awgn" else
                      fading_gains((self.length,), kind, k_factor, block_length, gen))

    def power(self, count, offset=0):
        """|h|^2 of ``count`` symbols from ``offset`` (ones for AWGN)."""
        if self.gains is None:
            return torch.ones(count)
        h = self.gains[offset:offset + count]
        return h.real ** 2 + h.imag ** 2

    def apply(self, symbols, esn0_db, offset=0):
        """(equalised symbols, per-symbol N0 [K]) for symbols [K] sent from symbol
        ``offset`` of the burst, at Es/N0 ``esn0_db``."""
        count = symbols.shape[-1]
        end = offset + count
        if end > self.length:
            raise ValueError(f"symbols {offset}..{end} exceed the realisation's {self.length}")
        n0 = esn0_db_to_noise_var(esn0_db)
        w = self.noise[offset:end] * math.sqrt(n0)
        if self.gains is None:
            return symbols + w, torch.full((count,), n0)
        h = self.gains[offset:end]
        return _equalise(h * symbols + w, h, n0)
