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
from gnuradio.semcom import framing

import loopback


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    loopback.add_arguments(parser, images=8)
    args = parser.parse_args(argv)
    tb, source, sink = loopback.build(args, history=0, name="semcom stream benchmark")
    paths = source.paths
    start = time.perf_counter()
    tb.run()
    wall = time.perf_counter() - start
    done, symbols = sink.decoded, sink.frame_symbols
    device = "cuda" if next(source.codec.model.parameters()).is_cuda else "cpu"
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
