#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""index_demapper: inverse of the mapper, nearest point under noise, tags across 1:2."""

import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest

from gnuradio import semcom
from qa_gray_pam import expected_symbol
from qa_index_mapper import make_tag


def run_demapper(order, symbols, tags=()):
    tb = gr.top_block()
    src = blocks.vector_source_c(list(symbols), False, 1, list(tags))
    demapper = semcom.index_demapper(order)
    sink = blocks.vector_sink_b()
    tb.connect(src, demapper, sink)
    tb.run()
    return np.array(sink.data(), dtype=np.uint8), sink.tags()


class qa_index_demapper(gr_unittest.TestCase):
    def test_demap_of_map_is_identity(self):
        rng = np.random.default_rng(2)
        for order in (2, 4, 8, 16):
            indices = rng.integers(0, order, 20_000).astype(np.uint8)
            tb = gr.top_block()
            src = blocks.vector_source_b(indices.tolist())
            sink = blocks.vector_sink_b()
            tb.connect(src, semcom.index_mapper(order), semcom.index_demapper(order), sink)
            tb.run()
            np.testing.assert_array_equal(np.array(sink.data()), indices, f"N={order}")

    def test_nearest_point_against_brute_force(self):
        """Per-axis slicing equals a float64 search over all N^2 constellation points."""
        rng = np.random.default_rng(3)
        for order in (2, 4, 8, 16):
            pairs = [(a, b) for a in range(order) for b in range(order)]
            points = np.array([expected_symbol(order, a, b) for a, b in pairs])
            y = (rng.normal(size=5000) + 1j * rng.normal(size=5000)) * 0.8
            y = np.concatenate([y, [3.0 + 3.0j, -5.0 - 0.1j]])  # beyond the outer points
            got, _ = run_demapper(order, y.astype(np.complex64))
            nearest = np.argmin(np.abs(y[:, None] - points[None, :]), axis=1)
            want = np.array([pairs[k] for k in nearest], dtype=np.uint8).ravel()
            np.testing.assert_array_equal(got, want, f"N={order}")

    def test_tags_move_to_first_index_of_symbol(self):
        offsets = [0, 3, 49]
        tags = [make_tag(o, f"t{o}") for o in offsets]
        _, out_tags = run_demapper(8, np.zeros(50, dtype=np.complex64), tags)
        got = sorted((pmt.symbol_to_string(t.key), t.offset) for t in out_tags)
        self.assertEqual(got, sorted((f"t{o}", 2 * o) for o in offsets))

    def test_non_finite_input_gives_valid_indices(self):
        got, _ = run_demapper(8, np.array([complex(np.nan, np.inf)], dtype=np.complex64))
        self.assertTrue(np.all(got < 8))


if __name__ == "__main__":
    gr_unittest.run(qa_index_demapper)
