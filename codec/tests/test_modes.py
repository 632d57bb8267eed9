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


@pytest.mark.parametrize("name", ["psk8", "biorth8"])
def test_decision_tables_against_a_monte_carlo_count_of_the_slicer(name):
    """p(sent | decided) from the integrals agrees with counting the nearest-point
    slicer's decisions (4 sigma of the count), at low and middle Es/N0."""
    c = modes.CONSTELLATIONS[name]
    rng = np.random.default_rng(5)
    for esn0_db in (-2.0, 6.0):
        table = modes.decision_posteriors(name, esn0_db).numpy()
        assert table.shape == (8, 8)
        np.testing.assert_allclose(table.sum(axis=1), 1.0, atol=1e-12)
        n = 160000
        labels = rng.integers(0, 8, n)
        n0 = 10 ** (-esn0_db / 10)
        sent = c.map(labels)
        y = sent + math.sqrt(n0 / 2) * (rng.standard_normal(sent.size)
                                        + 1j * rng.standard_normal(sent.size))
        decided = c.hard_demap(y)
        counts = np.zeros((8, 8))
        np.add.at(counts, (decided, labels), 1)
        rows = counts.sum(axis=1, keepdims=True)
        sigma = np.sqrt(table * (1 - table) / rows) + 1e-9
        assert np.all(np.abs(counts / rows - table) < 4 * sigma + 1e-4), (name, esn0_db)


def test_decision_tables_limits_batching_and_the_64qam_table():
    high = modes.decision_posteriors("psk8", 40.0)
    np.testing.assert_allclose(high.numpy(), np.eye(8), atol=1e-12)
    low = modes.decision_posteriors("biorth8", -40.0).numpy()
    np.testing.assert_allclose(low, np.full((8, 8), 1 / 8), atol=5e-3)
    batch = modes.decision_posteriors("biorth8", torch.tensor([[0.0, 5.0]]))
    assert batch.shape == (1, 2, 8, 8)
    assert torch.allclose(batch[0, 1], modes.decision_posteriors("biorth8", 5.0))
    assert torch.equal(modes.decision_posteriors("qam64", 7.0),
                       constellation.hard_decision_posteriors(7.0))
    # 8-PSK errs to its neighbours on the circle: labels gray(p +- 1)
    table = modes.decision_posteriors("psk8", 8.0).numpy()
    for p in range(8):
        decided = constellation.gray(p)
        likely = sorted(np.argsort(table[decided])[-3:-1])
        assert likely == sorted([constellation.gray((p + 1) % 8),
                                 constellation.gray((p - 1) % 8)])
    with pytest.raises(ValueError, match="finite"):
        modes.decision_posteriors("psk8", float("nan"))


def test_torch_demapping_is_the_numpy_reference_on_the_same_received_points():
    """The training twin and the radio path agree on identical received values: the
    posteriors to float32 precision and the hard decisions bit for bit."""
    rng = np.random.default_rng(6)
    for name, c in modes.CONSTELLATIONS.items():
        labels = rng.integers(0, 8, 3000)
        sent = c.map(labels)
        y = (sent + 0.4 * (rng.standard_normal(sent.size)
                           + 1j * rng.standard_normal(sent.size))).astype(np.complex64)
        rows = c._blocks(y)
        real = (rows.real if c.per_axis else
                np.concatenate([rows.real, rows.imag], axis=1)).astype(np.float32)
        mine = modes.torch_posteriors(name, torch.from_numpy(real)[None], 0.3)[0].numpy()
        ref = c.soft_demap(y, 0.3)
        np.testing.assert_allclose(mine, ref, atol=2e-5)
        assert np.array_equal(mine.argmax(axis=1), c.hard_demap(y)), name


def test_mode_names_numbers_and_headers():
    ids = [m.id for t in modes.MODE_SETS.values() for m in t]
    assert sorted(i for i in ids if i) == sorted(modes.MODE_IDS.values())
    for table in modes.MODE_SETS.values():
        assert len({m.budget_levels for m in table}) == 1
        for m in table:
            assert modes.mode_named(m.name) == m
            assert modes.mode_from_header(m.levels, m.id) == m
    assert modes.mode_named("L3-qam64") == modes.qam64_mode(3)
    assert modes.mode_from_header(3, 0).constellations == ("qam64",) * 3
    with pytest.raises(ValueError, match="unknown transmission mode 'L2-psk9'"):
        modes.mode_named("L2-psk9")
    with pytest.raises(ValueError, match="sends 2 levels"):
        modes.mode_from_header(3, modes.MODE_IDS["L2-psk8"])
    with pytest.raises(ValueError, match="number 9"):
        modes.mode_from_header(1, 9)


def test_payload_spec_of_a_mode_maps_entries_to_their_symbols():
    from semcom_codec.interface import INDICES, PayloadSpec

    per_level = 6
    mode = modes.mode_named("L3-psk8-qam64")
    spec = PayloadSpec(INDICES, 3 * per_level, order=8, minimum=per_level, mode=mode)
    assert spec.channel_symbols == per_level + per_level // 2 * 2 == 12
    first, last = spec.entry_symbols()
    assert list(first[:per_level]) == list(range(6))              # psk8: one each
    assert list(first[per_level:]) == [6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11]
    assert spec.entries_in(5) == 5 and spec.entries_in(7) == 8 and spec.entries_in(12) == 18
    lost = np.zeros(12, bool)
    lost[[2, 9]] = True
    assert list(np.flatnonzero(spec.lost_entries(lost, 18))) == [2, 12, 13]
    bi = PayloadSpec(INDICES, 4, order=8, minimum=4, mode=modes.mode_named("L1-biorth8"))
    assert bi.channel_symbols == 8 and bi.entries_in(3) == 1
    lost = np.zeros(8, bool)
    lost[5] = True
    assert list(np.flatnonzero(bi.lost_entries(lost, 4))) == [2]
    assert bi.lost_entries(np.zeros(8, bool), 4) is None


def test_pick_mode_and_the_threshold_table():
    from semcom_codec.evaluation.mode_table import pick
    from semcom_codec.systems.moc_rvq.image_codec import pick_mode

    def means(best_by_snr):
        out = {}
        for cbr, table in modes.MODE_SETS.items():
            out[cbr] = {m.name: {s: ((30.0 if best_by_snr(cbr, s) == m.name else 20.0), 0.2)
                                 for s in range(-5, 31, 5)} for m in table}
        return out

    def best(cbr, snr):
        names = [m.name for m in modes.MODE_SETS[cbr]]          # fast -> sturdy
        if snr == -5 and cbr == "1/24":
            return names[1]      # where every mode is noise, another order
        return names[-1] if snr < 10 else names[0]

    tables = pick(means(best))
    assert tables["1/48"] == ((-5.0, "L1-psk8"), (10.0, "L2-qam64"))
    assert tables["1/24"] == ((-5.0, "L3-psk8-qam64"), (0.0, "L1-biorth8"),
                              (10.0, "L4-qam64"))
    assert pick_mode(tables, "1/48", 9.9) == "L1-psk8"
    assert pick_mode(tables, "1/48", 10.0) == "L2-qam64"
    assert pick_mode(tables, "1/48", -30.0) == "L1-psk8"
    assert pick_mode(tables, "1/48", None) == "L1-psk8"
    with pytest.raises(ValueError, match="no threshold table for CBR 1/12"):
        pick_mode(tables, "1/12", 3.0)
