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

import math
import re
from dataclasses import dataclass

import numpy as np
import torch

from .constellation import gray, hard_decision_posteriors, label_amplitudes

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

    def distances(self, symbols, noise_var=None):
        """[K, 8] squared distances of each received index to every point; with
        ``noise_var`` per received symbol, each dimension's divided by its N0."""
        y = self._blocks(symbols)
        points = self.points.real[None] + 0j if self.per_axis else self.points[None]
        d2 = np.abs(y[:, None, :] - points) ** 2                    # [K, 8, dims]
        if noise_var is not None:  # a qam64 axis has the N0 of its symbol
            n0 = np.asarray(noise_var, dtype=np.float64).ravel()
            n0 = n0.repeat(2)[:, None] if self.per_axis else n0.reshape(-1, self.points.shape[1])
            d2 = d2 / n0[:, None, :]
        return np.sum(d2, axis=2)

    def soft_demap(self, symbols, noise_var):
        """Per-index posteriors [K, 8] at noise variance N0 per complex symbol: a float,
        or one per received symbol (after equalisation, N0 / |h|^2). exp(-d^2 / N0) for a
        complex point and for a real axis of qam64 alike: the axis carries N0 / 2, and
        exp(-d^2 / (2 N0 / 2)) is the same."""
        n0 = np.asarray(noise_var, dtype=np.float64)
        if not np.all(n0 > 0):
            raise ValueError(f"noise variance must be positive, got {noise_var!r}")
        if n0.ndim == 0:
            logits = -self.distances(symbols) / float(n0)
        else:
            if n0.size != np.size(symbols):
                raise ValueError(f"{n0.size} noise variances for {np.size(symbols)} symbols")
            logits = -self.distances(symbols, n0)
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
# The constellation's number in a receiver's learned embeddings (NRB): fixed, never reused.
CONSTELLATION_IDS = {"qam64": 0, "psk8": 1, "biorth8": 2}

# Composite Gauss-Legendre rule for the slicer integrals below (float64, exact to ~1e-13).
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(24)


def _integrate(f, lo, hi, panels):
    """Integral of f over [lo, hi] (tensors [B]) in ``panels`` Gauss-Legendre panels;
    f maps points [B, n] to values [B, n]."""
    edges = torch.linspace(0.0, 1.0, panels + 1, dtype=torch.float64)
    nodes = torch.as_tensor(_GL_NODES, dtype=torch.float64)
    weights = torch.as_tensor(_GL_WEIGHTS, dtype=torch.float64)
    left, right = edges[:-1, None], edges[1:, None]
    unit = (left + (right - left) * (nodes[None] + 1) / 2).reshape(-1)     # [panels * n]
    unit_w = ((right - left) / 2 * weights[None]).reshape(-1)
    span = (hi - lo)[:, None]
    x = lo[:, None] + span * unit[None]
    return (f(x) * unit_w[None] * span).sum(dim=1)


def _phi(x):
    return 0.5 * torch.erfc(-x / math.sqrt(2.0))


def _psk8_by_offset(gamma):
    """[B, 8]: P(decided position = sent + k) for k = 0..7 on 8-PSK at Es/N0 ``gamma``,
    integrating the phase density of a unit phasor in complex noise of variance 1/gamma
    over each decision sector."""
    g = gamma[:, None]

    def density(theta):
        c = torch.cos(theta)
        return (torch.exp(-g) / (2 * math.pi) + torch.sqrt(g / math.pi) * c
                * torch.exp(-g * torch.sin(theta) ** 2) * 0.5 * torch.erfc(-torch.sqrt(g) * c))

    width = 2 * math.pi / ENTRIES
    out = [torch.zeros_like(gamma)]
    for k in range(1, ENTRIES):
        lo = torch.full_like(gamma, k * width - width / 2)
        out.append(_integrate(density, lo, lo + width, 8))
    out = torch.stack(out, dim=1)
    out[:, 0] = 1.0 - out[:, 1:].sum(dim=1)
    return out


def _biorth8_errors(gamma):
    """(P(decided = -sent), P(decided = one given orthogonal point)) [B] each for the 8
    biorthogonal points (amplitude sqrt 2 on one of four real axes, noise 1/(2 gamma)
    per axis): the slicer picks the axis of largest |y| and its sign."""
    sigma = torch.sqrt(0.5 / gamma)
    a = math.sqrt(2.0)
    lo = torch.zeros_like(gamma)
    hi = a + 12 * sigma
    s = sigma[:, None]

    def inside(y):       # P(|noise| < y) on one axis
        return torch.erf(y / (s * math.sqrt(2.0)))

    def pdf(y):
        return torch.exp(-0.5 * (y / s) ** 2) / (s * math.sqrt(2 * math.pi))

    opposite = _integrate(lambda y: pdf(y + a) * inside(y) ** 3, lo, hi, 32)
    other = _integrate(lambda t: pdf(t) * (_phi((t - a) / s) - _phi((-t - a) / s))
                       * inside(t) ** 2, lo, hi, 32)
    return opposite, other


def decision_posteriors(constellation, esn0_db):
    """p(sent label | decided label) of the nearest-point slicer on AWGN with equiprobable
    labels: float64 [..., 8, 8] indexed [decided, sent], for Es/N0 (dB, per complex
    symbol) a float or a tensor. What a receiver that keeps hard decisions knows of
    them: it dequantizes each to its MMSE code vector. Rows sum to 1."""
    c = CONSTELLATIONS[constellation] if isinstance(constellation, str) else constellation
    if c.per_axis:
        return hard_decision_posteriors(esn0_db, ENTRIES)
    db = torch.as_tensor(esn0_db, dtype=torch.float64)
    if not bool(torch.all(torch.isfinite(db))):
        raise ValueError(f"Es/N0 must be finite, got {esn0_db!r}")
    shape = db.shape
    gamma = torch.pow(10.0, db.reshape(-1) / 10.0)
    positions = torch.arange(ENTRIES)
    labels = torch.as_tensor([gray(p) for p in positions.tolist()])
    if c.name == "psk8":
        by_offset = _psk8_by_offset(gamma)                               # [B, 8]
        offset = (positions[None, :] - positions[:, None]) % ENTRIES      # [sent p, dec q]
        by_position = by_offset[:, offset]
    else:
        opposite, other = _biorth8_errors(gamma)
        axis = positions % 4
        same_axis = axis[:, None] == axis[None, :]
        by_position = torch.where(same_axis, opposite[:, None, None],
                                  other[:, None, None]).clone()
        eye = torch.eye(ENTRIES, dtype=torch.bool)
        by_position[:, eye] = 0.0
        by_position[:, eye] = (1.0 - by_position.sum(dim=2))[:, :, None].expand(
            -1, -1, ENTRIES)[:, eye]
    by_position = by_position.clamp_min(0.0)
    table = torch.empty_like(by_position)
    table[:, labels[:, None], labels[None, :]] = by_position              # [sent, decided]
    joint = table.transpose(-1, -2)
    return (joint / joint.sum(dim=-1, keepdim=True)).reshape(*shape, ENTRIES, ENTRIES)


@dataclass(frozen=True)
class Mode:
    """Levels 1..len(constellations) sent, level l on constellations[l - 1]."""

    name: str
    constellations: tuple

    @property
    def levels(self):
        return len(self.constellations)

    @property
    def id(self):
        """The mode's number in a frame header: 0 for every level on 64-QAM (the paper's
        link, whatever the level count, so that older frames read as it)."""
        if all(c == "qam64" for c in self.constellations):
            return 0
        return MODE_IDS[self.name]

    @property
    def constellation_ids(self):
        return tuple(CONSTELLATION_IDS[c] for c in self.constellations)

    def entry_symbols(self, per_level):
        """(first, last) int arrays [levels x per_level]: the channel symbols each index
        of the level-major payload rides on."""
        first, last, offset = [], [], 0
        for name in self.constellations:
            c, e = CONSTELLATIONS[name], np.arange(per_level)
            step = c.symbols_per_index
            begin = offset + (e // 2 if c.per_axis else e * int(step))
            first.append(begin)
            last.append(begin if c.per_axis else begin + int(step) - 1)
            offset += int(per_level * step)
        return np.concatenate(first), np.concatenate(last)

    def symbols_for(self, per_level):
        """Complex symbols of ``per_level`` indices a level (an even count: 64-QAM
        carries them in pairs)."""
        return sum(int(per_level * CONSTELLATIONS[c].symbols_per_index)
                   for c in self.constellations)

    @property
    def budget_levels(self):
        """The number of levels on 64-QAM that takes the same symbols (the budget)."""
        return self.symbols_for(2)

    def decision_posteriors(self, esn0_db):
        """[..., levels, 8, 8] p(sent | decided) of each level's slicer (float64)."""
        return torch.stack([decision_posteriors(c, esn0_db) for c in self.constellations],
                           dim=-3)

    def channel(self, indices, esn0_db, hard, generator=None):
        """Training channel of the whole mode: indices [B, levels, K] -> hard decisions
        (long [B, levels, K], the nearest points) or posteriors [B, levels, K, 8]."""
        posteriors = torch.stack([channel(c, indices[:, i], esn0_db, generator)
                                  for i, c in enumerate(self.constellations)], dim=1)
        return posteriors.argmax(dim=-1) if hard else posteriors

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
        """Posteriors [levels, per_level, 8]; ``noise_var`` a float or one per symbol."""
        noise = (self.split(noise_var, per_level) if np.ndim(noise_var)
                 else [noise_var] * self.levels)
        return np.stack([CONSTELLATIONS[c].soft_demap(s, n) for c, s, n in
                         zip(self.constellations, self.split(symbols, per_level), noise)])

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
# Header numbers of the modes that are not all 64-QAM: fixed, never reused (4 bits).
MODE_IDS = {"L3-psk8-qam64": 1, "L2-psk8": 2, "L1-biorth8": 3, "L1-psk8": 4}
_NAMED = {m.name: m for m in MODES_CBR24 + MODES_CBR48 if m.id}
MODE_SETS = {"1/24": MODES_CBR24, "1/48": MODES_CBR48}
_QAM64_NAME = re.compile(r"L([1-8])-qam64")


def qam64_mode(levels):
    """The paper's link at ``levels`` levels: every level on 64-QAM."""
    return Mode(f"L{int(levels)}-qam64", ("qam64",) * int(levels))


def mode_named(name):
    """The Mode of a name ("L2-psk8", "L3-qam64", ...), or ValueError listing them."""
    if isinstance(name, Mode):
        return name
    match = _QAM64_NAME.fullmatch(str(name))
    if match:
        return qam64_mode(int(match.group(1)))
    if name not in _NAMED:
        raise ValueError(f"unknown transmission mode {name!r}; modes: L1-qam64 .. L4-qam64, "
                         f"{', '.join(_NAMED)}")
    return _NAMED[name]


def mode_from_header(levels, mode_id):
    """The Mode a frame header names (its level count and mode number), or ValueError."""
    if mode_id == 0:
        return qam64_mode(levels)
    for mode in _NAMED.values():
        if mode.id == mode_id:
            if mode.levels != levels:
                raise ValueError(f"mode {mode.name} sends {mode.levels} levels, the header "
                                 f"says {levels}")
            return mode
    raise ValueError(f"unknown transmission mode number {mode_id}")


def _torch_points(c):
    """The constellation's points as real float32 [8, 2 dims] (qam64: [8, 1] amplitudes)."""
    if c.per_axis:
        return torch.as_tensor(c.points[:, :1].real, dtype=torch.float32)
    return torch.as_tensor(np.concatenate([c.points.real, c.points.imag], axis=1),
                           dtype=torch.float32)


def torch_posteriors(constellation, received, noise_var):
    """The torch twin of ``IndexConstellation.soft_demap``: received points [B, K, 2 dims]
    as real float32 (qam64: [B, K, 1], one axis per index), N0 per complex symbol [B]
    -> posteriors [B, K, 8]; their argmax is the nearest point, as ``hard_demap``."""
    c = CONSTELLATIONS[constellation] if isinstance(constellation, str) else constellation
    pts = _torch_points(c)
    n0 = torch.as_tensor(noise_var, dtype=torch.float32).reshape(-1, 1, 1)
    d2 = ((received[:, :, None, :] - pts[None, None]) ** 2).sum(dim=-1)   # [B, K, 8]
    return torch.softmax(-d2 / n0, dim=-1)


def channel(constellation, indices, esn0_db, generator=None):
    """The training channel of one constellation in torch: labels [B, K] (int) through
    AWGN at a per-sample Es/N0 [B] (dB) -> exact posteriors [B, K, 8] (float32). Each
    index's points get their own noise (N0 / 2 per real dimension); qam64 indices are
    the I and Q axes of the radio's symbols."""
    c = CONSTELLATIONS[constellation] if isinstance(constellation, str) else constellation
    indices = torch.as_tensor(indices, dtype=torch.long)
    n0 = torch.pow(10.0, -torch.as_tensor(esn0_db, dtype=torch.float32) / 10.0).reshape(-1)
    sent = _torch_points(c)[indices]                          # [B, K, dims]
    noise = torch.randn(sent.shape, generator=generator) * torch.sqrt(n0 / 2).view(-1, 1, 1)
    return torch_posteriors(c, sent + noise, n0)
