"""The Swin noise-reduction block: windows, shifted-window masks, identity at start, loss."""

import dataclasses

import pytest
import torch

from semcom_codec.systems.moc_rvq.config import CodecConfig
from semcom_codec.systems.moc_rvq.nrb import (
    NoiseReductionBlock,
    gram,
    noise_reduction_loss,
    shifted_window_mask,
    snr_balanced,
    snr_features,
    window_merge,
    window_partition,
)

CFG = CodecConfig(n_q=8, nrb_dim=16, nrb_layers=1, nrb_heads=2, nrb_window=4)


def test_window_partition_round_trip():
    x = torch.arange(2 * 8 * 12 * 3, dtype=torch.float32).view(2, 8, 12, 3)
    windows = window_partition(x, 4)
    assert tuple(windows.shape) == (2 * 2 * 3, 16, 3)
    assert torch.equal(windows[0, :4, 0], x[0, 0, :4, 0])  # first window, first row
    assert torch.equal(window_merge(windows, 4, 2, 8, 12), x)


def test_shifted_mask_separates_wrapped_regions():
    mask = shifted_window_mask(8, 8, window=4, shift=2, device="cpu")
    assert tuple(mask.shape) == (4, 16, 16)
    assert torch.all(mask[0] == 0)                 # top-left window: one region
    last = mask[3]                                  # bottom-right window: 4 regions
    assert last[0, 0] == 0 and torch.isinf(last[0, 15]) and last[0, 15] < 0
    assert torch.equal(last, last.T)


def test_nrb_starts_as_identity_and_keeps_shape():
    nrb = NoiseReductionBlock(CFG)
    z = torch.randn(2, 8, 7, 10)  # not a multiple of the window: padded and cropped
    assert torch.equal(nrb(z, 3), z)


def test_nrb_learns_to_denoise_a_fixed_corruption():
    torch.manual_seed(0)
    nrb = NoiseReductionBlock(CFG)
    clean = torch.randn(4, 8, 8, 8)
    noisy = clean + 0.5 * torch.randn_like(clean)
    opt = torch.optim.Adam(nrb.parameters(), lr=3e-3)
    start = noise_reduction_loss(nrb(noisy, 4), clean).item()
    for _ in range(150):
        loss = noise_reduction_loss(nrb(noisy, 4), clean)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * start


def test_gram_loss_reference():
    z = torch.zeros(1, 2, 1, 2)
    z[0, 0] = torch.tensor([[1.0, 1.0]])          # channel 0 = (1, 1), channel 1 = 0
    g = gram(z)
    assert torch.equal(g, torch.tensor([[[1.0, 0.0], [0.0, 0.0]]]))
    # Gram diff only at [0, 0]: (1 - 0)^2 / 4 entries; L2: 2 ones over 4 values, x 0.25
    assert noise_reduction_loss(z, torch.zeros_like(z)).item() == 0.25 + 0.25 * 0.5
    both = torch.cat([z, 2 * z])
    per = noise_reduction_loss(both, torch.zeros_like(both), per_sample=True)
    assert per.tolist() == [0.25 + 0.125, 16 * 0.25 + 4 * 0.125]
    assert noise_reduction_loss(both, torch.zeros_like(both)).item() == per.mean().item()


def test_snr_balanced_weighs_each_sample_by_its_unrefined_loss():
    unrefined = torch.tensor([100.0, 1.0, 0.0])     # low SNR, high SNR, clean
    refined = torch.tensor([50.0, 0.5, 0.01])
    scale = unrefined.mean().item()
    floor = 0.05 * scale
    want = scale * (50 / (100 + floor) + 0.5 / (1 + floor) + 0.01 / floor) / 3
    assert snr_balanced(refined, unrefined).item() == pytest.approx(want, rel=1e-5)
    grad = torch.ones(3, requires_grad=True)
    snr_balanced(grad * refined, unrefined).backward()
    weights = scale / (unrefined + floor) / 3
    torch.testing.assert_close(grad.grad, weights * refined)
    assert weights[1] > 30 * weights[0]  # the nearly clean sample weighs more


def test_snr_features_scale_clamp_and_mark_unknown():
    f = snr_features(torch.tensor([-5.0, 30.0, 100.0, float("nan")]), 4, "cpu")
    torch.testing.assert_close(f, torch.tensor([[-1.0, 0.0], [1.0, 0.0],
                                                [27.5 / 17.5, 0.0], [0.0, 1.0]]))
    torch.testing.assert_close(snr_features(None, 2, "cpu"), torch.tensor([[0.0, 1.0]] * 2))
    torch.testing.assert_close(snr_features(12.5, 3, "cpu"), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="3 values for a batch of 2"):
        snr_features(torch.zeros(3), 2, "cpu")


def test_snr_aware_nrb_depends_on_the_snr_and_the_plain_one_does_not():
    torch.manual_seed(0)
    aware = NoiseReductionBlock(dataclasses.replace(CFG, nrb_snr_input=True))
    plain = NoiseReductionBlock(CFG)
    assert "snr_embedding.weight" in aware.state_dict()
    assert not any(k.startswith("snr_") for k in plain.state_dict())
    for nrb in (aware, plain):
        torch.nn.init.normal_(nrb.out.weight, std=0.1)  # leave the identity start
    z = torch.randn(2, 8, 8, 8)
    with torch.no_grad():
        low, high = aware(z, 2, 0.0), aware(z, 2, 30.0)
        assert not torch.allclose(low, high)
        # one SNR per image; NaN is the same as not telling
        both = aware(z, 2, torch.tensor([0.0, 30.0]))
        torch.testing.assert_close(both[0], low[0])
        torch.testing.assert_close(both[1], high[1])
        torch.testing.assert_close(aware(z, 2, float("nan")), aware(z, 2))
        torch.testing.assert_close(plain(z, 2, 0.0), plain(z, 2, 30.0))
