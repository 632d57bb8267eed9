#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Send an image's MOC-RVQ indices through a GNU Radio AWGN loopback and rebuild it.

A real top_block: vector source of indices -> semcom.index_mapper (Gray 64-QAM) -> AWGN
at Es/N0 -> semcom.index_demapper (hard) or semcom.index_soft_demapper (--soft) -> sink.
The indices are level-major ([level, head, row, column]), as they go on the air.

INTERIM CODEC. The trained MOC-RVQ encoder/decoder is not in the repository yet. Until
it is, the "latent" of each 8x8 block is the mean colour of its four 4x4 quadrants (one
quadrant per head: P = 4 heads of 3 values), quantised by a real MOC-RVQ (N = 8 entries
per head, D = 4 residual levels) whose codebooks are fitted to this image by k-means
(not learned) and reordered with Gray mapping. The picture that comes back is therefore
a 4x-downsampled colour sketch; the radio path is the one the trained codec will use.
"""

import argparse
import os
import sys
import time

import numpy as np
import torch
from gnuradio import analog, blocks, gr

from gnuradio import semcom
from semcom_codec import MOCRVQ, esn0_db_to_noise_var, images, reorder_mocrvq

ORDER = 8   # entries per head codebook = indices per QAM axis (64-QAM)
HEADS = 4
LEVELS = 4
BLOCK = 8   # f = 8: one latent position per 8x8 pixels
QUAD = 4    # interim analysis transform: mean colour of each 4x4 quadrant


def analyse(image):
    """Interim encoder: [H, W, 3] (H, W multiples of 8) -> latent [1, 12, H/8, W/8]."""
    h, w = image.shape[0] // BLOCK, image.shape[1] // BLOCK
    quads = image.reshape(h, 2, QUAD, w, 2, QUAD, 3).mean(axis=(2, 5))  # [h, 2, w, 2, 3]
    latent = quads.transpose(1, 3, 4, 0, 2).reshape(HEADS * 3, h, w)    # head = quadrant
    return torch.from_numpy(np.ascontiguousarray(latent))[None]


def synthesise(latent):
    """Interim decoder: latent [1, 12, h, w] -> image [8h, 8w, 3]."""
    _, _, h, w = latent.shape
    quads = latent[0].numpy().reshape(2, 2, 3, h, w).transpose(3, 0, 4, 1, 2)
    return np.repeat(np.repeat(quads.reshape(2 * h, 2 * w, 3), QUAD, 0), QUAD, 1)


def run_loopback(indices, esn0_db, soft, seed):
    """Streams the index bytes through the PHY flowgraph; returns hard indices or posteriors."""
    noise_var = esn0_db_to_noise_var(esn0_db)
    tb = gr.top_block("semcom loopback")
    source = blocks.vector_source_b(indices.tolist(), False)
    mapper = semcom.index_mapper(ORDER)
    noise = analog.noise_source_c(analog.GR_GAUSSIAN, float(np.sqrt(noise_var)), seed)
    add = blocks.add_cc()
    if soft:
        demapper = semcom.index_soft_demapper(ORDER, noise_var)
        sink = blocks.vector_sink_f(ORDER)
    else:
        demapper = semcom.index_demapper(ORDER)
        sink = blocks.vector_sink_b()
    tb.connect(source, mapper, (add, 0))
    tb.connect(noise, (add, 1))
    tb.connect(add, demapper, sink)
    tb.run()
    data = np.asarray(sink.data(), dtype=np.float32 if soft else np.uint8)
    return data.reshape(-1, ORDER) if soft else data


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", help="image file (default: a photo shipped with matplotlib)")
    parser.add_argument("--snr", type=float, default=10.0, help="Es/N0 in dB (default 10)")
    parser.add_argument("--levels", type=int, default=4, choices=range(1, LEVELS + 1),
                        help="residual levels sent, 1..4 (default 4)")
    parser.add_argument("--soft", action="store_true",
                        help="soft demapping: posterior-weighted code vectors")
    parser.add_argument("--seed", type=int, default=1, help="noise and k-means seed")
    parser.add_argument("--out", default="out/loopback_awgn.png",
                        help="sent | received PNG (default out/loopback_awgn.png)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    path = args.image or images.default_image_path()
    try:
        original = images.load_image(path)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f"loopback_awgn: {err}")
    padded, (height, width) = images.pad_to_multiple(original, BLOCK)

    print("NOTE: interim codec, not the trained MOC-RVQ model: each 8x8 block's four 4x4 "
          "mean colours,\n      quantised by MOC-RVQ with k-means-fitted (untrained) "
          "Gray-reordered codebooks (see --help).")
    start = time.perf_counter()
    latent = analyse(padded)
    quantizer = MOCRVQ(latent.shape[1], heads=HEADS, entries=ORDER, levels=LEVELS)
    quantizer.init_from_data(latent, generator=torch.Generator().manual_seed(args.seed))
    reorder_mocrvq(quantizer)
    indices, _ = quantizer.quantize(latent, args.levels)  # [1, L, P, h, w] uint8
    sent = indices.numpy().ravel()                          # level-major, as on the air

    received = run_loopback(sent, args.snr, args.soft, args.seed)
    if args.soft:
        posteriors = torch.from_numpy(received).reshape(*indices.shape, ORDER)
        z_hat = quantizer.dequantize_soft(posteriors)
        index_errors = float(np.mean(received.argmax(axis=1) != sent))
    else:
        z_hat = quantizer.dequantize(torch.from_numpy(received).reshape(indices.shape))
        index_errors = float(np.mean(received != sent))
    image = synthesise(z_hat)[:height, :width]
    noiseless = synthesise(quantizer.dequantize(indices))[:height, :width]
    seconds = time.perf_counter() - start

    symbols = sent.size // 2
    cbr = symbols / (height * width * 3)
    print(f"image {os.path.basename(path)} {width}x{height}, Es/N0 {args.snr:g} dB, "
          f"{'soft' if args.soft else 'hard'} demapping, Gray 64-QAM")
    print(f"{'levels':>6} {'symbols':>9} {'CBR':>8} {'index err':>9} {'PSNR dB':>8} "
          f"{'noiseless':>9} {'seconds':>7}")
    print(f"{args.levels:>6} {symbols:>9} {cbr:>8.5f} {index_errors:>9.4f} "
          f"{images.psnr(original, image):>8.2f} {images.psnr(original, noiseless):>9.2f} "
          f"{seconds:>7.2f}")
    images.save_png(images.side_by_side(original, image), args.out)
    print(f"sent | received: {args.out}")


if __name__ == "__main__":
    main()
