#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""index_mapper in a flowgraph: values, tag positions across 2:1, and a bad index."""

import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest

from gnuradio import semcom
from qa_gray_pam import expected_symbol


def run_mapper(order, indices, tags=()):
    tb = gr.top_block()
    src = blocks.vector_source_b(list(indices), False, 1, list(tags))
    mapper = semcom.index_mapper(order)
    sink = blocks.vector_sink_c()
    tb.connect(src, mapper, sink)
    tb.run()
    return np.array(sink.data()), sink.tags()


def make_tag(offset, key):
    tag = gr.tag_t()
    tag.offset = offset
    tag.key = pmt.intern(key)
    tag.value = pmt.from_long(offset)
    return tag


class qa_index_mapper(gr_unittest.TestCase):
    def test_every_pair_for_every_order(self):
        for order in (2, 4, 8, 16):
            pairs = [(a, b) for a in range(order) for b in range(order)]
            got, _ = run_mapper(order, np.array(pairs).ravel())
            want = [expected_symbol(order, a, b) for a, b in pairs]
            np.testing.assert_allclose(got, want, atol=1e-6, err_msg=f"N={order}")

    def test_long_random_stream_matches_kernel(self):
        rng = np.random.default_rng(1)
        indices = rng.integers(0, 8, 200_002).astype(np.uint8)
        got, _ = run_mapper(8, indices)
        np.testing.assert_array_equal(got, semcom.gray_pam(8).map(indices))

    def test_tags_move_to_the_symbol_of_their_pair(self):
        offsets = [0, 1, 6, 7, 99]
        tags = [make_tag(o, f"t{o}") for o in offsets]
        _, out_tags = run_mapper(8, np.zeros(100, dtype=np.uint8), tags)
        got = sorted((pmt.symbol_to_string(t.key), t.offset) for t in out_tags)
        self.assertEqual(got, sorted((f"t{o}", o // 2) for o in offsets))

    def test_bad_index_stops_after_the_symbols_before_it(self):
        indices = np.array([1, 2, 3, 4, 5, 6, 0, 8, 1, 1], dtype=np.uint8)
        got, _ = run_mapper(8, indices)
        np.testing.assert_allclose(got, semcom.gray_pam(8).map(indices[:6]), atol=0)

    def test_index_too_large_for_small_order(self):
        got, _ = run_mapper(4, np.array([3, 3, 3, 4], dtype=np.uint8))
        self.assertEqual(len(got), 1)


if __name__ == "__main__":
    gr_unittest.run(qa_index_mapper)
