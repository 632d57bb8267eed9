#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""SigMF record and replay, and the golden recording: two bursts of a 320 x 256 test
pattern at L4 through strong simulated impairments, made by

    python examples/ota_loopback.py --image PATTERN.png --snr 30 --cfo 0.05 --sro -50 \\
        --phase-noise 1 --iq-image -30 --echo -10 --seed 7 \\
        --record python/semcom/testdata/golden_ota

where PATTERN.png is semcom_codec.testing.pattern_image(256, 320) saved as PNG."""

import json
import os
import shutil
import tempfile

import numpy as np
from gnuradio import blocks, gr, gr_unittest

from gnuradio import semcom
from gnuradio.semcom import framing

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata", "golden_ota")


class qa_sigmf(gr_unittest.TestCase):
    def test_golden_recording_decodes_to_the_sent_indices(self):
        from semcom_codec import zoo
        from semcom_codec.testing import pattern_image

        codec = zoo.load(zoo.shipped_weights("moc_rvq"))
        sent = pattern_image(256, 320)
        indices = codec.encode(sent, rate=4)
        tb = gr.top_block()
        source = semcom.sigmf_source(GOLDEN)
        self.assertEqual(source.sample_rate, 2e6)
        self.assertEqual(len(source.annotations), 2)
        rx = semcom.burst_receiver()
        sink = semcom.image_sink(codec=codec, csi_input=True, history=1)
        symbols = blocks.vector_sink_c()
        tb.connect(source, rx)
        tb.connect((rx, 0), (sink, 0))
        tb.connect((rx, 1), (sink, 1))
        tb.connect((rx, 0), symbols)
        tb.run()
        self.assertEqual((rx.decoded, rx.dropped, rx.missing), (2, 0, 0))
        self.assertEqual([b["start"] for b in rx.log],
                         [a["core:sample_start"] for a in source.annotations])
        # every index came through: the payload's hard decisions are what was encoded
        head = framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS
        received = np.asarray(symbols.data(), np.complex64)[head:head + indices.size // 2]
        decided = semcom.gray_pam(8).hard_demap(received)
        np.testing.assert_array_equal(decided, indices)
        result = sink.last_result
        self.assertEqual((result["height"], result["width"], result["truncated"]),
                         (256, 320, False))

    def test_record_then_replay_gives_the_same_samples_and_annotations(self):
        rng = np.random.default_rng(4)
        samples = (rng.standard_normal(5000) + 1j * rng.standard_normal(5000)).astype(
            np.complex64)
        with tempfile.TemporaryDirectory(prefix="qa_sigmf_") as folder:
            path = os.path.join(folder, "rec")
            tb = gr.top_block()
            recorder = semcom.sigmf_recorder(path, sample_rate=1e6, frequency=915e6)
            tb.connect(blocks.vector_source_c(samples.tolist()), recorder)
            tb.run()
            with open(path + ".sigmf-meta") as f:
                meta = json.load(f)
            self.assertEqual(meta["global"]["core:datatype"], "cf32_le")
            self.assertEqual(meta["captures"][0]["core:frequency"], 915e6)
            tb = gr.top_block()
            source = semcom.sigmf_source(path + ".sigmf-meta")
            out = blocks.vector_sink_c()
            tb.connect(source, out)
            tb.run()
            np.testing.assert_array_equal(np.asarray(out.data(), np.complex64), samples)
            self.assertEqual(source.frequency, 915e6)
            # a damaged recording is refused, naming the problem
            with open(path + ".sigmf-data", "r+b") as f:
                f.write(b"\x00" * 8)
            with self.assertRaisesRegex(ValueError, "cannot be read"):
                semcom.sigmf_source(path)
            shutil.copy(GOLDEN + ".sigmf-meta", os.path.join(folder, "orphan.sigmf-meta"))
            with self.assertRaisesRegex(FileNotFoundError, "no data file"):
                semcom.sigmf_source(os.path.join(folder, "orphan"))
            with self.assertRaisesRegex(FileNotFoundError, "no metadata file"):
                semcom.sigmf_source(os.path.join(folder, "nothing"))


if __name__ == "__main__":
    gr_unittest.run(qa_sigmf)
