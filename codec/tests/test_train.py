"""The training commands on a tiny model: they run, checkpoint, and resume exactly."""

import json

import pytest
import torch

from semcom_codec import cli, testing
from semcom_codec.systems.moc_rvq.model import load_codec


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    return testing.random_image_folder(tmp_path_factory.mktemp("images"), height=72, width=80)


def train_argv(stage, folder, out, steps, *extra):
    return ["train", stage, "--config", "tiny", "--data", str(folder), "--val", str(folder),
            "--val-images", "1", "--out", str(out), "--steps", str(steps), "--batch", "2",
            "--crop", "64", "--log-every", "2", "--val-every", "4", "--checkpoint-every", "2",
            "--warmup", "2", "--threads", "1", "--device", "cpu", *extra]


def train(stage, folder, out, steps, *extra):
    assert cli.main(train_argv(stage, folder, out, steps, *extra)) == 0


def train_error(capsys, *args):
    """The one line `semcom train` prints for bad input (it exits with status 1)."""
    capsys.readouterr()
    assert cli.main(train_argv(*args)) == 1
    (line,) = [l for l in capsys.readouterr().err.splitlines() if l.strip()]
    assert line.startswith("semcom train: error: ")
    return line


def assert_only_decoder_changed(before, after, frozen_prefixes, must_hold):
    """Every parameter under ``frozen_prefixes`` equal (codebook usage counters aside; the
    list must include ``must_hold``), and some decoder parameter changed."""
    frozen = [k for k in before if k.startswith(frozen_prefixes)
              and not k.startswith("quantizer.usage_counts")]
    assert any(k.startswith(must_hold) for k in frozen)
    for key in frozen:
        assert torch.equal(before[key], after[key]), key
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("decoder."))


def log_records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_stage1_resume_is_exact(image_folder, tmp_path):
    train("stage1", image_folder, tmp_path / "straight", 6)
    train("stage1", image_folder, tmp_path / "split", 6, "--stop-at", "3")
    assert not (tmp_path / "split" / "codec_stage1.pt").exists()
    train("stage1", image_folder, tmp_path / "split", 6, "--resume")
    a = load_codec(tmp_path / "straight" / "codec_stage1.pt").state_dict()
    b = load_codec(tmp_path / "split" / "codec_stage1.pt").state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    log = (tmp_path / "straight" / "log_stage1.jsonl").read_text()
    assert '"psnr_L4"' in log and '"lpips_L1"' in log


def test_stage1_decoder_steps_freeze_encoder_and_codebooks(image_folder, tmp_path):
    out = tmp_path / "run"
    train("stage1", image_folder, out, 2, "--decoder-steps", "3", "--stop-at", "2")
    joint = torch.load(out / "checkpoint_stage1.pt", weights_only=True)["codec"]
    train("stage1", image_folder, out, 2, "--decoder-steps", "3", "--resume")
    final = load_codec(out / "codec_stage1.pt").state_dict()
    assert_only_decoder_changed(joint, final, ("encoder.", "quantizer."), "quantizer.codebooks")
    records = log_records(out / "log_stage1.jsonl")
    assert [r["decoder_only"] for r in records] == [False, True, True]
    assert records[-1]["step"] == 5 and records[-1]["lr"] < 1e-4


def test_stage2_trains_only_the_nrb_and_records_reordering(image_folder, tmp_path):
    train("stage1", image_folder, tmp_path / "s1", 2)
    stage1 = load_codec(tmp_path / "s1" / "codec_stage1.pt")
    train("stage2", image_folder, tmp_path / "s2", 3, "--init",
          str(tmp_path / "s1" / "codec_stage1.pt"))
    final = load_codec(tmp_path / "s2" / "codec.pt")
    assert final.nrb is not None
    assert final.cfg.nrb_snr_input and final.cfg.mmse_hard_decisions
    for name in ("encoder", "decoder"):
        before, after = getattr(stage1, name).state_dict(), getattr(final, name).state_dict()
        assert all(torch.equal(before[k], after[k]) for k in before), name
    extra = torch.load(tmp_path / "s2" / "codec.pt", weights_only=True)["extra"]
    perms = torch.tensor(extra["reorder_permutations"])
    assert perms.shape == (4, 4, 8)
    assert torch.equal(perms.sort(dim=-1).values, torch.arange(8).expand(4, 4, 8))
    # reordering relabels: stage-1 codebook entry `old` sits at index perms[..., old]
    for d in range(4):
        for p in range(4):
            assert torch.equal(final.quantizer.codebooks[d, p][perms[d, p]],
                               stage1.quantizer.codebooks[d, p])


def test_stage2_decoder_steps_refine_only_the_decoder_and_resume_exactly(image_folder,
                                                                        tmp_path):
    train("stage1", image_folder, tmp_path / "s1", 2)
    # --decoder-clean 0: every sample goes through the channel, the NRB and requantization
    init = ["--init", str(tmp_path / "s1" / "codec_stage1.pt"), "--decoder-steps", "3",
            "--decoder-clean", "0"]
    train("stage2", image_folder, tmp_path / "straight", 2, *init)
    train("stage2", image_folder, tmp_path / "split", 2, *init, "--stop-at", "2")
    nrb_only = torch.load(tmp_path / "split" / "checkpoint_stage2.pt",
                          weights_only=True)["codec"]
    train("stage2", image_folder, tmp_path / "split", 2, *init, "--stop-at", "4", "--resume")
    train("stage2", image_folder, tmp_path / "split", 2, *init, "--resume")
    final = load_codec(tmp_path / "split" / "codec.pt").state_dict()
    straight = load_codec(tmp_path / "straight" / "codec.pt").state_dict()
    for key in final:  # resuming inside the decoder-only steps is exact
        assert torch.equal(final[key], straight[key]), key
    train("stage2", image_folder, tmp_path / "plain", 2, *init[:2])
    plain = load_codec(tmp_path / "plain" / "codec.pt").state_dict()
    for key in plain:  # the NRB steps are those of a run without a tail
        assert torch.equal(plain[key], nrb_only[key]), key
    assert_only_decoder_changed(nrb_only, final, ("encoder.", "quantizer.", "nrb."), "nrb.")
    records = log_records(tmp_path / "straight" / "log_stage2.jsonl")
    assert [r["decoder_only"] for r in records] == [False, True, True]
    assert records[-1]["step"] == 5 and records[-1]["lr"] < 1e-4
    assert [r.get("clean") for r in records] == [None, 0, 0]
    extra = torch.load(tmp_path / "straight" / "codec.pt", weights_only=True)["extra"]
    assert extra["steps"] == 2 and extra["decoder_steps"] == 3


def test_stage2_resume_is_exact(image_folder, tmp_path):
    train("stage1", image_folder, tmp_path / "s1", 2)
    init = ["--init", str(tmp_path / "s1" / "codec_stage1.pt")]
    train("stage2", image_folder, tmp_path / "straight", 5, *init)
    train("stage2", image_folder, tmp_path / "split", 5, *init, "--stop-at", "2")
    assert not (tmp_path / "split" / "codec.pt").exists()
    train("stage2", image_folder, tmp_path / "split", 5, *init, "--resume")
    a = load_codec(tmp_path / "straight" / "codec.pt").nrb.state_dict()
    b = load_codec(tmp_path / "split" / "codec.pt").nrb.state_dict()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_stage2_fine_tunes_a_receiver_for_the_transmission_modes(image_folder, tmp_path,
                                                                 capsys):
    """--modes on a stage-2 file: codebooks and permutations kept (no second reordering),
    the NRB starts from the file's (its mode vectors at zero: the same output) and is
    told the mode; the steps draw the listed modes; resuming is exact."""
    train("stage1", image_folder, tmp_path / "s1", 2)
    train("stage2", image_folder, tmp_path / "s2", 2, "--init",
          str(tmp_path / "s1" / "codec_stage1.pt"))
    base_path = tmp_path / "s2" / "codec.pt"
    base = load_codec(base_path)
    modes = ["--init", str(base_path), "--modes", "L2-psk8,L1-biorth8", "--mode-share", "1"]
    train("stage2", image_folder, tmp_path / "m0", 0, *modes)
    start = load_codec(tmp_path / "m0" / "codec.pt")
    assert start.cfg.nrb_modes and start.nrb.mode_input
    assert torch.equal(start.quantizer.codebooks, base.quantizer.codebooks)
    z = torch.randn(1, start.cfg.n_q, 3, 5)
    for mode in ("L4-qam64", None):
        assert torch.equal(start.nrb(z, 4, 7.0, mode), base.nrb(z, 4, 7.0))
    extras = [torch.load(p, weights_only=True)["extra"]["reorder_permutations"]
              for p in (base_path, tmp_path / "m0" / "codec.pt")]
    assert extras[0] == extras[1]
    train("stage2", image_folder, tmp_path / "straight", 4, *modes)
    train("stage2", image_folder, tmp_path / "split", 4, *modes, "--stop-at", "2")
    train("stage2", image_folder, tmp_path / "split", 4, *modes, "--resume")
    a = load_codec(tmp_path / "straight" / "codec.pt").nrb.state_dict()
    b = load_codec(tmp_path / "split" / "codec.pt").nrb.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["constellation_embedding.weight"],
                           start.nrb.constellation_embedding.weight)
    drawn = {r["mode"] for r in log_records(tmp_path / "straight" / "log_stage2.jsonl")}
    assert drawn <= {"L2-psk8", "L1-biorth8"}
    assert "lists the modes beside 64-QAM" in train_error(
        capsys, "stage2", image_folder, tmp_path / "bad", 2, "--init", str(base_path),
        "--modes", "L4-qam64")
    assert "unknown transmission mode 'L2-psk9'" in train_error(
        capsys, "stage2", image_folder, tmp_path / "bad", 2, "--init", str(base_path),
        "--modes", "L2-psk9")


def test_stage2_paper_receiver_is_not_told_the_snr(image_folder, tmp_path, capsys):
    train("stage1", image_folder, tmp_path / "s1", 2)
    init = ["--init", str(tmp_path / "s1" / "codec_stage1.pt")]
    train("stage2", image_folder, tmp_path / "paper", 2, *init, "--nrb-snr", "off",
          "--balance", "0")
    paper = load_codec(tmp_path / "paper" / "codec.pt")
    assert not paper.cfg.nrb_snr_input and not paper.cfg.mmse_hard_decisions
    assert not hasattr(paper.nrb, "snr_embedding")
    assert "--balance must be 0" in train_error(capsys, "stage2", image_folder,
                                                tmp_path / "bad", 2, *init, "--balance", "-1")


def test_stage2_needs_init_and_cuda_needs_a_gpu(image_folder, tmp_path, capsys):
    assert "stage 2 needs --init" in train_error(capsys, "stage2", image_folder,
                                                 tmp_path / "x", 1)
    assert "--decoder-clean must lie in 0..1" in train_error(
        capsys, "stage2", image_folder, tmp_path / "x", 1, "--init", "unused.pt",
        "--decoder-clean", "1.5")
    if not torch.cuda.is_available():
        assert "no CUDA GPU is available" in train_error(
            capsys, "stage1", image_folder, tmp_path / "y", 1, "--device", "cuda")


def test_torchrun_two_cpu_processes_with_gloo(image_folder, tmp_path):
    """DistributedDataParallel over 2 processes; training ends with identical copies
    (checked inside the command) and process 0 writes the weights."""
    import os
    import subprocess
    import sys

    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "semcom_codec.cli", "train", "stage1", "--config", "tiny", "--data",
           str(image_folder), "--val", "", "--out", str(out), "--steps", "3", "--batch", "2",
           "--crop", "64", "--log-every", "1", "--checkpoint-every", "2", "--warmup", "1",
           "--threads", "1", "--device", "cpu"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert load_codec(out / "codec_stage1.pt").quantizer.initialized
    steps = [line for line in (out / "log_stage1.jsonl").read_text().splitlines()]
    assert len(steps) == 3  # one writer: process 0 logs each step once

    # stage 2 with its decoder-only steps: the decoder is wrapped when they begin
    stage2 = cmd[:cmd.index("stage1")] + ["stage2", "--init", str(out / "codec_stage1.pt"),
                                          "--decoder-steps", "2"] + cmd[cmd.index("stage1") + 1:]
    result = subprocess.run(stage2, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    records = log_records(out / "log_stage2.jsonl")
    assert [r["decoder_only"] for r in records] == [False, False, False, True, True]
