"""VQ-DeepSC: configuration, bit layout, link configurations, codec round trips and its
training recipe."""

import math
import os
from fractions import Fraction

import numpy as np
import pytest
import torch

from semcom_codec import testing, zoo
from semcom_codec.errors import BadWeightFile
from semcom_codec.fec import nr_ldpc
from semcom_codec.interface import Received
from semcom_codec.phy.channels import IndexChannel, Realisation
from semcom_codec.systems.vq_deepsc import link
from semcom_codec.systems.vq_deepsc.config import VqDeepScConfig, get_config

needs_bg1 = pytest.mark.skipif(
    not os.path.isfile(os.path.join(nr_ldpc.ldpc_dir(), nr_ldpc.BG1_FILE)),
    reason="../shared/ldpc/5G_bg1.csv is not beside the repository")


@pytest.fixture(scope="module")
def paper_file(tmp_path_factory):
    return testing.tiny_vq_deepsc(str(tmp_path_factory.mktemp("vq") / "paper.pt"))


@pytest.fixture(scope="module")
def matched_file(tmp_path_factory):
    return testing.tiny_vq_deepsc(str(tmp_path_factory.mktemp("vq") / "cbr.pt"),
                                  decoder_without=(1,))


def test_paper_configuration_counts_table_one():
    cfg = get_config("small")
    assert cfg.entries == (16, 8, 4, 2) and cfg.bits_per_index() == (4, 3, 2, 1)
    sizes = link.map_sizes(128, 128, cfg.scales)
    assert sizes == [(64, 64), (32, 32), (16, 16), (8, 8)]
    # Table I of the paper: 20,032 bits per 128^2 crop, "5008 symbols" at 4 bits each
    assert link.message_bits(cfg.entries, sizes, (4, 3, 2, 1)) == 20032
    assert cfg.bits_per_pixel() == pytest.approx(20032 / 128 ** 2)


def test_configuration_is_checked_field_by_field():
    good = get_config("small").to_dict()
    assert VqDeepScConfig.from_dict(good) == get_config("small")
    for bad, match in (({**good, "entries": [16, 8, 4, 3]}, "powers of two"),
                       ({**good, "entries": [16, 8]}, "inconsistent"),
                       ({**good, "decoder_without": [4]}, "inconsistent"),
                       ({**good, "quantize": 1}, "true or false"),
                       ({**good, "bogus": 1}, "unknown")):
        with pytest.raises(ValueError, match=match):
            VqDeepScConfig.from_dict(bad)


def test_indices_become_natural_binary_msb_first_coarse_scale_first():
    entries = (16, 8, 4, 2)
    maps = [np.array([[5, 12]]), np.array([[6]]), np.array([[2]]), np.array([[1]])]
    bits = link.indices_to_bits(maps, entries, (4, 3, 2, 1))
    expected = [1] + [1, 0] + [1, 1, 0] + [0, 1, 0, 1, 1, 1, 0, 0]
    assert bits.tolist() == expected
    sizes = [(1, 2), (1, 1), (1, 1), (1, 1)]
    back = link.bits_to_indices(bits, entries, (4, 3, 2, 1), sizes)
    for s in (1, 2, 3, 4):
        assert np.array_equal(back[s], maps[s - 1])


def test_exact_bit_llrs_of_index_posteriors():
    rng = np.random.default_rng(0)
    p = rng.random((5, 8))
    p /= p.sum(1, keepdims=True)
    llr = link.posterior_bit_llrs(p).reshape(5, 3)
    for row in range(5):
        for j in range(3):
            zero = sum(p[row, i] for i in range(8) if not (i >> (2 - j)) & 1)
            assert llr[row, j] == pytest.approx(math.log(zero / (1 - zero)))


@needs_bg1
def test_link_layouts_fill_the_budgets(paper_file, matched_file):
    paper, matched = zoo.load(paper_file), zoo.load(matched_file)
    uncoded = zoo.load(matched_file, uncoded=True)
    assert paper.rates == (1,) and matched.rates == (2, 4) and uncoded.rates == (1,)
    # the paper's link on a 128^2 crop: 20,032 bits at rate 1/3, 15,024 16-QAM symbols
    layout = paper.layout(128, 128)
    assert (layout.message, layout.coded_bits) == (20032, 60096)
    assert paper.payload(128, 128).channel_symbols == 15024
    # matched: MOC-RVQ's symbols at L2 / L4 (Kodak: 24,576 / 49,152)
    for rate, symbols in ((2, 24576), (4, 49152)):
        assert matched.payload(512, 768, rate=rate).channel_symbols == symbols
        assert matched.cbr(512, 768, rate=rate) == Fraction(rate, 96)
    assert matched.layout(512, 768, 4).ldpc.rate == pytest.approx(57 * 1536 / (4 * 49152))
    # uncoded: scales 4..2, three bits per 64-QAM axis index
    assert uncoded.order == 8
    assert uncoded.payload(512, 768).length == -(-57 * 1536 // 6) * 2


@needs_bg1
@pytest.mark.parametrize("which", ["paper", "matched", "uncoded"])
def test_noiseless_round_trip_decodes_the_encoders_indices(which, paper_file, matched_file):
    codec = zoo.load(paper_file if which == "paper" else matched_file,
                     uncoded=which == "uncoded")
    h, w = 45, 70
    image = testing.pattern_image(h, w).astype(np.float32)
    sent = codec.encode(image)
    x = torch.from_numpy(image).permute(2, 0, 1)[None]
    from semcom_codec.layers.padding import pad_to_factor

    maps = codec.model.encode_indices(pad_to_factor(x, 16)[0])
    layout = codec.layout(h, w)
    expected = codec.decode_maps({s: maps[s - 1][0].numpy() for s in layout.link.scales},
                                 layout.sizes)[0, :, :h, :w].permute(1, 2, 0).numpy()
    got = codec.decode(Received(sent), height=h, width=w)
    np.testing.assert_allclose(got, np.clip(expected, 0, 1), atol=1e-6)
    soft = codec.decode(Received(np.eye(codec.order, dtype=np.float32)[sent], 1e-4),
                        height=h, width=w)
    np.testing.assert_allclose(soft, got, atol=1e-6)


@needs_bg1
def test_ldpc_corrects_the_channel_above_its_threshold_and_not_below(paper_file):
    codec = zoo.load(paper_file)
    h, w = 64, 64
    sent = codec.encode(testing.pattern_image(h, w).astype(np.float32))
    clean = codec.decode(Received(sent), height=h, width=w)
    channel = IndexChannel(4)
    indices = torch.from_numpy(sent.astype(np.int64))[None]
    symbols = channel.modulate(indices)[0]
    realisation = Realisation(len(symbols), "awgn", seed=5)
    # 16-QAM at rate 1/3 (1.33 bits per symbol) needs Es/N0 above 1.8 dB (capacity)
    for esn0, recovered in ((8.0, True), (-2.0, False)):
        y, n0 = realisation.apply(symbols, esn0)
        posteriors = channel.demodulate(y[None], n0[None], indices.shape, "soft")[0]
        out = codec.decode(Received(posteriors.numpy(), float(n0[0])), height=h, width=w)
        assert bool(codec.last_converged.all()) is recovered
        assert np.array_equal(out, clean) is recovered


def test_unquantized_upper_bound_and_missing_links_are_refused(tmp_path, paper_file):
    bound = testing.tiny_vq_deepsc(str(tmp_path / "bound.pt"), quantize=False)
    with pytest.raises(BadWeightFile, match="upper bound"):
        zoo.load(bound)
    with pytest.raises(BadWeightFile, match="no uncoded link"):
        zoo.load(paper_file, uncoded=True)


def test_model_shapes_and_straight_through_training_pass():
    from semcom_codec.systems.vq_deepsc.model import VqDeepSc

    cfg = VqDeepScConfig(name="t", **testing.TINY_VQ_DEEPSC)
    model = VqDeepSc(cfg).train()
    x = torch.rand(2, 3, 32, 48, requires_grad=True)
    y, indices, vq, _, commitment = model(x)
    assert y.shape == x.shape and 0 <= float(y.detach().min()) <= float(y.detach().max()) <= 1
    assert [tuple(i.shape) for i in indices] == [(2, 16, 24), (2, 8, 12), (2, 4, 6), (2, 2, 3)]
    assert [int(i.max()) < n for i, n in zip(indices, cfg.entries)] == [True] * 4
    (y.mean() + vq).backward()
    assert x.grad is not None and commitment.item() > 0


@pytest.fixture(scope="module")
def crops_folder(tmp_path_factory):
    return testing.random_image_folder(tmp_path_factory.mktemp("crops"))


def _train(out, folder, *extra):
    from semcom_codec import cli

    return cli.main(["train", "vq_deepsc", "--data", str(folder), "--val", "",
                     "--out", str(out), "--steps", "6", "--batch", "2", "--crop", "32",
                     "--threads", "1", "--checkpoint-every", "1", "--log-every", "1",
                     "--warmup", "2", "--warmup-share", "0.5", *extra])


def test_training_warms_up_then_adds_the_gan_and_resumes_exactly(tmp_path, crops_folder):
    import json

    whole, split = tmp_path / "whole", tmp_path / "split"
    assert _train(whole, crops_folder) == 0
    log = [json.loads(line) for line in open(whole / "log_vq_deepsc.jsonl")]
    assert [r["phase"] for r in log] == ["warmup"] * 3 + ["adversarial"] * 3
    assert "g_gan" in log[-1] and "d_loss" in log[-1] and "g_gan" not in log[0]
    assert _train(split, crops_folder, "--stop-at", "4") == 0
    assert _train(split, crops_folder, "--resume") == 0
    a = torch.load(whole / "vq_deepsc.pt", weights_only=True)
    b = torch.load(split / "vq_deepsc.pt", weights_only=True)
    assert a["system"] == "vq_deepsc" and list(a["config"]["entries"]) == [16, 8, 4, 2]
    for key in a["state_dict"]:
        assert torch.equal(a["state_dict"][key], b["state_dict"][key]), key


@needs_bg1
def test_refining_trains_the_decoder_alone_for_the_matched_links(tmp_path, crops_folder,
                                                                 paper_file):
    out = tmp_path / "refine"
    assert _train(out, crops_folder, "--init", paper_file, "--decoder-without", "1") == 0
    before = torch.load(paper_file, weights_only=True)["state_dict"]
    after = torch.load(out / "vq_deepsc.pt", weights_only=True)
    assert list(after["config"]["decoder_without"]) == [1]
    assert after["extra"]["init_sha256"]
    changed = {k for k in before if not torch.equal(before[k], after["state_dict"][k])}
    assert changed and all(k.startswith("decoder.") for k in changed)
    assert zoo.load(str(out / "vq_deepsc.pt")).rates == (2, 4)


def test_refining_needs_a_trained_file(tmp_path, crops_folder, capsys):
    assert _train(tmp_path, crops_folder, "--decoder-without", "1") == 1
    assert "give --init" in capsys.readouterr().err


@needs_bg1
def test_paper_comparison_sends_both_over_the_same_link(tmp_path, paper_file, capsys):
    import json

    from semcom_codec import cli

    folder = tmp_path / "images"
    folder.mkdir()
    from PIL import Image

    Image.fromarray((testing.pattern_image(176, 184) * 255).astype(np.uint8)).save(
        folder / "a.png")
    bound = testing.tiny_vq_deepsc(str(tmp_path / "bound.pt"), quantize=False)
    out = tmp_path / "run"
    assert cli.main(["vq-deepsc", "--weights", paper_file, "--upper-bound", bound,
                     "--data", str(folder), "--snr=-10,30", "--threads", "1",
                     "--out", str(out), "--markdown", str(tmp_path / "R.md")]) == 0
    result = json.loads((out / "results.json").read_text())
    rows = {(r["scheme"], r["esn0_db"]): r for r in result["results"]}
    codec = zoo.load(paper_file)
    clean = codec.decode(Received(codec.encode(testing.pattern_image(176, 184).astype(
        np.float32))), height=176, width=184)
    assert rows[("vq-deepsc", 30.0)]["converged"] == 1.0
    assert rows[("vq-deepsc", 30.0)]["psnr"] == pytest.approx(rows[("vq-deepsc", None)]["psnr"])
    assert rows[("vq-deepsc", None)]["psnr"] > 0 and clean.shape == (176, 184, 3)
    jpeg = rows[("jpeg-ldpc13-16qam", 30.0)]
    assert jpeg["delivered"] == 1.0 and 0 < jpeg["bits"] <= rows[("vq-deepsc", 30.0)]["bits"]
    assert rows[("jpeg-ldpc13-16qam", -10.0)]["delivered"] == 0.0   # below capacity
    assert ("upper-bound", None) in rows
    assert [u["entries"] for u in result["codebooks"]] == [16, 8, 4, 2]
    assert "| JPEG delivered | 0.00 | 1.00 |" in (tmp_path / "R.md").read_text()
