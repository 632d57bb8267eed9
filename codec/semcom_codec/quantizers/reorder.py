"""Codebook reordering (paper Algorithm 1 with Gray mapping, DESIGN section 2).

A head codebook is sorted into a greedy nearest-neighbour chain that starts at the vector
closest to the codebook mean; chain element i is then stored at index gray(i). Gray-labelled
PAM puts index gray(i) at position i, so neighbouring amplitudes -- the likeliest symbol
errors -- carry neighbouring code vectors. It is a pure relabelling: the set of vectors,
and hence every quantization decision and z_q, is unchanged.
"""

import torch

from ..phy.constellation import gray


def _gray_sequence(n):
    if n < 1 or n & (n - 1):
        raise ValueError(f"Gray reordering needs a power-of-two codebook size, got {n}")
    return gray(torch.arange(n, dtype=torch.long))


def nearest_neighbour_chain(codebook):
    """Old indices in chain order: the vector nearest the mean, then repeatedly the
    remaining vector nearest the previous pick (ties go to the lower index)."""
    c = codebook.detach().to(torch.float64)
    n = c.shape[0]
    remaining = torch.ones(n, dtype=torch.bool, device=c.device)
    prev = c.mean(dim=0)
    chain = []
    for _ in range(n):
        dist = ((c - prev) ** 2).sum(-1)
        dist[~remaining] = float("inf")
        pick = int(dist.argmin())
        chain.append(pick)
        remaining[pick] = False
        prev = c[pick]
    return torch.tensor(chain, dtype=torch.long, device=codebook.device)


def reorder_codebook(codebook):
    """Reorder one head codebook [N, d]: (new codebook, new_index_of_old [N])."""
    chain = nearest_neighbour_chain(codebook)
    g = _gray_sequence(codebook.shape[0]).to(codebook.device)
    new_index_of_old = torch.empty_like(chain)
    new_index_of_old[chain] = g
    return permute_rows(codebook, new_index_of_old), new_index_of_old


def permute_rows(table, new_index_of_old):
    """Row ``old`` of ``table`` moved to row ``new_index_of_old[old]`` (exact copies)."""
    out = torch.empty_like(table)
    out[new_index_of_old] = table
    return out


def chain_length(codebook, order):
    """Sum of Euclidean distances between consecutive rows of ``codebook[order]``."""
    c = codebook.detach().to(torch.float64)[order]
    return float((c[1:] - c[:-1]).norm(dim=-1).sum())


def gray_neighbour_length(codebook):
    """Sum of distances between the vectors at indices gray(i) and gray(i+1): the vectors
    on adjacent PAM amplitudes. Reordering is meant to make this small."""
    return chain_length(codebook, _gray_sequence(codebook.shape[0]).to(codebook.device))


@torch.no_grad()
def reorder_mocrvq(quantizer):
    """Reorder every level and head of a MOCRVQ in place; returns permutations [D, P, N].

    Moves the codebooks and every per-entry buffer (EMA sums and sizes, usage counters)
    together. Do this after stage 1, before indices are ever sent; optimiser state for
    gradient-trained codebooks is not permuted.
    """
    levels, heads, entries, _ = quantizer.codebooks.shape
    perms = torch.empty(levels, heads, entries, dtype=torch.long, device=quantizer.codebooks.device)
    per_entry = [name for name in ("codebooks", "ema_sum", "ema_count", "unused_steps", "usage_counts")
                 if getattr(quantizer, name, None) is not None]
    for d in range(levels):
        for p in range(heads):
            _, perm = reorder_codebook(quantizer.codebooks[d, p])
            perms[d, p] = perm
            for name in per_entry:
                table = getattr(quantizer, name)
                table[d, p] = permute_rows(table[d, p].clone(), perm)
    return perms
