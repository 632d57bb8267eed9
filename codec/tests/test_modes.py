"""SNR-adaptive modes (issue 17, part 1): constellations, budgets, exact demapping
against a float64 brute force and against the Gray 64-QAM the radio blocks use."""

import itertools
import math

import numpy as np
import pytest
import torch

from semcom_codec.phy import constellation, modes


def test_every_constellation_has_unit_energy_and_distinct_points():
    for c in modes.CONSTELLATIONS.values():
        symbols = c.map(np.arange(8).repeat(2) if c.per_axis else np.arange(8))
        if not c.per_axis:
            assert np.mean(np.abs(symbols) ** 2) == pytest.approx(1.0)
            flat = c.points.reshape(8, -1)
            distances = [np.linalg.norm(a - b) for a, b in itertools.combinations(flat, 2)]
            assert min(distances) > 0.5
    # 64-QAM over all index pairs: unit energy
    pairs = np.array(list(itertools.product(range(8), repeat=2))).ravel()
    assert np.mean(np.abs(modes.CONSTELLATIONS["qam64"].map(pairs)) ** 2) == pytest.approx(1.0)


def test_psk8_neighbours_on_the_circle_are_neighbours_on_the_chain():
    points = modes.CONSTELLATIONS["psk8"].points[:, 0]
    angle = np.angle(points)
    order = np.argsort(angle)            # labels around the circle
    chain = [p ^ (p >> 1) for p in range(8)]
    shift = list(order).index(chain[0])
    around = np.roll(order, -shift)
    assert list(around) == chain         # position p carries gray(p)


def test_biorthogonal_points_are_orthogonal_or_antipodal():
    flat = modes.CONSTELLATIONS["biorth8"].points
    real = np.concatenate([flat.real, flat.imag], axis=1)
    gram = real @ real.T
    assert np.allclose(np.abs(gram[~np.eye(8, dtype=bool)]).max(), 2.0)  # antipodal pairs
    assert np.sum(np.isclose(gram, 0.0)) == 8 * 6                       # the rest orthogonal
    assert np.allclose(np.diag(gram), 2.0)


def test_soft_and_hard_demapping_against_a_float64_brute_force():
    rng = np.random.default_rng(0)
    for name, c in modes.CONSTELLATIONS.items():
        labels = rng.integers(0, 8, 400)
        sent = c.map(labels)
        for esn0_db in (-5.0, 5.0, 15.0):
            n0 = 10 ** (-esn0_db / 10)
            y = sent + math.sqrt(n0 / 2) * (rng.standard_normal(sent.size)
                                            + 1j * rng.standard_normal(sent.size))
            post = c.soft_demap(y, n0)
            # brute force: every label's likelihood from its own point(s)
            rows = c._blocks(y)
            points = c.points.real + 0j if c.per_axis else c.points
            for i in range(0, len(rows), 37):
                like = np.array([math.exp(-np.sum(np.abs(rows[i] - points[k]) ** 2) / n0)
                                 for k in range(8)])
                np.testing.assert_allclose(post[i], like / like.sum(), rtol=1e-9, atol=1e-12)
            assert np.array_equal(c.hard_demap(y), np.argmax(post, axis=1))
        assert np.array_equal(c.hard_demap(sent), labels)


def test_qam64_matches_the_gray_mapper_of_the_radio_path():
    rng = np.random.default_rng(1)
    indices = rng.integers(0, 8, 1000)
    mine = modes.CONSTELLATIONS["qam64"].map(indices)
    theirs = constellation.map_indices(torch.from_numpy(indices), 8).numpy()
    np.testing.assert_allclose(mine, theirs, atol=1e-6)
    n0 = 0.2
    y = theirs + 0.3 * (rng.standard_normal(500) + 1j * rng.standard_normal(500))
    ref = constellation.soft_demap(torch.from_numpy(y.astype(np.complex64)), n0, 8).numpy()
    np.testing.assert_allclose(modes.CONSTELLATIONS["qam64"].soft_demap(y, n0),
                               ref.reshape(-1, 8), atol=1e-5)


def test_every_mode_fills_the_budget_of_its_cbr_and_round_trips():
    rng = np.random.default_rng(2)
    for budget, table in ((8, modes.MODES_CBR24), (4, modes.MODES_CBR48)):
        for mode in table:
            assert mode.symbols_per_block() == budget, mode.name
            indices = rng.integers(0, 8, (mode.levels, 4, 3, 5))
            per_level = indices[0].size
            symbols = mode.map(indices)
            assert symbols.size == budget * 15
            decided = mode.hard_demap(symbols, per_level)
            assert np.array_equal(decided, indices.reshape(mode.levels, -1))
            post = mode.soft_demap(symbols, 1e-3, per_level)
            assert post.shape == (mode.levels, per_level, 8)
            assert np.array_equal(post.argmax(axis=2), decided)
    with pytest.raises(ValueError, match="sends 4 levels"):
        modes.MODES_CBR24[0].map(np.zeros((2, 4), np.int64))
    with pytest.raises(ValueError, match="0..7"):
        modes.CONSTELLATIONS["psk8"].map([8])


def test_sturdier_constellations_err_less_where_64qam_fails():
    """The reason for the modes: at 5 dB a 64-QAM axis is wrong most of the time."""
    rng = np.random.default_rng(3)
    n0 = 10 ** (-5 / 10)
    rates = {}
    for name, c in modes.CONSTELLATIONS.items():
        labels = rng.integers(0, 8, 20000)
        sent = c.map(labels)
        y = sent + math.sqrt(n0 / 2) * (rng.standard_normal(sent.size)
                                        + 1j * rng.standard_normal(sent.size))
        rates[name] = float(np.mean(c.hard_demap(y) != labels))
    axis = 2 * (1 - 1 / 8) * 0.5 * math.erfc(math.sqrt(3 * 10 ** 0.5 / 63) / math.sqrt(2))
    assert rates["qam64"] == pytest.approx(axis, rel=0.05)       # 0.61
    assert rates["biorth8"] < 0.06 < rates["psk8"] < 0.4 < rates["qam64"]


def test_the_torch_training_channel_gives_the_reference_posteriors_statistics():
    """Same noise statistics as the numpy reference: the mean posterior of the sent label
    agrees over many draws, at each constellation and Es/N0."""
    rng = np.random.default_rng(4)
    g = torch.Generator().manual_seed(0)
    for name, c in modes.CONSTELLATIONS.items():
        for esn0_db in (0.0, 8.0):
            labels = rng.integers(0, 8, (4, 2000))
            post = modes.channel(name, labels, torch.full((4,), esn0_db), generator=g)
            assert post.shape == (4, 2000, 8)
            mine = float(post.gather(-1, torch.as_tensor(labels)[..., None]).mean())
            n0 = 10 ** (-esn0_db / 10)
            sent = c.map(labels.ravel())
            y = sent + math.sqrt(n0 / 2) * (rng.standard_normal(sent.size)
                                            + 1j * rng.standard_normal(sent.size))
            ref = c.soft_demap(y, n0)[np.arange(labels.size), labels.ravel()].mean()
            assert mine == pytest.approx(ref, abs=0.01), (name, esn0_db)
