#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""A virtual radio: transmitter and receiver as two processes joined by ZMQ, with the
simulated air between them, as one would run them before touching hardware.

    python examples/ota_virtual_radio.py tx --image IMG --snr 20 --cfo 0.03 --sro 40 &
    python examples/ota_virtual_radio.py rx --images 1 --out-dir out/virtual

tx: image_source -> burst_transmitter (a continuous stream) -> channel_impairments (the
air and the radios: CFO, clock offset, phase noise, IQ image, echo, gain, delay, AWGN)
-> ZMQ PUSH (bound at --address). rx: ZMQ PULL (connects to --address: start either
first) -> burst_receiver -> image_sink, which writes frame_NNNNNN.png; it stops after
--images images or --timeout seconds without one, and prints the bursts counted.
PUSH/PULL loses nothing and lets the receiver pace the sender.
"""

import argparse
import sys
import time

import numpy as np
from gnuradio import gr, zeromq

from gnuradio import semcom

ADDRESS = "tcp://127.0.0.1:5557"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="end", required=True)
    tx = sub.add_parser("tx", help="the transmitting process")
    tx.add_argument("--image", action="append", help="image file (repeatable; default: "
                                                     "a photo shipped with matplotlib)")
    tx.add_argument("--levels", type=int, default=4, choices=range(1, 5))
    tx.add_argument("--snr", type=float, default=20.0, help="Es/N0 in dB (default 20)")
    tx.add_argument("--cfo", type=float, default=0.03, help="carrier offset x Rs")
    tx.add_argument("--sro", type=float, default=40.0, help="clock offset in ppm")
    tx.add_argument("--phase-noise", type=float, default=0.0, metavar="DEG")
    tx.add_argument("--iq-image", type=float, metavar="DBC")
    tx.add_argument("--echo", type=float, metavar="DB")
    tx.add_argument("--gain", type=float, default=-10.0, help="path gain in dB")
    tx.add_argument("--seed", type=int, default=1)
    rx = sub.add_parser("rx", help="the receiving process")
    rx.add_argument("--images", type=int, default=1, help="stop after this many images")
    rx.add_argument("--timeout", type=float, default=60.0,
                    help="stop after this many seconds without a new image")
    rx.add_argument("--out-dir", default="out/virtual_radio")
    rx.add_argument("--soft", action="store_true", help="soft demapping")
    for end in (tx, rx):
        end.add_argument("--address", default=ADDRESS, help=f"ZMQ address ({ADDRESS})")
        end.add_argument("--weights", default="", help="codec weights (default: shipped)")
        end.add_argument("--device", default="auto", help="auto, cpu or cuda")
    return parser.parse_args(argv)


def load(args):
    from semcom_codec import zoo
    from semcom_codec.runtime import resolve_device

    return zoo.load(args.weights or zoo.shipped_weights("moc_rvq"),
                    device=resolve_device(args.device))


def transmit(args):
    from semcom_codec.images import default_image_path

    codec = load(args)
    tb = gr.top_block("semcom virtual radio: transmitter")
    tb.source = semcom.image_source(images=args.image or [default_image_path()],
                                    codec=codec, rate=args.levels)
    tb.tx = semcom.burst_transmitter(order=tb.source.order, mode="stream", gap=4000)
    rng = np.random.default_rng(args.seed)
    tb.air = semcom.channel_impairments(
        esn0_db=args.snr, cfo=args.cfo, sro_ppm=args.sro, phase_noise_deg=args.phase_noise,
        iq_image_dbc=args.iq_image, echo_db=args.echo, gain_db=args.gain,
        phase=rng.uniform(0, 2 * np.pi), delay=rng.uniform(0, 2), seed=args.seed)
    tb.push = zeromq.push_sink(gr.sizeof_gr_complex, 1, args.address, 100, False, -1)
    tb.connect(tb.source, tb.tx, tb.air, tb.push)
    tb.run()
    time.sleep(1.0)  # let the last samples leave the socket
    print(f"tx: {tb.tx.frames} images in {tb.tx.bursts} bursts, {tb.tx.symbols_sent} symbols")


def receive(args):
    codec = load(args)
    tb = gr.top_block("semcom virtual radio: receiver")
    tb.pull = zeromq.pull_source(gr.sizeof_gr_complex, 1, args.address, 100, False, -1)
    tb.rx = semcom.burst_receiver()
    tb.sink = semcom.image_sink(codec=codec, csi_input=True, output_dir=args.out_dir,
                                demapping="soft" if args.soft else "hard")
    tb.connect(tb.pull, tb.rx)
    tb.connect((tb.rx, 0), (tb.sink, 0))
    tb.connect((tb.rx, 1), (tb.sink, 1))
    import os

    os.makedirs(args.out_dir, exist_ok=True)
    tb.start()
    seen, last = 0, time.monotonic()
    while tb.sink.decoded < args.images and time.monotonic() - last < args.timeout:
        time.sleep(0.1)
        if tb.sink.decoded != seen:
            seen, last = tb.sink.decoded, time.monotonic()
    tb.stop()
    tb.wait()
    burst = tb.rx.last
    print(f"rx: {tb.sink.decoded} images decoded into {args.out_dir}; bursts "
          f"{tb.rx.decoded} decoded, {tb.rx.dropped} dropped, {tb.rx.missing} missing"
          + (f"; last burst Es/N0 {burst.esn0_db:.2f} dB, CFO {burst.cfo:+.5f} Rs, clock "
             f"{burst.sro_ppm:+.1f} ppm" if burst is not None else ""))
    return 0 if tb.sink.decoded >= args.images else 1


def main(argv=None):
    args = parse_args(argv)
    from semcom_codec.errors import KNOWN_ERRORS, one_line, show_tracebacks

    try:
        if args.end == "tx":
            transmit(args)
            return 0
        return receive(args)
    except KNOWN_ERRORS as err:
        if show_tracebacks():
            raise
        sys.exit(f"ota_virtual_radio {args.end}: error: {one_line(err)}")


if __name__ == "__main__":
    sys.exit(main())
