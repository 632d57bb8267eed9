"""5G NR LDPC base graph 1: lifting, rate, parity, rate matching and its waterfall."""

import os

import numpy as np
import pytest

from semcom_codec.fec import ldpc, nr_ldpc

pytestmark = pytest.mark.skipif(
    not os.path.isfile(os.path.join(nr_ldpc.ldpc_dir(), nr_ldpc.BG1_FILE)),
    reason="../shared/ldpc/5G_bg1.csv is not beside the repository")


def test_lifting_sizes_are_the_standards_51():
    sizes = nr_ldpc.lifting_sizes()
    assert len(sizes) == 51 and min(sizes) == 2 and max(sizes) == 384
    assert (sizes[384], sizes[256], sizes[208], sizes[240], sizes[15]) == (1, 0, 6, 7, 7)
    assert nr_ldpc.smallest_lifting(8448) == 384 and nr_ldpc.smallest_lifting(700) == 32
    with pytest.raises(ValueError, match="exceed"):
        nr_ldpc.smallest_lifting(8449)


def test_base_graph_has_316_entries_and_the_bg1_structure():
    graph = nr_ldpc.read_base_graph()
    present = graph[:, :, 0] >= 0
    assert graph.shape == (46, 68, 8) and present.sum() == 316
    # the double-diagonal core (TS 38.212 Table 5.3.2-2, rows 0..3, columns 22..25)
    core = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 1], [1, 0, 0, 1]], dtype=bool)
    assert np.array_equal(present[:4, 22:26], core)
    assert np.array_equal(present.sum(axis=1)[:5], [19, 19, 19, 19, 3])
    # each extension row r >= 4 has its own parity column 22 + r and no other past 25
    assert np.array_equal(present[4:, 26:], np.eye(42, dtype=bool))
    assert not present[:4, 26:].any()


def test_code_rate_is_one_third_and_codewords_satisfy_every_check():
    rng = np.random.default_rng(0)
    for z in (2, 7, 36, 384):
        code = nr_ldpc.nr_bg1(z)
        assert (code.n, code.k, code.m) == (68 * z, 22 * z, 46 * z)
        info = rng.integers(0, 2, (3, code.k), dtype=np.uint8)
        words = code.encode(info)
        assert np.array_equal(words[:, :code.k], info)           # systematic
        assert not ((code.h @ words.T.astype(np.int64)) % 2).any()  # H c = 0
        assert code.syndrome_ok(words).all()
    link = nr_ldpc.NrLdpcLink(22 * 384, 66 * 384)
    assert link.rate == pytest.approx(1 / 3) and link.segments == 1
    # the mother code sends the codeword less its first 2 Z systematic bits, once
    assert np.array_equal(link.positions[0], np.arange(2 * 384, 68 * 384))


def test_a_flipped_bit_breaks_a_check():
    code = nr_ldpc.nr_bg1(8)
    word = code.encode(np.ones((1, code.k), np.uint8))
    for position in (0, code.k - 1, code.k, code.n - 1):
        bad = word.copy()
        bad[0, position] ^= 1
        assert not code.syndrome_ok(bad)[0]


def test_packed_gf2_inverse_against_the_reference_solver():
    rng = np.random.default_rng(1)
    for _ in range(5):
        a = rng.integers(0, 2, (40, 40), dtype=np.uint8)
        try:
            expected = ldpc.gf2_solve(a, np.eye(40, dtype=np.uint8))
        except ValueError:
            with pytest.raises(ValueError, match="singular"):
                ldpc.gf2_inverse(a)
            continue
        assert np.array_equal(ldpc.gf2_inverse(a), expected)


@pytest.mark.parametrize("info, coded", [(1000, 3000), (1000, 1800), (1000, 5000),
                                         (20032, 60096), (9000, 27004)])
def test_rate_matching_round_trips_and_fills_exactly(info, coded):
    rng = np.random.default_rng(2)
    link = nr_ldpc.NrLdpcLink(info, coded)
    bits = rng.integers(0, 2, info, dtype=np.uint8)
    air = link.encode(bits)
    assert air.shape == (coded,) and sum(link.sent) == coded
    assert link.segments == -(-info // 8448)
    decoded, converged = link.decode(np.where(air == 0, 4.0, -4.0))
    assert np.array_equal(decoded, bits) and converged.all()
    for r, p in enumerate(link.positions):   # fillers and punctured bits are never sent
        real = link._real_bits(r)
        assert p.min() >= 2 * link.z
        assert not np.any((p >= real) & (p < link.code.k))


def test_repeated_bits_add_their_evidence():
    link = nr_ldpc.NrLdpcLink(200, 1200)   # the 66 Z buffer sent more than once
    bits = np.zeros(200, np.uint8)
    llr = np.full(1200, 0.3)
    full = np.zeros(link.code.n)
    np.add.at(full, link.positions[0], llr)
    assert full.max() > 0.3 * 1.5                 # repetitions summed
    decoded, converged = link.decode(llr)
    assert not decoded.any() and converged.all()


def test_bad_messages_are_refused():
    with pytest.raises(ValueError, match="above 1"):
        nr_ldpc.NrLdpcLink(100, 99)
    link = nr_ldpc.NrLdpcLink(100, 300)
    with pytest.raises(ValueError, match="takes 100 bits"):
        link.encode(np.zeros(99, np.uint8))
    with pytest.raises(ValueError, match="0 or 1"):
        link.encode(np.full(100, 2, np.uint8))
    with pytest.raises(ValueError, match="takes 300 LLRs"):
        link.decode(np.zeros(299))
    with pytest.raises(ValueError, match="lifting size"):
        nr_ldpc.NrLdpcCode(17)


def test_missing_base_graph_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="SEMCOM_LDPC_DIR"):
        nr_ldpc.read_base_graph(str(tmp_path / "5G_bg1.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("h\nh\n0;99;1;1;1;1;1;1;1;1\n")
    with pytest.raises(ValueError, match="line 3"):
        nr_ldpc.read_base_graph(str(bad))


def _ber(ebn0_db, frames=10, z=64, seed=3):
    """BPSK over AWGN through the rate-1/3 mother code, sum-product decoding."""
    rng = np.random.default_rng(seed)
    link = nr_ldpc.NrLdpcLink(22 * z, 66 * z)
    sigma2 = 1.0 / (2.0 * link.rate * 10 ** (ebn0_db / 10))   # per real dimension
    errors = 0
    for _ in range(frames):
        bits = rng.integers(0, 2, link.info_bits, dtype=np.uint8)
        y = 1.0 - 2.0 * link.encode(bits) + rng.normal(0, np.sqrt(sigma2), link.coded_bits)
        errors += int(np.sum(link.decode(2.0 * y / sigma2)[0] != bits))
    return errors / (frames * link.info_bits)


def test_ber_waterfall_of_the_rate_one_third_code():
    # Rate 1/3 needs Eb/N0 > -0.55 dB on any code (Shannon); the K = 1408 BG1 code
    # falls through its waterfall by about 1 dB, as 5G NR BG1 curves at this length do.
    assert _ber(-1.0) > 0.05
    assert _ber(1.5) < 1e-4
