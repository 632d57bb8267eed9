"""Bad input gets one clear error naming the file: images, weight files, metrics, CLI."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from semcom_codec import cli, malformed
from semcom_codec.errors import BadWeightFile, ImageTooLarge, MetricUndefined, one_line
from semcom_codec.evaluation.reordering import reorder_permutations
from semcom_codec.images import MAX_IMAGE_PIXELS, load_image, load_image_bytes
from semcom_codec.metrics.lpips import lpips_distance
from semcom_codec.metrics.lpips_weights import load_numpy_pickle, lpips_state_dict
from semcom_codec.metrics.ssim import ssim
from semcom_codec.systems.moc_rvq.config import get_config
from semcom_codec.systems.moc_rvq.model import SemanticCodec, load_codec, save_codec


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    save_codec(SemanticCodec(get_config("tiny")).eval(), path)
    return path


@pytest.fixture(scope="module")
def bad_images(tmp_path_factory):
    return malformed.malformed_image_files(tmp_path_factory.mktemp("bad_images"), 100)


def test_every_malformed_image_file_is_refused_naming_it(bad_images):
    assert len(bad_images) == 100
    for path in bad_images:
        with pytest.raises((ValueError, FileNotFoundError)) as err:
            load_image(path)
        assert path in str(err.value)
        assert "\n" not in one_line(err.value)


@pytest.mark.parametrize("name, kind, words", [
    ("bomb_png_30000.png", ImageTooLarge, "decompression bomb"),
    ("bomb_jpeg_9000.jpg", ImageTooLarge, "9000x9000 pixels, over gr-semcom's limit"),
    ("bomb_real_12000.png", ImageTooLarge, "decompression bomb"),
    ("fifo.png", FileNotFoundError, "not a regular file"),
    ("dangling.png", FileNotFoundError, "not a regular file"),
    ("missing.png", FileNotFoundError, "not found"),
    ("empty.png", ValueError, "empty"),
    ("text.png", ValueError, "not a readable image")])
def test_each_kind_of_bad_image_says_what_is_wrong(bad_images, name, kind, words):
    path = next(p for p in bad_images if os.path.basename(p) == name)
    with pytest.raises(kind, match=words):
        load_image(path)


def test_the_pixel_limit_is_checked_before_decoding():
    # 17 KB on disk, 144 megapixels decoded: refused from the header, in little memory
    import resource

    bomb = malformed.png_bomb(12000)
    assert len(bomb) < 64_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImageTooLarge):
        load_image_bytes(bomb, "bomb")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB
    side = int(MAX_IMAGE_PIXELS ** 0.5)
    with pytest.raises(ImageTooLarge, match="limit"):
        load_image_bytes(malformed.png_claiming(side + 1, side), "just over")


@pytest.mark.parametrize("name, words", [
    ("exploit_legacy_pickle", "refused by the weights_only loader"),
    ("exploit_torch_zip", "refused by the weights_only loader"),
    ("empty", "not a gr-semcom codec weight file"),
    ("random_bytes", "not a gr-semcom codec weight file"),
    ("truncated", "not a gr-semcom codec weight file"),
    ("config_int", "configuration must be a mapping of fields, got int"),
    ("config_str", "configuration must be a mapping of fields, got str"),
    ("config_unknown_field", r"unknown codec configuration fields: \['colour'\]"),
    ("config_huge", "body_channels must be an integer in 1..1024"),
    ("config_big_in_range", "the weights do not fit their configuration"),
    ("config_bool_as_int", "levels must be an integer"),
    ("no_state_dict", "no config/state_dict"),
    ("state_dict_list", "state_dict is a list"),
    ("state_dict_missing_key", "do not fit their configuration: 1 missing"),
    ("state_dict_extra_key", r"1 unexpected \(first: bogus\)"),
    ("state_dict_wrong_shape", r"1 of another shape .*\(3, 1\)"),
    ("state_dict_nan", "holds NaN or infinite values"),
    ("has_nrb_str", "has_nrb must be True or False"),
    ("a_list", "holds a list, not a dict"),
    ("directory", "not a regular file")])
def test_hostile_and_broken_weight_files_are_refused(weights, tmp_path, name, words):
    sentinel = tmp_path / "PWNED"
    path = malformed.hostile_weight_files(tmp_path / "w", weights, sentinel)[name]
    with pytest.raises((BadWeightFile, FileNotFoundError), match=words) as err:
        load_codec(path)
    assert path in str(err.value) and "\n" not in str(err.value)
    assert not sentinel.exists()


def test_every_other_loader_refuses_hostile_files(weights, tmp_path, monkeypatch):
    sentinel = tmp_path / "PWNED"
    files = malformed.hostile_weight_files(tmp_path / "w", weights, sentinel)
    with pytest.raises(BadWeightFile, match="reorder_permutations must hold a permutation"):
        reorder_permutations(files["permutations_bad"], load_codec(weights))
    with pytest.raises(BadWeightFile, match="refused"):
        reorder_permutations(files["exploit_torch_zip"])
    import pickle

    with open(files["exploit_legacy_pickle"], "rb") as f, \
            pytest.raises(pickle.UnpicklingError, match="refusing to unpickle global"):
        load_numpy_pickle(f)
    # the converted-LPIPS cache: a hostile or NaN file there is refused, naming it
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("SEMCOM_CACHE", str(cache))
    for name, words in (("exploit_torch_zip", "refused"), ("state_dict_nan", "NaN")):
        source = files[name] if name != "state_dict_nan" else None
        target = cache / "lpips_alex_v0.1.pt"
        if source:
            target.write_bytes(open(source, "rb").read())
        else:
            torch.save({"convs.0.weight": torch.full((1,), float("nan"))}, target)
        with pytest.raises(BadWeightFile, match=f"LPIPS weight cache.*{words}|{words}.*make venv"):
            lpips_state_dict(download=False)
    assert not sentinel.exists()


def test_metrics_are_not_defined_below_their_windows():
    rng = np.random.default_rng(0)
    for shape in ((1, 1), (7, 9), (30, 30), (30, 200)):
        a = rng.random(shape + (3,), dtype=np.float32)
        with pytest.raises(MetricUndefined, match="LPIPS is not defined .* under 31x31"):
            lpips_distance(a, a)
    a = rng.random((31, 31, 3), dtype=np.float32)
    assert lpips_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(MetricUndefined, match="SSIM is not defined"):
        ssim(a[:10], a[:10])


def evaluate_error(capsys, *argv):
    """semcom evaluate's exit status and its stderr lines for arguments ``argv``."""
    status = cli.main(["evaluate", *argv])
    lines = [l for l in capsys.readouterr().err.splitlines() if l.strip()]
    return status, lines


def folder_with(tmp_path, name, data=None, size=None):
    folder = tmp_path / name
    folder.mkdir()
    if size is not None:
        Image.fromarray(np.zeros(size + (3,), np.uint8)).save(folder / "small.png")
    if data is not None:
        (folder / "bad.png").write_bytes(data)
    return folder


@pytest.mark.parametrize("case", ["truncated", "zero", "text", "bomb", "tiny_1", "tiny_7x9",
                                  "tiny_30", "no_images", "missing"])
def test_evaluate_reports_bad_data_in_one_line(capsys, tmp_path, weights, case):
    png = malformed.png_bytes(np.zeros((40, 40, 3), np.uint8))
    folders = {
        "truncated": lambda: folder_with(tmp_path, case, png[:40]),
        "zero": lambda: folder_with(tmp_path, case, b""),
        "text": lambda: folder_with(tmp_path, case, b"hello"),
        "bomb": lambda: folder_with(tmp_path, case, malformed.png_claiming(30000, 30000)),
        "tiny_1": lambda: folder_with(tmp_path, case, size=(1, 1)),
        "tiny_7x9": lambda: folder_with(tmp_path, case, size=(9, 7)),
        "tiny_30": lambda: folder_with(tmp_path, case, size=(30, 30)),
        "no_images": lambda: folder_with(tmp_path, case),
        "missing": lambda: tmp_path / "nowhere"}
    folder = folders[case]()
    status, lines = evaluate_error(capsys, "--weights", str(weights), "--data", str(folder))
    assert status == 1
    assert len(lines) == 1 and lines[0].startswith("semcom evaluate: error: ")
    assert str(folder) in lines[0]


def test_evaluate_reports_bad_weights_and_devices_in_one_line(capsys, tmp_path, weights):
    sentinel = tmp_path / "PWNED"
    files = malformed.hostile_weight_files(tmp_path / "w", weights, sentinel)
    data = folder_with(tmp_path, "data", size=(32, 32))
    for name in ("exploit_torch_zip", "config_str", "state_dict_nan"):
        status, lines = evaluate_error(capsys, "--weights", files[name], "--data", str(data))
        assert status == 1 and len(lines) == 1 and files[name] in lines[0]
    if not torch.cuda.is_available():
        status, lines = evaluate_error(capsys, "--weights", str(weights), "--data", str(data),
                                       "--device", "cuda")
        assert (status, len(lines)) == (1, 1) and "no CUDA GPU" in lines[0]
    assert not sentinel.exists()


def test_a_hostile_weight_file_gives_one_line_and_no_traceback_in_a_process(tmp_path, weights):
    sentinel = tmp_path / "PWNED"
    path = malformed.hostile_weight_files(tmp_path / "w", weights, sentinel)["exploit_legacy_pickle"]
    data = folder_with(tmp_path, "data", size=(32, 32))
    result = subprocess.run([sys.executable, "-m", "semcom_codec.cli", "evaluate", "--weights",
                             path, "--data", str(data)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "refused by the weights_only loader" in result.stderr
    assert not sentinel.exists()
