#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""examples/loopback_awgn.py, the main job, end to end on a small image."""

import contextlib
import importlib.util
import io
import os
import tempfile

import numpy as np
from gnuradio import gr_unittest
from PIL import Image

from qa_image_blocks import make_weights

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
        cls.tmp = tempfile.TemporaryDirectory(prefix="qa_loopback_")
        cls.weights = make_weights(cls.tmp.name)
        cls.image = os.path.join(cls.tmp.name, "in.png")
        rng = np.random.default_rng(7)
        Image.fromarray(rng.integers(0, 256, (37, 50, 3), dtype=np.uint8)).save(cls.image)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_example(self, *extra):
        out = os.path.join(self.tmp.name, "out", "pair.png")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            self.example.main(["--image", self.image, "--weights", self.weights,
                               "--device", "cpu", "--out", out, *extra])
        return printed.getvalue().splitlines(), out

    def test_clean_channel_gives_the_noiseless_codec_image(self):
        from semcom_codec.codec import load_codec
        from semcom_codec.images import load_image, psnr

        lines, out = self.run_example("--snr", "60", "--levels", "2")
        levels, symbols, cbr, measured = lines[2].split()[:4]
        self.assertEqual(int(levels), 2)
        self.assertEqual(int(symbols), 2 * 4 * 5 * 7 // 2)  # L*P*h*w/2 with h=5, w=7
        self.assertAlmostEqual(float(cbr), int(symbols) / (37 * 50 * 3), places=5)
        codec = load_codec(self.weights)
        original = load_image(self.image)
        indices, size = codec.encode_image(original, 2)
        self.assertAlmostEqual(float(measured), psnr(original, codec.decode_image(indices, size)),
                               places=2)
        with Image.open(out) as pair:
            self.assertEqual(pair.size, (50 + 8 + 50, 37))

    def test_10_db_psnr_equals_the_codec_channel_simulation(self):
        # The shipped model on the default photo: the flowgraph (C++ Gray mapper, C++
        # AWGN, sink demapping) against the codec package's torch channel at the same
        # Es/N0, averaged over a few noise draws: within 0.3 dB.
        import torch
        from semcom_codec.channel import IndexChannel
        from semcom_codec.codec import load_codec
        from semcom_codec.images import default_image_path, load_image, psnr
        from semcom_codec.weights import default_codec_weights

        printed = io.StringIO()
        out = os.path.join(self.tmp.name, "out", "shipped.png")
        with contextlib.redirect_stdout(printed):
            self.example.main(["--snr", "10", "--device", "cpu", "--out", out])
        flowgraph_psnr = float(printed.getvalue().splitlines()[2].split()[3])

        codec = load_codec(default_codec_weights())
        original = load_image(default_image_path())
        indices, size = codec.encode_image(original, 4)
        channel = IndexChannel(codec.cfg.entries, "awgn")
        simulated = []
        for seed in range(3):
            noise = torch.Generator().manual_seed(seed)
            received = channel(torch.as_tensor(indices)[None], 10.0, noise)[0]
            simulated.append(psnr(original, codec.decode_image(received.numpy(), size,
                                                               esn0_db=10.0)))
        self.assertLess(abs(flowgraph_psnr - np.mean(simulated)), 0.3,
                        f"flowgraph {flowgraph_psnr:.2f} dB, torch channel {simulated}")

    def test_soft_and_no_nrb_options_run(self):
        lines, _ = self.run_example("--snr", "5", "--soft", "--no-nrb")
        self.assertIn("soft demapping, NRB off", lines[0])

    def test_missing_image_and_weights_are_clear_errors(self):
        with self.assertRaises(SystemExit) as caught:
            self.example.main(["--image", "/nonexistent/photo.png"])
        self.assertIn("image file not found: /nonexistent/photo.png", str(caught.exception))
        with self.assertRaises(SystemExit) as caught:
            self.example.main(["--image", self.image, "--weights", "/nonexistent/w.pt"])
        self.assertIn("codec weight file not found", str(caught.exception))


if __name__ == "__main__":
    gr_unittest.run(qa_loopback_example)
