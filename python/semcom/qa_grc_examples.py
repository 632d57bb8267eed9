#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""The example .grc flowgraphs compile with grcc and run to the end."""

import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from gnuradio import gr_unittest

SOURCE_DIR = os.environ.get(
    "SEMCOM_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EXAMPLES = os.path.join(SOURCE_DIR, "examples")


def flowgraph_id(name):
    """The id in an example's options block: the name of the script GRC generates."""
    import yaml

    with open(os.path.join(EXAMPLES, name)) as f:
        return yaml.safe_load(f)["options"]["parameters"]["id"]


def axis_error_rate(order, esn0_db):
    """Symbol error rate of one Gray N-PAM axis of square N^2-QAM over AWGN (theory)."""
    esn0 = 10 ** (esn0_db / 10)
    q = 0.5 * math.erfc(math.sqrt(3 * esn0 / (order * order - 1)) / math.sqrt(2))
    return 2 * (1 - 1 / order) * q


class qa_grc_examples(gr_unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="qa_grc_")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def compile(self, name):
        env = dict(os.environ, GRC_BLOCKS_PATH=os.path.join(SOURCE_DIR, "grc"))
        # Debian's grcc under this interpreter (the venv), so that imports of the codec
        # resolve; not the venv's launcher of the same name, which is a shell script
        real = "/usr/bin/grcc" if os.path.isfile("/usr/bin/grcc") else shutil.which("grcc")
        result = subprocess.run([sys.executable, real, "-o", self.dir,
                                 os.path.join(EXAMPLES, name)],
                                env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        script = os.path.join(self.dir, flowgraph_id(name) + ".py")
        self.assertTrue(os.path.exists(script))
        return script

    def run_index_loopback(self, script, esn0_db, n_symbols):
        tx, rx = os.path.join(self.dir, "tx.u8"), os.path.join(self.dir, "rx.u8")
        result = subprocess.run(
            [sys.executable, script, "--esn0-db", str(esn0_db), "--n-symbols", str(n_symbols),
             "--tx-file", tx, "--rx-file", rx],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return np.fromfile(tx, np.uint8), np.fromfile(rx, np.uint8)

    def test_every_example_compiles(self):
        for name in sorted(os.listdir(EXAMPLES)):
            if name.endswith(".grc"):
                with self.subTest(name):
                    self.compile(name)

    def test_index_loopback_runs_to_the_end(self):
        script = self.compile("index_loopback.grc")
        sent, received = self.run_index_loopback(script, 40, 50_000)
        self.assertEqual(len(sent), 100_000)
        self.assertLess(int(sent.max()), 8)
        np.testing.assert_array_equal(received, sent)

    def image_case(self, name, seed, shape, levels):
        """A random test image, shipped-shape test weights, and the noiseless decoded image."""
        from PIL import Image
        from qa_image_blocks import make_weights
        from semcom_codec.systems.moc_rvq.model import load_codec
        from semcom_codec.images import load_image

        weights = make_weights(self.dir)
        image = os.path.join(self.dir, name)
        rng = np.random.default_rng(seed)
        Image.fromarray(rng.integers(0, 256, shape + (3,), dtype=np.uint8)).save(image)
        codec = load_codec(weights)
        indices, size = codec.encode_image(load_image(image), levels)
        return image, weights, codec.decode_image(indices, size)

    def run_image_flowgraph(self, script, out, args):
        from semcom_codec.images import load_image

        result = subprocess.run([sys.executable, script, "--out-dir", out] + args,
                                capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return load_image(os.path.join(out, "frame_000000.png"))

    def test_image_loopback_runs_headless_to_the_end(self):
        script = self.compile("loopback_awgn.grc")
        image, weights, expected = self.image_case("small.png", 3, (30, 41), 2)
        received = self.run_image_flowgraph(
            script, os.path.join(self.dir, "received"),
            ["--image", image, "--weights", weights, "--esn0-db", "60", "--levels", "2"])
        np.testing.assert_allclose(received, expected, atol=1 / 255 + 1e-6)  # 8-bit PNG

    def test_analog_loopback_runs_headless_to_the_end(self):
        """The Image Codec variable hands one deep JSCC to source and sink; at 60 dB the
        PNG is the codec's own decode of its noiseless symbols."""
        from PIL import Image
        from semcom_codec import testing, zoo
        from semcom_codec.images import load_image
        from semcom_codec.interface import Received

        script = self.compile("loopback_jscc_awgn.grc")
        weights = testing.tiny_weights("deep_jscc", self.dir)
        image = os.path.join(self.dir, "small_analog.png")
        rng = np.random.default_rng(5)
        Image.fromarray(rng.integers(0, 256, (29, 43, 3), dtype=np.uint8)).save(image)
        codec = zoo.load(weights)
        sent = load_image(image)
        expected = codec.decode(Received(codec.encode(sent), 1e-6), height=29, width=43)
        received = self.run_image_flowgraph(
            script, os.path.join(self.dir, "received_analog"),
            ["--image", image, "--model", weights, "--cbr", "", "--esn0-db", "60"])
        np.testing.assert_allclose(received, expected, atol=2 / 255)

    def test_vq_deepsc_loopback_runs_headless_to_the_end(self):
        """VQ-DeepSC's coded bits through an order-4 mapper (Gray 16-QAM) and the sink's
        soft demapping and LDPC decoding: at 30 dB the PNG is its noiseless decode."""
        from PIL import Image
        from semcom_codec import testing, zoo
        from semcom_codec.images import load_image
        from semcom_codec.interface import Received

        script = self.compile("loopback_vq_deepsc_awgn.grc")
        weights = testing.tiny_weights("vq_deepsc", self.dir)   # the paper link: rate 1
        image = os.path.join(self.dir, "small_vq.png")
        rng = np.random.default_rng(6)
        Image.fromarray(rng.integers(0, 256, (35, 47, 3), dtype=np.uint8)).save(image)
        codec = zoo.load(weights)
        sent = load_image(image)
        expected = codec.decode(Received(codec.encode(sent)), height=35, width=47)
        received = self.run_image_flowgraph(
            script, os.path.join(self.dir, "received_vq"),
            ["--image", image, "--model", weights, "--cbr", "", "--esn0-db", "30"])
        np.testing.assert_allclose(received, expected, atol=1 / 255 + 1e-6)

    def test_fading_loopback_runs_headless_to_the_end(self):
        script = self.compile("loopback_fading.grc")
        image, weights, expected = self.image_case("small_fading.png", 4, (24, 33), 3)
        for fading, k_factor, esn0_db in (("rician", "1e6", "60"), ("rayleigh", "1", "15")):
            received = self.run_image_flowgraph(
                script, os.path.join(self.dir, f"received_{fading}"),
                ["--image", image, "--weights", weights, "--esn0-db", esn0_db, "--levels", "3",
                 "--fading", fading, "--k-factor", k_factor, "--block-length", "16"])
            self.assertEqual(received.shape, expected.shape)
            if fading == "rician":  # K -> infinity at 60 dB: the noiseless image
                np.testing.assert_allclose(received, expected, atol=1 / 255 + 1e-6)

    def test_ota_loopback_runs_headless_to_the_end(self):
        """Over the simulated radios at 40 dB the bursts carry every index intact: the
        PNG is the noiseless decode."""
        script = self.compile("ota_loopback.grc")
        image, weights, expected = self.image_case("small_ota.png", 6, (40, 52), 4)
        received = self.run_image_flowgraph(
            script, os.path.join(self.dir, "received_ota"),
            ["--image", image, "--weights", weights, "--esn0-db", "40", "--levels", "4"])
        np.testing.assert_allclose(received, expected, atol=1 / 255 + 1e-6)

    def test_index_loopback_error_rate_matches_theory(self):
        script = self.compile("index_loopback.grc")
        sent, received = self.run_index_loopback(script, 15, 100_000)
        measured = float(np.mean(sent != received))
        self.assertAlmostEqual(measured, axis_error_rate(8, 15), delta=0.005)


if __name__ == "__main__":
    gr_unittest.run(qa_grc_examples)
