#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""The over-the-air PHY's figures (issue 16's acceptance), on the simulator.

Every burst meets the acceptance impairments unless said: carrier offset uniform in
+/- Rs/16, sample-clock offset uniform in +/- 60 ppm, a random phase, fractional delay
and gain in +/- 20 dB; noise drawn fresh for every burst.

  detection   preambles found (within a sample of the truth) at Es/N0 -5 and 0 dB
  false       detections per second on noise alone at 1 MS/s, and how many of them a
              header passed (none may)
  n0          bias and spread of each burst's Es/N0 estimate from -5 to 30 dB
  errors      index error rate at 25 dB against the ideal AWGN rate; with phase noise
              1 deg rms, IQ image -30 dBc and an echo at -10 dB, against the ideal rate
              at 24 dB (1 dB worse)
  rate        samples per second through the receiver, bursts back to back
  images      a Kodak image at L4 through examples/ota_loopback.py at 10 and 20 dB beside
              examples/loopback_awgn.py (the ideal link, told the noise)
"""

import argparse
import math
import os
import subprocess
import sys
import time

import numpy as np

from semcom_codec.phy import burst_format as fmt
from semcom_codec.phy import burst_rx, burst_tx, constellation, impairments, pulse

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
INFO = bytes(20)


def ideal_error_rate(esn0_db, order=8):
    q = 0.5 * math.erfc(math.sqrt(3 * 10 ** (esn0_db / 10) / (order * order - 1)) / math.sqrt(2))
    return 2 * (1 - 1 / order) * q


def random_link(rng, esn0_db, **extra):
    return impairments.Impairments(
        esn0_db=esn0_db, cfo=rng.uniform(-1 / 16, 1 / 16), sro_ppm=rng.uniform(-60, 60),
        delay=rng.uniform(0, 2), gain_db=rng.uniform(-20, 20), phase=rng.uniform(0, 2 * np.pi),
        **extra)


def detection(args, rng):
    modulator, receiver = burst_tx.BurstModulator(), burst_rx.BurstReceiver()
    lead = 700
    for snr in (-5.0, 0.0):
        found = headers = 0
        for _ in range(args.bursts):
            burst = modulator.bursts(INFO, rng.integers(0, 8, 2 * 512))
            link = random_link(rng, snr)
            received = link.apply(burst_tx.stream(burst, gap=400, lead=lead), rng)
            truth = lead + pulse.SPAN * modulator.sps + link.delay
            hits = [d for d in receiver.detect(received) if abs(d[0] - truth) <= 1.5]
            found += bool(hits)
            if hits:
                headers += receiver.acquire(received, hits[0][0], hits[0][1]) is not None
        print(f"detection  Es/N0 {snr:+5.1f} dB: {found}/{args.bursts} preambles found "
              f"(Pd {found / args.bursts:.4f}), {headers} headers decoded")


def false_alarms(args, rng):
    from semcom_codec.phy import burst_sync

    receiver = burst_rx.BurstReceiver()
    chunk, total, alarms, passed = 1 << 16, int(args.noise_seconds * 1e6), 0, 0
    candidates = lags = 0
    for _ in range(0, total, chunk):
        noise = (rng.standard_normal(chunk) + 1j * rng.standard_normal(chunk)) * 0.7
        for start, cfo, metric in receiver.detect(noise):
            alarms += 1
            passed += receiver.acquire(noise, start, cfo, metric) is not None
        pre = burst_sync.differential_metric(noise[::2])
        candidates += int(np.sum(pre >= burst_sync.PRE_THRESHOLD))
        lags += len(pre)
    print(f"false      noise alone, {total / 1e6:g} s at 1 MS/s: {alarms} detections "
          f"({alarms / args.noise_seconds:.3f} per second), {passed} passed a header; "
          f"pre-detector candidates {candidates / lags:.1e} per lag")


def n0_figures(args, rng):
    modulator, receiver = burst_tx.BurstModulator(), burst_rx.BurstReceiver()
    for snr in (-5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0):
        errors = []
        for _ in range(args.n0_bursts):
            burst = modulator.bursts(INFO, rng.integers(0, 8, 2 * 2048))
            got = receiver.receive(random_link(rng, snr).apply(
                burst_tx.stream(burst, gap=300, lead=300), rng))
            errors += [b.esn0_db - snr for b in got]
        errors = np.array(errors)
        print(f"n0         Es/N0 {snr:+5.1f} dB: {len(errors)} bursts, bias "
              f"{errors.mean():+.3f} dB, spread {errors.std():.3f} dB")


def error_rates(args, rng):
    modulator, receiver = burst_tx.BurstModulator(), burst_rx.BurstReceiver()
    cases = (("acceptance impairments", {}, 25.0),
             ("+ phase noise 1 deg, IQ -30 dBc, echo -10 dB", dict(
                 phase_noise_deg=1.0, iq_image_dbc=-30.0, echo_db=-10.0), 24.0))
    for name, extra, reference in cases:
        errors = total = 0
        for _ in range(args.error_bursts):
            indices = rng.integers(0, 8, 2 * fmt.MAX_PAYLOAD)
            bursts = modulator.bursts(INFO, indices)
            got = receiver.receive(random_link(rng, 25.0, **extra).apply(
                burst_tx.stream(bursts, gap=300, lead=300), rng))
            for b in got:
                decided = constellation.hard_demap(b.symbols, 8).numpy()
                errors += int(np.sum(decided != indices))
            total += indices.size  # a lost burst counts as all wrong
            errors += indices.size * (len(got) == 0)
        rate, ideal = errors / total, ideal_error_rate(reference)
        print(f"errors     25 dB, {name}: index error rate {rate:.2e} over {total} indices, "
              f"{rate / ideal:.2f} x the ideal at {reference:g} dB ({ideal:.2e})")


def rate(args, rng):
    """Samples per second through the burst_receiver block (C++ matched filter) and the
    numpy reference, on full bursts back to back (the hardest case: no idle time)."""
    from gnuradio import blocks, gr
    from gnuradio import semcom

    bursts = burst_tx.BurstModulator().bursts(INFO, rng.integers(0, 8, 2 * 12 * fmt.MAX_PAYLOAD))
    received = random_link(rng, 20.0).apply(burst_tx.stream(bursts, gap=200, lead=500), rng)
    began = time.perf_counter()
    reference = burst_rx.BurstReceiver().receive(received)
    numpy_seconds = time.perf_counter() - began
    tb = gr.top_block()
    rx = semcom.burst_receiver()
    tb.connect(blocks.vector_source_c(received.astype(np.complex64).tolist()), rx)
    tb.connect((rx, 0), blocks.null_sink(gr.sizeof_gr_complex))
    tb.connect((rx, 1), blocks.null_sink(gr.sizeof_float))
    began = time.perf_counter()
    tb.run()
    block_seconds = time.perf_counter() - began
    began = time.perf_counter()
    burst_rx.BurstReceiver().detect(received)
    detect_seconds = time.perf_counter() - began
    # one burst's worth, as the receiver asks: every half symbol of a full burst
    window = received[:fmt.Layout(fmt.MAX_PAYLOAD).total * 2 + 100]
    times = 20.3 + np.arange(2 * fmt.Layout(fmt.MAX_PAYLOAD).total) * 1.00003
    kernel = semcom.matched_filter(2, 0.35)
    began = time.perf_counter()
    for _ in range(10):
        kernel.at(window, times)
    cpp_seconds = (time.perf_counter() - began) / 10
    began = time.perf_counter()
    for _ in range(10):
        pulse.matched_at(window, times)
    numpy_mf_seconds = (time.perf_counter() - began) / 10
    print(f"rate       matched filter at {len(times)} instants (one full burst at half-symbol "
          f"spacing): C++ {cpp_seconds * 1e3:.1f} ms, numpy {numpy_mf_seconds * 1e3:.1f} ms "
          f"({numpy_mf_seconds / cpp_seconds:.0f} x); "
          f"detection alone {len(received) / detect_seconds / 1e6:.2f} MS/s")
    print(f"rate       {len(received)} samples, 12 full bursts back to back: burst_receiver "
          f"{len(received) / block_seconds / 1e6:.2f} MS/s ({rx.decoded} decoded), numpy "
          f"reference {len(received) / numpy_seconds / 1e6:.2f} MS/s ({len(reference)} decoded)")


def images(args):
    image = os.path.join(ROOT, "..", "shared", "data", "kodak", args.kodak)
    for snr in (10, 20):
        rows = {}
        for script, extra in (("ota_loopback.py", []), ("loopback_awgn.py", [])):
            out = subprocess.run(
                [sys.executable, os.path.join(ROOT, "examples", script), "--image", image,
                 "--snr", str(snr), "--out", os.path.join("out", f"bench_ota_{snr}_{script}.png")]
                + extra, capture_output=True, text=True, timeout=900)
            if out.returncode:
                sys.exit(f"{script}: {out.stderr.strip().splitlines()[-1]}")
            lines = out.stdout.splitlines()
            header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("levels"))
            names, values = lines[header].split(), lines[header + 1].split()
            rows[script] = dict(zip([n for n in names if n != "dB"], values))
        ota, ideal = rows["ota_loopback.py"], rows["loopback_awgn.py"]
        print(f"images     {args.kodak} L4 at {snr} dB: over the air {float(ota['PSNR']):.2f} dB "
              f"(receiver's estimate {ota['est_snr_db']} dB, bursts {ota['bursts_ok']}/"
              f"{ota['bursts_total']}), ideal link {float(ideal['PSNR']):.2f} dB: "
              f"{float(ota['PSNR']) - float(ideal['PSNR']):+.2f} dB")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", default=["detection", "false", "n0", "errors",
                                                       "rate", "images"])
    parser.add_argument("--bursts", type=int, default=1000, help="bursts per detection point")
    parser.add_argument("--noise-seconds", type=float, default=10.0)
    parser.add_argument("--n0-bursts", type=int, default=100, help="bursts per N0 point")
    parser.add_argument("--error-bursts", type=int, default=64,
                        help="full bursts per error-rate case (8192 symbols each)")
    parser.add_argument("--kodak", default="kodim23.png")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    steps = {"detection": lambda: detection(args, rng), "false": lambda: false_alarms(args, rng),
             "n0": lambda: n0_figures(args, rng), "errors": lambda: error_rates(args, rng),
             "rate": lambda: rate(args, rng), "images": lambda: images(args)}
    for name in args.only:
        began = time.perf_counter()
        steps[name]()
        print(f"           ({name}: {time.perf_counter() - began:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
