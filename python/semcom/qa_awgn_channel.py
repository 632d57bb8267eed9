#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""awgn_channel and its normal_rng: noise statistics, seeds, runtime Es/N0."""

import numpy as np
from gnuradio import blocks, gr, gr_unittest

from gnuradio import semcom


def run(channel, x):
    tb = gr.top_block()
    sink = blocks.vector_sink_c()
    tb.connect(blocks.vector_source_c(x.tolist()), channel, sink)
    tb.run()
    return np.array(sink.data())


class qa_awgn_channel(gr_unittest.TestCase):
    def test_noise_variance_is_n0_split_over_i_and_q(self):
        x = np.zeros(200_000, dtype=np.complex64)
        for esn0_db in (-5.0, 10.0):
            w = run(semcom.awgn_channel(esn0_db, seed=1), x)
            n0 = 10 ** (-esn0_db / 10)
            self.assertAlmostEqual(np.mean(np.abs(w) ** 2) / n0, 1.0, delta=0.01)
            self.assertAlmostEqual(np.var(w.real) / (n0 / 2), 1.0, delta=0.015)
            self.assertAlmostEqual(np.var(w.imag) / (n0 / 2), 1.0, delta=0.015)
            self.assertLess(abs(np.mean(w.real * w.imag)) / (n0 / 2), 0.01)

    def test_signal_passes_and_seed_reproduces(self):
        x = (np.arange(1000) % 7 - 3).astype(np.complex64)
        a = run(semcom.awgn_channel(20.0, seed=5), x)
        b = run(semcom.awgn_channel(20.0, seed=5), x)
        c = run(semcom.awgn_channel(20.0, seed=6), x)
        np.testing.assert_array_equal(a, b)
        self.assertFalse(np.array_equal(a, c))
        self.assertLess(np.max(np.abs(a - x)), 0.1 * 6)

    def test_normal_rng_moments_and_tails(self):
        v = semcom.normal_rng(11).normal(2_000_001).astype(np.float64)  # odd n: tail path
        self.assertEqual(len(v), 2_000_001)
        self.assertLess(abs(v.mean()), 0.003)
        self.assertAlmostEqual(v.var(), 1.0, delta=0.003)
        self.assertAlmostEqual(np.mean(v ** 4), 3.0, delta=0.03)  # Gaussian kurtosis
        # P(|v| > 3) = 0.0027 for N(0, 1)
        self.assertAlmostEqual(np.mean(np.abs(v) > 3), 0.0026998, delta=0.0002)
        # consecutive values are uncorrelated (pairs share one Box-Muller draw)
        self.assertLess(abs(np.mean(v[:-1] * v[1:])), 0.003)

    def test_esn0_settable_and_checked(self):
        channel = semcom.awgn_channel(0.0)
        channel.set_esn0_db(30.0)
        self.assertAlmostEqual(channel.noise_var(), 1e-3, places=9)
        for bad in (float("nan"), float("inf"), -400.0, 201.0):  # -400 dB: inf / NaN out
            with self.assertRaisesRegex(ValueError, r"Es/N0 must be a number of dB in -100\.\.200"):
                channel.set_esn0_db(bad)
        self.assertAlmostEqual(channel.noise_var(), 1e-3, places=9)  # the setting stays

    def test_lowest_esn0_still_gives_finite_samples(self):
        channel = semcom.awgn_channel(-100.0, 1)
        src = blocks.vector_source_c([0.3 + 0.1j] * 4096)
        sink = blocks.vector_sink_c()
        tb = gr.top_block()
        tb.connect(src, channel, sink)
        tb.run()
        self.assertTrue(np.all(np.isfinite(np.array(sink.data()))))


if __name__ == "__main__":
    gr_unittest.run(qa_awgn_channel)
