"""The Swin noise-reduction block: windows, shifted-window masks, identity at start, loss."""

import torch

from semcom_codec.config import CodecConfig
from semcom_codec.nrb import (NoiseReductionBlock, gram, noise_reduction_loss,
                              shifted_window_mask, window_merge, window_partition)

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
