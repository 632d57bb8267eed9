"""MOC-RVQ: multi-head octonary codebooks stacked as residual VQ (paper section III-A).

Level d splits the residual r_{d-1} [B, n_q, h, w] channel-wise into P heads of n_q/P
channels; each head picks the nearest (squared L2) of its own N code vectors; the chosen
vectors, concatenated, form e_d; r_d = r_{d-1} - e_d and z_q = e_1 + ... + e_L. Indices are
uint8 [B, L, P, h, w], the layout the channel sends level-major.

Codebooks are a [D, P, N, n_q/P] tensor, trained either by gradient (codebook loss) or by
exponential moving averages (k-means style, usually more stable). Data-dependent k-means
initialisation and restart of dead entries keep all N states in use, which matters here
because every state is a constellation point.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..training.distributed import all_reduce_, broadcast_

# Rows of residual processed at once in the nearest-neighbour search (bounds memory).
_SEARCH_CHUNK = 16384


def _nearest(x, codebooks):
    """Nearest code vector per row: x [P, M, d], codebooks [P, N, d] -> long [P, M].

    Distances are per-element sums of squared differences rather than a matmul, so the
    distance of a row to a code vector does not depend on the vector's position in the
    codebook: reordering a codebook relabels indices without changing any decision.
    """
    out = []
    for start in range(0, x.shape[1], _SEARCH_CHUNK):
        chunk = x[:, start:start + _SEARCH_CHUNK]
        dist = ((chunk.unsqueeze(2) - codebooks.unsqueeze(1)) ** 2).sum(-1)
        out.append(dist.argmin(-1))
    if not out:
        return torch.empty(x.shape[0], 0, dtype=torch.long, device=x.device)
    return torch.cat(out, dim=1)


def kmeans(x, n, iters=10, generator=None):
    """Lloyd's k-means on rows of x [M, d]: returns (centroids [n, d], counts [n]).

    Seeds from random distinct rows (with replacement if M < n); an empty cluster is
    re-seeded from a random row. Every non-empty cluster's centroid is its mean, so
    quantizing with the result never increases the summed squared error over ||x||^2.
    """
    m = x.shape[0]
    if m == 0:
        raise ValueError("k-means needs at least one row of data")
    if m >= n:
        seed = torch.randperm(m, generator=generator, device="cpu")[:n]
    else:
        seed = torch.randint(m, (n,), generator=generator, device="cpu")
    centroids = x[seed.to(x.device)].clone()
    counts = torch.zeros(n, dtype=x.dtype, device=x.device)
    for _ in range(max(1, iters)):
        assign = _nearest(x.unsqueeze(0), centroids.unsqueeze(0))[0]
        counts = torch.bincount(assign, minlength=n).to(x.dtype)
        sums = torch.zeros_like(centroids).index_add_(0, assign, x)
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled].unsqueeze(-1)
        empty = torch.nonzero(~filled).flatten()
        if empty.numel():
            pick = torch.randint(m, (empty.numel(),), generator=generator, device="cpu")
            centroids[empty] = x[pick.to(x.device)]
    return centroids, counts


class MOCRVQ(nn.Module):
    """Multi-head, multi-level residual vector quantizer with uint8 indices.

    Args:
        n_q: latent channels; must be divisible by ``heads``.
        heads: P, codebooks per level (head dim n_q / P).
        entries: N, code vectors per head codebook (8 for 64-QAM; at most 256).
        levels: D, residual levels.
        ema: update codebooks by EMA (True) or by the gradient of the codebook loss.
        decay: EMA decay. eps: Laplace smoothing of EMA cluster sizes.
        beta: weight of the commitment loss in ``losses['total']``.
        kmeans_init: initialise each level/head by k-means on the first training batch.
        kmeans_iters: Lloyd iterations for that initialisation.
        restart_after: re-seed an entry unused for this many training steps (None: never).
    """

    def __init__(self, n_q, heads=4, entries=8, levels=4, ema=True, decay=0.99, eps=1e-5,
                 beta=0.25, kmeans_init=True, kmeans_iters=10, restart_after=50):
        super().__init__()
        if n_q % heads:
            raise ValueError(f"n_q={n_q} is not divisible by heads={heads}")
        if not 1 <= entries <= 256:
            raise ValueError(f"entries must be 1..256 to fit uint8 indices, got {entries}")
        self.n_q, self.heads, self.entries, self.levels = n_q, heads, entries, levels
        self.head_dim = n_q // heads
        self.ema, self.decay, self.eps, self.beta = ema, decay, eps, beta
        self.kmeans_iters = kmeans_iters
        self.restart_after = restart_after

        shape = (levels, heads, entries, self.head_dim)
        init = torch.empty(shape).uniform_(-1.0 / entries, 1.0 / entries)
        if ema:
            self.register_buffer("codebooks", init)
            self.register_buffer("ema_count", torch.ones(levels, heads, entries))
            self.register_buffer("ema_sum", init.clone())
        else:
            self.codebooks = nn.Parameter(init)
        self.register_buffer("initialized", torch.tensor(not kmeans_init))
        self.register_buffer("unused_steps", torch.zeros(levels, heads, entries, dtype=torch.long))
        self.register_buffer("usage_counts", torch.zeros(levels, heads, entries, dtype=torch.long))

    # -- layout helpers -------------------------------------------------------------------

    def _split(self, r):
        """[B, n_q, h, w] -> [P, B*h*w, head_dim]."""
        b, _, h, w = r.shape
        x = r.reshape(b, self.heads, self.head_dim, h, w).permute(1, 0, 3, 4, 2)
        return x.reshape(self.heads, b * h * w, self.head_dim)

    def _codewords(self, level, idx, codebooks=None):
        """Code vectors of one level for indices [B, P, h, w] -> [B, n_q, h, w]."""
        cb = self.codebooks[level] if codebooks is None else codebooks
        heads = torch.arange(self.heads, device=idx.device).view(1, -1, 1, 1)
        e = cb[heads, idx.long()]  # [B, P, h, w, head_dim]
        b, _, h, w = idx.shape
        return e.permute(0, 1, 4, 2, 3).reshape(b, self.n_q, h, w)

    def _check_input(self, z, levels):
        if z.ndim != 4 or z.shape[1] != self.n_q:
            raise ValueError(f"expected z of shape [B, {self.n_q}, h, w], got {tuple(z.shape)}")
        levels = self.levels if levels is None else int(levels)
        if not 1 <= levels <= self.levels:
            raise ValueError(f"levels must be 1..{self.levels}, got {levels}")
        return levels

    # -- initialisation -------------------------------------------------------------------

    @torch.no_grad()
    def set_codebooks(self, codebooks):
        """Load codebooks [D, P, N, head_dim] (resetting EMA state) and mark initialised."""
        codebooks = torch.as_tensor(codebooks, dtype=self.codebooks.dtype,
                                    device=self.codebooks.device)
        if codebooks.shape != self.codebooks.shape:
            raise ValueError(f"expected codebooks {tuple(self.codebooks.shape)}, got {tuple(codebooks.shape)}")
        self.codebooks.copy_(codebooks)
        if self.ema:
            self.ema_count.fill_(1.0)
            self.ema_sum.copy_(codebooks)
        self.unused_steps.zero_()
        self.initialized.fill_(True)

    @torch.no_grad()
    def init_from_data(self, z, generator=None):
        """k-means per level and head on the residuals of ``z``, level after level."""
        self._check_input(z, None)
        r = z.detach()
        for d in range(self.levels):
            x = self._split(r)
            for p in range(self.heads):
                centroids, counts = kmeans(x[p], self.entries, self.kmeans_iters, generator)
                self.codebooks[d, p] = centroids
                if self.ema:
                    self.ema_sum[d, p] = centroids * counts.clamp(min=1).unsqueeze(-1)
                    self.ema_count[d, p] = counts.clamp(min=1)
            self._broadcast_level(d)  # under DDP every process takes process 0's k-means
            idx = _nearest(x, self.codebooks[d]).view(self.heads, r.shape[0], r.shape[2], r.shape[3])
            r = r - self._codewords(d, idx.permute(1, 0, 2, 3))
        self.unused_steps.zero_()
        self.initialized.fill_(True)

    # -- training-time codebook maintenance ------------------------------------------------

    @torch.no_grad()
    def _ema_update(self, level, x, idx):
        """EMA of cluster sizes and sums, codebook = sums / Laplace-smoothed sizes."""
        onehot = F.one_hot(idx, self.entries).to(x.dtype)  # [P, M, N]
        counts = all_reduce_(onehot.sum(1))  # under DDP: statistics of the global batch
        sums = all_reduce_(torch.einsum("pmn,pmd->pnd", onehot, x))
        self.ema_count[level].mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.ema_sum[level].mul_(self.decay).add_(sums, alpha=1 - self.decay)
        total = self.ema_count[level].sum(-1, keepdim=True)
        smoothed = (self.ema_count[level] + self.eps) / (total + self.entries * self.eps) * total
        self.codebooks[level].copy_(self.ema_sum[level] / smoothed.unsqueeze(-1))

    @torch.no_grad()
    def _restart_dead(self, level, x, counts):
        """Re-seed entries unused for ``restart_after`` steps from random current residuals."""
        self.unused_steps[level] = torch.where(
            counts > 0, torch.zeros_like(self.unused_steps[level]), self.unused_steps[level] + 1)
        if not self.restart_after:
            return
        dead = self.unused_steps[level] >= self.restart_after
        if not bool(dead.any()):
            return
        for p, k in torch.nonzero(dead).tolist():
            row = int(torch.randint(x.shape[1], (1,)))
            vec = x[p, row]
            self.codebooks[level, p, k] = vec
            if self.ema:
                self.ema_count[level, p, k] = 1.0
                self.ema_sum[level, p, k] = vec
            self.unused_steps[level, p, k] = 0
        self._broadcast_level(level)  # restarted vectors come from one process's data

    def _broadcast_level(self, level):
        for name in ("codebooks", "ema_sum", "ema_count"):
            table = getattr(self, name, None)
            if isinstance(table, torch.Tensor):
                with torch.no_grad():
                    broadcast_(table.data[level])

    # -- quantization ----------------------------------------------------------------------

    def forward(self, z, levels=None):
        """Quantize z [B, n_q, h, w] with the first ``levels`` levels.

        Returns (z_q, indices uint8 [B, L, P, h, w], losses) where z_q carries a
        straight-through gradient to z, and losses holds 'codebook' and 'commitment'
        [L, P] (mean squared error per level and head) and 'total' = sum(codebook) +
        beta * sum(commitment). In training mode this also runs k-means initialisation
        (first call), EMA updates and dead-entry restarts, after the batch is quantized.
        """
        levels = self._check_input(z, levels)
        if self.training and not bool(self.initialized):
            self.init_from_data(z)
        b, _, h, w = z.shape
        r = z
        z_q = torch.zeros_like(z)
        indices, cb_loss, commit_loss = [], [], []
        for d in range(levels):
            x = self._split(r.detach())
            idx = _nearest(x, self.codebooks[d].detach())  # [P, M]
            idx_b = idx.view(self.heads, b, h, w).permute(1, 0, 2, 3)
            e = self._codewords(d, idx_b)
            e_heads = self._split(e)
            r_heads = self._split(r)
            cb_loss.append(((x - e_heads) ** 2).mean(dim=(1, 2)))
            commit_loss.append(((r_heads - e_heads.detach()) ** 2).mean(dim=(1, 2)))
            with torch.no_grad():
                counts = F.one_hot(idx, self.entries).sum(1)
                if self.training:
                    all_reduce_(counts)  # same dead-entry decisions in every process
                self.usage_counts[d] += counts
                if self.training:
                    if self.ema:
                        self._ema_update(d, x, idx)
                    self._restart_dead(d, x, counts)
            z_q = z_q + e.detach()
            r = r - e.detach()
            indices.append(idx_b.to(torch.uint8))
        losses = {"codebook": torch.stack(cb_loss), "commitment": torch.stack(commit_loss)}
        losses["total"] = losses["codebook"].sum() + self.beta * losses["commitment"].sum()
        if z.requires_grad:
            # Value is exactly z_q (z - z.detach() is 0); gradient passes straight to z.
            z_q = z_q + (z - z.detach())
        return z_q, torch.stack(indices, dim=1), losses

    @torch.no_grad()
    def quantize(self, z, levels=None):
        """Inference-only nearest quantization (for requantization): (indices, z_q)."""
        levels = self._check_input(z, levels)
        b, _, h, w = z.shape
        r = z
        z_q = torch.zeros_like(z)
        indices = []
        for d in range(levels):
            idx = _nearest(self._split(r), self.codebooks[d])
            idx_b = idx.view(self.heads, b, h, w).permute(1, 0, 2, 3)
            e = self._codewords(d, idx_b)
            z_q = z_q + e
            r = r - e
            indices.append(idx_b.to(torch.uint8))
        return torch.stack(indices, dim=1), z_q

    def check_indices(self, indices):
        """Raises ValueError unless ``indices`` is [B, 1..D, P, h, w] with entries in range."""
        if indices.ndim != 5 or indices.shape[2] != self.heads or not 1 <= indices.shape[1] <= self.levels:
            raise ValueError(f"expected indices [B, 1..{self.levels}, {self.heads}, h, w], "
                             f"got {tuple(indices.shape)}")
        if indices.numel():
            lo, hi = int(indices.min()), int(indices.max())
            if lo < 0 or hi >= self.entries:
                bad = lo if lo < 0 else hi
                raise ValueError(f"index {bad} is out of range 0..{self.entries - 1}")

    def dequantize(self, indices):
        """z_q [B, n_q, h, w] from indices [B, L, P, h, w], summed over the L levels given."""
        self.check_indices(indices)
        b, levels, _, h, w = indices.shape
        cb = self.codebooks.detach()
        z_q = torch.zeros(b, self.n_q, h, w, dtype=cb.dtype, device=cb.device)
        for d in range(levels):
            z_q = z_q + self._codewords(d, indices[:, d], cb[d])
        return z_q

    def dequantize_soft(self, posteriors):
        """Posterior-weighted mean code vectors: [B, L, P, h, w, N] -> z_q [B, n_q, h, w]."""
        if (posteriors.ndim != 6 or posteriors.shape[2] != self.heads
                or posteriors.shape[-1] != self.entries or not 1 <= posteriors.shape[1] <= self.levels):
            raise ValueError(f"expected posteriors [B, 1..{self.levels}, {self.heads}, h, w, "
                             f"{self.entries}], got {tuple(posteriors.shape)}")
        b, levels, _, h, w, _ = posteriors.shape
        cb = self.codebooks.detach()
        post = posteriors.to(cb.dtype)
        z_q = torch.zeros(b, self.n_q, h, w, dtype=cb.dtype, device=cb.device)
        for d in range(levels):
            e = torch.einsum("bphwn,pnc->bpchw", post[:, d], cb[d])
            z_q = z_q + e.reshape(b, self.n_q, h, w)
        return z_q

    # -- statistics ------------------------------------------------------------------------

    @torch.no_grad()
    def codebook_usage(self, reset=False):
        """Usage since the last reset: counts [D, P, N], fraction of entries used and
        perplexity (effective number of entries, N at best) per [D, P], dead entries."""
        counts = self.usage_counts.clone()
        total = counts.sum(-1, keepdim=True).clamp(min=1)
        prob = counts.double() / total
        entropy = -(prob * torch.log(prob.clamp(min=1e-30))).sum(-1)
        stats = {
            "counts": counts,
            "fraction_used": (counts > 0).double().mean(-1),
            "perplexity": torch.exp(entropy),
            "unused_steps": self.unused_steps.clone(),
        }
        if reset:
            self.usage_counts.zero_()
        return stats

    def extra_repr(self):
        return (f"n_q={self.n_q}, heads={self.heads}, entries={self.entries}, "
                f"levels={self.levels}, ema={self.ema}")
