"""Kodak-style evaluation of a trained codec: noiseless levels, AWGN with/without NRB,
with/without codebook reordering, hard/soft demapping, MMSE or decided code vectors
for hard decisions. Prints a table, writes JSON.

Each image is encoded once at all levels (a level prefix is what L levels send); every
(condition, SNR) pair uses the same noise seed per image, so schemes differ only by
what they do with the same channel.
"""

import json
import math
import os
import shlex
import sys
import time
from typing import NamedTuple, Optional

import numpy as np
import torch

from ..checkpoints import file_sha256, read_weight_file
from ..errors import BadWeightFile, one_line
from ..metrics.lpips import check_lpips_size
from ..metrics.psnr import psnr
from ..phy.channels import IndexChannel
from ..runtime import resolve_device
from ..systems.moc_rvq.model import load_codec
from ..training import data

QUICK_IMAGES = 4


class Condition(NamedTuple):
    """One row of the table: what is sent, through which channel, and how it is received."""

    name: str
    levels: int
    esn0_db: Optional[float]     # None: noiseless
    demapping: str = "hard"      # "hard" or "soft"
    nrb: bool = False
    told_esn0: bool = True       # False: the receiver is not given the Es/N0
    unreordered: bool = False    # True: the model with its stage-1 codebook labels


def conditions_for(codec, snrs, levels, reordering_known):
    """The conditions evaluated for ``codec``: noiseless levels, then per Es/N0 every level
    with the NRB and, at the top level, the ablations the model supports."""
    conditions = [Condition("noiseless", level, None) for level in levels]
    top = max(levels)
    for snr in snrs:
        if snr is None:
            continue
        conditions += [Condition("awgn", level, snr, nrb=True) for level in levels]
        conditions += [Condition("awgn-no-nrb", top, snr),
                       Condition("awgn-soft", top, snr, "soft", nrb=True)]
        if codec.cfg.mmse_hard_decisions:  # the decided code vectors instead of MMSE ones
            conditions.append(Condition("awgn-no-nrb-no-mmse", top, snr, told_esn0=False))
        if reordering_known:
            conditions.append(Condition("awgn-no-reorder-no-nrb", top, snr, unreordered=True))
    return conditions


def unreordered_indices(indices, permutations):
    """Indices of the same code vectors before reordering (the stage-1 labels)."""
    old_of_new = torch.argsort(permutations, dim=-1)           # [D, P, N]
    out = torch.empty_like(indices)
    for d in range(indices.shape[1]):
        for p in range(indices.shape[2]):
            out[:, d, p] = old_of_new[d, p][indices[:, d, p].long()].to(indices.dtype)
    return out


def reorder_permutations(weights, codec=None):
    """The codebook reordering stored in a stage-2 weight file ([D, P, N]), or None;
    BadWeightFile when it is not one permutation per head and level of ``codec``."""
    extra = read_weight_file(weights).get("extra", {})
    perms = extra.get("reorder_permutations") if isinstance(extra, dict) else None
    if perms is None:
        return None
    try:
        perms = torch.as_tensor(perms, dtype=torch.long)
    except (TypeError, ValueError, RuntimeError) as err:
        raise BadWeightFile(f"{weights}: reorder_permutations is not an integer array "
                            f"({one_line(err)})") from None
    shape = tuple(perms.shape)
    if codec is not None:
        shape = (codec.cfg.levels, codec.cfg.heads, codec.cfg.entries)
    if (perms.ndim != 3 or tuple(perms.shape) != shape
            or not torch.equal(perms.sort(dim=-1).values,
                               torch.arange(shape[-1]).expand(shape))):
        raise BadWeightFile(f"{weights}: reorder_permutations must hold a permutation of "
                            f"0..N-1 for every level and head (shape {shape})")
    return perms


def relabelled_codec_view(codec, permutations):
    """A copy of ``codec`` whose codebooks carry the stage-1 (unreordered) labels."""
    import copy

    view = copy.deepcopy(codec)  # a shallow copy would share (and change) the submodules
    cb = codec.quantizer.codebooks
    for d in range(cb.shape[0]):
        for p in range(cb.shape[1]):
            # stage-1 entry `old` is stored at reordered index permutations[d, p, old]
            view.quantizer.codebooks[d, p] = cb[d, p][permutations[d, p]]
    return view


def evaluate(weights, folder, snrs=(None, 5, 10, 20), levels=(1, 2, 3, 4), quick=False,
             device="cpu", seed=0, threads=0):
    """Returns a list of result rows (dicts) averaged over the images of ``folder``."""
    from ..metrics.lpips import LPIPS

    if threads:
        torch.set_num_threads(threads)
    device = resolve_device(device)
    files = data.image_files(folder)[:QUICK_IMAGES if quick else None]
    data.check_test_images(files, [check_lpips_size])
    codec = load_codec(weights, device)
    lpips = LPIPS().to(device)
    perms = reorder_permutations(weights, codec)
    unreordered = relabelled_codec_view(codec, perms) if perms is not None else None
    channel = IndexChannel(codec.cfg.entries, "awgn")

    conditions = conditions_for(codec, snrs, levels, unreordered is not None)

    sums = {c: {"psnr": 0.0, "lpips": 0.0} for c in conditions}
    timing = []
    for i, path in enumerate(files):
        from ..images import load_image

        image = load_image(path)
        x = torch.from_numpy(image).permute(2, 0, 1)[None].to(device)
        start = time.perf_counter()
        indices = codec.encode(x)
        full = codec.decode(indices, size=x.shape[-2:])  # encode + NRB + decode timing
        timing.append(time.perf_counter() - start)
        del full
        for cond in conditions:
            sent = indices[:, :cond.levels]
            model = codec
            if cond.unreordered:
                model, sent = unreordered, unreordered_indices(sent, perms)
            if cond.esn0_db is None:
                received = sent
            else:
                gen = torch.Generator(device=device).manual_seed(seed * 1000 + i)
                received = channel(sent, float(cond.esn0_db), gen, output=cond.demapping)
            # without an NRB the Es/N0 only shapes the MMSE code vectors: withheld, the
            # receiver dequantizes each decision to the decided vector
            told = cond.esn0_db if cond.told_esn0 else None
            y = model.decode(received, size=x.shape[-2:], noise_reduction=cond.nrb,
                             esn0_db=told)
            out = y[0].permute(1, 2, 0).cpu().numpy()
            sums[cond]["psnr"] += psnr(image, out)
            sums[cond]["lpips"] += float(lpips(y, x, normalize=True))
        print(f"\r{i + 1}/{len(files)} images", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    rows = []
    for cond in conditions:
        rows.append({"condition": cond.name, "levels": cond.levels, "esn0_db": cond.esn0_db,
                     "demapping": cond.demapping, "nrb": cond.nrb,
                     "psnr": sums[cond]["psnr"] / len(files),
                     "lpips": sums[cond]["lpips"] / len(files)})
    meta = {"weights": os.fspath(weights), "weights_sha256": file_sha256(weights),
            "images": len(files), "folder": os.fspath(folder),
            "encode_decode_seconds_median": float(np.median(timing)),
            "threads": torch.get_num_threads(), "device": str(device)}
    return rows, meta


def _timed(meta):
    """What the timing covers: MOC-RVQ's receiver runs the NRB, an analog one has none."""
    return ("encode + decode" if meta.get("system", "moc_rvq") != "moc_rvq"
            else "encode + NRB + decode")


def print_table(rows, meta, out=sys.stdout):
    print(f"{meta['images']} images from {meta['folder']}; weights sha256 "
          f"{meta['weights_sha256'][:16]}; {_timed(meta)} median "
          f"{meta['encode_decode_seconds_median']:.3f} s on {meta['threads']} threads",
          file=out)
    print(f"{'condition':24s} {'L':>2s} {'Es/N0':>6s} {'demap':>5s} {'NRB':>4s} "
          f"{'PSNR dB':>8s} {'LPIPS':>7s}", file=out)
    for r in rows:
        snr = "-" if r["esn0_db"] is None else f"{r['esn0_db']:g}"
        print(f"{r['condition']:24s} {r['levels']:>2d} {snr:>6s} {r['demapping']:>5s} "
              f"{'on' if r['nrb'] else 'off':>4s} {r['psnr']:8.2f} {r['lpips']:7.4f}", file=out)


def markdown_table(rows, meta, command):
    """The same table as Markdown, with the command that produced it."""
    lines = [f"Command: `{command}`", "",
             f"{meta['images']} images from `{meta['folder']}`, weights sha256 "
             f"`{meta['weights_sha256']}`; {_timed(meta)} median "
             f"{meta['encode_decode_seconds_median']:.3f} s per image on "
             f"{meta['threads']} threads ({meta['device']}).", "",
             "| condition | levels | Es/N0 dB | demapping | NRB | PSNR dB | LPIPS |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        snr = "-" if r["esn0_db"] is None else f"{r['esn0_db']:g}"
        lines.append(f"| {r['condition']} | {r['levels']} | {snr} | {r['demapping']} | "
                     f"{'on' if r['nrb'] else 'off'} | {r['psnr']:.2f} | {r['lpips']:.4f} |")
    return "\n".join(lines) + "\n"


def evaluate_analog(weights, folder, snrs=(None, 5, 10, 20), quick=False, device="cpu",
                    seed=0, threads=0):
    """PSNR / LPIPS of an analog codec over complex AWGN, through the codec interface
    exactly as the image sink decodes (noiseless: N0 = 1e-10). One noise stream per
    image and Es/N0, seeded from ``seed``."""
    from ..interface import Received
    from ..metrics.lpips import lpips_distance
    from ..zoo import load

    if threads:
        torch.set_num_threads(threads)
    codec = load(weights, device=resolve_device(device))
    files = data.image_files(folder)[:QUICK_IMAGES if quick else None]
    data.check_test_images(files, [check_lpips_size])
    sums = {snr: {"psnr": 0.0, "lpips": 0.0} for snr in snrs}
    timing = []
    for i, path in enumerate(files):
        image = data.load_test_image(path, [check_lpips_size])
        h, w = image.shape[:2]
        start = time.perf_counter()
        sent = codec.encode(image)
        for j, snr in enumerate(snrs):
            n0 = 1e-10 if snr is None else 10.0 ** (-snr / 10.0)
            rng = np.random.default_rng([seed, i, j])
            noise = rng.standard_normal((2, sent.size)) * math.sqrt(n0 / 2)
            received = (sent + (noise[0] + 1j * noise[1])).astype(np.complex64)
            out = codec.decode(Received(received, n0), height=h, width=w)
            if snr is None:
                timing.append(time.perf_counter() - start)
            sums[snr]["psnr"] += psnr(image, out)
            sums[snr]["lpips"] += lpips_distance(image, out)
        print(f"\r{i + 1}/{len(files)} images", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    rows = [{"condition": "noiseless" if snr is None else f"awgn {snr:g} dB", "levels": 0,
             "esn0_db": snr, "demapping": "-", "nrb": False,
             "psnr": sums[snr]["psnr"] / len(files), "lpips": sums[snr]["lpips"] / len(files)}
            for snr in snrs]
    meta = {"weights": os.fspath(weights), "weights_sha256": file_sha256(weights),
            "system": codec.system, "config": codec.name, "images": len(files),
            "folder": os.fspath(folder), "cbr": str(codec.cbr(512, 768)),
            "encode_decode_seconds_median": float(np.median(timing)),
            "threads": torch.get_num_threads(), "device": str(device)}
    return rows, meta


def run_cli(args):
    if not args.weights:
        from ..zoo import default_codec_weights

        args.weights = default_codec_weights()
    snrs = [None] + [float(s) for s in args.snr.split(",") if s]
    system = read_weight_file(args.weights).get("system", "moc_rvq")
    run = evaluate if system == "moc_rvq" else evaluate_analog
    rows, meta = run(args.weights, args.data, snrs=snrs, quick=args.quick,
                     device=args.device, seed=args.seed, threads=args.threads)
    print_table(rows, meta)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1)
    if args.markdown:
        command = "semcom " + shlex.join(args.argv)
        with open(args.markdown, "w") as f:
            f.write(markdown_table(rows, meta, command))
    if any(math.isnan(r["psnr"]) for r in rows):
        return 1
    return 0
