"""MOC-RVQ quantizer: layout, residual levels, STE, EMA and dead-entry restart."""

import pytest
import torch

from semcom_codec.quantizers.moc_rvq import MOCRVQ, kmeans


def make(ema=True, **kw):
    torch.manual_seed(0)
    return MOCRVQ(n_q=16, heads=4, entries=8, levels=4, ema=ema, **kw)


def data(b=2, h=6, w=5, seed=1):
    return torch.randn(b, 16, h, w, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("ema", [True, False])
def test_shapes_and_dtypes(ema):
    q = make(ema)
    z = data()
    q.train()
    z_q, idx, losses = q(z)
    assert z_q.shape == z.shape and z_q.dtype == z.dtype
    assert idx.shape == (2, 4, 4, 6, 5) and idx.dtype == torch.uint8
    assert int(idx.max()) < 8
    assert losses["codebook"].shape == (4, 4) and losses["commitment"].shape == (4, 4)
    assert losses["total"].ndim == 0
    assert q.codebooks.shape == (4, 4, 8, 4)
    _, idx2, losses2 = q(z, levels=2)
    assert idx2.shape == (2, 2, 4, 6, 5) and losses2["codebook"].shape == (2, 4)
    with pytest.raises(ValueError):
        q(z, levels=5)
    with pytest.raises(ValueError):
        MOCRVQ(n_q=10, heads=4)


def test_error_non_increasing_with_levels_after_kmeans():
    q = make()
    z = data(b=4, h=8, w=8)
    q.init_from_data(z)
    errors = []
    for levels in range(1, 5):
        _, z_q = q.quantize(z, levels)
        errors.append(((z - z_q) ** 2).sum().item())
    total = (z ** 2).sum().item()
    assert errors[0] < total
    assert all(b <= a for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 0.8 * errors[0]


def test_first_training_call_runs_kmeans_init():
    q = make()
    assert not bool(q.initialized)
    before = q.codebooks.clone()
    q.train()
    q(data())
    assert bool(q.initialized) and not torch.equal(before, q.codebooks)


@pytest.mark.parametrize("ema", [True, False])
def test_dequantize_equals_forward(ema):
    q = make(ema)
    z = data()
    q.init_from_data(z)
    q.eval()
    for levels in (1, 3, 4):
        z_q, idx, _ = q(z, levels)
        assert torch.equal(q.dequantize(idx), z_q)
        idx2, z_q2 = q.quantize(z, levels)
        assert torch.equal(idx2, idx) and torch.equal(z_q2, z_q)


def test_soft_dequantize_one_hot_equals_hard():
    q = make()
    z = data()
    q.init_from_data(z)
    idx, z_q = q.quantize(z)
    post = torch.nn.functional.one_hot(idx.long(), 8).float()
    assert torch.allclose(q.dequantize_soft(post), q.dequantize(idx), atol=1e-6, rtol=0)
    # A uniform posterior gives the mean code vector of each level and head.
    uni = torch.full_like(post, 1 / 8)
    mean = q.codebooks.mean(2).sum(0).reshape(16)
    assert torch.allclose(q.dequantize_soft(uni)[0, :, 0, 0], mean, atol=1e-6)


def test_dequantize_rejects_bad_indices():
    q = make()
    with pytest.raises(ValueError):
        q.dequantize(torch.full((1, 1, 4, 2, 2), 8, dtype=torch.uint8))
    with pytest.raises(ValueError):
        q.dequantize(torch.zeros(1, 1, 3, 2, 2, dtype=torch.uint8))


@pytest.mark.parametrize("ema", [True, False])
def test_straight_through_gradient(ema):
    q = make(ema)
    q.init_from_data(data())
    q.train()
    z = data().requires_grad_(True)
    z_q, _, losses = q(z)
    g = torch.randn_like(z)
    (z_q * g).sum().backward(retain_graph=True)
    assert torch.equal(z.grad, g)
    z.grad = None
    losses["commitment"].sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    if not ema:
        q.zero_grad()
        z_q, _, losses = q(data())
        losses["codebook"].sum().backward()
        assert q.codebooks.grad is not None and q.codebooks.grad.abs().sum() > 0


def test_ema_update_moves_codewords_toward_data():
    q = make(restart_after=None)
    centre = torch.full((4,), 3.0)
    cb = torch.zeros(4, 4, 8, 4)
    cb[:, :, 0] = 1.0  # entry 0 is nearest to the data at every head
    q.set_codebooks(cb)
    z = centre.repeat(4).view(1, 16, 1, 1) + 0.1 * data(b=4, h=4, w=4)
    before = (q.codebooks[0, :, 0] - centre).norm(dim=-1)
    q.train()
    q(z, levels=1)
    after = (q.codebooks[0, :, 0] - centre).norm(dim=-1)
    # One step with decay 0.99: 64 samples against a prior weight of 1 move it ~40%.
    assert torch.all(after < 0.7 * before)
    # Levels not used in the call are left alone.
    assert torch.equal(q.codebooks[1:], cb[1:])


@pytest.mark.parametrize("ema", [True, False])
def test_dead_entry_restart(ema):
    q = make(ema, restart_after=2)
    z = data(b=2, h=4, w=4)
    q.init_from_data(z)
    cb = q.codebooks.detach().clone()
    cb[0, 1, 5] = 1e3  # never the nearest: dead
    q.set_codebooks(cb)
    q.train()
    q(z, levels=1)
    assert q.unused_steps[0, 1, 5] == 1 and q.codebooks[0, 1, 5, 0] > 900
    q(z, levels=1)
    # Re-seeded from a current residual of that head: back among the data.
    assert q.codebooks[0, 1, 5].abs().max() < 10
    assert q.unused_steps[0, 1, 5] == 0
    heads = z.view(2, 4, 4, 4, 4)[:, 1].permute(0, 2, 3, 1).reshape(-1, 4)
    if not ema:
        assert (heads == q.codebooks[0, 1, 5]).all(-1).any()


def test_codebook_usage_stats():
    q = make()
    z = data()
    q.init_from_data(z)
    q.eval()
    q(z)
    stats = q.codebook_usage(reset=True)
    assert stats["counts"].shape == (4, 4, 8)
    assert torch.all(stats["counts"].sum(-1) == 2 * 6 * 5)
    assert stats["fraction_used"].shape == (4, 4)
    assert torch.all((stats["perplexity"] >= 1) & (stats["perplexity"] <= 8 + 1e-9))
    assert q.codebook_usage()["counts"].sum() == 0


def test_kmeans_lowers_error():
    x = torch.randn(500, 3, generator=torch.Generator().manual_seed(3))
    centroids, counts = kmeans(x, 8, iters=5)
    assert centroids.shape == (8, 3) and counts.sum() == 500
    err = ((x.unsqueeze(1) - centroids) ** 2).sum(-1).min(-1).values.sum()
    assert err < (x ** 2).sum() * 0.5


def test_state_dict_round_trip():
    q = make()
    q.init_from_data(data())
    q2 = make()
    q2.load_state_dict(q.state_dict())
    assert bool(q2.initialized) and torch.equal(q2.codebooks, q.codebooks)
