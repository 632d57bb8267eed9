#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""The loopback flowgraph the streaming benchmarks run, and their shared options.

image_source (encoder + MOC-RVQ) -> index_mapper (Gray 64-QAM) -> awgn_channel ->
image_sink (sync, header, demapping, NRB + requantization, decoder), images cycled from
a folder (Kodak by default) to the number asked for.
"""

import os

import torch
from gnuradio import gr, semcom
from gnuradio.semcom.image_source import expand_images

KODAK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                     "data", "kodak")


def add_arguments(parser, images):
    parser.add_argument("--images", type=int, default=images, help="images to stream (N)")
    parser.add_argument("--data", default=KODAK, help="folder of test images (Kodak)")
    parser.add_argument("--snr", type=float, default=10.0, help="Es/N0 dB")
    parser.add_argument("--levels", type=int, default=4)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--weights", default="")


def build(args, history, name):
    """(top_block, source, sink) for ``args``; the sink keeps ``history`` results."""
    if args.threads:
        torch.set_num_threads(args.threads)
    paths = expand_images(args.data)
    paths = [paths[i % len(paths)] for i in range(args.images)]  # cycled to N
    tb = gr.top_block(name)
    source = semcom.image_source(images=paths, weights=args.weights, levels=args.levels,
                                 device=args.device)
    mapper = semcom.index_mapper(order=source.order)
    channel = semcom.awgn_channel(esn0_db=args.snr, seed=1)
    sink = semcom.image_sink(weights=args.weights, noise_var=10 ** (-args.snr / 10),
                             device=args.device, history=history)
    tb.connect(source, mapper, channel, sink)
    return tb, source, sink
