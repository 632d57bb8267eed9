#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Send an image through the over-the-air PHY and a simulated pair of radios.

One GNU Radio top_block:

    semcom.image_source (encoder + MOC-RVQ) -> semcom.burst_transmitter (bursts: preamble,
    LDPC-coded header, pilots, Gray 64-QAM, postamble; RRC, 2 samples per symbol)
    -> semcom.channel_impairments (CFO, sample-clock offset, phase noise, IQ image, echo,
    a random phase, fractional delay and gain, AWGN at Es/N0)
    -> semcom.burst_receiver (detection, timing, CFO, clock, equaliser, pilot tracking,
    data-aided N0) -> semcom.image_sink (CSI input: the receiver's own N0 per symbol)

Prints one table row (levels, symbols and CBR counting everything the radio sends,
PSNR, SSIM, LPIPS, the receiver's Es/N0 estimate and the bursts decoded) and writes the
sent | received images side by side as one PNG. How anyone checks the receiver before
touching hardware.
"""

import argparse
import os
import sys
import time

import numpy as np
from gnuradio import gr

from gnuradio import semcom


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", help="image file (default: a photo shipped with matplotlib)")
    parser.add_argument("--snr", type=float, default=20.0, help="Es/N0 in dB (default 20)")
    parser.add_argument("--levels", type=int, default=4, choices=range(1, 5),
                        help="MOC-RVQ residual levels sent (default 4)")
    parser.add_argument("--cfo", type=float,
                        help="carrier offset, a fraction of the symbol rate (default: "
                             "uniform in +/- 1/16)")
    parser.add_argument("--sro", type=float,
                        help="sample-clock offset in ppm (default: uniform in +/- 60)")
    parser.add_argument("--phase-noise", type=float, default=0.0, metavar="DEG",
                        help="oscillator phase noise, degrees rms (default 0)")
    parser.add_argument("--iq-image", type=float, metavar="DBC",
                        help="receiver IQ image relative to the signal, e.g. -30")
    parser.add_argument("--echo", type=float, metavar="DB",
                        help="power of an echo half a symbol late, e.g. -10")
    parser.add_argument("--soft", action="store_true", help="soft demapping")
    parser.add_argument("--weights", default="", help="codec weights (default: shipped model)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--seed", type=int, default=1,
                        help="seed of the random impairments and the noise")
    parser.add_argument("--out", default="out/ota_loopback.png",
                        help="sent | received PNG (default out/ota_loopback.png)")
    parser.add_argument("--record", metavar="PATH",
                        help="record what the receiver gets as SigMF (PATH.sigmf-meta, "
                             "PATH.sigmf-data), bursts annotated")
    parser.add_argument("--rate", type=float, default=2e6,
                        help="sample rate written in a recording (default 2e6 S/s)")
    return parser.parse_args(argv)


def impairments(args):
    """The channel's settings: those given, the rest drawn as the acceptance figures
    draw them (random phase, fractional delay, gain in +/- 20 dB)."""
    rng = np.random.default_rng(args.seed)
    drawn = dict(cfo=rng.uniform(-1 / 16, 1 / 16), sro_ppm=rng.uniform(-60, 60),
                 phase=rng.uniform(0, 2 * np.pi), delay=rng.uniform(0, 2),
                 gain_db=rng.uniform(-20, 20))
    if args.cfo is not None:
        drawn["cfo"] = args.cfo
    if args.sro is not None:
        drawn["sro_ppm"] = args.sro
    return dict(drawn, esn0_db=args.snr, phase_noise_deg=args.phase_noise,
                iq_image_dbc=args.iq_image, echo_db=args.echo, seed=args.seed)


def build_flowgraph(image, args):
    from semcom_codec import zoo
    from semcom_codec.runtime import resolve_device

    codec = zoo.load(args.weights or zoo.shipped_weights("moc_rvq"),
                     device=resolve_device(args.device))
    tb = gr.top_block("semcom over the air, simulated radios")
    source = semcom.image_source(images=[image], codec=codec, rate=args.levels)
    tx = semcom.burst_transmitter(order=source.order, mode="stream", gap=2000)
    settings = impairments(args)
    channel = semcom.channel_impairments(**settings)
    rx = semcom.burst_receiver()
    sink = semcom.image_sink(codec=codec, demapping="soft" if args.soft else "hard",
                             csi_input=True, reference=image, history=1)
    tb.connect(source, tx, channel, rx)
    if args.record:
        tb.recorder = semcom.sigmf_recorder(
            args.record, sample_rate=args.rate, receiver=rx,
            description=f"examples/ota_loopback.py, simulated radios: {settings}")
        tb.connect(channel, tb.recorder)
    tb.connect((rx, 0), (sink, 0))
    tb.connect((rx, 1), (sink, 1))
    # the top block holds the Python blocks: one that Python collects while the
    # flowgraph runs takes the process down with it
    tb.source, tb.tx, tb.channel, tb.rx, tb.sink = source, tx, channel, rx, sink
    return tb, settings


def main(argv=None):
    args = parse_args(argv)
    from semcom_codec import images
    from semcom_codec.errors import KNOWN_ERRORS, one_line, show_tracebacks

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from loopback_awgn import load_input

    try:
        path = args.image or images.default_image_path()
        original = load_input(path)
        start = time.perf_counter()
        tb, settings = build_flowgraph(path, args)
        tb.run()
    except KNOWN_ERRORS as err:
        if show_tracebacks():
            raise
        sys.exit(f"ota_loopback: error: {one_line(err)}")
    seconds = time.perf_counter() - start
    tx, rx, sink = tb.tx, tb.rx, tb.sink
    result = sink.last_result
    if result is None:
        sys.exit(f"ota_loopback: error: no image was decoded ({rx.decoded} of "
                 f"{tx.bursts} bursts decoded, {rx.dropped} dropped)")
    height, width = original.shape[:2]
    symbols = tx.symbols_sent
    est = rx.last.esn0_db if rx.last is not None else float("nan")
    print(f"image {os.path.basename(path)} {width}x{height}, Es/N0 {args.snr:g} dB, "
          f"CFO {settings['cfo']:+.4f} Rs, clock {settings['sro_ppm']:+.1f} ppm, phase noise "
          f"{args.phase_noise:g} deg, IQ image {args.iq_image}, echo {args.echo}; "
          f"{'soft' if args.soft else 'hard'} demapping, NRB on")
    print(f"{'levels':>6} {'symbols':>8} {'CBR':>8} {'PSNR':>7} {'SSIM':>7} {'LPIPS':>7} "
          f"{'est_snr_db':>10} {'bursts_ok':>9} {'bursts_total':>12}")
    print(f"{result['levels']:>6} {symbols:>8} {symbols / (height * width * 3):>8.5f} "
          f"{result['psnr']:>7.2f} {result['ssim']:>7.4f} {result['lpips']:>7.4f} "
          f"{est:>10.2f} {rx.decoded:>9} {tx.bursts:>12}")
    print(f"(symbols: everything the radio sends: preambles, headers, pilots, postambles "
          f"and the payload; {seconds:.2f} s)")
    images.save_png(images.side_by_side(original, result["image"]), args.out)
    print(f"sent | received: {args.out}")
    if args.record:
        print(f"recording: {tb.recorder.meta_path}, {tb.recorder.samples} samples")


if __name__ == "__main__":
    main()
