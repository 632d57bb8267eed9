"""`semcom eval`: schemes on one channel, resume, outputs; the quick run CI does on Kodak."""

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image
from test_evaluate import saved_tiny_codec

from semcom_codec import cli, testing, zoo
from semcom_codec.evaluation import compare as sweep, report
from semcom_codec.images import load_image
from semcom_codec.interface import Received
from semcom_codec.metrics.psnr import psnr
from semcom_codec.phy.channels import Realisation
from semcom_codec.systems.moc_rvq.model import load_codec, save_codec

KODAK = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "kodak")


@pytest.fixture
def setup(tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    testing.tiny_shipped_vq_deepsc(shipped)
    monkeypatch.setenv("SEMCOM_WEIGHTS_DIR", str(testing.tiny_shipped_deep_jscc(shipped)))
    weights = saved_tiny_codec(tmp_path)
    folder = tmp_path / "images"
    folder.mkdir()
    y, x = np.mgrid[0:176, 0:184] / 20.0
    for i in range(2):
        image = np.stack([np.sin(x + i), np.cos(y), np.sin(x * y / 9)], -1) * 100 + 128
        Image.fromarray(image.astype(np.uint8)).save(folder / f"k{i}.png")
    return weights, folder, tmp_path


def run(weights, folder, out, *extra):
    return cli.main(["eval", "--weights", str(weights), "--data", str(folder), "--snr", "0,40",
                     "--threads", "1", "--out", str(out), *extra])


def test_schemes_share_the_channel_and_results_resume(setup):
    weights, folder, tmp = setup
    out, md = tmp / "run", tmp / "doc" / "RESULTS.md"
    assert run(weights, folder, out, "--markdown", str(md)) == 0
    results = json.loads((out / "results.json").read_text())
    rows = {(r["scheme"], r["levels"], r["esn0_db"]): r for r in results["results"]}
    # 2 SNRs x (7 schemes x 4 levels + 4 at L4 + 2 deep JSCC and 2 VQ-DeepSC at L2, L4)
    assert len(rows) == 2 * (7 * 4 + 4 + 4 * 2)
    codec = load_codec(weights)
    # at 40 dB MOC-RVQ gets its indices back: the noiseless image, with or without NRB
    # (the NRB output is requantized onto the same code vectors)
    want = []
    for name in ("k0", "k1"):
        image = load_image(str(folder / f"{name}.png"))
        indices, size = codec.encode_image(image, 4)
        want.append(psnr(image, codec.decode_image(indices, size, noise_reduction=False)))
    for scheme in ("moc-rvq-no-nrb", "moc-rvq-no-reorder-no-nrb"):
        assert rows[(scheme, 4, 40.0)]["psnr"] == pytest.approx(np.mean(want), abs=1e-9)
    # deep JSCC sends as many symbols as MOC-RVQ at the matching level and meets the
    # first noise samples of the same realisation; the row is its decode of them
    for scheme, name in (("deep-jscc", "deep_jscc"), ("deep-jscc-mse", "deep_jscc_mse")):
        for level, cbr in ((2, "1/48"), (4, "1/24")):
            for snr in (0.0, 40.0):
                row = rows[(scheme, level, snr)]
                assert row["symbols"] == rows[("moc-rvq", level, snr)]["symbols"]
                assert row["cbr"] == pytest.approx(level / 96)
            analog = zoo.load(name, cbr=cbr)
            scores = []
            for i in range(2):
                image = load_image(str(folder / f"k{i}.png"))
                sent = analog.encode(image)
                channel = Realisation(rows[("moc-rvq", 4, 0.0)]["symbols"], seed=i)
                received, n0 = channel.apply(torch.from_numpy(sent), 0.0)
                decoded = analog.decode(Received(received.numpy(), float(n0[0])),
                                        height=176, width=184)
                scores.append(psnr(image, decoded))
            assert rows[(scheme, level, 0.0)]["psnr"] == pytest.approx(np.mean(scores),
                                                                        abs=1e-6)
    # VQ-DeepSC's coded link fills the same symbols; at 40 dB its LDPC decodes the
    # indices the encoder sent (the noiseless image); the uncoded link sends fewer
    for level, cbr in ((2, "1/48"), (4, "1/24")):
        coded = zoo.load("vq_deepsc", cbr=cbr)
        uncoded = zoo.load("vq_deepsc", cbr=cbr, uncoded=True)
        assert rows[("vq-deepsc", level, 40.0)]["symbols"] == \
            rows[("moc-rvq", level, 40.0)]["symbols"]
        assert rows[("vq-deepsc-uncoded", level, 40.0)]["symbols"] == \
            uncoded.payload(176, 184).channel_symbols < rows[("moc-rvq", 2, 40.0)]["symbols"]
        scores = []
        for i in range(2):
            image = load_image(str(folder / f"k{i}.png"))
            sent = coded.encode(image, rate=level)
            decoded = coded.decode(Received(sent), height=176, width=184, rate=level)
            scores.append(psnr(image, decoded))
        assert rows[("vq-deepsc", level, 40.0)]["psnr"] == pytest.approx(np.mean(scores),
                                                                           abs=1e-9)
    # the classical schemes deliver everything at 40 dB and at most what capacity allows
    for level in (1, 2, 3, 4):
        assert rows[("bpg-capacity", level, 40.0)]["delivered"] == 1.0
        assert rows[("bpg-ldpc", level, 40.0)]["delivered"] == 1.0
        assert rows[("bpg-ldpc", level, 0.0)]["delivered"] == 0.0  # 3 bits/symbol at 0 dB
        assert rows[("bpg-ldpc", level, 0.0)]["psnr"] < 12.0        # mid-grey
    assert rows[("bpg-ldpc", 4, 40.0)]["psnr"] > rows[("bpg-ldpc", 1, 40.0)]["psnr"]
    # the envelope tries the paper's scheme too (same noise): never below it, and never
    # above capacity; at 40 dB it and the adaptive link take the fastest scheme
    for level in (1, 2, 3, 4):
        for snr in (0.0, 40.0):
            best = rows[("bpg-ldpc-best", level, snr)]
            assert best["psnr"] >= rows[("bpg-ldpc", level, snr)]["psnr"] - 1e-9
            assert best["psnr"] <= rows[("bpg-capacity", level, snr)]["psnr"] + 1e-9
            assert (rows[("jpeg-ldpc-best", level, snr)]["psnr"]
                    >= rows[("jpeg-ldpc", level, snr)]["psnr"] - 1e-9)
        for scheme in ("bpg-ldpc-best", "bpg-ldpc-adaptive"):
            assert rows[(scheme, level, 40.0)]["mcs"] == "64qam-56"
            assert rows[(scheme, level, 40.0)]["delivered"] == 1.0
    assert rows[("bpg-ldpc-best", 4, 40.0)]["psnr"] > rows[("bpg-ldpc", 4, 40.0)]["psnr"]
    points = (out / "points.jsonl").read_text().splitlines()
    assert len(points) == 4
    text = md.read_text()
    assert "sha256 `" in text
    assert "- L4 (CBR 1/24), PSNR, MOC-RVQ vs BPG + LDPC, best MCS: " in text
    assert "| BPG + LDPC, rate-adaptive | " in text
    # in short: per CBR, where MOC-RVQ beats the envelope and capacity, metric by metric
    assert "- CBR 1/24 (L4): MOC-RVQ beats BPG + LDPC, best MCS in PSNR at " in text
    assert "; it beats BPG + capacity in PSNR at " in text
    for cbr in ("1-96", "1-48", "1-32", "1-24"):  # PSNR / LPIPS / DISTS per CBR
        assert f"![results_cbr{cbr}.png](results_cbr{cbr}.png)" in text
        assert (tmp / "doc" / f"results_cbr{cbr}.png").exists()
    assert (tmp / "doc" / "results_fig3_levels.png").exists()
    assert (tmp / "doc" / "results_fig4_ablation.png").exists()
    assert (tmp / "doc" / "results.csv").read_text().startswith("scheme,label,levels,")
    # a rerun computes nothing; a line cut short by a crash is computed again
    (out / "points.jsonl").write_text("\n".join(points[:3]) + "\n" + points[3][:40])
    assert run(weights, folder, out) == 0
    again = json.loads((out / "results.json").read_text())["results"]

    def figures(rows):  # all but the codecs' timing, which a recomputed point changes
        return [{k: v for k, v in r.items() if k != "codec_seconds_median"} for r in rows]

    assert figures(again) == figures(results["results"])
    lines = (out / "points.jsonl").read_text().splitlines()
    assert len(lines) == 4 and [json.loads(line)["esn0_db"] for line in lines] == [0, 40, 0, 40]


def eval_error(capsys, *args):
    """The one line `semcom eval` prints for bad input (it exits with status 1)."""
    capsys.readouterr()
    assert run(*args) == 1
    (line,) = [l for l in capsys.readouterr().err.splitlines() if l.strip()]
    assert line.startswith("semcom eval: error: ")
    return line


def test_scheme_selection_and_errors(setup, capsys):
    weights, folder, tmp = setup
    assert sweep.parse_schemes("moc-rvq,bpg-ldpc", (2, 4)) == {"moc-rvq": (2, 4),
                                                               "bpg-ldpc": (2, 4)}
    assert sweep.parse_schemes("", (1,)) == {k: (1,) for k in
                                             ("moc-rvq", "jpeg-ldpc", "bpg-ldpc",
                                              "jpeg-ldpc-best", "bpg-ldpc-best",
                                              "bpg-ldpc-adaptive", "bpg-capacity")}
    assert sweep.parse_schemes("deep-jscc,moc-rvq", (1, 4)) == {"deep-jscc": (4,),
                                                                "moc-rvq": (1, 4)}
    with pytest.raises(ValueError, match="unknown scheme 'bpg'"):
        sweep.parse_schemes("bpg", (1,))
    systems = sweep.parse_schemes(sweep.parse_systems("deep-jscc-mse"), (1, 2, 4))
    assert systems == {"deep-jscc-mse": (2, 4),
                       **{k: (1, 2, 4) for k in sweep.CLASSICAL_SCHEMES}}
    with pytest.raises(ValueError, match="unknown system 'vq'"):
        sweep.parse_systems("vq")
    assert "not both" in eval_error(capsys, weights, folder, tmp / "r0", "--schemes",
                                    "moc-rvq", "--systems", "moc-rvq")
    codec = load_codec(weights)
    plain = tmp / "plain.pt"
    save_codec(codec, plain)
    assert "no reordering permutations" in eval_error(
        capsys, plain, folder, tmp / "r2", "--schemes", "moc-rvq-no-reorder")
    empty = tmp / "empty"
    empty.mkdir()
    assert f"no PNG/JPEG/BMP images in {empty}" in eval_error(capsys, weights, empty, tmp / "r3")
    assert sweep.parse_snrs("noiseless,-5,2.5") == (None, -5.0, 2.5)
    assert "'loud' is neither a number of dB nor 'noiseless'" in eval_error(
        capsys, weights, folder, tmp / "r4", "--snr", "0,loud")
    assert "names an Es/N0 twice" in eval_error(capsys, weights, folder, tmp / "r5",
                                                "--snr", "0,0.0")


def test_a_default_run_leaves_out_deep_jscc_rates_not_installed(setup, capsys, monkeypatch):
    weights, folder, tmp = setup
    # only the stand-ins count as installed (not the repository's weights/)
    monkeypatch.setattr(zoo, "weight_folders", lambda: [str(tmp / "shipped")])
    for name in ("deep_jscc_cbr1-48.pt", "deep_jscc_mse_cbr1-48.pt"):
        (tmp / "shipped" / name).unlink()
    capsys.readouterr()
    assert run(weights, folder, tmp / "r4", "--levels", "2,4", "--images", "1") == 0
    err = capsys.readouterr().err
    assert "Perceptual deep JSCC at CBR 1/48 (L2) left out: its weights are not installed" in err
    result = json.loads((tmp / "r4" / "results.json").read_text())
    jscc = {(r["scheme"], r["levels"]) for r in result["results"] if "jscc" in r["scheme"]}
    assert jscc == {("deep-jscc", 4), ("deep-jscc-mse", 4)}
    assert result["meta"]["left_out"] == ["deep-jscc L2", "deep-jscc-mse L2"]
    # asked for by name, a missing model is an error
    assert "deep_jscc_mse_cbr1-48.pt" in eval_error(
        capsys, weights, folder, tmp / "r5", "--schemes", "deep-jscc-mse", "--levels", "2")


def test_mode_rows_share_the_noise_and_auto_follows_the_table(setup, capsys):
    """--mode all: every mode at the budget it fills, on the same realisation as the
    plain rows (L4-qam64 of the same weights is the plain L4 row exactly), auto the row
    of the mode its table picks; the report lists the picks; fading is refused."""
    _, folder, tmp = setup
    weights = testing.tiny_moc_rvq_modes(str(tmp / "modes.pt"))
    out = tmp / "modes_run"
    assert run(weights, folder, out, "--schemes", "moc-rvq", "--levels", "2,4", "--mode",
               "all", "--snr", "5,9,30", "--markdown", str(tmp / "doc" / "R.md")) == 0
    rows = {(r["scheme"], r["levels"], r["esn0_db"]): r
            for r in json.loads((out / "results.json").read_text())["results"]}
    for snr in (5.0, 9.0, 30.0):
        plain = rows[("moc-rvq", 4, snr)]
        assert rows[("moc-rvq-L4-qam64", 4, snr)]["psnr"] == plain["psnr"]
        assert rows[("moc-rvq-L2-qam64", 2, snr)]["psnr"] == rows[("moc-rvq", 2, snr)]["psnr"]
        for level in (2, 4):
            assert rows[("moc-rvq-auto", level, snr)]["cbr"] == plain["cbr"] * level / 4
    assert ("moc-rvq-L1-psk8", 4, 5.0) not in rows and ("moc-rvq-L2-psk8", 2, 5.0) not in rows
    picks = {(lv, s): rows[("moc-rvq-auto", lv, s)]["mode"] for lv in (2, 4) for s in (5.0, 9.0, 30.0)}
    assert picks == {(4, 5.0): "L1-biorth8", (4, 9.0): "L2-psk8", (4, 30.0): "L4-qam64",
                     (2, 5.0): "L1-psk8", (2, 9.0): "L1-psk8", (2, 30.0): "L2-qam64"}
    for (lv, snr), mode in picks.items():
        assert rows[("moc-rvq-auto", lv, snr)]["lpips"] == rows[(f"moc-rvq-{mode}", lv, snr)]["lpips"]
    text = (tmp / "doc" / "R.md").read_text()
    assert "| mode | L1-biorth8 | L2-psk8 | L4-qam64 |" in text
    assert "SNR-adaptive mode minus MOC-RVQ at L4 on 64-QAM" in text
    capsys.readouterr()
    assert run(weights, folder, tmp / "bad", "--mode", "auto", "--channel", "rayleigh") == 1
    assert "over AWGN only" in capsys.readouterr().err
    (tmp / "plain").mkdir()
    assert run(saved_tiny_codec(tmp / "plain"), folder, tmp / "bad2", "--mode", "auto") == 1
    assert "carries no mode threshold table" in capsys.readouterr().err


def test_summary_says_where_each_system_stands_with_the_numbers():
    rows = [{"scheme": s, "label": sweep.LABELS[s], "levels": 1, "esn0_db": snr, "psnr": p,
             "lpips": lp, "cbr": 1 / 96}
            for s, snr, p, lp in (("moc-rvq", 0.0, 20, 0.5), ("bpg-ldpc-best", 0.0, 12, 1.0),
                                  ("moc-rvq", 20.0, 24, 0.3), ("bpg-ldpc-best", 20.0, 28, 0.2),
                                  ("bpg-capacity", 0.0, 21, 0.4),
                                  ("bpg-capacity", 20.0, 30, 0.1))]
    psnr_line, lpips_line = report.summary_lines(rows)
    assert psnr_line == (
        "L1 (CBR 1/96), PSNR, MOC-RVQ vs BPG + LDPC, best MCS: ahead at 0 dB (20.00 vs "
        "12.00); behind at 20 dB (24.00 vs 28.00); vs BPG + capacity: behind at every SNR: "
        "0 dB (20.00 vs 21.00), 20 dB (24.00 vs 30.00)")
    assert lpips_line.startswith("L1 (CBR 1/96), LPIPS, MOC-RVQ vs BPG + LDPC, best MCS: "
                                 "ahead at 0 dB (0.500 vs 1.000); behind at 20 dB")


def test_headline_says_in_one_sentence_per_cbr_where_moc_rvq_wins():
    rows = [{"scheme": s, "label": sweep.LABELS[s], "levels": 2, "esn0_db": snr, "psnr": p,
             "lpips": lp, "dists": d, "cbr": 1 / 48}
            for s, snr, p, lp, d in (("moc-rvq", 0.0, 20, 0.5, 0.3),
                                     ("bpg-ldpc-best", 0.0, 12, 1.0, 0.8),
                                     ("moc-rvq", 20.0, 24, 0.15, 0.2),
                                     ("bpg-ldpc-best", 20.0, 28, 0.2, 0.1),
                                     ("bpg-capacity", 0.0, 21, 0.4, 0.25),
                                     ("bpg-capacity", 20.0, 30, 0.1, 0.05))]
    rows.append(dict(rows[0], esn0_db=None, psnr=30))  # the noiseless point is no SNR
    assert report.headline_lines(rows) == [
        "CBR 1/48 (L2): MOC-RVQ beats BPG + LDPC, best MCS in PSNR at 0 dB, in LPIPS at "
        "0, 20 dB, in DISTS at 0 dB; it beats BPG + capacity in PSNR at no SNR, in LPIPS at "
        "no SNR, in DISTS at no SNR."]


@pytest.mark.skipif(not os.path.isdir(KODAK), reason="../shared/data/kodak is not there")
def test_quick_run_on_kodak_with_the_shipped_model(tmp_path):
    """What CI runs of the full sweep: 2 Kodak images, Es/N0 0, 10, 20 dB, every scheme."""
    out = tmp_path / "quick"
    assert cli.main(["eval", "--quick", "--data", KODAK, "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())["results"]
    installed = []
    for scheme, (_, name) in sweep.JSCC_SCHEMES.items():
        for level, cbr in sweep.JSCC_LEVEL_CBRS.items():
            try:
                zoo.shipped_weights(name, cbr)
                installed.append((scheme, level))
            except FileNotFoundError:
                pass
    assert len(results) == 3 * (7 * 4 + 4 + len(installed))
    assert all(np.isfinite(r[m]) for r in results for m in sweep.METRICS)
    rows = {(r["scheme"], r["levels"], r["esn0_db"]): r for r in results}
    for level in (1, 2, 3, 4):
        # capacity is the classical upper bound; MOC-RVQ improves with SNR
        for snr in (0.0, 10.0, 20.0):
            assert rows[("bpg-capacity", level, snr)]["psnr"] >= rows[("bpg-ldpc", level, snr)]["psnr"]
        assert rows[("moc-rvq", level, 20.0)]["psnr"] > rows[("moc-rvq", level, 0.0)]["psnr"]
    assert rows[("bpg-ldpc", 4, 20.0)]["delivered"] == 1.0
    for level in (1, 2, 3, 4):  # the envelope: at least the paper's link, at most capacity
        for snr in (0.0, 10.0, 20.0):
            best = rows[("bpg-ldpc-best", level, snr)]["psnr"]
            assert rows[("bpg-ldpc", level, snr)]["psnr"] <= best
            assert best <= rows[("bpg-capacity", level, snr)]["psnr"]
        assert rows[("bpg-ldpc-best", level, 10.0)]["delivered"] == 1.0
    for scheme, level in installed:  # the analog schemes degrade gracefully
        assert 0 < rows[(scheme, level, 20.0)]["psnr"] - rows[(scheme, level, 0.0)]["psnr"] < 6


def test_fading_channel_sweep(setup):
    weights, folder, tmp = setup
    out = tmp / "ray"
    assert cli.main(["eval", "--weights", str(weights), "--data", str(folder), "--snr", "5,60",
                     "--channel", "rayleigh", "--block-length", "27", "--levels", "4",
                     "--schemes", "moc-rvq-no-nrb,bpg-ldpc,bpg-capacity", "--threads", "1",
                     "--out", str(out)]) == 0
    result = json.loads((out / "results.json").read_text())
    assert result["meta"]["channel"] == "rayleigh" and result["meta"]["block_length"] == 27
    rows = {(r["scheme"], r["esn0_db"]): r for r in result["results"]}
    assert len(rows) == 6
    assert rows[("bpg-ldpc", 60.0)]["delivered"] == 1.0
    assert rows[("bpg-ldpc", 5.0)]["delivered"] == 0.0
    assert rows[("bpg-capacity", 60.0)]["delivered"] == 1.0
    assert np.isfinite(rows[("moc-rvq-no-nrb", 5.0)]["lpips"])


def test_grid_shows_each_system_from_the_sweeps_own_decodes(setup, capsys):
    _, folder, tmp = setup
    out = tmp / "grid.png"
    assert cli.main(["grid", "--data", str(folder), "--image", "k1.png", "--level", "4",
                     "--snr", "0,40", "--crop", "8,16,64", "--out", str(out)]) == 0
    with Image.open(out) as picture:
        assert picture.size[0] > 3 * 64 and picture.size[1] > 4 * 64  # 3 columns, 4 rows
    from semcom_codec.evaluation import grid

    image, tiles, labels, schemes = grid.decode_tiles(str(folder / "k1.png"), 4, [40.0],
                                                      index=1)
    assert schemes == list(grid.GRID_SCHEMES)
    assert labels[-1] == "BPG + LDPC, best MCS"
    # the tiles are the sweep's images: their scores are the sweep's rows for this image
    results = tmp / "r_grid"
    assert cli.main(["eval", "--data", str(folder), "--schemes", ",".join(schemes),
                     "--levels", "4", "--snr", "40", "--threads", "1",
                     "--out", str(results)]) == 0
    rows = [r for line in (results / "points.jsonl").read_text().splitlines()
            for r in json.loads(line)["rows"] if r["image"] == "k1"]
    for row in rows:
        assert tiles[(row["scheme"], 40.0)][1]["psnr"] == pytest.approx(row["psnr"], abs=1e-9)
    for crop, words in (("0,0,8", "at least 16 pixels"), ("a,b,c", "TOP,LEFT,SIZE"),
                        ("170,0,64", "inside the 184x176 image")):
        capsys.readouterr()
        assert cli.main(["grid", "--data", str(folder), "--image", "k1.png", "--crop", crop,
                         "--snr", "40", "--out", str(tmp / "bad.png")]) == 1
        assert words in capsys.readouterr().err
    assert not (tmp / "bad.png").exists()
