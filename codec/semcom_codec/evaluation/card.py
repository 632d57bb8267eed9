"""`semcom evaluate`: the model card's table of one trained codec, a preset of `semcom
eval` (the same channel realisations, receivers and metrics; only the rows differ).

MOC-RVQ: noiseless at every level, then per Es/N0 every level with the NRB and, at the top
level, the ablations the model supports (no NRB, soft demapping, decided code vectors,
stage-1 codebook labels). A deep JSCC model: noiseless and each Es/N0, at its CBR.
"""

import argparse
import json
import math
import os
import shlex
import sys

from ..checkpoints import file_sha256, read_weight_file
from . import compare

QUICK_IMAGES = 4
# card condition name of each eval scheme at an Es/N0 (the noiseless point: "noiseless")
CONDITIONS = {
    "moc-rvq": "awgn",
    "moc-rvq-no-nrb": "awgn-no-nrb",
    "moc-rvq-soft": "awgn-soft",
    "moc-rvq-no-nrb-no-mmse": "awgn-no-nrb-no-mmse",
    "moc-rvq-no-reorder-no-nrb": "awgn-no-reorder-no-nrb",
    "deep-jscc": "awgn",
    "deep-jscc-mse": "awgn",
}
JSCC_SCHEME_OF_SYSTEM = {system: scheme for scheme, (_, system) in compare.JSCC_SCHEMES.items()}


def moc_rvq_schemes(codec, reordering_known, levels=(1, 2, 3, 4)):
    """{eval scheme: levels} of a MOC-RVQ card: every level with the NRB (noiseless: the
    codec alone), the ablations at the top level."""
    top = (max(levels),)
    schemes = {"moc-rvq": tuple(levels), "moc-rvq-no-nrb": top, "moc-rvq-soft": top}
    if codec.cfg.mmse_hard_decisions:  # the decided code vectors instead of MMSE ones
        schemes["moc-rvq-no-nrb-no-mmse"] = top
    if reordering_known:
        schemes["moc-rvq-no-reorder-no-nrb"] = top
    return schemes


def card_rows(results, schemes):
    """The card's rows from `semcom eval`'s aggregated results: noiseless first, then per
    Es/N0 the schemes in card order."""
    by_key = {(r["scheme"], r["levels"], r["esn0_db"]): r for r in results}
    snrs = sorted({r["esn0_db"] for r in results}, key=compare.snr_order)
    rows = []
    for snr in snrs:
        for scheme, levels in compare.schemes_at(schemes, snr).items():
            for level in levels:
                r = by_key[(scheme, level, snr)]
                _, nrb, demapping = _receiver(scheme)
                noiseless = snr is compare.NOISELESS
                rows.append({"condition": "noiseless" if noiseless else CONDITIONS[scheme],
                             "scheme": scheme, "levels": level, "esn0_db": snr,
                             "demapping": demapping, "nrb": nrb and not noiseless,
                             **{m: r[m] for m in compare.METRICS},
                             "codec_seconds_median": r.get("codec_seconds_median")})
    return rows


def _receiver(scheme):
    """(reordered, NRB, demapping) of a scheme's receiver; "-" demapping for analog."""
    if scheme in compare.MOC_SCHEMES:
        _, reordered, nrb, demapping, _ = compare.MOC_SCHEMES[scheme]
        return reordered, nrb, demapping
    return True, False, "-"


def preset_args(args, schemes, jscc_files):
    """The `semcom eval` arguments of the card: AWGN, the asked Es/N0 with a noiseless
    point first, the card's schemes."""
    snrs = ",".join(["noiseless"] + [s for s in args.snr.split(",") if s.strip()])
    return argparse.Namespace(
        weights=args.moc_weights, data=args.data, snr=snrs, levels="1,2,3,4", schemes="",
        systems="", scheme_levels=schemes, jscc_files=jscc_files, channel="awgn",
        k_factor=1.0, block_length=1, images=QUICK_IMAGES if args.quick else 0, quick=False,
        out=args.out, threads=args.threads, seed=args.seed, device=args.device,
        argv=args.argv)


def _timed_median(rows):
    """The median encode + decode seconds of the card's main receiver: MOC-RVQ with its
    NRB at the top level over the channel, or the analog codec."""
    main = [r for r in rows if r["codec_seconds_median"] is not None and r["esn0_db"] is not None
            and r["scheme"] in ("moc-rvq", "deep-jscc", "deep-jscc-mse")]
    top = max(r["levels"] for r in main)
    values = sorted(r["codec_seconds_median"] for r in main if r["levels"] == top)
    return values[len(values) // 2]


def evaluate(args):
    """(card rows, meta) of ``args.weights`` through `semcom eval`."""
    from ..systems.moc_rvq.model import load_codec
    from ..zoo import default_codec_weights
    from .reordering import reorder_permutations

    if not args.weights:
        args.weights = default_codec_weights()
    system = read_weight_file(args.weights).get("system", "moc_rvq")
    if system == "moc_rvq":
        args.moc_weights = args.weights
        codec = load_codec(args.weights)
        schemes = moc_rvq_schemes(codec, reorder_permutations(args.weights, codec) is not None)
        jscc_files = {}
    else:
        from ..zoo import load

        if system not in JSCC_SCHEME_OF_SYSTEM:
            raise ValueError(f"{args.weights}: semcom evaluate has no card for a {system} model")
        analog = load(args.weights)
        scheme = JSCC_SCHEME_OF_SYSTEM[system]
        # MOC-RVQ (the shipped model) sets the images' channel draw, as in semcom eval
        args.moc_weights = None
        schemes = {scheme: (compare.level_of_cbr(str(analog.cbr(512, 768))),)}
        jscc_files = {scheme: args.weights}
    if not args.out:
        stem = os.path.splitext(os.path.basename(args.weights))[0]
        args.out = os.path.join("runs", f"evaluate_{stem}")
    results, meta = compare.run(preset_args(args, schemes, jscc_files))
    rows = card_rows(results, schemes)
    meta.update({"card_weights": os.fspath(args.weights), "system": system,
                 "codec_seconds_median": _timed_median(rows)})
    if system != "moc_rvq":
        meta["card_sha256"] = file_sha256(args.weights)
    return rows, meta


def _card_identity(meta):
    if meta["system"] == "moc_rvq":
        return f"weights sha256 `{meta['weights_sha256']}`"
    return (f"{meta['system']} weights sha256 `{meta['card_sha256']}` (channel draw set by "
            f"MOC-RVQ `{meta['weights']}`, as in `semcom eval`)")


def _timed(meta):
    """What the timing covers: MOC-RVQ's receiver runs the NRB, an analog one has none."""
    return "encode + NRB + decode" if meta["system"] == "moc_rvq" else "encode + decode"


COLUMNS = ("condition", "L", "Es/N0", "demap", "NRB", "PSNR dB", "SSIM", "MS-SSIM", "LPIPS",
           "DISTS")


def _cells(r):
    snr = "-" if r["esn0_db"] is None else f"{r['esn0_db']:g}"
    return [r["condition"], str(r["levels"]), snr, r["demapping"], "on" if r["nrb"] else "off",
            f"{r['psnr']:.2f}", f"{r['ssim']:.4f}", f"{r['ms_ssim']:.4f}", f"{r['lpips']:.4f}",
            f"{r['dists']:.4f}"]


def print_table(rows, meta, out=sys.stdout):
    print(f"{meta['images']} images from {meta['folder']}; {_card_identity(meta)}; "
          f"{_timed(meta)} median {meta['codec_seconds_median']:.3f} s on "
          f"{meta['threads']} threads", file=out)
    widths = (24, 2, 9, 5, 4, 8, 7, 7, 7, 7)
    print(" ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                   enumerate(zip(COLUMNS, widths))), file=out)
    for r in rows:
        print(" ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                       enumerate(zip(_cells(r), widths))), file=out)


def markdown_table(rows, meta, command):
    """The same table as Markdown, with the command that produced it."""
    lines = [f"Command: `{command}`", "",
             f"{meta['images']} images from `{meta['folder']}`, {_card_identity(meta)}; AWGN, "
             f"the channel realisations of `semcom eval` (seed {meta['seed']}); "
             f"{_timed(meta)} median {meta['codec_seconds_median']:.3f} s per image on "
             f"{meta['threads']} threads.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def run_cli(args):
    rows, meta = evaluate(args)
    print_table(rows, meta)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown_table(rows, meta, "semcom " + shlex.join(args.argv)))
    return 1 if any(math.isnan(r["psnr"]) for r in rows) else 0
