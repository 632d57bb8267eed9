"""Transmission modes of SNR-adaptive MOC-RVQ (issue 17): which residual levels go on the
air, each on which index constellation, at a fixed symbol budget per 8x8 block.

An index (one of 8 codebook entries) rides on
- "qam64": one axis of Gray 64-QAM, two indices per complex symbol (the paper's link);
- "psk8":  one 8-PSK symbol, position p around the circle carrying label gray(p), so that
           the likely error (a neighbour on the circle) is a neighbour on the reordered
           codebook chain, as on a PAM axis;
- "biorth8": two complex symbols, the 8 biorthogonal points +/- e_i of four real
           dimensions (position p: +e_p for p < 4, -e_(p-4) after; label gray(p)).
Every constellation has unit mean energy per complex symbol. Demapping is exact: per-index
posteriors p(k | y) proportional to exp(-|y - s_k|^2 / N0) (N0 per complex symbol), and
the hard decision is the nearest point. numpy float64 is the reference; ``channel``
is the torch twin that training draws through (map, AWGN, posteriors, batched).
"""

from dataclasses import dataclass

import numpy as np
import torch

from .constellation import gray, label_amplitudes

ENTRIES = 8


@dataclass(frozen=True)
class IndexConstellation:
    """Points for the 8 labels: complex [8, dims], ``dims`` complex symbols per index;
    qam64 is the exception (two indices per symbol) and is marked by ``per_axis``."""

    name: str
    points: np.ndarray
    per_axis: bool = False

    @property
    def symbols_per_index(self):
        return 0.5 if self.per_axis else self.points.shape[1]

    def map(self, indices):
        """Indices [K] (0..7) -> complex symbols [K x symbols_per_index]."""
        indices = np.asarray(indices, dtype=np.int64).ravel()
        if indices.size and (indices.min() < 0 or indices.max() >= ENTRIES):
            raise ValueError(f"indices must be in 0..{ENTRIES - 1}")
        if self.per_axis:
            if indices.size % 2:
                raise ValueError("qam64 carries indices in pairs (I, Q)")
            amp = self.points[:, 0].real
            return amp[indices[0::2]] + 1j * amp[indices[1::2]]
        return self.points[indices].ravel()

    def _blocks(self, symbols):
        """Received symbols as [K, dims] (one row per index), qam64 as [2K, 1] reals."""
        symbols = np.asarray(symbols, dtype=np.complex128).ravel()
        if self.per_axis:
            return np.stack([symbols.real, symbols.imag], axis=1).reshape(-1, 1) + 0j
        dims = self.points.shape[1]
        if symbols.size % dims:
            raise ValueError(f"{self.name} takes {dims} symbols per index, got {symbols.size}")
        return symbols.reshape(-1, dims)

    def distances(self, symbols):
        """[K, 8] squared distances of each received index to every point."""
        y = self._blocks(symbols)
        points = self.points.real[None] + 0j if self.per_axis else self.points[None]
        return np.sum(np.abs(y[:, None, :] - points) ** 2, axis=2)

    def soft_demap(self, symbols, noise_var):
        """Per-index posteriors [K, 8] at noise variance N0 per complex symbol
        (exp(-d^2 / N0) for a complex point and for a real axis of qam64 alike: the axis
        carries N0 / 2, and exp(-d^2 / (2 N0 / 2)) is the same)."""
        n0 = float(noise_var)
        if not n0 > 0:
            raise ValueError(f"noise variance must be positive, got {noise_var!r}")
        logits = -self.distances(symbols) / n0
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return weights / weights.sum(axis=1, keepdims=True)

    def hard_demap(self, symbols):
        """The nearest point's label for each received index."""
        return np.argmin(self.distances(symbols), axis=1).astype(np.uint8)


def _qam64():
    amp = label_amplitudes(8).numpy().astype(np.float64)
    return IndexConstellation("qam64", (amp + 0j)[:, None], per_axis=True)


def _psk8():
    points = np.empty((ENTRIES, 1), dtype=np.complex128)
    for p in range(ENTRIES):
        points[gray(p), 0] = np.exp(1j * (2 * np.pi * p / ENTRIES + np.pi / ENTRIES))
    return IndexConstellation("psk8", points)


def _biorth8():
    points = np.zeros((ENTRIES, 2), dtype=np.complex128)
    amplitude = np.sqrt(2.0)  # one real dimension of two complex symbols: energy 2 = 2 x 1
    for p in range(ENTRIES):
        axis, sign = p % 4, (1.0 if p < 4 else -1.0)
        points[gray(p), axis // 2] = sign * amplitude * (1.0 if axis % 2 == 0 else 1j)
    return IndexConstellation("biorth8", points)


CONSTELLATIONS = {c.name: c for c in (_qam64(), _psk8(), _biorth8())}


@dataclass(frozen=True)
class Mode:
    """Levels 1..len(constellations) sent, level l on constellations[l - 1]."""

    name: str
    constellations: tuple

    @property
    def levels(self):
        return len(self.constellations)

    def symbols_per_block(self, heads=4):
        """Complex symbols per latent position (8x8 image block): ``heads`` indices per
        level."""
        return sum(heads * CONSTELLATIONS[c].symbols_per_index for c in self.constellations)

    def map(self, indices):
        """Level-major indices [levels, ...] -> the symbols of every level in turn."""
        indices = np.asarray(indices)
        if indices.shape[0] != self.levels:
            raise ValueError(f"mode {self.name} sends {self.levels} levels, got "
                             f"{indices.shape[0]}")
        return np.concatenate([CONSTELLATIONS[c].map(level.ravel())
                               for c, level in zip(self.constellations, indices)])

    def split(self, symbols, per_level):
        """The received symbols of each level, for ``per_level`` indices a level."""
        out, start = [], 0
        for c in self.constellations:
            count = int(per_level * CONSTELLATIONS[c].symbols_per_index)
            out.append(np.asarray(symbols)[start:start + count])
            start += count
        if start != len(symbols):
            raise ValueError(f"mode {self.name}: {len(symbols)} symbols for {start}")
        return out

    def soft_demap(self, symbols, noise_var, per_level):
        """Posteriors [levels, per_level, 8]."""
        return np.stack([CONSTELLATIONS[c].soft_demap(s, noise_var) for c, s in
                         zip(self.constellations, self.split(symbols, per_level))])

    def hard_demap(self, symbols, per_level):
        """Decided labels [levels, per_level]."""
        return np.stack([CONSTELLATIONS[c].hard_demap(s) for c, s in
                         zip(self.constellations, self.split(symbols, per_level))])


# Each set fills the budget of the paper's fixed mode: 8 symbols per block at CBR 1/24
# (L4 on 64-QAM), 4 at CBR 1/48 (L2 on 64-QAM).
MODES_CBR24 = (
    Mode("L4-qam64", ("qam64",) * 4),
    Mode("L3-psk8-qam64", ("psk8", "qam64", "qam64")),   # level 1 sturdier (unequal)
    Mode("L2-psk8", ("psk8", "psk8")),
    Mode("L1-biorth8", ("biorth8",)),
)
MODES_CBR48 = (
    Mode("L2-qam64", ("qam64",) * 2),
    Mode("L1-psk8", ("psk8",)),
)


def channel(constellation, indices, esn0_db, generator=None):
    """The training channel of one constellation in torch: labels [B, K] (int) through
    AWGN at a per-sample Es/N0 [B] (dB) -> exact posteriors [B, K, 8] (float32). Each
    index's points get their own noise; qam64 pairs indices on I and Q as the radio does
    (K even)."""
    c = CONSTELLATIONS[constellation] if isinstance(constellation, str) else constellation
    indices = torch.as_tensor(indices, dtype=torch.long)
    batch, count = indices.shape
    n0 = torch.pow(10.0, -torch.as_tensor(esn0_db, dtype=torch.float32) / 10.0).reshape(-1, 1, 1)
    if c.per_axis:
        amp = torch.as_tensor(c.points[:, 0].real, dtype=torch.float32)
        sent = amp[indices][..., None]                       # [B, K, 1] real axes
        noise = torch.randn(sent.shape, generator=generator) * torch.sqrt(n0 / 2)
        y = sent + noise
        d2 = (y - amp.reshape(1, 1, -1)) ** 2                # [B, K, 8]
    else:
        pts = torch.as_tensor(np.concatenate([c.points.real, c.points.imag], axis=1),
                              dtype=torch.float32)           # [8, 2 dims] real
        sent = pts[indices]                                  # [B, K, 2 dims]
        noise = torch.randn(sent.shape, generator=generator) * torch.sqrt(n0 / 2)
        y = sent + noise
        d2 = ((y[:, :, None, :] - pts[None, None]) ** 2).sum(dim=-1)
    return torch.softmax(-d2 / n0, dim=-1)
