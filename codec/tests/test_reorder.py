"""Codebook reordering: a pure relabelling that shortens Gray-neighbour distances."""

import pytest
import torch

from semcom_codec.quantizers.moc_rvq import MOCRVQ
from semcom_codec.quantizers.reorder import (
    chain_length,
    gray_neighbour_length,
    nearest_neighbour_chain,
    reorder_codebook,
    reorder_mocrvq,
)

GRAY8 = [0, 1, 3, 2, 6, 7, 5, 4]


def random_codebook(seed, n=8, d=6):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def test_output_is_permutation_and_rows_move():
    cb = random_codebook(0)
    new, perm = reorder_codebook(cb)
    assert sorted(perm.tolist()) == list(range(8))
    for old in range(8):
        assert torch.equal(new[perm[old]], cb[old])


def test_first_chain_element_nearest_mean_at_index_zero():
    cb = random_codebook(1)
    new, perm = reorder_codebook(cb)
    nearest = int(((cb - cb.mean(0)) ** 2).sum(-1).argmin())
    assert nearest_neighbour_chain(cb)[0] == nearest
    assert perm[nearest] == 0 and torch.equal(new[0], cb[nearest])


def test_chain_is_greedy_nearest_neighbour():
    cb = random_codebook(2)
    chain = nearest_neighbour_chain(cb).tolist()
    for i in range(1, 8):
        rest = chain[i:]
        dist = ((cb[rest] - cb[chain[i - 1]]) ** 2).sum(-1)
        assert rest[int(dist.argmin())] == chain[i]


def test_chain_lands_on_gray_positions():
    cb = random_codebook(3)
    new, perm = reorder_codebook(cb)
    chain = nearest_neighbour_chain(cb)
    for i in range(8):
        assert perm[chain[i]] == GRAY8[i]
        assert torch.equal(new[GRAY8[i]], cb[chain[i]])


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_gray_neighbours_closer_after_reordering(seed):
    cb = random_codebook(seed)
    new, _ = reorder_codebook(cb)
    after = gray_neighbour_length(new)
    assert after == pytest.approx(chain_length(cb, nearest_neighbour_chain(cb)), rel=1e-12)
    assert after <= gray_neighbour_length(cb)


def test_non_power_of_two_rejected():
    with pytest.raises(ValueError):
        reorder_codebook(random_codebook(7, n=6))


@pytest.mark.parametrize("ema", [True, False])
def test_reorder_mocrvq_is_pure_relabelling(ema):
    torch.manual_seed(0)
    q = MOCRVQ(n_q=16, heads=4, entries=8, levels=4, ema=ema)
    z = torch.randn(2, 16, 6, 6, generator=torch.Generator().manual_seed(8))
    q.init_from_data(z)
    q.eval()
    q(z)  # fill usage counters so they are permuted too
    idx_before, zq_before = q.quantize(z)
    old_cb = q.codebooks.detach().clone()
    old_usage = q.usage_counts.clone()
    old_ema = q.ema_sum.clone() if ema else None
    perms = reorder_mocrvq(q)
    assert perms.shape == (4, 4, 8)
    idx_after, zq_after = q.quantize(z)
    assert torch.equal(zq_after, zq_before)
    assert torch.equal(q.dequantize(idx_after), zq_before)
    lev = torch.arange(4).view(1, 4, 1, 1, 1)
    head = torch.arange(4).view(1, 1, 4, 1, 1)
    assert torch.equal(idx_after.long(), perms[lev, head, idx_before.long()])
    for d in range(4):
        for p in range(4):
            assert sorted(perms[d, p].tolist()) == list(range(8))
            for old in range(8):
                new = perms[d, p, old]
                assert torch.equal(q.codebooks[d, p, new], old_cb[d, p, old])
                assert q.usage_counts[d, p, new] == old_usage[d, p, old]
                if ema:
                    assert torch.equal(q.ema_sum[d, p, new], old_ema[d, p, old])
