#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Streaming throughput of the image loopback: N Kodak-size images through GNU Radio.

The flowgraph is the main example's: image_source (encoder + MOC-RVQ) -> index_mapper
(Gray 64-QAM) -> awgn_channel -> image_sink (sync, header, demapping, NRB +
requantization, decoder). Prints images/s, channel symbols/s (frames with their sync and
header), and the time the encoder and the decoder were busy. GNU Radio runs every block in
its own thread, so encoder and decoder overlap; "rest" is the wall time that neither of
them accounts for (framing, mapping, channel, sync search, demapping, scheduling).
"""

import argparse
import os
import sys
import time

import torch
from gnuradio import gr, semcom
from gnuradio.semcom import framing
from gnuradio.semcom.image_source import expand_images

KODAK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                     "data", "kodak")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=8, help="images to stream (N)")
    parser.add_argument("--data", default=KODAK, help="folder of test images (Kodak)")
    parser.add_argument("--snr", type=float, default=10.0, help="Es/N0 dB")
    parser.add_argument("--levels", type=int, default=4)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--weights", default="")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    paths = expand_images(args.data)
    # N images, cycling through the folder when N exceeds it
    paths = [paths[i % len(paths)] for i in range(args.images)]

    tb = gr.top_block("semcom stream benchmark")
    source = semcom.image_source(paths, args.weights, args.levels, args.device)
    mapper = semcom.index_mapper(source.order)
    channel = semcom.awgn_channel(args.snr, 1)
    sink = semcom.image_sink(args.weights, "hard", 10 ** (-args.snr / 10), True, True, "",
                             "", args.device)
    tb.connect(source, mapper, channel, sink)
    start = time.perf_counter()
    tb.run()
    wall = time.perf_counter() - start
    done = len(sink.results)
    symbols = sum(r["symbols"] for r in sink.results)
    device = "cuda" if next(source.codec.parameters()).is_cuda else "cpu"
    print(f"{done}/{len(paths)} images ({paths and os.path.basename(paths[0])}...) at "
          f"{args.levels} levels, Es/N0 {args.snr:g} dB, device {device}, "
          f"torch threads {torch.get_num_threads()}")
    print(f"wall {wall:.2f} s: {done / wall:.3f} images/s, {symbols / wall / 1e6:.3f} "
          f"Msym/s ({symbols} symbols; each frame has "
          f"{framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS} sync + header symbols)")
    rest = max(0.0, wall - source.encode_seconds - sink.decode_seconds)
    for name, seconds in (("encoder + MOC-RVQ", source.encode_seconds),
                          ("NRB + requantization + decoder", sink.decode_seconds),
                          ("rest (neither busy)", rest)):
        print(f"  {name:32s} {seconds:7.2f} s  {100 * seconds / wall:5.1f} % of wall, "
              f"{seconds / max(done, 1):.3f} s per image")
    return 0 if done == len(paths) else 1


if __name__ == "__main__":
    sys.exit(main())
