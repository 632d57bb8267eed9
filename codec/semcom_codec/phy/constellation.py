"""Gray-mapped square QAM carrying two codebook indices per symbol (DESIGN section 2).

Each axis is an N-PAM: position p (0..N-1) has amplitude (2p-(N-1)) / sqrt(2(N^2-1)/3), so
the N^2-QAM has unit average symbol energy, and carries the index whose label is
gray(p) = p ^ (p >> 1). The first index of a pair rides on I, the second on Q.

This is the torch twin of the C++ ``gr::semcom::gray_pam`` kernel: the training channel and
the radio blocks must produce and slice exactly the same points, so hard demapping uses
the same float32 arithmetic (clamped slicing, NaN to position 0).
"""

import math

import numpy as np
import torch

ORDERS = (2, 4, 8, 16)


def _check_order(order):
    if order not in ORDERS:
        raise ValueError(f"order (indices per axis) must be one of {ORDERS}, got {order!r}")
    return int(order)


def gray(p):
    """Gray label carried by PAM position ``p`` (int or integer tensor)."""
    return p ^ (p >> 1)


def _mean_energy(order):
    # Mean energy of the integer grid 2p-(N-1) over the square N^2-QAM.
    return 2.0 * (order * order - 1.0) / 3.0


def position_amplitudes(order=8, dtype=torch.float32):
    """Unit-energy amplitudes of PAM positions 0..N-1, ascending."""
    order = _check_order(order)
    grid = (2 * torch.arange(order) - (order - 1)).to(dtype)
    # The grid value times 1/sqrt(E) rounded to ``dtype``: in float32 this is the product the
    # C++ mapper computes, so both give bit-identical symbols.
    return grid * torch.tensor(1.0 / math.sqrt(_mean_energy(order)), dtype=dtype)


def position_labels(order=8):
    """Index label carried by each PAM position: gray(p) for p = 0..N-1."""
    order = _check_order(order)
    return gray(torch.arange(order, dtype=torch.long))


def label_amplitudes(order=8, dtype=torch.float32):
    """Amplitude of each index label k = 0..N-1 (the mapper's lookup table)."""
    pos_amp = position_amplitudes(order, dtype)
    out = torch.empty_like(pos_amp)
    out[position_labels(order)] = pos_amp
    return out


def esn0_db_to_noise_var(db):
    """N0 for unit-energy symbols at Es/N0 = ``db`` dB (float or tensor)."""
    if isinstance(db, torch.Tensor):
        return torch.pow(10.0, -db / 10.0)
    return 10.0 ** (-float(db) / 10.0)


def _as_tensor(x):
    if isinstance(x, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(x))
    return torch.as_tensor(x)


def map_indices(indices, order=8):
    """Map index pairs [..., 2K] (first on I, second on Q) to complex64 symbols [..., K]."""
    order = _check_order(order)
    idx = _as_tensor(indices)
    if idx.dtype.is_floating_point or idx.dtype.is_complex or idx.dtype == torch.bool:
        raise TypeError(f"indices must be an integer tensor, got {idx.dtype}")
    if idx.ndim == 0 or idx.shape[-1] % 2:
        raise ValueError(
            f"the last dimension holds index pairs and must be even, got shape {tuple(idx.shape)}"
        )
    idx = idx.long()
    bad = (idx < 0) | (idx >= order)
    if bool(bad.any()):
        pos = int(torch.nonzero(bad.reshape(-1))[0])
        value = int(idx.reshape(-1)[pos])
        raise ValueError(
            f"index {value} at position {pos} is out of range 0..{order - 1} "
            f"for {order} indices per axis ({order * order}-QAM)"
        )
    amp = label_amplitudes(order).to(idx.device)
    return torch.complex(amp[idx[..., 0::2]], amp[idx[..., 1::2]])


def _axes(symbols):
    """Complex [..., K] -> real [..., 2K] as I0, Q0, I1, Q1, ..."""
    sym = _as_tensor(symbols)
    if not sym.is_complex():
        raise TypeError(f"symbols must be complex, got {sym.dtype}")
    real = torch.view_as_real(sym)
    return real.reshape(*real.shape[:-2], 2 * real.shape[-2])


def hard_demap(symbols, order=8):
    """Nearest index per axis: complex [..., K] -> uint8 [..., 2K].

    Slices t = x * sqrt(E)/2 + N/2 into [0.5, N-0.5] and truncates, exactly as the C++
    demapper does in float32; NaN fails both comparisons and lands on position 0.
    """
    order = _check_order(order)
    axis = _axes(symbols)
    dt = axis.dtype
    grid_scale = torch.tensor(math.sqrt(_mean_energy(order)), dtype=torch.float32).to(dt)
    gain = grid_scale * 0.5
    offset = 0.5 * (order - 1) + 0.5
    t = axis * gain + offset
    lo = torch.tensor(0.5, dtype=dt, device=axis.device)
    hi = torch.tensor(order - 0.5, dtype=dt, device=axis.device)
    t = torch.where(t > lo, t, lo)
    t = torch.where(t < hi, t, hi)
    p = t.long()
    return gray(p).to(torch.uint8)


def _axis_noise_var(noise_var, axis):
    """N0 as float64: a scalar, or per-symbol [..., K] repeated per axis to [..., 2K]."""
    n0 = torch.as_tensor(noise_var, dtype=torch.float64, device=axis.device)
    if not bool(torch.all(torch.isfinite(n0) & (n0 > 0))):
        raise ValueError(f"noise variance N0 must be positive and finite, got {noise_var!r}")
    if n0.ndim > 0:
        n0 = torch.broadcast_to(n0, axis.shape[:-1] + (axis.shape[-1] // 2,))
        n0 = n0.repeat_interleave(2, dim=-1)
    return n0


def soft_demap(symbols, noise_var, order=8):
    """Per-axis posteriors p(k|y) over index labels: complex [..., K] -> float [..., 2K, N].

    p(k|y) is proportional to exp(-(y - a_k)^2 / N0) with N0 the complex noise variance
    per symbol (N0/2 per axis). ``noise_var`` is a float or a tensor broadcastable to the
    symbol shape [..., K] (per-symbol N0 after fading equalisation). The softmax runs in
    float64 so that posteriors stay exact from -20 dB (N0 = 100) to +60 dB (N0 = 1e-6).
    """
    order = _check_order(order)
    axis = _axes(symbols)
    out_dtype = axis.dtype
    n0 = _axis_noise_var(noise_var, axis)
    n0 = n0.unsqueeze(-1) if n0.ndim > 0 else n0
    amp = label_amplitudes(order, torch.float64).to(axis.device)
    y = axis.to(torch.float64).unsqueeze(-1)
    loglik = -((y - amp) ** 2) / n0
    return torch.softmax(loglik, dim=-1).to(out_dtype)


def hard_decision_posteriors(esn0_db, order=8):
    """p(sent label | decided label) of the hard demapper on AWGN, equiprobable labels.

    A receiver that keeps only hard decisions still knows how the slicer errs at a given
    Es/N0: the sent position is Gaussian-blurred by N0/2 per axis and cut at the
    mid-points between amplitudes. Returns float64 [..., N, N] indexed [decided, sent];
    ``esn0_db`` is a float or a tensor of any shape (one table per entry). Rows sum to 1.
    """
    order = _check_order(order)
    db = torch.as_tensor(esn0_db, dtype=torch.float64)
    if not bool(torch.all(torch.isfinite(db))):
        raise ValueError(f"Es/N0 must be finite, got {esn0_db!r}")
    pos_amp = position_amplitudes(order, torch.float64)
    edges = torch.cat([torch.tensor([-math.inf], dtype=torch.float64),
                       0.5 * (pos_amp[1:] + pos_amp[:-1]),
                       torch.tensor([math.inf], dtype=torch.float64)])
    sigma = torch.sqrt(0.5 * torch.pow(10.0, -db / 10.0))[..., None, None]
    z = (edges[None, :] - pos_amp[:, None]) / sigma / math.sqrt(2.0)   # [..., sent p, edge]
    above = 0.5 * torch.erfc(z)    # P(noise moves the point past the edge upwards)
    below = 0.5 * torch.erfc(-z)   # ... and below it
    # Each error probability as a difference of two small tails, so that it stays exact
    # (and symmetric) where 1 - cdf would round to 0; the right decision takes the rest.
    up = above[..., :-1] - above[..., 1:]          # cells above the sent position
    down = below[..., 1:] - below[..., :-1]        # cells below it
    q = torch.arange(order)
    by_position = torch.where(q[None, :] > q[:, None], up, down).clamp_min(0.0)  # [.., p, q]
    wrong = torch.where(q[None, :] == q[:, None], 0.0, by_position).sum(-1, keepdim=True)
    by_position = torch.where(q[None, :] == q[:, None], 1.0 - wrong, by_position)
    labels = position_labels(order)
    table = torch.empty_like(by_position)
    table[..., labels[:, None], labels[None, :]] = by_position   # [..., sent, decided]
    joint = table.transpose(-1, -2)                              # [..., decided, sent]
    return joint / joint.sum(dim=-1, keepdim=True)


def bits_to_indices(bits, order=8):
    """Bits [..., B] (0/1, most significant first) -> index labels [..., B / log2 N].

    The bit-level view of the same constellation, for the classical baselines: each group
    of log2(N) bits is one axis label, so an N^2-QAM symbol carries 2 log2(N) bits.
    """
    order = _check_order(order)
    width = int(math.log2(order))
    b = _as_tensor(bits).long()
    if b.shape[-1] % width:
        raise ValueError(f"{b.shape[-1]} bits do not fill whole {width}-bit indices")
    weights = 2 ** torch.arange(width - 1, -1, -1, device=b.device)
    return (b.reshape(*b.shape[:-1], -1, width) * weights).sum(-1)


def bit_llrs(symbols, noise_var, order=8):
    """Max-log bit LLRs log P(b=0)/P(b=1): complex [..., K] -> float32 [..., 2K log2 N].

    Per axis and bit: (min over labels with the bit 1 of (y - a)^2 - min over labels with
    the bit 0) / N0, N0 the complex noise variance per symbol (a float, or per symbol
    [..., K] after fading equalisation). Bits come out in ``bits_to_indices`` order.
    """
    order = _check_order(order)
    width = int(math.log2(order))
    axis = _axes(symbols).to(torch.float64)
    n0 = _axis_noise_var(noise_var, axis)
    amp = label_amplitudes(order, torch.float64).to(axis.device)
    dist = (axis.unsqueeze(-1) - amp) ** 2                            # [..., 2K, N]
    labels = torch.arange(order, device=axis.device)
    llrs = []
    for j in range(width - 1, -1, -1):
        one = ((labels >> j) & 1).bool()
        d1 = dist[..., one].min(-1).values
        d0 = dist[..., ~one].min(-1).values
        llrs.append((d1 - d0) / n0)
    out = torch.stack(llrs, dim=-1)                                   # [..., 2K, width]
    return out.reshape(*out.shape[:-2], -1).to(torch.float32)


class GrayQAM:
    """The mapping for one order, so callers need not pass ``order`` everywhere."""

    def __init__(self, order=8):
        self.order = _check_order(order)
        self.bits_per_index = int(math.log2(self.order))

    def map(self, indices):
        return map_indices(indices, self.order)

    def hard_demap(self, symbols):
        return hard_demap(symbols, self.order)

    def soft_demap(self, symbols, noise_var):
        return soft_demap(symbols, noise_var, self.order)

    def __repr__(self):
        return f"GrayQAM(order={self.order})"
