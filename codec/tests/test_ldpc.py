"""The 802.11n LDPC code: expansion against the reference alist, encoding, BP decoding."""

import os

import numpy as np
import pytest

from semcom_codec.fec import ldpc

SHARED_LDPC = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "ldpc")
ALIST = os.path.join(SHARED_LDPC, "wifi_802.11n_n648_k324_r12_Z27.alist")


def test_expansion_equals_the_reference_alist():
    if not os.path.exists(ALIST):
        pytest.skip("../shared/ldpc is not beside the repository")
    code = ldpc.wifi_n648_r12()
    assert np.array_equal(code.h, ldpc.read_alist(ALIST))


def test_expansion_of_one_block_is_a_shifted_identity():
    h = ldpc.expand(np.array([[-1, 2]]), 4)
    assert h.shape == (4, 8)
    assert not h[:, :4].any()
    assert np.array_equal(h[:, 4:], np.roll(np.eye(4, dtype=np.uint8), 2, axis=1))


def test_code_dimensions_and_degrees():
    code = ldpc.wifi_n648_r12()
    assert (code.n, code.k, code.m) == (648, 324, 324)
    assert int(code.h.sum()) == 2376
    assert sorted(set(code.h.sum(axis=1).tolist())) == [7, 8]


def test_encoding_is_systematic_and_meets_every_check():
    code = ldpc.wifi_n648_r12()
    info = np.random.default_rng(0).integers(0, 2, (50, code.k)).astype(np.uint8)
    words = code.encode(info)
    assert words.shape == (50, 648) and words.dtype == np.uint8
    assert np.array_equal(words[:, :code.k], info)
    assert not ((code.h.astype(np.int64) @ words.T.astype(np.int64)) % 2).any()
    assert code.syndrome_ok(words).all()
    flipped = words.copy()
    flipped[:, 5] ^= 1
    assert not code.syndrome_ok(flipped).any()


def _bpsk_ber(ebn0_db, frames, seed):
    code = ldpc.wifi_n648_r12()
    rng = np.random.default_rng(seed)
    info = rng.integers(0, 2, (frames, code.k)).astype(np.uint8)
    words = code.encode(info)
    sigma2 = 1.0 / (2 * 0.5 * 10 ** (ebn0_db / 10))
    y = 1.0 - 2.0 * words + rng.normal(0.0, np.sqrt(sigma2), words.shape)
    bits, converged, _ = code.decode(2.0 * y / sigma2)
    return float(np.mean(bits[:, :code.k] != info)), converged


def test_bpsk_ber_matches_the_reference_figures():
    # ../shared/ldpc/README.md, 200 frames of BPSK over AWGN with sum-product decoding:
    # BER 3.2e-2 to 4.1e-2 at Eb/N0 1.0 dB, 4.2e-3 to 4.9e-3 at 1.5 dB, 0 at 2.5 dB.
    ber, _ = _bpsk_ber(1.0, 200, 1)
    assert 2.0e-2 < ber < 6.0e-2
    ber, _ = _bpsk_ber(1.5, 200, 2)
    assert 1.5e-3 < ber < 1.2e-2
    ber, converged = _bpsk_ber(2.5, 200, 3)
    assert ber == 0.0 and converged.all()


def test_decoder_corrects_errors_and_reports_failures():
    code = ldpc.wifi_n648_r12()
    info = np.random.default_rng(4).integers(0, 2, (2, code.k)).astype(np.uint8)
    words = code.encode(info)
    llr = np.where(words == 0, 4.0, -4.0).astype(np.float32)
    llr[0, [3, 100, 400]] *= -0.5          # three weak wrong bits: corrected
    llr[1] = np.random.default_rng(5).normal(0.0, 0.1, code.n)  # no information: fails
    bits, converged, iterations = code.decode(llr, max_iterations=20)
    assert converged[0] and np.array_equal(bits[0], words[0]) and iterations[0] >= 1
    assert not converged[1] and iterations[1] == 20


def test_bad_input_is_refused():
    code = ldpc.wifi_n648_r12()
    with pytest.raises(ValueError, match="324 info bits"):
        code.encode(np.zeros((1, 323), np.uint8))
    with pytest.raises(ValueError, match="648 LLRs"):
        code.decode(np.zeros((1, 647), np.float32))
    with pytest.raises(ValueError, match="non-finite"):
        code.decode(np.full((1, 648), np.nan, np.float32))


@pytest.mark.parametrize("rate,k", [("1/2", 324), ("2/3", 432), ("3/4", 486), ("5/6", 540)])
def test_every_rate_encodes_codewords_that_meet_every_check(rate, k):
    code = ldpc.wifi_n648(rate)
    assert (code.n, code.k) == (648, k)
    info = np.random.default_rng(6).integers(0, 2, (20, k)).astype(np.uint8)
    words = code.encode(info)
    assert np.array_equal(words[:, :k], info)
    assert not ((code.h.astype(np.int64) @ words.T.astype(np.int64)) % 2).any()
    flipped = words.copy()
    flipped[:, 600] ^= 1
    assert not code.syndrome_ok(flipped).any()


@pytest.mark.parametrize("rate", ["1/2", "2/3", "3/4", "5/6"])
def test_every_base_matrix_equals_the_standards_table(rate):
    path = os.path.join(SHARED_LDPC, f"wifi_802.11n_n648_r{rate.replace('/', '')}_base.txt")
    if not os.path.exists(path):
        pytest.skip("../shared/ldpc is not beside the repository")
    assert np.array_equal(ldpc.BASE_MATRICES[rate], np.loadtxt(path, dtype=np.int64))


def test_unknown_rate_is_refused():
    with pytest.raises(ValueError, match="rates are 1/2, 2/3, 3/4, 5/6, not '7/8'"):
        ldpc.wifi_n648("7/8")
