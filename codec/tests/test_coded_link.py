"""Bit-level 64-QAM (labels, max-log LLRs), channel realisations and the LDPC link."""

import itertools
import math

import numpy as np
import pytest
import torch

from semcom_codec.baselines import link as coded_link
from semcom_codec.phy.channels import Realisation
from semcom_codec.phy.constellation import (
    bit_llrs,
    bits_to_indices,
    hard_demap,
    label_amplitudes,
    map_indices,
)


def test_bits_to_indices_most_significant_first():
    bits = torch.tensor([1, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1])
    assert bits_to_indices(bits).tolist() == [5, 3, 0, 7]
    assert bits_to_indices(torch.tensor([1, 0, 1, 1]), order=4).tolist() == [2, 3]
    with pytest.raises(ValueError, match="whole 3-bit indices"):
        bits_to_indices(torch.tensor([1, 0]))


def test_llrs_equal_brute_force_max_log():
    amps = label_amplitudes(8, torch.float64)
    rng = np.random.default_rng(0)
    y = torch.complex(torch.tensor(rng.normal(0, 0.6, 40)), torch.tensor(rng.normal(0, 0.6, 40)))
    n0 = 0.3
    got = bit_llrs(y.to(torch.complex64), n0).double()
    axes = torch.stack([y.real, y.imag], -1).reshape(-1)
    want = []
    for value in axes.tolist():
        for j in (2, 1, 0):
            d = {b: min((value - float(amps[k])) ** 2 for k in range(8) if (k >> j) & 1 == b)
                 for b in (0, 1)}
            want.append((d[1] - d[0]) / n0)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)


def test_llr_signs_give_back_the_sent_bits_without_noise():
    bits = torch.tensor(list(itertools.product((0, 1), repeat=6))).reshape(-1)  # all 64 points
    symbols = map_indices(bits_to_indices(bits))
    llr = bit_llrs(symbols, 0.01)
    assert torch.equal((llr < 0).long(), bits)
    # the same labels the index demapper returns
    assert torch.equal(hard_demap(symbols).long(), bits_to_indices(bits))


def test_per_symbol_noise_variance_scales_llrs():
    symbols = map_indices(torch.tensor([3, 6, 1, 2]))
    both = bit_llrs(symbols, torch.tensor([0.1, 0.4]))
    np.testing.assert_allclose(both[:6].numpy(), bit_llrs(symbols[:1], 0.1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(both[6:].numpy(), bit_llrs(symbols[1:], 0.4).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="positive"):
        bit_llrs(symbols, 0.0)


def test_realisation_is_shared_and_scaled_by_snr():
    r = Realisation(1000, "awgn", seed=7)
    x = torch.zeros(1000, dtype=torch.complex64)
    y10, n0 = r.apply(x, 10.0)
    y20, _ = r.apply(x, 20.0)
    assert torch.allclose(y10, y20 * math.sqrt(10.0), atol=1e-6)  # same noise, scaled
    assert float(n0[0]) == pytest.approx(0.1)
    part, _ = r.apply(x[:100], 10.0, offset=900)
    assert torch.equal(part, y10[900:])
    assert torch.equal(Realisation(1000, "awgn", seed=7).noise, r.noise)
    with pytest.raises(ValueError, match="exceed"):
        r.apply(x[:200], 10.0, offset=900)
    with pytest.raises(ValueError, match="channel kind"):
        Realisation(10, "awgm")


def test_fading_realisation_equalises_with_perfect_csi():
    r = Realisation(20_000, "rayleigh", seed=1, block_length=4)
    x = map_indices(torch.randint(0, 8, (40_000,), generator=torch.Generator().manual_seed(2)))
    y, n0 = r.apply(x, 60.0)
    power = r.power(20_000)
    # at 60 dB the equalised symbol is x wherever the fade leaves 40 dB or more
    fine = power > 1e-2
    assert fine.float().mean() > 0.98
    assert (y - x)[fine].abs().max() < 0.08  # half the 64-QAM spacing is 0.154
    assert float(power.mean()) == pytest.approx(1.0, rel=0.05)
    assert torch.equal(power[0::4], power[1::4])  # one gain per block of 4
    torch.testing.assert_close(n0, 1e-6 / torch.clamp(power, min=1e-38))


def test_budgets():
    assert coded_link.codewords_for(49152) == 455          # 6 bits per 64-QAM symbol
    assert coded_link.payload_bytes_for(49152) == 455 * 324 // 8
    ones = torch.ones(100)
    assert coded_link.capacity_bytes(0.0, ones) == 12      # log2(2) = 1 bit per symbol
    assert coded_link.capacity_bytes(30.0, ones) == int(100 * math.log2(1001) // 8)


def test_bitstream_arrives_at_high_snr_and_not_at_low():
    payload = np.random.default_rng(3).integers(0, 256, 200).astype(np.uint8).tobytes()
    symbols = 5 * 108
    r = Realisation(symbols, "awgn", seed=4)
    assert coded_link.send_bitstream(payload, symbols, r, 20.0) == (True, 5 * 108)
    assert coded_link.send_bitstream(payload, symbols, r, 3.0)[0] is False
    assert coded_link.send_bitstream(b"", symbols, r, 3.0) == (True, 0)
    with pytest.raises(ValueError, match="does not fit"):
        coded_link.send_bitstream(bytes(203), symbols, r, 20.0)
