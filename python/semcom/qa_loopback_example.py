#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""examples/loopback_awgn.py, the main job: its flowgraph and its command line."""

import contextlib
import importlib.util
import io
import os
import tempfile

import numpy as np
from gnuradio import gr_unittest
from PIL import Image

SOURCE_DIR = os.environ.get(
    "SEMCOM_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def load_example():
    path = os.path.join(SOURCE_DIR, "examples", "loopback_awgn.py")
    spec = importlib.util.spec_from_file_location("loopback_awgn", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class qa_loopback_example(gr_unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.example = load_example()

    def test_clean_channel_returns_the_sent_indices(self):
        sent = np.random.default_rng(5).integers(0, 8, 4096).astype(np.uint8)
        received = self.example.run_loopback(sent, 40.0, soft=False, seed=3)
        np.testing.assert_array_equal(received, sent)

    def test_soft_output_is_one_posterior_vector_per_index(self):
        sent = np.random.default_rng(6).integers(0, 8, 1000).astype(np.uint8)
        posteriors = self.example.run_loopback(sent, 30.0, soft=True, seed=3)
        self.assertEqual(posteriors.shape, (1000, 8))
        np.testing.assert_allclose(posteriors.sum(axis=1), 1.0, atol=1e-5)
        np.testing.assert_array_equal(posteriors.argmax(axis=1), sent)

    def test_command_line_on_odd_sized_image(self):
        with tempfile.TemporaryDirectory() as tmp:
            rgb = np.random.default_rng(7).integers(0, 256, (37, 50, 3), dtype=np.uint8)
            Image.fromarray(rgb).save(os.path.join(tmp, "in.png"))
            out = os.path.join(tmp, "out", "pair.png")
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                self.example.main(["--image", os.path.join(tmp, "in.png"), "--snr", "40",
                                   "--levels", "2", "--out", out])
            row = printed.getvalue().splitlines()[-2].split()
            levels, symbols, _, index_errors, psnr, noiseless = row[:6]
            self.assertEqual(int(levels), 2)
            self.assertEqual(int(symbols), 2 * 4 * 5 * 7 // 2)  # L*P*h*w/2, h=5, w=7
            self.assertEqual(float(index_errors), 0.0)
            self.assertEqual(psnr, noiseless)
            with Image.open(out) as pair:
                self.assertEqual(pair.size, (50 + 8 + 50, 37))

    def test_missing_image_is_a_clear_error(self):
        with self.assertRaises(SystemExit) as caught:
            self.example.main(["--image", "/nonexistent/photo.png"])
        self.assertIn("image file not found: /nonexistent/photo.png", str(caught.exception))


if __name__ == "__main__":
    gr_unittest.run(qa_loopback_example)
