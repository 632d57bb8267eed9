"""The evaluation command on a tiny codec: conditions, the unreordered ablation, outputs."""

import copy
import dataclasses
import json

import numpy as np
import torch
from PIL import Image

from semcom_codec import cli
from semcom_codec.evaluation.card import (
    conditions_for,
    relabelled_codec_view,
    unreordered_indices,
)
from semcom_codec.quantizers.reorder import reorder_mocrvq
from semcom_codec.systems.moc_rvq.config import get_config
from semcom_codec.systems.moc_rvq.model import SemanticCodec, save_codec
from semcom_codec.systems.moc_rvq.nrb import NoiseReductionBlock


def tiny_codec():
    torch.manual_seed(1)
    codec = SemanticCodec(get_config("tiny"))
    codec.quantizer.init_from_data(codec.encoder(torch.rand(2, 3, 64, 64)).detach(),
                                   generator=torch.Generator().manual_seed(1))
    return codec.eval()


def saved_tiny_codec(folder):
    """A tiny reordered codec with an (untrained) NRB, saved as a weight file."""
    codec = tiny_codec()
    perms = reorder_mocrvq(codec.quantizer)
    codec.nrb = NoiseReductionBlock(codec.cfg)
    weights = folder / "codec.pt"
    save_codec(codec, weights, extra={"reorder_permutations": perms.tolist()})
    return weights


def test_unreordered_view_is_the_stage1_codec():
    stage1 = tiny_codec()
    codec = copy.deepcopy(stage1)
    perms = reorder_mocrvq(codec.quantizer)
    reordered = codec.quantizer.codebooks.clone()
    view = relabelled_codec_view(codec, perms)
    assert torch.equal(view.quantizer.codebooks, stage1.quantizer.codebooks)
    assert torch.equal(codec.quantizer.codebooks, reordered)  # the original is untouched
    x = torch.rand(1, 3, 32, 40)
    assert torch.equal(unreordered_indices(codec.encode(x), perms), stage1.encode(x))
    assert not torch.equal(codec.encode(x), stage1.encode(x))  # the labels did change


def test_evaluate_command_writes_tables(tmp_path):
    weights = saved_tiny_codec(tmp_path)
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (36, 44, 3), dtype=np.uint8)).save(
            folder / f"k{i}.png")
    out_json, out_md = tmp_path / "r.json", tmp_path / "r.md"
    assert cli.main(["evaluate", "--weights", str(weights), "--data", str(folder), "--snr",
                     "5,40", "--threads", "1", "--json", str(out_json),
                     "--markdown", str(out_md)]) == 0
    result = json.loads(out_json.read_text())
    rows = {(r["condition"], r["levels"], r["esn0_db"]): r for r in result["rows"]}
    assert result["meta"]["images"] == 2 and len(rows) == 4 + 2 * 8
    assert ("awgn-no-reorder-no-nrb", 4, 5.0) in rows
    # the tiny configuration dequantizes hard decisions to MMSE code vectors: at 5 dB that
    # differs from the decided vectors, at 40 dB it is the same
    assert rows[("awgn-no-nrb-no-mmse", 4, 5.0)]["psnr"] != rows[("awgn-no-nrb", 4, 5.0)]["psnr"]
    assert rows[("awgn-no-nrb-no-mmse", 4, 40.0)]["psnr"] == rows[("noiseless", 4, None)]["psnr"]
    # at 40 dB nothing is lost: the channel returns the sent indices
    assert rows[("awgn-no-nrb", 4, 40.0)]["psnr"] == rows[("noiseless", 4, None)]["psnr"]
    assert rows[("awgn-no-reorder-no-nrb", 4, 40.0)]["psnr"] == rows[("noiseless", 4, None)]["psnr"]
    markdown = out_md.read_text()
    assert markdown.startswith("Command: `semcom evaluate --weights ")
    assert markdown.count("\n| ") == 1 + len(rows) + 1  # header, rule, rows


def test_conditions_follow_what_the_model_supports():
    codec = tiny_codec()
    full = conditions_for(codec, [None, 10.0], (1, 2, 3, 4), reordering_known=True)
    names = [c.name for c in full]
    assert names[:4] == ["noiseless"] * 4 and names.count("awgn") == 4
    decided = next(c for c in full if c.name == "awgn-no-nrb-no-mmse")
    assert not decided.told_esn0 and not decided.nrb and decided.levels == 4
    assert next(c for c in full if c.name == "awgn-no-reorder-no-nrb").unreordered
    codec.cfg = dataclasses.replace(codec.cfg, mmse_hard_decisions=False)
    plain = conditions_for(codec, [10.0], (1, 4), reordering_known=False)
    assert [c.name for c in plain] == ["noiseless", "noiseless", "awgn", "awgn",
                                       "awgn-no-nrb", "awgn-soft"]
    assert all(c.told_esn0 and not c.unreordered for c in plain)


def test_analog_codec_card_runs_through_the_interface(tmp_path):
    """semcom evaluate on a deep JSCC weight file: one row per Es/N0, seeded noise
    (a rerun gives the same figures), the channel's noise reaching the output."""
    import json

    from PIL import Image

    from semcom_codec import testing

    weights = testing.tiny_weights("deep_jscc", tmp_path)
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(
            folder / f"im{i}.png")
    out = tmp_path / "card.json"
    assert cli.main(["evaluate", "--weights", weights, "--data", str(folder),
                     "--snr=-10,20", "--json", str(out)]) == 0
    card = json.loads(out.read_text())
    assert [r["condition"] for r in card["rows"]] == ["noiseless", "awgn -10 dB", "awgn 20 dB"]
    assert card["meta"]["system"] == "deep_jscc" and card["meta"]["cbr"] == "1/24"
    rows = {r["esn0_db"]: r for r in card["rows"]}
    assert all(np.isfinite(r["psnr"]) and r["levels"] == 0 for r in card["rows"])
    again = tmp_path / "again.json"
    assert cli.main(["evaluate", "--weights", weights, "--data", str(folder),
                     "--snr=-10,20", "--json", str(again)]) == 0
    assert json.loads(again.read_text())["rows"] == card["rows"]  # seeded: reproducible
    assert rows[-10.0]["psnr"] != rows[20.0]["psnr"]
