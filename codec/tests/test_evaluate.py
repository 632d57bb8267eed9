"""The evaluation command on a tiny codec: conditions, the unreordered ablation, outputs."""

import copy
import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image

from semcom_codec import cli
from semcom_codec.evaluation import compare as sweep
from semcom_codec.evaluation.card import moc_rvq_schemes
from semcom_codec.evaluation.reordering import relabelled_codec_view, unreordered_indices
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


def image_folder(tmp_path, count=2, size=(176, 184), seed=0):
    """PNG images large enough for every metric (MS-SSIM's five scales)."""
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, size + (3,), dtype=np.uint8)).save(
            folder / f"k{i}.png")
    return folder


def test_evaluate_command_writes_tables(tmp_path):
    weights = saved_tiny_codec(tmp_path)
    folder = image_folder(tmp_path)
    out_json, out_md = tmp_path / "r.json", tmp_path / "r.md"
    assert cli.main(["evaluate", "--weights", str(weights), "--data", str(folder), "--snr",
                     "5,40", "--threads", "1", "--out", str(tmp_path / "run"),
                     "--json", str(out_json), "--markdown", str(out_md)]) == 0
    result = json.loads(out_json.read_text())
    rows = {(r["condition"], r["levels"], r["esn0_db"]): r for r in result["rows"]}
    assert result["meta"]["images"] == 2 and len(rows) == len(result["rows"]) == 4 + 2 * 8
    assert [r["condition"] for r in result["rows"][:4]] == ["noiseless"] * 4
    assert ("awgn-no-reorder-no-nrb", 4, 5.0) in rows
    assert all(set(sweep.METRICS) <= set(r) for r in result["rows"])
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


def test_evaluate_is_semcom_evals_rows_on_the_same_realisations(tmp_path):
    """The card is a preset of semcom eval: its figures are eval's own rows for the same
    image, channel draw and receiver, and a rerun in its run folder reuses them."""
    weights = saved_tiny_codec(tmp_path)
    folder = image_folder(tmp_path)
    card_json = tmp_path / "card.json"
    args = ["evaluate", "--weights", str(weights), "--data", str(folder), "--snr", "5",
            "--threads", "1", "--out", str(tmp_path / "card_run"), "--json", str(card_json)]
    assert cli.main(args) == 0
    assert cli.main(["eval", "--weights", str(weights), "--data", str(folder), "--snr",
                     "noiseless,5", "--schemes", "moc-rvq,moc-rvq-soft,moc-rvq-no-nrb-no-mmse",
                     "--threads", "1", "--out", str(tmp_path / "eval_run")]) == 0
    card = {(r["scheme"], r["levels"], r["esn0_db"]): r
            for r in json.loads(card_json.read_text())["rows"]}
    sweep_rows = json.loads((tmp_path / "eval_run" / "results.json").read_text())["results"]
    shared = [r for r in sweep_rows if (r["scheme"], r["levels"], r["esn0_db"]) in card]
    # MOC-RVQ at L1-4 noiseless and at 5 dB, soft and decided code vectors at L4, 5 dB
    assert len(shared) == 10
    for r in shared:
        mine = card[(r["scheme"], r["levels"], r["esn0_db"])]
        assert all(mine[m] == pytest.approx(r[m], abs=1e-12) for m in sweep.METRICS), r
    # eval's noiseless point: MOC-RVQ alone (no variant, no classical link)
    assert {r["scheme"] for r in sweep_rows if r["esn0_db"] is None} == {"moc-rvq"}
    points = (tmp_path / "card_run" / "points.jsonl").read_text().splitlines()
    assert cli.main(args) == 0  # resumed: nothing new computed
    assert (tmp_path / "card_run" / "points.jsonl").read_text().splitlines() == points


def test_card_schemes_follow_what_the_model_supports():
    codec = tiny_codec()
    full = moc_rvq_schemes(codec, reordering_known=True)
    assert full == {"moc-rvq": (1, 2, 3, 4), "moc-rvq-no-nrb": (4,), "moc-rvq-soft": (4,),
                    "moc-rvq-no-nrb-no-mmse": (4,), "moc-rvq-no-reorder-no-nrb": (4,)}
    _, reordered, nrb, _, told = sweep.MOC_SCHEMES["moc-rvq-no-nrb-no-mmse"]
    assert reordered and not nrb and not told
    codec.cfg = dataclasses.replace(codec.cfg, mmse_hard_decisions=False)
    plain = moc_rvq_schemes(codec, reordering_known=False, levels=(1, 4))
    assert plain == {"moc-rvq": (1, 4), "moc-rvq-no-nrb": (4,), "moc-rvq-soft": (4,)}


def test_analog_codec_card_runs_through_the_interface(tmp_path, monkeypatch):
    """semcom evaluate on a deep JSCC weight file: a noiseless row and one per Es/N0 at
    the MOC-RVQ level of its CBR, seeded noise (a rerun gives the same figures), the
    channel's noise reaching the output."""
    from semcom_codec import testing

    # MOC-RVQ sets the channel draw's length, as in semcom eval: a tiny one here
    monkeypatch.setattr("semcom_codec.zoo.default_codec_weights",
                        lambda: str(saved_tiny_codec(tmp_path)))
    weights = testing.tiny_weights("deep_jscc", tmp_path)
    folder = image_folder(tmp_path, seed=1)
    out = tmp_path / "card.json"
    args = ["evaluate", "--weights", weights, "--data", str(folder), "--snr=-10,20",
            "--threads", "1", "--json", str(out)]
    assert cli.main([*args, "--out", str(tmp_path / "a")]) == 0
    card = json.loads(out.read_text())
    assert [(r["condition"], r["esn0_db"]) for r in card["rows"]] == [
        ("noiseless", None), ("awgn", -10.0), ("awgn", 20.0)]
    assert card["meta"]["system"] == "deep_jscc"
    assert all(np.isfinite(r["psnr"]) and r["levels"] == 4 and r["demapping"] == "-"
               for r in card["rows"])  # CBR 1/24: beside MOC-RVQ's L4
    rows = {r["esn0_db"]: r for r in card["rows"]}
    again = tmp_path / "again.json"
    assert cli.main([*args[:-1], str(again), "--out", str(tmp_path / "b")]) == 0
    def figures(rows):  # all but the timing
        return [{k: v for k, v in r.items() if k != "codec_seconds_median"} for r in rows]

    assert figures(json.loads(again.read_text())["rows"]) == figures(card["rows"])  # seeded
    assert len({rows[s]["psnr"] for s in (None, -10.0, 20.0)}) == 3
