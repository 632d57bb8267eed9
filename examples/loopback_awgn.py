#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Send an image over a simulated AWGN link with one of gr-semcom's codecs.

A real GNU Radio top_block built from gr-semcom's blocks. Digital (MOC-RVQ):

    semcom.image_source (encoder + MOC-RVQ, framing) -> semcom.index_mapper (Gray 64-QAM)
    -> semcom.awgn_channel at Es/N0 -> semcom.image_sink (sync, header, hard/soft
    demapping, NRB + requantization, decoder)

With --mode (MOC-RVQ; a transmission mode name, or auto: the weights' pick for the
Es/N0 at the budget of --levels / --cbr on 64-QAM), semcom.frame_mapper takes the index
mapper's place and maps each level on the constellation the frame header names; the
sink follows the header too.

Analog (deep JSCC, perceptual or MSE): image_source (encoder, unit-power complex
symbols, framing) -> awgn_channel -> image_sink (sync, header, decoder told the Es/N0).

Prints levels, symbols sent, channel bandwidth ratio, PSNR, SSIM, LPIPS and wall time,
and writes the sent | received images side by side as one PNG.
"""

import argparse
import os
import sys
import time

from gnuradio import gr

from gnuradio import semcom


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", help="image file (default: a photo shipped with matplotlib)")
    parser.add_argument("--snr", type=float, default=10.0, help="Es/N0 in dB (default 10)")
    parser.add_argument("--codec", default="moc_rvq",
                        choices=["moc_rvq", "deep_jscc", "deep_jscc_mse", "vq_deepsc"],
                        help="codec system (default moc_rvq; deep_jscc is the perceptual one; "
                             "vq_deepsc without --cbr is the paper's link: every scale, "
                             "LDPC 1/3, 16-QAM)")
    parser.add_argument("--uncoded", action="store_true",
                        help="VQ-DeepSC: its uncoded link (scales 4-2 on Gray 64-QAM)")
    parser.add_argument("--cbr", help="channel bandwidth ratio, 1/48 or 1/24 (MOC-RVQ: "
                                      "levels 2 or 4; deep JSCC: the shipped model of it)")
    parser.add_argument("--levels", type=int, choices=range(1, 5),
                        help="MOC-RVQ residual levels sent, 1..4 (default 4, or from --cbr)")
    parser.add_argument("--mode", default="",
                        help="MOC-RVQ transmission mode: auto (picked for --snr from the "
                             "weights' Es/N0 table; default weights then the shipped "
                             "moc_rvq_modes) or a name: L4-qam64, L3-psk8-qam64, L2-psk8, "
                             "L1-biorth8 (CBR 1/24), L2-qam64, L1-psk8 (CBR 1/48)")
    parser.add_argument("--no-nrb", action="store_true", help="skip the noise-reduction block")
    parser.add_argument("--soft", action="store_true",
                        help="soft demapping: posterior-weighted code vectors")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--weights", default="", help="codec weights (default: shipped model)")
    parser.add_argument("--seed", type=int, default=1, help="noise seed")
    parser.add_argument("--payload-noise", metavar="NPY",
                        help="unit-power complex noise (.npy) for the payload symbols in "
                             "place of awgn_channel's own draw, scaled to --snr (e.g. the draw "
                             "semcom eval gives this image: benchmarks/bench_blocks_vs_eval.py)")
    parser.add_argument("--out", default="out/loopback_awgn.png",
                        help="sent | received PNG (default out/loopback_awgn.png)")
    return parser.parse_args(argv)


def load_codec(args):
    """The codec of --codec / --cbr / --weights, and the rate to send (MOC-RVQ levels)."""
    from semcom_codec import zoo
    from semcom_codec.runtime import resolve_device

    cbr = zoo.parse_cbr(args.cbr) if args.cbr else None
    if args.mode and args.codec != "moc_rvq":
        raise ValueError(f"--mode is MOC-RVQ's; {args.codec} has no transmission modes")
    if args.uncoded and args.codec != "vq_deepsc":
        raise ValueError("--uncoded is VQ-DeepSC's link option")
    weights = args.weights or zoo.shipped_weights(
        ("moc_rvq_modes" if args.mode else "moc_rvq") if args.codec == "moc_rvq"
        else args.codec,
        None if args.codec == "moc_rvq" else
        cbr or (zoo.parse_cbr("1/24") if args.uncoded or args.codec != "vq_deepsc" else None))
    options = ({"noise_reduction": not args.no_nrb} if args.codec == "moc_rvq" else
               {"uncoded": True} if args.uncoded else {})
    codec = zoo.load(weights, device=resolve_device(args.device), **options)
    if codec.kind == "symbols":
        if cbr is not None and codec.cbr(512, 768) != cbr:
            raise ValueError(f"{weights} has CBR {codec.cbr(512, 768)}, not {cbr}")
        return codec, None
    rate = args.levels
    if cbr is not None and not args.uncoded:  # the uncoded link sends fewer symbols
        by_cbr = {codec.cbr(512, 768, rate=r): r for r in codec.rates}
        if cbr not in by_cbr:
            raise ValueError(f"{codec.describe()} sends CBRs "
                             f"{', '.join(str(c) for c in sorted(by_cbr))}, not {cbr}")
        if rate is not None and rate != by_cbr[cbr]:
            raise ValueError(f"--levels {rate} and --cbr {cbr} (levels {by_cbr[cbr]}) disagree")
        rate = by_cbr[cbr]
    return codec, rate or codec.default_rate


def replayed_noise_channel(tb, path, payload_symbols, noise_var, seed):
    """An AWGN channel (GNU Radio's add_cc fed by a vector_source_c) whose noise on the
    ``payload_symbols`` payload symbols is the first samples of a given unit-power draw;
    the frame's sync and header and the source's idle tail get a fresh draw."""
    import numpy as np
    from gnuradio import blocks

    from gnuradio.semcom import framing
    from gnuradio.semcom.image_source import TAIL_SYMBOLS

    try:
        unit = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f"--payload-noise {path}: not a readable .npy file ({err})") from err
    if unit.ndim != 1 or not np.iscomplexobj(unit):
        raise ValueError(f"--payload-noise {path}: needs a 1-D complex array, "
                         f"got {unit.dtype} of shape {unit.shape}")
    if len(unit) < payload_symbols:
        raise ValueError(f"--payload-noise {path}: {len(unit)} samples, the payload has "
                         f"{payload_symbols} symbols")
    rng = np.random.default_rng(seed)

    def fresh(count):
        return (rng.normal(size=count) + 1j * rng.normal(size=count)) / np.sqrt(2)

    noise = np.concatenate([fresh(framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS),
                            unit[:payload_symbols], fresh(TAIL_SYMBOLS)]) * np.sqrt(noise_var)
    adder = blocks.add_cc()
    tb.connect(blocks.vector_source_c(noise.astype(np.complex64).tolist()), (adder, 1))
    return adder


def build_flowgraph(image, args):
    """The loopback top_block and its sink (which holds the decoded images); the codec
    is loaded once and shared by source and sink."""
    codec, rate = load_codec(args)
    noise_var = 10 ** (-args.snr / 10)
    tb = gr.top_block("semcom loopback over AWGN")
    mode = None
    if args.mode and args.mode != "auto":  # a named mode fills the budget it was made for
        budget = codec.mode_for(args.mode).budget_levels
        if (args.cbr or args.levels) and budget != rate:
            raise ValueError(f"mode {args.mode} takes the symbols of {budget} levels on "
                             f"64-QAM, not of {rate} (--levels / --cbr)")
        rate = budget
    source = semcom.image_source(images=[image], codec=codec, rate=rate, mode=args.mode,
                                 esn0_db=args.snr)
    if args.mode:
        mode = source.current_mode()
    if args.payload_noise:
        height, width = load_input(image).shape[:2]
        spec = codec.payload(height, width, rate=rate,
                             **({"mode": mode} if mode is not None else {}))
        symbols = spec.channel_symbols
        channel = replayed_noise_channel(tb, args.payload_noise, symbols, noise_var,
                                         args.seed)
    else:
        channel = semcom.awgn_channel(esn0_db=args.snr, seed=args.seed)
    sink = semcom.image_sink(codec=codec, demapping="soft" if args.soft else "hard",
                             noise_var=noise_var, reference=image, history=1)
    if codec.kind == "symbols":  # analog: the source's symbols go on the air as they are
        tb.connect(source, channel, sink)
    elif args.mode:  # each frame mapped on the mode its header names
        tb.mapper = semcom.frame_mapper(order=source.order)  # a Python block: kept alive
        tb.connect(source, tb.mapper, channel, sink)
    else:
        tb.connect(source, semcom.index_mapper(order=source.order), channel, sink)
    tb.source = source
    return tb, sink


def load_input(path):
    """The image to send, refused in one line when the metrics printed are not defined
    for it (LPIPS needs 31 pixels a side, SSIM 11)."""
    from semcom_codec.training.data import load_test_image
    from semcom_codec.metrics.lpips import check_lpips_size
    from semcom_codec.metrics.ssim import check_ssim_size

    return load_test_image(path, (check_lpips_size, check_ssim_size))


def main(argv=None):
    args = parse_args(argv)
    from semcom_codec import images
    from semcom_codec.errors import KNOWN_ERRORS, one_line, show_tracebacks

    try:
        path = args.image or images.default_image_path()
        original = load_input(path)
        start = time.perf_counter()
        tb, sink = build_flowgraph(path, args)
        tb.run()
    except KNOWN_ERRORS as err:  # bad input: one line naming the file and the problem
        if show_tracebacks():
            raise
        sys.exit(f"loopback_awgn: error: {one_line(err)}")
    seconds = time.perf_counter() - start
    result = sink.last_result
    if result is None:
        sys.exit(f"loopback_awgn: error: no frame was decoded ({sink.failed} failed, "
                 f"{sink.dropped} dropped, {sink.bad_headers} bad headers)")
    height, width = original.shape[:2]
    cbr = result["payload_symbols"] / (height * width * 3)
    analog = sink.analog
    links = getattr(sink.codec, "links", None)  # VQ-DeepSC: its link configurations
    link = ("analog symbols" if analog else
            f"{'soft' if args.soft else 'hard'} demapping, {links[result['levels']].name}"
            if links else
            f"{'soft' if args.soft else 'hard'} demapping, NRB {'off' if args.no_nrb else 'on'}, "
            + (f"mode {result['mode']}" + (" (auto)" if args.mode == "auto" else "")
               if args.mode else "Gray 64-QAM"))
    print(f"image {os.path.basename(path)} {width}x{height}, Es/N0 {args.snr:g} dB, "
          f"{args.codec}, {link}")
    print(f"{'levels':>6} {'symbols':>8} {'CBR':>8} {'PSNR dB':>8} {'SSIM':>7} {'LPIPS':>7} "
          f"{'seconds':>7}")
    print(f"{0 if analog else result['levels']:>6} {result['payload_symbols']:>8} {cbr:>8.5f} "
          f"{result['psnr']:>8.2f} {result['ssim']:>7.4f} {result['lpips']:>7.4f} "
          f"{seconds:>7.2f}")
    overhead = result["symbols"] - result["payload_symbols"]
    print(f"(symbols: the image's {'channel symbols' if analog else 'indices'}; the frame "
          f"adds {overhead} symbols of sync "
          f"and header)")
    images.save_png(images.side_by_side(original, result["image"]), args.out)
    print(f"sent | received: {args.out}")


if __name__ == "__main__":
    main()
