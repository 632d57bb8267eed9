"""`semcom vq-deepsc`: VQ-DeepSC on its own ground, the paper's Fig. 3 comparison.

The paper link (every scale, 5G NR BG1 LDPC at rate 1/3, Gray 16-QAM) against JPEG at
the highest quality whose file fits the same information bits, over the same code,
rate matching and QAM, on the same AWGN noise samples; soft demapping and belief
propagation for both. A JPEG file with any residual bit error is a failed image, scored
as mid-grey (a damaged JPEG is not a property of the scheme); VQ-DeepSC decodes whatever
indices come out. Noiseless, the model stands beside its unquantized upper bound (the
same network without embedding spaces); and each codebook's use on the test images is
counted (entries used, perplexity).
"""

import json
import math
import os
import sys

import numpy as np
import torch

from .. import zoo
from ..baselines import source
from ..fec.nr_ldpc import NrLdpcLink
from ..images import load_image
from ..interface import Received
from ..layers.padding import pad_to_factor
from ..phy.channels import IndexChannel, Realisation
from ..systems.vq_deepsc.image_codec import model_from_payload
from ..systems.vq_deepsc.link import posterior_bit_llrs
from ..systems.vq_deepsc.train import perplexity
from ..training import data
from .compare import GREY, Scorer, parse_snrs

METRICS = ("psnr", "ssim", "ms_ssim", "lpips")
SCHEMES = {"vq-deepsc": "VQ-DeepSC (paper link)",
           "jpeg-ldpc13-16qam": "JPEG + LDPC 1/3 + 16-QAM, same bits",
           "upper-bound": "VQ-DeepSC without quantization (upper bound)"}


def _received(channel, indices, realisation, esn0_db):
    """Soft posteriors [n, order] and N0 of air indices through the realisation."""
    x = torch.from_numpy(indices.astype(np.int64))[None]
    y, n0 = realisation.apply(channel.modulate(x)[0], esn0_db)
    return channel.demodulate(y[None], n0[None], x.shape, "soft")[0].numpy(), float(n0[0])


def bits_to_pairs(bits):
    """Coded bits -> order-4 axis indices (two bits each, the first most significant)."""
    return (bits.reshape(-1, 2) * np.array([2, 1])).sum(1).astype(np.uint8)


def image_rows(path, index, codec, bound, lpips, snrs, seed, cache_dir, counts):
    """The rows of one image: noiseless (VQ-DeepSC, upper bound), then per Es/N0 the
    VQ-DeepSC paper link and JPEG over the same link."""
    image = load_image(path)
    h, w = image.shape[:2]
    name = os.path.splitext(os.path.basename(path))[0]
    scorer = Scorer(image, lpips)
    layout = codec.layout(h, w)
    sent = codec.encode(image)
    x = torch.from_numpy(image).permute(2, 0, 1)[None]
    padded = pad_to_factor(x, codec.model.cfg.factor)[0]
    for k, idx in enumerate(codec.model.encode_indices(padded)):
        counts[k] += np.bincount(idx.flatten().numpy(), minlength=len(counts[k]))
    rows = [{"image": name, "scheme": "vq-deepsc", "esn0_db": None,
             **scorer(codec.decode(Received(sent), height=h, width=w))}]
    if bound is not None:
        with torch.no_grad():
            y = bound(padded)[0][0, :, :h, :w].clamp(0, 1).permute(1, 2, 0).numpy()
        rows.append({"image": name, "scheme": "upper-bound", "esn0_db": None, **scorer(y)})
    jpeg = source.SourceCoder(source.JpegCoder(), image, name, cache_dir)
    quality = jpeg.best_quality(layout.message // 8)
    jpeg_bits = (np.unpackbits(np.frombuffer(jpeg.payload(quality), np.uint8))
                 if quality is not None else None)
    jpeg_link = (NrLdpcLink(jpeg_bits.size, layout.coded_bits)
                 if jpeg_bits is not None else None)
    channel = IndexChannel(4)
    realisation = Realisation(layout.coded_bits // 4, "awgn", seed=seed * 100_003 + index)
    for snr in snrs:
        posteriors, n0 = _received(channel, sent, realisation, snr)
        image_out = codec.decode(Received(posteriors, n0), height=h, width=w)
        rows.append({"image": name, "scheme": "vq-deepsc", "esn0_db": snr,
                     "bits": layout.message, "symbols": layout.coded_bits // 4,
                     "converged": float(np.mean(codec.last_converged)), **scorer(image_out)})
        delivered = False
        if jpeg_link is not None:
            coded = bits_to_pairs(jpeg_link.encode(jpeg_bits))
            jpeg_post, jpeg_n0 = _received(channel, coded, realisation, snr)
            decoded, _ = jpeg_link.decode(posterior_bit_llrs(jpeg_post))
            delivered = bool(np.array_equal(decoded, jpeg_bits))
        shown = (jpeg.reconstruction(quality) / 255.0 if delivered
                 else np.full_like(image, GREY))
        rows.append({"image": name, "scheme": "jpeg-ldpc13-16qam", "esn0_db": snr,
                     "bits": 0 if jpeg_bits is None else int(jpeg_bits.size),
                     "symbols": layout.coded_bits // 4, "quality": quality,
                     "delivered": float(delivered), **scorer(shown)})
    return rows


def aggregate(rows):
    """Means per (scheme, Es/N0) over images."""
    out = []
    keys = sorted({(r["scheme"], r["esn0_db"]) for r in rows},
                  key=lambda k: (k[0], -math.inf if k[1] is None else k[1]))
    for scheme, snr in keys:
        group = [r for r in rows if r["scheme"] == scheme and r["esn0_db"] == snr]
        mean = {"scheme": scheme, "label": SCHEMES[scheme], "esn0_db": snr,
                "images": len(group)}
        for key in (*METRICS, "delivered", "converged", "bits", "symbols"):
            if key in group[0]:
                mean[key] = float(np.mean([r[key] for r in group]))
        out.append(mean)
    return out


def codebook_use(counts, entries):
    return [{"scale": k + 1, "entries": n, "used": int(np.count_nonzero(c)),
             "perplexity": round(perplexity(torch.from_numpy(c)), 3)}
            for k, (c, n) in enumerate(zip(counts, entries))]


def markdown(results, use, meta):
    lines = ["# VQ-DeepSC on its own ground: the paper link against JPEG over the same LDPC",
             "", "Written by `semcom vq-deepsc`; rerun it to reproduce every number here.", "",
             f"- Command: `{meta['command']}`",
             f"- Model: `{meta['weights']}`" + (f"; upper bound `{meta['upper_bound']}`"
                                                 if meta["upper_bound"] else ""),
             f"- Data: {meta['images']} images from `{meta['folder']}`; AWGN, seed "
             f"{meta['seed']}; wall time {meta['wall_seconds'] / 60:.1f} min", "",
             "Both send the same 5G NR BG1 coded bits on Gray 16-QAM (the paper's link: "
             "every scale, rate 1/3); JPEG takes the highest quality that fits VQ-DeepSC's "
             "information bits, and an image with any residual error after decoding is "
             "scored as mid-grey.", "", "Codebook use on these images:", "",
             "| scale | entries | used | perplexity |", "| --- | --- | --- | --- |"]
    lines += [f"| {u['scale']} | {u['entries']} | {u['used']} | {u['perplexity']:.3f} |"
              for u in use]
    snrs = sorted({r["esn0_db"] for r in results if r["esn0_db"] is not None})
    for metric in METRICS:
        header = ["scheme", "noiseless", *(f"{s:g} dB" for s in snrs)]
        lines += ["", f"{metric.upper().replace('_', '-')}:", "",
                  "| " + " | ".join(header) + " |", "| --- " * len(header) + "|"]
        for scheme, label in SCHEMES.items():
            by_snr = {r["esn0_db"]: r for r in results if r["scheme"] == scheme}
            if not by_snr:
                continue
            cells = [f"{by_snr[s][metric]:.4f}" if s in by_snr else "" for s in [None, *snrs]]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    delivered = {r["esn0_db"]: r["delivered"] for r in results
                 if r["scheme"] == "jpeg-ldpc13-16qam"}
    converged = {r["esn0_db"]: r["converged"] for r in results if r["scheme"] == "vq-deepsc"
                 and r["esn0_db"] is not None}
    if not snrs:
        return "\n".join(lines + [""])
    lines += ["", "Share of JPEG files delivered intact / of VQ-DeepSC codewords that met "
              "every check:", "", "| | " + " | ".join(f"{s:g} dB" for s in snrs) + " |",
              "| --- " * (len(snrs) + 1) + "|",
              "| JPEG delivered | " + " | ".join(f"{delivered[s]:.2f}" for s in snrs) + " |",
              "| VQ-DeepSC codewords | " + " | ".join(f"{converged[s]:.2f}" for s in snrs)
              + " |", ""]
    return "\n".join(lines)


def run_cli(args):
    import shlex
    import time

    from ..metrics.lpips import LPIPS, check_lpips_size
    from ..metrics.ssim import check_ms_ssim_size

    start = time.perf_counter()
    if args.threads:
        torch.set_num_threads(args.threads)
    codec = zoo.load(args.weights or "vq_deepsc")
    if 1 not in codec.rates or codec.uncoded:
        raise ValueError(f"{codec.source}: not a paper-link VQ-DeepSC model (its decoder "
                         "must take every scale)")
    bound = None
    if args.upper_bound:
        from ..checkpoints import read_weight_file

        bound = model_from_payload(read_weight_file(args.upper_bound, "cpu"), args.upper_bound)
        if bound.cfg.quantize:
            raise ValueError(f"{args.upper_bound} is a quantized model, not the upper bound")
    files = data.image_files(args.data)[:args.images or None]
    data.check_test_images(files, [check_lpips_size, check_ms_ssim_size])
    snrs = [s for s in parse_snrs(args.snr) if s is not None]
    lpips = LPIPS().eval()
    counts = [np.zeros(n, np.int64) for n in codec.model.cfg.entries]
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for i, path in enumerate(files):
        rows += image_rows(path, i, codec, bound, lpips, snrs, args.seed,
                           os.path.join(args.out, "source_cache"), counts)
        print(f"\r{i + 1}/{len(files)} images, {time.perf_counter() - start:.0f} s", end="",
              file=sys.stderr, flush=True)
    print(file=sys.stderr)
    results = aggregate(rows)
    use = codebook_use(counts, codec.model.cfg.entries)
    meta = {"command": "semcom " + shlex.join(getattr(args, "argv", []) or sys.argv[1:]),
            "weights": os.path.relpath(codec.source), "upper_bound": args.upper_bound or "",
            "images": len(files), "folder": os.fspath(args.data), "seed": args.seed,
            "wall_seconds": time.perf_counter() - start}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"meta": meta, "codebooks": use, "results": results, "rows": rows}, f,
                  indent=1)
    text = markdown(results, use, meta)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    print(text)
    return 0
