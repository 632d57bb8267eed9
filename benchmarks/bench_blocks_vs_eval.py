#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""The GNU Radio blocks decode what `semcom eval` scores: PSNR of the same images at the
same Es/N0 on the same noise, through examples/loopback_awgn.py (source, mapper, an AWGN
channel, sink) and through `semcom eval` (the codec package on its channel realisation),
per codec.

The bench rebuilds the realisation `semcom eval` gives each image and hands its payload
part to loopback_awgn.py (--payload-noise), so both decode the same received symbols:
any difference is something the blocks lose or change between the codec and the air
(the frame's sync and header meet a noise of their own, which only the sink's
synchronisation sees).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LOOPBACK = os.path.join(ROOT, "examples", "loopback_awgn.py")
# codec name of loopback_awgn.py -> scheme of semcom eval
SCHEMES = {"moc_rvq": "moc-rvq", "deep_jscc": "deep-jscc", "deep_jscc_mse": "deep-jscc-mse",
           "vq_deepsc": "vq-deepsc"}
# codecs whose eval rows demap soft (VQ-DeepSC's LDPC decodes soft LLRs)
SOFT = {"vq_deepsc"}
LEVELS = {"1/24": 4, "1/48": 2}


def eval_noise(codec, cbr, folder, tmp):
    """{image path: .npy of the unit-power noise semcom eval (default channel flags) draws
    for it}: the realisation is rebuilt as the sweep builds it, per image of ``folder``."""
    from semcom_codec.cli import build_parser
    from semcom_codec.evaluation import compare
    from semcom_codec.systems.moc_rvq.model import load_codec
    from semcom_codec.training import data
    from semcom_codec.zoo import default_codec_weights

    scheme = SCHEMES[codec]
    args = build_parser().parse_args(["eval", "--data", folder, "--schemes", scheme])
    moc = load_codec(default_codec_weights())
    analog = compare.load_jscc_models({scheme: (LEVELS[cbr],)})[0]
    files = {}
    for i, path in enumerate(data.image_files(folder)):
        case = compare.ImageCase(path, i, moc, None, os.path.join(tmp, "cache"), analog)
        files[path] = os.path.join(tmp, f"noise_{codec}_{cbr.replace('/', '-')}_{i}.npy")
        np.save(files[path], compare.realisation_for(case, args).noise.numpy())
    return files


def blocks_psnr(codec, cbr, image, snr, noise):
    """PSNR that loopback_awgn.py prints for one image on the payload noise ``noise``."""
    result = subprocess.run([sys.executable, LOOPBACK, "--codec", codec, "--cbr", cbr,
                             "--snr", str(snr), "--image", image, "--payload-noise", noise,
                             *(["--soft"] if codec in SOFT else []),
                             "--out", os.path.join(tempfile.gettempdir(), "bench_lb.png")],
                            capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    row = lines[next(i for i, line in enumerate(lines) if line.lstrip().startswith("levels")) + 1]
    return float(row.split()[3])


def eval_psnr(codec, cbr, folder, snr, out):
    """{image name: PSNR} from semcom eval on ``folder`` at one Es/N0."""
    scheme = SCHEMES[codec]
    semcom = os.path.join(os.path.dirname(sys.executable), "semcom")
    subprocess.run([semcom, "eval", "--data", folder,
                    "--schemes", scheme, "--levels", str(LEVELS[cbr]), "--snr", str(snr),
                    "--out", out], capture_output=True, text=True, check=True)
    scores = {}
    with open(os.path.join(out, "points.jsonl")) as f:
        for line in f:
            for row in json.loads(line)["rows"]:
                if row["scheme"] == scheme and row["esn0_db"] == snr:
                    scores[row["image"]] = row["psnr"]
    return scores


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "kodak"))
    parser.add_argument("--images", type=int, default=3, help="first N images of --data")
    parser.add_argument("--codecs", default="moc_rvq,deep_jscc,deep_jscc_mse,vq_deepsc")
    parser.add_argument("--cbr", nargs="+", default=["1/24", "1/48"], choices=sorted(LEVELS))
    parser.add_argument("--snr", type=float, nargs="+", default=[0.0, 10.0, 20.0])
    parser.add_argument("--markdown", help="also write the table here (docs/BLOCKS_VS_EVAL.md)")
    args = parser.parse_args()
    rows = []
    names = sorted(f for f in os.listdir(args.data)
                   if f.lower().endswith((".png", ".jpg", ".jpeg")))[:args.images]
    worst = 0.0
    print(f"{'codec':14s} {'CBR':5s} {'image':10s} {'Es/N0':>5s} {'blocks':>7s} {'eval':>7s} "
          f"{'diff':>6s}")
    with tempfile.TemporaryDirectory(prefix="bench_blocks_") as tmp:
        folder = os.path.join(tmp, "images")
        os.mkdir(folder)
        for name in names:
            os.symlink(os.path.abspath(os.path.join(args.data, name)),
                       os.path.join(folder, name))
        for codec in args.codecs.split(","):
            for cbr in args.cbr:
                noise = eval_noise(codec, cbr, folder, tmp)
                for snr in args.snr:
                    out = os.path.join(tmp, f"eval_{codec}_{cbr.replace('/', '-')}")
                    scores = eval_psnr(codec, cbr, folder, snr, out)
                    for name in names:
                        path = os.path.join(folder, name)
                        ours = blocks_psnr(codec, cbr, path, snr, noise[path])
                        theirs = scores[os.path.splitext(name)[0]]
                        worst = max(worst, abs(ours - theirs))
                        rows.append((codec, cbr, os.path.splitext(name)[0], snr, ours, theirs))
                        print(f"{codec:14s} {cbr:5s} {os.path.splitext(name)[0]:10s} "
                              f"{snr:5.1f} {ours:7.2f} {theirs:7.2f} {ours - theirs:+6.2f}",
                              flush=True)
    print(f"largest |blocks - eval| PSNR difference: {worst:.3f} dB")
    if args.markdown:
        write_markdown(args.markdown, rows, worst)


def write_markdown(path, rows, worst):
    """The table as Markdown, with the command that wrote it."""
    lines = ["# GNU Radio blocks against `semcom eval`, on the same noise", "",
             f"Written by `python {' '.join(sys.argv)}`: PSNR (dB) of each image through "
             "examples/loopback_awgn.py (image source, index mapper for MOC-RVQ, an AWGN "
             "channel replaying the noise `semcom eval` draws for the image on the payload, "
             "image sink) and through `semcom eval`.", "",
             f"Largest difference: {worst:.3f} dB (loopback_awgn.py prints PSNR to two "
             "decimals: up to 0.005 dB is that rounding).", "",
             "| codec | CBR | image | Es/N0 dB | blocks | semcom eval | difference |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {c} | {r} | {n} | {s:g} | {a:.2f} | {b:.2f} | {a - b:+.3f} |"
              for c, r, n, s, a, b in rows]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
