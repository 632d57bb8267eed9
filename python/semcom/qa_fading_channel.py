#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""fading_channel: perfect-CSI equalisation, fading statistics, blocks, seeds, errors."""

import numpy as np
from gnuradio import blocks, gr, gr_unittest

from gnuradio import semcom


def run(channel, x, with_noise_var=True):
    """(equalised symbols, per-symbol noise variance or None)."""
    tb = gr.top_block()
    sink = blocks.vector_sink_c()
    tb.connect(blocks.vector_source_c(x.tolist()), channel, sink)
    nvar = None
    if with_noise_var:
        nvar = blocks.vector_sink_f()
        tb.connect((channel, 1), nvar)
    tb.run()
    return np.array(sink.data()), None if nvar is None else np.array(nvar.data())


def qam_symbols(n, seed=0):
    idx = np.random.default_rng(seed).integers(0, 8, 2 * n).astype(np.uint8)
    return semcom.gray_pam(8).map(idx)


class qa_fading_channel(gr_unittest.TestCase):
    def test_equalised_noise_has_variance_n0_over_gain(self):
        x = qam_symbols(200_000)
        for kind in ("rayleigh", "rician"):
            channel = semcom.fading_channel(kind, 10.0, 2.0, 1, seed=3)
            y, nvar = run(channel, x)
            n0 = 10 ** (-10 / 10)
            self.assertAlmostEqual(channel.noise_var(), n0, places=6)
            gain = n0 / nvar  # |h|^2 of every symbol
            self.assertAlmostEqual(gain.mean(), 1.0, delta=0.01)  # E|h|^2 = 1
            # Whitened by its own variance, the equalisation error is CN(0, 1).
            e = (y - x) / np.sqrt(nvar)
            self.assertAlmostEqual(np.mean(np.abs(e) ** 2), 1.0, delta=0.01)
            self.assertAlmostEqual(np.var(e.real), 0.5, delta=0.01)
            self.assertLess(abs(np.mean(e.real * e.imag)), 0.01)

    def test_rayleigh_and_rician_gain_distributions(self):
        x = qam_symbols(200_000)
        _, nvar = run(semcom.fading_channel("rayleigh", 0.0, 0.0, 1, seed=1), x)
        gain = 1.0 / nvar
        # Rayleigh: |h|^2 ~ Exp(1), so P(|h|^2 < 0.1) = 1 - exp(-0.1), E|h|^4 = 2.
        self.assertAlmostEqual(np.mean(gain < 0.1), 1 - np.exp(-0.1), delta=0.004)
        self.assertAlmostEqual(np.mean(gain ** 2), 2.0, delta=0.05)
        # Rician, unit power: E|h|^4 = (2 + 4K + K^2) / (K + 1)^2.
        for k in (1.0, 3.0, 10.0):
            _, nvar = run(semcom.fading_channel("rician", 0.0, k, 1, seed=2), x)
            want = (2 + 4 * k + k * k) / (k + 1) ** 2
            self.assertAlmostEqual(np.mean((1.0 / nvar) ** 2), want, delta=0.03,
                                   msg=f"K = {k}")

    def test_one_coefficient_per_block_across_work_calls(self):
        x = qam_symbols(10_000)
        _, nvar = run(semcom.fading_channel("rayleigh", 5.0, 1.0, 700, seed=4), x)
        blocks_of = [nvar[i:i + 700] for i in range(0, len(nvar), 700)]
        for block in blocks_of:
            self.assertTrue(np.all(block == block[0]))
        firsts = np.array([b[0] for b in blocks_of])
        self.assertEqual(len(np.unique(firsts)), len(firsts))

    def test_noiseless_limit_returns_the_symbols(self):
        x = qam_symbols(5000)
        y, _ = run(semcom.fading_channel("rician", 150.0, 1.0, 10, seed=5), x, False)
        np.testing.assert_allclose(y, x, atol=1e-4)
        self.assertTrue(np.array_equal(semcom.gray_pam(8).hard_demap(y),
                                       semcom.gray_pam(8).hard_demap(x)))

    def test_seed_reproduces_and_esn0_is_settable(self):
        x = qam_symbols(3000)
        a, _ = run(semcom.fading_channel("rayleigh", 10.0, 1.0, 1, seed=9), x, False)
        b, _ = run(semcom.fading_channel("rayleigh", 10.0, 1.0, 1, seed=9), x, False)
        c, _ = run(semcom.fading_channel("rayleigh", 10.0, 1.0, 1, seed=10), x, False)
        np.testing.assert_array_equal(a, b)
        self.assertFalse(np.array_equal(a, c))
        channel = semcom.fading_channel()
        channel.set_esn0_db(20.0)
        self.assertAlmostEqual(channel.noise_var(), 0.01, places=7)
        self.assertEqual((channel.kind(), channel.block_length()), ("rayleigh", 1))

    def test_bad_parameters_are_named(self):
        with self.assertRaisesRegex(ValueError, "kind must be 'rayleigh' or 'rician'.*nakagami"):
            semcom.fading_channel("nakagami")
        with self.assertRaisesRegex(ValueError, "K factor must be a finite number >= 0"):
            semcom.fading_channel("rician", 10.0, -1.0)
        with self.assertRaisesRegex(ValueError, "block_length must be at least 1"):
            semcom.fading_channel("rayleigh", 10.0, 1.0, 0)
        with self.assertRaisesRegex(ValueError, "Es/N0 must be a number of dB in -100..200"):
            semcom.fading_channel().set_esn0_db(float("inf"))
        with self.assertRaisesRegex(ValueError, "Es/N0 must be a number of dB in -100..200"):
            semcom.fading_channel().set_esn0_db(-400.0)


if __name__ == "__main__":
    gr_unittest.run(qa_fading_channel)
