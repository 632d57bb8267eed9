#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Replay a SigMF recording through the over-the-air receiver:

    semcom.sigmf_source -> semcom.burst_receiver -> semcom.image_sink (CSI input)

Writes each decoded image as frame_NNNNNN.png into --out-dir and prints, per burst,
what the receiver measured beside what the recording's annotations say.
"""

import argparse
import os
import sys

from gnuradio import gr

from gnuradio import semcom


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recording", help="PATH.sigmf-meta (or PATH)")
    parser.add_argument("--out-dir", default="out/ota_replay")
    parser.add_argument("--weights", default="", help="codec weights (default: shipped)")
    parser.add_argument("--reference", default="", help="the sent image, for PSNR / LPIPS")
    parser.add_argument("--soft", action="store_true", help="soft demapping")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    return parser.parse_args(argv)


def build_flowgraph(args):
    from semcom_codec import zoo
    from semcom_codec.runtime import resolve_device

    codec = zoo.load(args.weights or zoo.shipped_weights("moc_rvq"),
                     device=resolve_device(args.device))
    tb = gr.top_block("semcom: replay of a recording")
    tb.source = semcom.sigmf_source(args.recording)
    tb.rx = semcom.burst_receiver()
    tb.sink = semcom.image_sink(codec=codec, csi_input=True, output_dir=args.out_dir,
                                reference=args.reference,
                                demapping="soft" if args.soft else "hard")
    tb.connect(tb.source, tb.rx)
    tb.connect((tb.rx, 0), (tb.sink, 0))
    tb.connect((tb.rx, 1), (tb.sink, 1))
    return tb


def main(argv=None):
    args = parse_args(argv)
    from semcom_codec.errors import KNOWN_ERRORS, one_line, show_tracebacks

    try:
        os.makedirs(args.out_dir, exist_ok=True)
        tb = build_flowgraph(args)
        tb.run()
    except KNOWN_ERRORS as err:
        if show_tracebacks():
            raise
        sys.exit(f"ota_replay: error: {one_line(err)}")
    annotated = {a.get("core:sample_start"): a for a in tb.source.annotations}
    print(f"{'start':>9} {'image':>5} {'burst':>5} {'Es/N0 dB':>8} {'CFO x Rs':>10} "
          f"{'clock ppm':>9}  recorded")
    for burst in tb.rx.log:
        note = annotated.get(burst["start"], {}).get("core:comment", "-")
        print(f"{burst['start']:>9} {burst['frame']!s:>5} {burst['burst']:>5} "
              f"{burst['esn0_db']:>8.2f} {burst['cfo']:>+10.6f} {burst['sro_ppm']:>+9.2f}  {note}")
    print(f"bursts {tb.rx.decoded} decoded, {tb.rx.dropped} dropped, {tb.rx.missing} missing; "
          f"{tb.sink.decoded} images into {args.out_dir}")
    for result in tb.sink.results:
        figures = ", ".join(f"{k} {result[k]:.4g}" for k in ("psnr", "ssim", "lpips")
                            if k in result)
        print(f"image {result['frame']}: {result['width']}x{result['height']}, L"
              f"{result['levels']}{', ' + figures if figures else ''}")
    return 0 if tb.sink.decoded else 1


if __name__ == "__main__":
    sys.exit(main())
