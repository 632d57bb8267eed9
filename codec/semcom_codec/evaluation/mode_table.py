"""`semcom modes`: the Es/N0 -> transmission mode table of a MOC-RVQ model, measured on
training or validation images (never on the test set), written into its weight file.

Every mode of each symbol budget (phy.modes.MODE_SETS) is sent over AWGN at each Es/N0
of a grid, hard-demapped as the radio does and decoded by the model's receiver told
the mode and Es/N0. At each Es/N0 the table keeps the mode with the best mean score
(PSNR in dB minus LPIPS_WEIGHT x LPIPS: both metrics count, 0.05 LPIPS as much as 1 dB);
the table lists the Es/N0 from which each picked mode holds.
"""

import json
import math
import os
import sys
import time

import numpy as np
import torch

from ..images import load_image
from ..metrics.lpips import LPIPS
from ..metrics.psnr import psnr
from ..phy.channels import Realisation
from ..phy.modes import MODE_SETS, mode_named

LPIPS_WEIGHT = 20.0  # dB per unit LPIPS in the score: 0.05 LPIPS weighs as 1 dB


def mode_received(indices, mode, realisation, esn0_db, demapping="hard"):
    """Indices [1, L, P, h, w] (torch) on ``mode``'s constellations through the
    realisation (its first symbols), demapped by the numpy reference the radio blocks
    use: hard uint8 [1, L, P, h, w] or posteriors [..., 8]. AWGN only: every symbol
    meets the same N0."""
    mode = mode_named(mode)
    sent = indices[0, :mode.levels].cpu().numpy()
    per_level = int(np.prod(sent.shape[1:]))
    symbols = torch.from_numpy(mode.map(sent).astype(np.complex64))
    if realisation.gains is not None:
        raise ValueError("transmission modes are evaluated over AWGN only")
    received, n0 = realisation.apply(symbols, esn0_db)
    y = received.numpy().astype(np.complex128)
    if demapping == "soft":
        out = mode.soft_demap(y, float(n0[0]), per_level).astype(np.float32)
        return torch.from_numpy(out.reshape(1, *sent.shape, out.shape[-1]))
    return torch.from_numpy(mode.hard_demap(y, per_level).reshape(1, *sent.shape))


def score(psnr_db, lpips):
    return psnr_db - LPIPS_WEIGHT * lpips


def measure(codec, files, snrs, seed=0, threads=0, log=sys.stderr):
    """{cbr: {mode: {snr: (mean PSNR, mean LPIPS)}}} of every mode over the images."""
    if threads:
        torch.set_num_threads(threads)
    lpips = LPIPS().eval()
    sums = {cbr: {m.name: {s: [0.0, 0.0] for s in snrs} for m in table}
            for cbr, table in MODE_SETS.items()}
    began = time.perf_counter()
    for i, path in enumerate(files):
        image = load_image(path)
        x = torch.from_numpy(image).permute(2, 0, 1)[None]
        indices = codec.encode(x).cpu()
        length = max(m.symbols_for(int(np.prod(indices.shape[2:])))
                     for t in MODE_SETS.values() for m in t)
        realisation = Realisation(length, "awgn", seed * 1000 + i)
        for cbr, table in MODE_SETS.items():
            for mode in table:
                for snr in snrs:
                    received = mode_received(indices, mode, realisation, snr)
                    with torch.no_grad():
                        y = codec.decode(received, size=image.shape[:2], esn0_db=snr,
                                         mode=mode)
                        perceptual = float(lpips(y, x, normalize=True))
                    out = y[0].permute(1, 2, 0).numpy()
                    sums[cbr][mode.name][snr][0] += psnr(image, out)
                    sums[cbr][mode.name][snr][1] += perceptual
        print(f"\r{i + 1}/{len(files)} images, {time.perf_counter() - began:.0f} s", end="",
              file=log, flush=True)
    print(file=log)
    n = len(files)
    return {cbr: {m: {s: (v[0] / n, v[1] / n) for s, v in by_snr.items()}
                  for m, by_snr in by_mode.items()} for cbr, by_mode in sums.items()}


def pick(means):
    """{cbr: ((lowest Es/N0, mode), ...)} from ``measure``'s means: at each Es/N0 of the
    grid the best-scoring mode; a row where the pick changes, holding up to the next
    row (below the grid, the first row's mode). Not forced to be monotone: at the lowest
    Es/N0 every mode is mostly noise and the order of their scores need not follow the
    order at higher ones."""
    tables = {}
    for cbr, by_mode in means.items():
        rows = []
        for snr in sorted(next(iter(by_mode.values()))):
            name = max((m.name for m in MODE_SETS[cbr]), key=lambda m: score(*by_mode[m][snr]))
            if not rows or rows[-1][1] != name:
                rows.append((float(snr), name))
        tables[cbr] = tuple(rows)
    return tables


def write_table(weights, out, tables, means, meta):
    """A copy of the weight file with the table (and what it was measured on) in its
    extra: the shipped weights carry their own table."""
    from ..checkpoints import read_weight_file

    payload = read_weight_file(weights, "cpu")
    extra = dict(payload.get("extra") or {})
    extra["mode_thresholds"] = {cbr: [list(row) for row in rows]
                                for cbr, rows in tables.items()}
    extra["mode_thresholds_measured"] = meta
    payload["extra"] = extra
    tmp = f"{out}.tmp"
    torch.save(payload, tmp)
    os.replace(tmp, out)


def parse_grid(text):
    """"-5:30:1" (start:stop:step, inclusive) or "a,b,c" -> Es/N0 values."""
    if ":" in text:
        start, stop, step = (float(v) for v in text.split(":"))
        if step <= 0 or stop < start:
            raise ValueError(f"--snr {text!r}: needs start:stop:step with stop >= start, step > 0")
        count = int(math.floor((stop - start) / step + 1e-9)) + 1
        return [round(start + k * step, 6) for k in range(count)]
    return [float(v) for v in text.split(",") if v]


def run_cli(args):
    from ..systems.moc_rvq.model import load_codec
    from ..training import data

    if "kodak" in os.path.abspath(args.data).lower():
        raise ValueError("the mode table is measured on training or validation images, "
                         "never on the Kodak test set")
    codec = load_codec(args.weights)
    if not codec.cfg.nrb_modes:
        print(f"semcom modes: {args.weights} has an NRB that is not told the mode; the "
              "table is measured all the same", file=sys.stderr)
    files = data.image_files(args.data)[:args.images or None]
    snrs = parse_grid(args.snr)
    means = measure(codec, files, snrs, args.seed, args.threads)
    tables = pick(means)
    meta = {"command": "semcom modes " + " ".join(args.argv), "images": len(files),
            "folder": os.path.basename(os.path.normpath(args.data)), "snrs": snrs,
            "seed": args.seed, "lpips_weight": LPIPS_WEIGHT}
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "tables": tables,
                       "means": {c: {m: {str(s): v for s, v in b.items()} for m, b in bm.items()}
                                 for c, bm in means.items()}}, f, indent=1)
    for cbr, rows in tables.items():
        print(f"CBR {cbr}: " + ", ".join(f"{name} from {lowest:g} dB" if k else name
                                         for k, (lowest, name) in enumerate(rows)))
    if args.save:
        write_table(args.weights, args.save, tables, means, meta)
        print(f"written: {args.save}")
    return 0
