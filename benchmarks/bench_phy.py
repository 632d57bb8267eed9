#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Throughput of gr-semcom's index mapper and demappers against GNU Radio's stock pair.

Every block gets the same symbols, read from a file so that no Python list is built:
random 64-QAM index pairs for the mappers, and those symbols after AWGN at 20 dB for the
demappers. Each block runs alone in a flowgraph file_source -> block -> sink, and its
throughput is symbols divided by the time spent in its own work() (GNU Radio's
performance counters), so the source and sink do not dilute it; the flowgraph's
wall-clock rate is printed beside it. The stock pair is digital.chunks_to_symbols_bc
with the same Gray 64-QAM table plus digital.constellation_decoder_cb with a
rectangular Gray 64-QAM constellation (GNU Radio's fast sector decision).
"""

import os

os.environ.setdefault("GR_CONF_PERFCOUNTERS_ON", "True")  # read when gnuradio loads

import argparse
import tempfile
import time

import numpy as np
from gnuradio import blocks, digital, gr

from gnuradio import semcom

ORDER = 8  # indices per axis: 64-QAM


def run_block(block, in_path, in_itemsize, out_itemsize, nsymbols, buffer_items,
              out_path=None):
    """Runs file -> block -> sink; returns (work-time Msym/s, wall-clock Msym/s)."""
    tb = gr.top_block()
    src = blocks.file_source(in_itemsize, in_path, False)
    if buffer_items:
        for b in (src, block):
            b.set_min_output_buffer(buffer_items)
    sink = (blocks.file_sink(out_itemsize, out_path, False) if out_path
            else blocks.null_sink(out_itemsize))
    tb.connect(src, block, sink)
    start = time.perf_counter()
    tb.run()
    wall = time.perf_counter() - start
    if out_path:
        sink.close()
    work = block.pc_work_time_total() / gr.high_res_timer_tps()
    if work <= 0:
        raise RuntimeError("performance counters are off: set GR_CONF_PERFCOUNTERS_ON=True")
    return nsymbols / work / 1e6, nsymbols / wall / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--symbols", type=int, default=20_000_000,
                        help="64-QAM symbols per block (default 20 M)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--buffer", type=int, default=1 << 18,
                        help="minimum output buffer, items, of every block in every "
                             "flowgraph (0: GNU Radio's default)")
    args = parser.parse_args()
    n = args.symbols

    rng = np.random.default_rng(args.seed)
    pam = semcom.gray_pam(ORDER)
    pairs = rng.integers(0, ORDER, (n, 2), dtype=np.uint8)
    all_pairs = np.array([(a, b) for a in range(ORDER) for b in range(ORDER)], np.uint8)
    table = pam.map(all_pairs.ravel())  # stock symbol value a*N + b -> same point
    clean = pam.map(pairs.ravel())
    noise = rng.standard_normal((n, 2), dtype=np.float32) * np.float32(np.sqrt(0.01 / 2))
    received = (clean + (noise[:, 0] + 1j * noise[:, 1])).astype(np.complex64)
    del noise

    step = float(pam.position_amplitudes()[1] - pam.position_amplitudes()[0])
    stock_constellation = digital.constellation_rect(
        table.tolist(), list(range(ORDER * ORDER)), 4, ORDER, ORDER, step, step,
        digital.constellation.POWER_NORMALIZATION).base()  # the default rescales the points

    results = {}
    with tempfile.TemporaryDirectory(prefix="bench_phy_") as tmp:
        path = lambda name: os.path.join(tmp, name)
        pairs.ravel().tofile(path("indices.u8"))
        (pairs[:, 0] * ORDER + pairs[:, 1]).astype(np.uint8).tofile(path("values.u8"))
        received.tofile(path("received.c64"))
        del clean

        buf = args.buffer
        results["semcom.index_mapper"] = run_block(
            semcom.index_mapper(ORDER), path("indices.u8"), 1, 8, n, buf)
        results["semcom.index_demapper (hard)"] = run_block(
            semcom.index_demapper(ORDER), path("received.c64"), 8, 1, n, buf, path("ours.u8"))
        results["semcom.index_soft_demapper"] = run_block(
            semcom.index_soft_demapper(ORDER, 0.01), path("received.c64"), 8, 4 * ORDER, n,
            buf)
        results["stock chunks_to_symbols_bc"] = run_block(
            digital.chunks_to_symbols_bc(table.tolist(), 1), path("values.u8"), 1, 8, n, buf)
        results["stock constellation_decoder_cb"] = run_block(
            digital.constellation_decoder_cb(stock_constellation), path("received.c64"), 8, 1,
            n, buf, path("stock.u8"))

        ours = np.fromfile(path("ours.u8"), np.uint8).reshape(-1, 2)
        ours = (ours[:, 0] * ORDER + ours[:, 1]).astype(np.intp)
        stock = np.fromfile(path("stock.u8"), np.uint8).astype(np.intp)
        differ = np.flatnonzero(ours != stock)
        # Where the two differ, the received value must sit on a decision boundary to
        # float precision (both points equally near); anything else is a wrong decision.
        y = received[differ].astype(np.complex128)
        tie_gap = np.abs(np.abs(y - table[ours[differ]]) - np.abs(y - table[stock[differ]]))
        all_ties = bool(np.all(tie_gap < 1e-5))

    print(f"PHY throughput: {n:,} Gray 64-QAM symbols ({2 * n:,} indices) per block, "
          f"AWGN 20 dB for the demappers, output buffers >= {args.buffer} items")
    print(f"{'block':34s} {'work() Msym/s':>14s} {'flowgraph Msym/s':>17s}")
    for name, (work, wall) in results.items():
        print(f"{name:34s} {work:14.1f} {wall:17.1f}")
    print(f"hard decisions that differ from stock: {len(differ)} "
          f"({'all exact ties on a decision boundary' if all_ties else 'NOT ties: wrong decisions'})")
    per_symbol = lambda *names: sum(1.0 / results[k][0] for k in names)
    ours_time = per_symbol("semcom.index_mapper", "semcom.index_demapper (hard)")
    stock_time = per_symbol("stock chunks_to_symbols_bc", "stock constellation_decoder_cb")
    wall = lambda *names: sum(1.0 / results[k][1] for k in names)
    ours_wall = wall("semcom.index_mapper", "semcom.index_demapper (hard)")
    stock_wall = wall("stock chunks_to_symbols_bc", "stock constellation_decoder_cb")
    print(f"mapper+hard-demapper: {1 / ours_time:.1f} Msym/s; "
          f"stock pair: {1 / stock_time:.1f} Msym/s (work time, in series)")
    print(f"flowgraph wall-clock, in series: {stock_wall / ours_wall:.2f} x stock")
    print(f"speedup mapper+hard-demapper vs stock: {stock_time / ours_time:.2f}")
    if not all_ties:
        raise SystemExit("hard decisions differ from GNU Radio's stock decoder off the boundaries")


if __name__ == "__main__":
    main()
