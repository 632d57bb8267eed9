#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""index_soft_demapper against a float64 brute force over the whole constellation."""

import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest

from gnuradio import semcom
from qa_gray_pam import expected_symbol
from qa_index_mapper import make_tag


def brute_force_posteriors(order, y, noise_var):
    """p(first | y) and p(second | y) by marginalising the N^2-point posterior, float64."""
    pairs = [(a, b) for a in range(order) for b in range(order)]
    points = np.array([expected_symbol(order, a, b) for a, b in pairs])
    log_lik = -np.abs(y[:, None] - points[None, :]) ** 2 / noise_var
    log_lik -= log_lik.max(axis=1, keepdims=True)
    joint = np.exp(log_lik)
    joint /= joint.sum(axis=1, keepdims=True)
    joint = joint.reshape(len(y), order, order)
    first, second = joint.sum(axis=2), joint.sum(axis=1)
    return np.stack([first, second], axis=1).reshape(2 * len(y), order)


def run_soft(order, symbols, noise_var, tags=()):
    tb = gr.top_block()
    src = blocks.vector_source_c(list(symbols), False, 1, list(tags))
    demapper = semcom.index_soft_demapper(order, noise_var)
    sink = blocks.vector_sink_f(order)
    tb.connect(src, demapper, sink)
    tb.run()
    return np.array(sink.data()).reshape(-1, order), sink.tags(), demapper


class qa_index_soft_demapper(gr_unittest.TestCase):
    def test_matches_brute_force_from_minus_20_to_plus_60_db(self):
        rng = np.random.default_rng(4)
        for order in (2, 4, 8, 16):
            for snr_db in (-20, -5, 0, 10, 20, 40, 60):
                noise_var = 10 ** (-snr_db / 10)
                idx = rng.integers(0, order, 2000).astype(np.uint8)
                x = semcom.gray_pam(order).map(idx).astype(np.complex128)
                noise = (rng.normal(size=len(x)) + 1j * rng.normal(size=len(x)))
                y = x + noise * np.sqrt(noise_var / 2)
                got, _, _ = run_soft(order, y.astype(np.complex64), noise_var)
                want = brute_force_posteriors(order, y.astype(np.complex64).astype(complex),
                                              noise_var)
                self.assertTrue(np.all(np.isfinite(got)))
                np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
                np.testing.assert_allclose(got, want, atol=2e-5,
                                           err_msg=f"N={order} {snr_db} dB")

    def test_per_symbol_noise_variance_matches_brute_force(self):
        # After fading each symbol has its own N0 / |h|^2 (gray_pam.soft_demap with an
        # array): every symbol must match the brute force at its own variance.
        rng = np.random.default_rng(7)
        pam = semcom.gray_pam(8)
        idx = rng.integers(0, 8, 600).astype(np.uint8)
        x = pam.map(idx).astype(np.complex128)
        noise_vars = 10 ** (-rng.uniform(-10, 40, len(x)) / 10)
        y = (x + (rng.normal(size=len(x)) + 1j * rng.normal(size=len(x)))
             * np.sqrt(noise_vars / 2)).astype(np.complex64)
        got = pam.soft_demap(y, noise_vars.astype(np.float32))
        want = np.concatenate([brute_force_posteriors(8, y[i:i + 1].astype(complex),
                                                      np.float32(noise_vars[i]))
                               for i in range(len(y))])
        np.testing.assert_allclose(got, want, atol=2e-5)
        with self.assertRaisesRegex(ValueError, "one noise variance per symbol"):
            pam.soft_demap(y, noise_vars[:-1].astype(np.float32))
        bad = noise_vars.astype(np.float32)
        for value in (0.0, 1e-39):  # 1e-39: a denormal whose inverse is inf
            bad[5] = value
            with self.assertRaisesRegex(ValueError, "positive finite"):
                pam.soft_demap(y, bad)

    def test_high_snr_posterior_is_one_hot_on_sent_index(self):
        idx = np.arange(8, dtype=np.uint8).repeat(2)
        symbols = semcom.gray_pam(8).map(idx)
        got, _, _ = run_soft(8, symbols, 1e-6)
        np.testing.assert_array_equal(np.argmax(got, axis=1), idx)
        np.testing.assert_allclose(got.max(axis=1), 1.0, atol=1e-6)

    def test_noise_var_is_settable_and_checked(self):
        demapper = semcom.index_soft_demapper(8, 0.5)
        demapper.set_noise_var(0.25)
        self.assertAlmostEqual(demapper.noise_var(), 0.25)
        for bad in (0.0, -1.0, float("nan"), float("inf"), 1e-300, 1e-39, 1e11):
            with self.assertRaisesRegex(ValueError, "noise variance N0 must be in 1e-10..1e10"):
                demapper.set_noise_var(bad)
        self.assertAlmostEqual(demapper.noise_var(), 0.25)
        with self.assertRaisesRegex(ValueError, "noise variance"):
            semcom.index_soft_demapper(8, 0.0)

    def test_changed_noise_var_changes_posteriors(self):
        y = np.array([0.1 + 0.05j], dtype=np.complex64)
        broad, _, _ = run_soft(8, y, 1.0)
        sharp, _, _ = run_soft(8, y, 0.01)
        self.assertGreater(sharp.max(), broad.max() + 0.2)

    def test_tags_move_to_first_vector_of_symbol(self):
        offsets = [0, 5, 19]
        tags = [make_tag(o, f"t{o}") for o in offsets]
        _, out_tags, _ = run_soft(8, np.zeros(20, dtype=np.complex64), 0.1, tags)
        got = sorted((pmt.symbol_to_string(t.key), t.offset) for t in out_tags)
        self.assertEqual(got, sorted((f"t{o}", 2 * o) for o in offsets))


if __name__ == "__main__":
    gr_unittest.run(qa_index_soft_demapper)
