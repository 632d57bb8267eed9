"""Torch channels and the index channel's on-air order."""

import math

import pytest
import torch

from semcom_codec.phy import channels as ch, constellation as C


def test_awgn_noise_variance():
    x = torch.zeros(100_000, dtype=torch.complex64)
    g = torch.Generator().manual_seed(1)
    for db in (0.0, 10.0, -5.0):
        n = ch.awgn(x, db, generator=g)
        n0 = 10 ** (-db / 10)
        assert n.dtype == torch.complex64
        assert (n.abs() ** 2).mean().item() == pytest.approx(n0, rel=0.03)
        assert n.real.var().item() == pytest.approx(n0 / 2, rel=0.03)
        assert n.imag.var().item() == pytest.approx(n0 / 2, rel=0.03)
        assert abs(n.mean().item()) < 0.03 * math.sqrt(n0)


def test_awgn_per_image_snr():
    x = torch.zeros(2, 50_000, dtype=torch.complex64)
    n = ch.awgn(x, torch.tensor([0.0, 20.0]), generator=torch.Generator().manual_seed(2))
    power = (n.abs() ** 2).mean(-1)
    assert power[0].item() == pytest.approx(1.0, rel=0.03)
    assert power[1].item() == pytest.approx(0.01, rel=0.03)


def test_seeded_runs_reproducible():
    x = C.map_indices(torch.randint(0, 8, (4, 32)))
    a = ch.awgn(x, 5.0, torch.Generator().manual_seed(7))
    b = ch.awgn(x, 5.0, torch.Generator().manual_seed(7))
    c = ch.awgn(x, 5.0, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    for kind in ("rayleigh", "rician"):
        f1 = ch.fading(x, 5.0, kind, generator=torch.Generator().manual_seed(3))
        f2 = ch.fading(x, 5.0, kind, generator=torch.Generator().manual_seed(3))
        assert torch.equal(f1[0], f2[0]) and torch.equal(f1[1], f2[1])


@pytest.mark.parametrize("kind", ["rayleigh", "rician"])
def test_fading_equalisation_recovers_symbols(kind):
    g = torch.Generator().manual_seed(4)
    x = C.map_indices(torch.randint(0, 8, (8, 200), generator=g))
    y, n0 = ch.fading(x, 120.0, kind, k_factor=3.0, block_length=1, generator=g)
    assert y.shape == x.shape and n0.shape == x.shape
    # |y - x|^2 ~ N0/|h|^2 per symbol: tiny except in a vanishingly deep fade.
    assert torch.all((y - x).abs() ** 2 <= 1e3 * n0 + 1e-9)
    assert torch.median((y - x).abs()).item() < 1e-5


@pytest.mark.parametrize("kind", ["rayleigh", "rician"])
def test_fading_unit_power_and_blocks(kind):
    g = torch.Generator().manual_seed(5)
    h = ch.fading_gains((4, 20_000), kind, k_factor=4.0, block_length=1, generator=g)
    assert (h.abs() ** 2).mean().item() == pytest.approx(1.0, rel=0.03)
    if kind == "rician":
        # Line of sight of power K/(K+1) = 0.8.
        assert h.mean().real.item() == pytest.approx(math.sqrt(0.8), abs=0.02)
    hb = ch.fading_gains((3, 10), kind, block_length=4, generator=g)
    for start in (0, 4, 8):
        block = hb[:, start:start + 4]
        assert torch.all(block == block[:, :1])
    assert not torch.equal(hb[:, 0], hb[:, 4])
    # Effective noise variance reflects the same gains: N0 / |h|^2.
    x = torch.ones(2, 12, dtype=torch.complex64)
    _, n0 = ch.fading(x, 10.0, kind, block_length=6, generator=g)
    assert torch.all(n0[:, :6] == n0[:, :1]) and torch.all(n0[:, 6:] == n0[:, 6:7])


def test_air_order_is_level_major_c_order():
    g = torch.Generator().manual_seed(6)
    b, d, p, h, w = 2, 3, 4, 2, 3
    idx = torch.randint(0, 8, (b, d, p, h, w), generator=g).to(torch.uint8)
    seq = ch.to_air_order(idx)
    assert seq.shape == (b, d * p * h * w)
    for bi in range(b):
        flat = [int(idx[bi, l, q, r, c]) for l in range(d) for q in range(p)
                for r in range(h) for c in range(w)]
        assert seq[bi].tolist() == flat
        # The transmitted symbols are consecutive pairs of that sequence.
        amp = C.label_amplitudes(8)
        want = torch.complex(amp[flat[0::2]], amp[flat[1::2]])
        assert torch.equal(ch.IndexChannel().modulate(idx)[bi], want)
    assert torch.equal(ch.from_air_order(seq, idx.shape), idx)


def test_index_channel_odd_length_padding():
    idx = torch.tensor([[1, 2, 3], [7, 6, 5]], dtype=torch.uint8)
    sym = ch.IndexChannel().modulate(idx)
    assert sym.shape == (2, 2)
    assert torch.equal(sym[:, 1], C.map_indices(torch.tensor([[3, 0], [5, 0]]))[:, 0])
    out = ch.IndexChannel(kind="none")(idx)
    assert torch.equal(out, idx)
    soft = ch.IndexChannel(kind="awgn", esn0_db=60.0, output="soft")(idx)
    assert soft.shape == (2, 3, 8)


@pytest.mark.parametrize("kind", ["awgn", "rayleigh", "rician"])
def test_index_channel_high_snr_exact(kind):
    g = torch.Generator().manual_seed(9)
    idx = torch.randint(0, 8, (2, 4, 4, 3, 5), generator=g).to(torch.uint8)
    chan = ch.IndexChannel(order=8, kind=kind, esn0_db=60.0)
    out = chan(idx, generator=g) if kind == "awgn" else chan(idx, esn0_db=90.0, generator=g)
    assert out.dtype == torch.uint8 and torch.equal(out, idx)
    soft = chan(idx, generator=g, output="soft", esn0_db=60.0 if kind == "awgn" else 90.0)
    assert soft.shape == idx.shape + (8,)
    assert torch.equal(soft.argmax(-1).to(torch.uint8), idx)


def test_index_channel_low_snr_makes_errors_and_is_seedable():
    idx = torch.randint(0, 8, (2, 4000), generator=torch.Generator().manual_seed(10)).to(torch.uint8)
    chan = ch.IndexChannel(esn0_db=5.0)
    a = chan(idx, generator=torch.Generator().manual_seed(11))
    b = chan(idx, generator=torch.Generator().manual_seed(11))
    assert torch.equal(a, b)
    ser = (a != idx).double().mean().item()
    assert 0.2 < ser < 0.8
