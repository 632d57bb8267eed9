"""The codec API the blocks use: shapes, padding, reordering as a relabelling, weight files."""

import numpy as np
import pytest
import torch

from semcom_codec.quantizers.reorder import reorder_mocrvq
from semcom_codec.systems.moc_rvq.config import CodecConfig, get_config
from semcom_codec.systems.moc_rvq.model import SemanticCodec, load_codec, save_codec
from semcom_codec.systems.moc_rvq.nrb import NoiseReductionBlock

TINY = CodecConfig(name="tiny", n_q=8, stem_channels=8, body_channels=16, body_blocks=1,
                   nrb_dim=16, nrb_layers=1, nrb_heads=2, nrb_window=4)


@pytest.fixture()
def codec():
    torch.manual_seed(0)
    model = SemanticCodec(TINY)
    model.quantizer.init_from_data(model.encoder(torch.rand(2, 3, 64, 64)).detach(),
                                   generator=torch.Generator().manual_seed(0))
    return model.eval()


def test_encode_shapes_and_dtype_for_odd_sizes(codec):
    indices = codec.encode(torch.rand(2, 3, 37, 50))
    assert indices.dtype == torch.uint8
    assert tuple(indices.shape) == (2, 4, 4, 5, 7)  # [B, D, P, ceil(H/8), ceil(W/8)]
    assert int(indices.max()) < 8
    assert tuple(codec.encode(torch.rand(1, 3, 16, 16), levels=2).shape) == (1, 2, 4, 2, 2)


def test_decode_crops_back_to_the_original_size(codec):
    x = torch.rand(1, 3, 37, 50)
    y = codec.decode(codec.encode(x), size=x.shape[-2:])
    assert tuple(y.shape) == (1, 3, 37, 50)
    assert 0.0 <= float(y.min()) and float(y.max()) <= 1.0


def test_numpy_round_trip_and_soft_one_hot_equals_hard(codec):
    image = np.random.default_rng(0).random((24, 40, 3), dtype=np.float32)
    indices, size = codec.encode_image(image)
    assert size == (24, 40) and indices.shape == (4, 4, 3, 5)
    hard = codec.decode_image(indices, size)
    one_hot = np.eye(8, dtype=np.float32)[indices]
    soft = codec.decode_image(one_hot, size)
    np.testing.assert_allclose(soft, hard, atol=1e-6)


def test_reordering_is_a_relabelling(codec):
    """Algorithm 1 changes which index names a vector, never the decoded image."""
    x = torch.rand(2, 3, 40, 48)
    before_idx = codec.encode(x)
    before = codec.decode(before_idx)
    perms = reorder_mocrvq(codec.quantizer)
    after_idx = codec.encode(x)
    assert torch.equal(codec.decode(after_idx), before)
    for d in range(4):
        for p in range(4):
            relabelled = perms[d, p][before_idx[:, d, p].long()]
            assert torch.equal(relabelled.to(torch.uint8), after_idx[:, d, p])


def test_save_load_round_trip_with_nrb(codec, tmp_path):
    codec.nrb = NoiseReductionBlock(TINY)
    path = tmp_path / "codec.pt"
    save_codec(codec, path, extra={"stage": 2})
    loaded = load_codec(path)
    assert loaded.nrb is not None and loaded.cfg == TINY
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(loaded.decode(loaded.encode(x)), codec.decode(codec.encode(x)))


def test_weight_file_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="codec weight file not found: .*none.pt"):
        load_codec(tmp_path / "none.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage, not a checkpoint")
    with pytest.raises(ValueError, match="bad.pt is not a gr-semcom codec weight file"):
        load_codec(bad)
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="no config/state_dict"):
        load_codec(tmp_path / "other.pt")


def test_bad_inputs(codec):
    with pytest.raises(ValueError, match=r"expected images as a tensor \[B, 3, H, W\]"):
        codec.encode(torch.rand(3, 16, 16))
    with pytest.raises(ValueError, match="unknown configuration 'huge'"):
        get_config("huge")
    with pytest.raises(ValueError, match="index 9 is out of range"):
        codec.decode(torch.full((1, 2, 4, 2, 2), 9, dtype=torch.uint8))


def test_mmse_hard_decisions(codec):
    """With ``mmse_hard_decisions`` a hard index becomes E[c | decision] at the told Es/N0:
    the decided vector when the SNR is unknown or high, the posterior mean otherwise."""
    import dataclasses

    from semcom_codec.phy.constellation import hard_decision_posteriors

    indices = codec.encode(torch.rand(2, 3, 32, 40))
    plain = codec.dequantize_received(indices, 5.0)       # TINY has the option off
    assert torch.equal(plain, codec.quantizer.dequantize(indices))
    assert torch.equal(codec.decision_posteriors(5.0), torch.eye(8))
    codec.cfg = dataclasses.replace(codec.cfg, mmse_hard_decisions=True)
    assert torch.equal(codec.decision_posteriors(None), torch.eye(8))
    assert torch.equal(codec.decision_posteriors(float("nan")), torch.eye(8))
    assert torch.equal(codec.decision_posteriors(5.0), hard_decision_posteriors(5.0).float())
    assert torch.equal(codec.dequantize_received(indices, None), plain)
    assert torch.equal(codec.dequantize_received(indices, 60.0), plain)
    table = hard_decision_posteriors(5.0).float()
    posteriors = table[indices.long()]
    assert torch.allclose(codec.dequantize_received(indices, 5.0),
                          codec.quantizer.dequantize_soft(posteriors), atol=1e-6)
    # one SNR per image; NaN is "unknown" and keeps the decided vectors
    mixed = codec.dequantize_received(indices, torch.tensor([float("nan"), 5.0]))
    assert torch.equal(mixed[0], plain[0])
    assert torch.allclose(mixed[1], codec.quantizer.dequantize_soft(posteriors)[1], atol=1e-6)
    with pytest.raises(ValueError, match="batch of 2"):
        codec.dequantize_received(indices, torch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="out of range"):
        codec.dequantize_received(indices.clamp(max=7) + 8, 5.0)
