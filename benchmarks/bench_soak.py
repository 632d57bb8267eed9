#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Soak test: N images through one loopback flowgraph, the process's memory sampled.

image_source (the folder's images, cycled to N) -> index_mapper -> awgn_channel ->
image_sink (history 1) as a receiver left running would be. A probe on the sink's image
port reads the resident set size (VmRSS) each time an image is decoded. A long run must
keep flat memory: the last line reads

    RSS growth X % (image 100 to N), D of N decoded
"""

import argparse
import sys
import time

import numpy as np
import pmt
import torch
from gnuradio import gr

import loopback

BASELINE_IMAGE = 100


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class rss_probe(gr.basic_block):
    """Records the process's RSS at every image PDU (and drops the PDU)."""

    def __init__(self, report_every):
        gr.basic_block.__init__(self, name="rss_probe", in_sig=None, out_sig=None)
        self.samples, self.report_every, self.t0 = [], report_every, time.perf_counter()
        self.message_port_register_in(pmt.intern("image"))
        self.set_msg_handler(pmt.intern("image"), self.on_image)

    def on_image(self, msg):
        self.samples.append(rss_bytes())
        n = len(self.samples)
        if n % self.report_every == 0:
            rate = n / (time.perf_counter() - self.t0)
            print(f"image {n}: RSS {self.samples[-1] / 2 ** 20:.1f} MiB, "
                  f"{rate:.2f} images/s", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    loopback.add_arguments(parser, images=1000)
    args = parser.parse_args(argv)
    if args.images <= BASELINE_IMAGE:
        parser.error(f"--images must exceed {BASELINE_IMAGE}, the baseline image")
    tb, source, sink = loopback.build(args, history=1, name="semcom soak")
    probe = rss_probe(report_every=100)
    tb.msg_connect(sink, "image", probe, "image")
    print(f"{args.images} images from {args.data} at {args.levels} levels, Es/N0 "
          f"{args.snr:g} dB, torch threads {torch.get_num_threads()}; RSS at start "
          f"{rss_bytes() / 2 ** 20:.1f} MiB", flush=True)
    tb.run()
    samples = np.array(probe.samples, dtype=np.float64)
    done = sink.decoded
    if len(samples) < BASELINE_IMAGE:
        print(f"RSS growth not measured (only {len(samples)} images decoded), "
              f"{done} of {args.images} decoded")
        return 1
    base, last = samples[BASELINE_IMAGE - 1], samples[-1]
    print(f"RSS at image {BASELINE_IMAGE} {base / 2 ** 20:.1f} MiB, at image "
          f"{len(samples)} {last / 2 ** 20:.1f} MiB, peak after image {BASELINE_IMAGE} "
          f"{samples[BASELINE_IMAGE - 1:].max() / 2 ** 20:.1f} MiB; "
          f"{sink.failed} failed, {sink.bad_headers} bad headers, {source.skipped} skipped")
    print(f"RSS growth {100 * (last - base) / base:.2f} % (image {BASELINE_IMAGE} to "
          f"{args.images}), {done} of {args.images} decoded")
    return 0 if done == args.images else 1


if __name__ == "__main__":
    sys.exit(main())
