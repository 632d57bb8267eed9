"""Deep JSCC: analog symbol layout, power normalisation, AWGN statistics, the model's
shapes and CBR, and training that resumes exactly."""

from fractions import Fraction

import pytest
import torch

from semcom_codec import cli, testing
from semcom_codec.phy import analog
from semcom_codec.systems.deep_jscc.config import CONFIGS, DeepJsccConfig, get_config
from semcom_codec.systems.deep_jscc.model import DeepJscc


def test_symbols_pair_channel_k_with_k_plus_half_and_round_trip():
    latent = torch.arange(2 * 4 * 2 * 3, dtype=torch.float32).reshape(2, 4, 2, 3)
    symbols = analog.to_symbols(latent)
    assert symbols.shape == (2, 12) and symbols.dtype == torch.complex64
    # first symbol of image 0: I = channel 0 at (0, 0), Q = channel 2 at (0, 0)
    assert symbols[0, 0] == complex(latent[0, 0, 0, 0], latent[0, 2, 0, 0])
    assert symbols[1, 7] == complex(latent[1, 1, 0, 1], latent[1, 3, 0, 1])
    assert torch.equal(analog.from_symbols(symbols, 4, 2, 3), latent)
    with pytest.raises(ValueError, match="even channel count"):
        analog.to_symbols(torch.zeros(1, 3, 2, 2))


def test_power_is_normalised_per_image_and_awgn_has_variance_n0():
    symbols = torch.randn(3, 20000, dtype=torch.complex64) * torch.tensor([[0.1], [1.0], [7.0]])
    unit = analog.normalize_power(symbols)
    assert torch.allclose(unit.abs().square().mean(dim=1), torch.ones(3), atol=1e-5)
    g = torch.Generator().manual_seed(0)
    noisy = analog.awgn(unit, torch.tensor([0.0, 10.0, 20.0]), g)
    n0 = (noisy - unit).abs().square().mean(dim=1)
    assert torch.allclose(n0, torch.tensor([1.0, 0.1, 0.01]), rtol=0.05)
    real_var = (noisy - unit).real.var(dim=1)
    assert torch.allclose(real_var, n0 / 2, rtol=0.06)  # half of N0 per axis


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_shipped_configurations_have_the_cbr_in_their_name(name):
    cfg = get_config(name)
    assert cfg.factor == 8 and cfg.cbr == Fraction(name.rsplit("-", 1)[1])
    assert cfg.perceptual == name.startswith("deep_jscc/")
    assert bool(cfg.lpips_weight) == bool(cfg.gan_weight) == cfg.perceptual


def test_model_shapes_and_the_decoder_snr_clamp():
    cfg = DeepJsccConfig(widths=(8, 8, 8), res_blocks=(0, 1, 0), latent_channels=4)
    model = DeepJscc(cfg).eval()
    x = torch.rand(2, 3, 32, 48)
    symbols, latent = model.transmit(x)
    assert latent.shape == (2, 4, 2, 3) and symbols.shape == (2, 12)
    y, _ = model(x, torch.tensor([1.0, 13.0]))
    assert y.shape == x.shape
    snr = model.decoder_snr(torch.tensor([-5.0, 7.0, 30.0]), 3, "cpu")
    assert snr.tolist() == [1.0, 7.0, 13.0]
    assert model.decoder_snr(20.0, 2, "cpu").tolist() == [13.0, 13.0]


def test_configuration_from_a_weight_file_is_checked():
    good = get_config("deep_jscc/small-1/48").to_dict()
    assert DeepJsccConfig.from_dict(good) == get_config("deep_jscc/small-1/48")
    for bad, message in (({**good, "colour": 1}, "unknown"),
                         ({**good, "latent_channels": "64"}, "must be a number"),
                         ({**good, "perceptual": 1}, "true or false"),
                         ({**good, "latent_channels": 7}, "inconsistent"),
                         ({**good, "widths": [8, "x"]}, "list of numbers")):
        with pytest.raises(ValueError, match=message):
            DeepJsccConfig.from_dict(bad)


def _train(tmp_path, folder, *extra):
    return cli.main(["train", "deep_jscc", "--config", "deep_jscc/small-1/48",
                     "--data", str(folder), "--val", "", "--out", str(tmp_path),
                     "--steps", "6", "--batch", "2", "--crop", "32", "--threads", "1",
                     "--checkpoint-every", "1", "--log-every", "1", "--warmup", "2",
                     "--pretrain-share", "0.5", "--disc-share", "0.17", *extra])


@pytest.fixture(scope="module")
def crops_folder(tmp_path_factory):
    return testing.random_image_folder(tmp_path_factory.mktemp("crops"))


def test_perceptual_training_runs_its_three_phases_and_resumes_exactly(tmp_path, crops_folder):
    """A run cut at step 4 (inside the adversarial phase) and resumed ends with the
    same weights as one uninterrupted run."""
    import json

    whole, split = tmp_path / "whole", tmp_path / "split"
    assert _train(whole, crops_folder) == 0
    phases = [json.loads(line)["phase"] for line in open(whole / "log_deep_jscc.jsonl")]
    assert phases == ["pretrain"] * 3 + ["disc"] + ["adversarial"] * 2
    assert _train(split, crops_folder, "--stop-at", "4") == 0
    assert not (split / "deep_jscc.pt").exists()
    assert _train(split, crops_folder, "--resume") == 0
    a = torch.load(whole / "deep_jscc.pt", weights_only=True)
    b = torch.load(split / "deep_jscc.pt", weights_only=True)
    assert a["system"] == "deep_jscc" and a["config"]["name"] == "deep_jscc/small-1/48"
    for key in a["state_dict"]:
        assert torch.equal(a["state_dict"][key], b["state_dict"][key]), key


def test_training_refuses_bad_phase_shares(tmp_path, crops_folder, capsys):
    assert _train(tmp_path, crops_folder, "--pretrain-share", "0.9") == 1
    assert "summing to at most 1" in capsys.readouterr().err
