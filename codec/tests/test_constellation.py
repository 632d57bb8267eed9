"""Gray QAM mapping checked against literal tables and float64 brute force."""

import json
import math
import os
import runpy

import numpy as np
import pytest
import torch

from semcom_codec.phy import constellation as C

DATA = os.path.join(os.path.dirname(__file__), "data")

# Label carried by PAM position p (ascending amplitude), written out by hand.
GRAY_BY_POSITION = {
    2: [0, 1],
    4: [0, 1, 3, 2],
    8: [0, 1, 3, 2, 6, 7, 5, 4],
    16: [0, 1, 3, 2, 6, 7, 5, 4, 12, 13, 15, 14, 10, 11, 9, 8],
}
# Square of the normalising factor: 2(N^2-1)/3.
MEAN_ENERGY = {2: 2.0, 4: 10.0, 8: 42.0, 16: 170.0}


def literal_amplitude(order, label):
    p = GRAY_BY_POSITION[order].index(label)
    return (2 * p - (order - 1)) / math.sqrt(MEAN_ENERGY[order])


def constellation_points(order):
    """All N^2 points (float64) and their (first, second) index pairs."""
    pairs = [(a, b) for a in range(order) for b in range(order)]
    pts = torch.tensor([complex(literal_amplitude(order, a), literal_amplitude(order, b))
                        for a, b in pairs], dtype=torch.complex128)
    return pts, torch.tensor(pairs)


@pytest.mark.parametrize("order", [2, 4, 8, 16])
def test_every_pair_matches_literal_table(order):
    pairs = torch.tensor([[a, b] for a in range(order) for b in range(order)], dtype=torch.uint8)
    sym = C.map_indices(pairs.reshape(-1), order)
    assert sym.dtype == torch.complex64 and sym.shape == (order * order,)
    want = [complex(literal_amplitude(order, a), literal_amplitude(order, b)) for a, b in pairs.tolist()]
    np.testing.assert_allclose(sym.numpy(), np.array(want), rtol=0, atol=2.5e-7)  # 2 float32 ulps


@pytest.mark.parametrize("order", [2, 4, 8, 16])
def test_gray_and_amplitude_tables(order):
    assert [C.gray(p) for p in range(order)] == GRAY_BY_POSITION[order]
    assert C.position_labels(order).tolist() == GRAY_BY_POSITION[order]
    labels = C.label_amplitudes(order)
    for k in range(order):
        assert labels[k].item() == pytest.approx(literal_amplitude(order, k), abs=1e-7)
    pos = C.position_amplitudes(order)
    assert torch.all(pos[1:] > pos[:-1])


def test_64qam_amplitudes():
    pos = C.position_amplitudes(8, torch.float64)
    for p in range(8):
        assert pos[p].item() == pytest.approx((2 * p - 7) / math.sqrt(42), abs=1e-15)


@pytest.mark.parametrize("order", [2, 4, 8, 16])
def test_unit_average_energy(order):
    pts, _ = constellation_points(order)
    assert torch.mean(pts.abs() ** 2).item() == pytest.approx(1.0, abs=1e-12)
    idx = torch.arange(order).repeat_interleave(order)
    pairs = torch.stack([idx, torch.arange(order).repeat(order)], dim=-1).reshape(-1)
    sym = C.map_indices(pairs, order)
    assert torch.mean(sym.abs() ** 2).item() == pytest.approx(1.0, abs=1e-6)


def test_numpy_input_and_batch_shape():
    idx = np.random.default_rng(0).integers(0, 8, size=(3, 5, 10), dtype=np.uint8)
    sym = C.map_indices(idx)
    assert sym.shape == (3, 5, 5)
    assert torch.equal(C.hard_demap(sym), torch.from_numpy(idx))


@pytest.mark.parametrize("order", [2, 4, 8, 16])
def test_hard_demap_inverts_map(order):
    g = torch.Generator().manual_seed(order)
    idx = torch.randint(0, order, (4, 64), generator=g, dtype=torch.long).to(torch.uint8)
    out = C.hard_demap(C.map_indices(idx, order), order)
    assert out.dtype == torch.uint8
    assert torch.equal(out, idx)


@pytest.mark.parametrize("order", [2, 4, 8, 16])
def test_hard_demap_matches_brute_force_nearest(order):
    g = torch.Generator().manual_seed(100 + order)
    pts, pairs = constellation_points(order)
    idx = torch.randint(0, order, (20000,), generator=g)
    sym = C.map_indices(idx, order)
    noise = torch.complex(torch.randn(sym.shape, generator=g), torch.randn(sym.shape, generator=g))
    # A spread of noise levels, including points far outside the constellation.
    scale = torch.logspace(-3, 0.5, sym.numel()).to(torch.float32)
    y = sym + noise * scale
    got = C.hard_demap(y, order).reshape(-1, 2)
    dist = (y.to(torch.complex128).unsqueeze(-1) - pts).abs()
    want = pairs[dist.argmin(-1)]
    assert torch.equal(got.long(), want)


def test_hard_demap_nan_and_inf():
    y = torch.tensor([complex(float("nan"), float("inf")), complex(-float("inf"), 1e30)],
                     dtype=torch.complex64)
    out = C.hard_demap(y, 8).tolist()
    # NaN -> position 0 (label 0); +inf -> position 7 (label 4); -inf -> 0; huge -> 4.
    assert out == [0, 4, 0, 4]


def brute_force_posteriors(y, n0, order):
    """float64 p(first|y), p(second|y) by marginalising the N^2-point posterior."""
    pts, _ = constellation_points(order)
    y = y.to(torch.complex128).reshape(-1, 1)
    loglik = -((y - pts).abs() ** 2) / n0
    joint = torch.softmax(loglik, dim=-1).reshape(-1, order, order)
    first, second = joint.sum(-1), joint.sum(-2)
    return torch.stack([first, second], dim=1).reshape(-1, order)


@pytest.mark.parametrize("order", [4, 8, 16])
@pytest.mark.parametrize("db", [-20.0, 0.0, 20.0, 60.0])
def test_soft_demap_matches_brute_force(order, db):
    g = torch.Generator().manual_seed(int(db) + 1000 + order)
    n0 = C.esn0_db_to_noise_var(db)
    idx = torch.randint(0, order, (4000,), generator=g)
    sym = C.map_indices(idx, order)
    w = torch.complex(torch.randn(sym.shape, generator=g), torch.randn(sym.shape, generator=g))
    y = sym + w * math.sqrt(n0 / 2)
    # Points right at decision boundaries keep the 60 dB case from being all one-hot.
    boundary = C.position_amplitudes(order)[:2].mean() + 1e-6
    y = torch.cat([y, torch.tensor([complex(boundary, -boundary), 1e3 + 1e3j], dtype=torch.complex64)])
    post = C.soft_demap(y, n0, order)
    assert post.shape == (y.numel() * 2, order) and post.dtype == torch.float32
    assert torch.isfinite(post).all()
    assert torch.allclose(post.sum(-1), torch.ones(post.shape[0]), atol=1e-6)
    want = brute_force_posteriors(y, n0, order)
    assert torch.allclose(post.double(), want, atol=1e-6, rtol=0)


def test_soft_demap_per_symbol_noise_var():
    idx = torch.tensor([[0, 1, 2, 3], [4, 5, 6, 7]])
    sym = C.map_indices(idx)
    n0 = torch.tensor([[0.01, 1.0], [10.0, 0.1]])
    post = C.soft_demap(sym, n0)
    for b in range(2):
        for k in range(2):
            ref = C.soft_demap(sym[b, k:k + 1], n0[b, k].item())
            assert torch.allclose(post[b, 2 * k:2 * k + 2], ref)
    with pytest.raises(ValueError):
        C.soft_demap(sym, 0.0)
    with pytest.raises(ValueError):
        C.soft_demap(sym, float("nan"))


def test_esn0_db_to_noise_var():
    assert C.esn0_db_to_noise_var(20) == pytest.approx(0.01)
    assert C.esn0_db_to_noise_var(-20.0) == pytest.approx(100.0)
    t = C.esn0_db_to_noise_var(torch.tensor([0.0, 10.0]))
    assert torch.allclose(t, torch.tensor([1.0, 0.1]))


def test_bad_index_names_value():
    with pytest.raises(ValueError, match=r"index 8 at position 3"):
        C.map_indices(torch.tensor([0, 1, 7, 8]), 8)
    with pytest.raises(ValueError, match=r"index -1"):
        C.map_indices(torch.tensor([0, -1]), 8)
    with pytest.raises(ValueError, match=r"index 4 "):
        C.map_indices(np.array([4, 0], dtype=np.uint8), 4)


def test_odd_length_and_bad_order():
    with pytest.raises(ValueError, match="even"):
        C.map_indices(torch.tensor([0, 1, 2]), 8)
    with pytest.raises(ValueError):
        C.map_indices(torch.tensor([0, 1]), 32)
    with pytest.raises(TypeError):
        C.map_indices(torch.tensor([0.0, 1.0]), 8)


def test_reference_vectors_json():
    with open(os.path.join(DATA, "gray_qam_vectors.json")) as f:
        data = json.load(f)
    assert sorted(data, key=int) == ["2", "4", "8", "16"]
    for key, table in data.items():
        order = int(key)
        idx = torch.tensor(table["indices"], dtype=torch.uint8)
        want = torch.tensor(table["symbols"], dtype=torch.float64)
        got = torch.view_as_real(C.map_indices(idx.reshape(-1), order)).double()
        assert got.shape == want.shape
        assert torch.allclose(got, want, atol=1e-6, rtol=0), order


def test_reference_vectors_json_is_current():
    """The committed JSON is exactly what its generator script writes."""
    script = runpy.run_path(os.path.join(DATA, "make_gray_qam_vectors.py"))
    with open(os.path.join(DATA, "gray_qam_vectors.json")) as f:
        assert f.read() == script["render"](script["vectors"]())


@pytest.mark.parametrize("db", [0.0, 8.0])
def test_hard_decision_posteriors_match_the_slicer(db):
    """p(sent | decided) against counting the hard demapper's decisions on noisy symbols."""
    g = torch.Generator().manual_seed(int(db) + 77)
    n0 = C.esn0_db_to_noise_var(db)
    sent = torch.randint(0, 8, (400000,), generator=g)
    sym = C.map_indices(sent)
    w = torch.complex(torch.randn(sym.shape, generator=g), torch.randn(sym.shape, generator=g))
    decided = C.hard_demap(sym + w * math.sqrt(n0 / 2)).long()
    counts = torch.zeros(8, 8, dtype=torch.float64)
    counts.index_put_((decided, sent), torch.ones(sent.numel(), dtype=torch.float64),
                      accumulate=True)
    empirical = counts / counts.sum(-1, keepdim=True)
    table = C.hard_decision_posteriors(db)
    assert table.shape == (8, 8) and table.dtype == torch.float64
    assert torch.allclose(table.sum(-1), torch.ones(8, dtype=torch.float64))
    assert torch.allclose(table, empirical, atol=0.01)
    # Gray labels: decided 0 is PAM position 0, whose only inner neighbour carries label 1.
    assert int(table[0].argsort(descending=True)[1]) == 1


def test_hard_decision_posteriors_batched_and_limits():
    tables = C.hard_decision_posteriors(torch.tensor([[3.0, 60.0]]))
    assert tables.shape == (1, 2, 8, 8)
    assert torch.equal(tables[0, 0], C.hard_decision_posteriors(3.0))
    assert torch.equal(tables[0, 1], torch.eye(8, dtype=torch.float64))  # no slicer error
    low = C.hard_decision_posteriors(-60.0)  # nothing is learnt from the decision
    assert torch.allclose(low, torch.full((8, 8), 1 / 8, dtype=torch.float64), atol=1e-3)
    # far out in the tails both neighbours of an inner position stay alike and non-zero
    clean = C.hard_decision_posteriors(40.0)
    decided, lower, upper = (int(C.gray(torch.tensor(p))) for p in (3, 2, 4))
    assert clean[decided, lower] > 0
    assert float(clean[decided, lower]) == pytest.approx(float(clean[decided, upper]), rel=1e-9)
    with pytest.raises(ValueError, match="finite"):
        C.hard_decision_posteriors(float("nan"))
