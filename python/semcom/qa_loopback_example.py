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
        from semcom_codec.systems.moc_rvq.model import load_codec
        from semcom_codec.images import load_image
        from semcom_codec.metrics.psnr import psnr

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
        from semcom_codec.phy.channels import IndexChannel
        from semcom_codec.systems.moc_rvq.model import load_codec
        from semcom_codec.images import default_image_path, load_image
        from semcom_codec.metrics.psnr import psnr
        from semcom_codec.zoo import default_codec_weights

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

    def test_shipped_analog_codecs_match_the_codec_over_its_own_channel(self):
        # --codec NAME --cbr 1/24 takes the shipped deep JSCC: levels column 0, the
        # image's 8 symbols per 8x8 block, and a PSNR within 0.3 dB of the codec
        # package's decode of the same image through its own AWGN (3 noise draws)
        from semcom_codec import zoo
        from semcom_codec.images import load_image
        from semcom_codec.interface import Received
        from semcom_codec.metrics.psnr import psnr

        original = load_image(self.image)
        for name in ("deep_jscc", "deep_jscc_mse"):
            with self.subTest(name):
                codec = zoo.load(name, cbr="1/24")
                printed = io.StringIO()
                out = os.path.join(self.tmp.name, "out", f"{name}.png")
                with contextlib.redirect_stdout(printed):
                    self.example.main(["--image", self.image, "--codec", name, "--cbr",
                                       "1/24", "--snr", "10", "--device", "cpu",
                                       "--out", out])
                levels, symbols, _, measured = printed.getvalue().splitlines()[2].split()[:4]
                self.assertEqual((int(levels), int(symbols)), (0, 8 * 5 * 7))
                sent = codec.encode(original)
                rng = np.random.default_rng(0)
                simulated = []
                for _ in range(3):
                    noise = (rng.standard_normal(len(sent))
                             + 1j * rng.standard_normal(len(sent))) * np.sqrt(0.05)
                    decoded = codec.decode(Received(sent + noise, 0.1), height=37, width=50)
                    simulated.append(psnr(original, decoded))
                self.assertLess(abs(float(measured) - np.mean(simulated)), 0.3,
                                f"flowgraph {measured} dB, codec {simulated}")

    def test_payload_noise_replays_semcom_evals_draw_exactly(self):
        # --payload-noise puts a given unit-power draw on the payload: the flowgraph's
        # PSNR is then the one semcom eval computes on the same realisation, digital
        # (tiny MOC-RVQ, hard demapping, NRB) and analog (shipped deep JSCC MSE)
        import torch
        from semcom_codec import zoo
        from semcom_codec.evaluation import compare
        from semcom_codec.images import load_image
        from semcom_codec.interface import Received
        from semcom_codec.metrics.psnr import psnr
        from semcom_codec.phy.channels import Realisation
        from semcom_codec.systems.moc_rvq.model import load_codec

        original = load_image(self.image)
        noise_file = os.path.join(self.tmp.name, "noise.npy")
        realisation = Realisation(8 * 5 * 7, seed=11)
        np.save(noise_file, realisation.noise.numpy())
        moc = load_codec(self.weights)
        sent = torch.as_tensor(moc.encode_image(original, 2)[0])[None]
        received = compare._moc_received(sent, realisation, 5.0, "hard", moc.cfg.entries)
        image = moc.decode(received, size=(37, 50), noise_reduction=True, esn0_db=5.0)
        expected = {"moc_rvq": psnr(original, image[0].permute(1, 2, 0).numpy())}
        analog = zoo.load("deep_jscc_mse", cbr="1/24")
        symbols, n0 = realisation.apply(torch.from_numpy(analog.encode(original)), 5.0)
        expected["deep_jscc_mse"] = psnr(original, analog.decode(
            Received(symbols.numpy(), float(n0[0])), height=37, width=50))
        for name, value in expected.items():
            with self.subTest(name):
                rate = (["--levels", "2"] if name == "moc_rvq" else
                        ["--cbr", "1/24", "--weights", ""])  # "": the shipped model
                lines, _ = self.run_example("--codec", name, *rate, "--snr", "5",
                                            "--payload-noise", noise_file)
                self.assertAlmostEqual(float(lines[2].split()[3]), value, places=2)

    def test_payload_noise_file_errors(self):
        short, real = (os.path.join(self.tmp.name, n) for n in ("short.npy", "real.npy"))
        np.save(short, np.zeros(139, np.complex64))  # 2 levels of 4 x 5 x 7 indices
        np.save(real, np.zeros(140, np.float32))
        for path, words in ((short, "139 samples, the payload has 140 symbols"),
                            (real, "needs a 1-D complex array"),
                            (os.path.join(self.tmp.name, "none.npy"), "not a readable .npy")):
            with self.subTest(words), self.assertRaises(SystemExit) as caught:
                self.run_example("--levels", "2", "--payload-noise", path)
            self.assertIn(words, str(caught.exception))

    def test_transmission_modes_fill_the_budget_and_decode_as_the_codec(self):
        """--mode NAME sends its own levels in the symbols of the budget it fills and,
        at 60 dB, decodes to the codec's noiseless decode told the mode; --mode auto
        picks from the weights' table for --snr."""
        from qa_modes import make_mode_weights
        from semcom_codec import testing, zoo
        from semcom_codec.images import load_image
        from semcom_codec.interface import Received
        from semcom_codec.metrics.psnr import psnr

        weights = make_mode_weights(self.tmp.name)
        codec = zoo.load(weights)
        original = load_image(self.image)
        for mode, levels, symbols in (("L1-biorth8", 1, 280), ("L2-psk8", 2, 280),
                                      ("L1-psk8", 1, 140)):
            with self.subTest(mode):
                lines, _ = self.run_example("--weights", weights, "--mode", mode,
                                            "--snr", "60")
                self.assertIn(f"mode {mode}", lines[0])
                got_levels, got_symbols, _, measured = lines[2].split()[:4]
                self.assertEqual((int(got_levels), int(got_symbols)), (levels, symbols))
                indices = codec.encode(original, mode=mode)
                clean = codec.decode(Received(indices, 1e-6), height=37, width=50, mode=mode)
                self.assertAlmostEqual(float(measured), psnr(original, clean), places=2)
        lines, _ = self.run_example("--weights", weights, "--mode", "auto", "--snr", "9")
        self.assertEqual(testing.TINY_MODE_TABLE["1/24"][1], [8.0, "L2-psk8"])
        self.assertIn("mode L2-psk8 (auto)", lines[0])
        for args, words in ((["--mode", "L1-psk8", "--levels", "4"],
                             "takes the symbols of 2 levels on 64-QAM, not of 4"),
                            (["--mode", "auto", "--codec", "deep_jscc"],
                             "deep_jscc has no transmission modes"),
                            (["--mode", "L5-psk8"], "unknown transmission mode 'L5-psk8'")):
            with self.subTest(words), self.assertRaises(SystemExit) as caught:
                self.run_example("--weights", weights, *args)
            self.assertIn(words, str(caught.exception))

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

    def bad_inputs(self):
        """{case: (example arguments, words the one error line must hold)}."""
        import torch
        from semcom_codec import malformed

        folder = tempfile.mkdtemp(dir=self.tmp.name)
        bad = {os.path.basename(p): p for p in malformed.malformed_image_files(folder, 12)}
        hostile = malformed.hostile_weight_files(os.path.join(folder, "w"), self.weights,
                                                 os.path.join(self.tmp.name, "PWNED"))
        cases = {name: (["--image", bad[name]], words) for name, words in (
            ("empty.png", "empty"), ("text.png", "not a readable image"),
            ("bomb_png_30000.png", "decompression bomb"),
            ("bomb_jpeg_9000.jpg", "over gr-semcom's limit"),
            ("missing.png", "not found"), ("directory.png", "not a regular file"),
            ("fifo.png", "not a regular file"))}
        truncated = next(p for n, p in bad.items() if n.startswith("truncated_png"))
        cases["truncated"] = (["--image", truncated], "not a readable image")
        for shape in ((1, 1), (9, 7), (30, 30)):
            path = os.path.join(self.tmp.name, f"tiny_{shape[0]}x{shape[1]}.png")
            Image.fromarray(np.zeros(shape + (3,), np.uint8)).save(path)
            cases[f"tiny {shape}"] = (["--image", path], "LPIPS is not defined")
        for name in ("exploit_legacy_pickle", "config_str", "state_dict_nan"):
            cases[name] = (["--image", self.image, "--weights", hostile[name]], hostile[name])
        if not torch.cuda.is_available():
            cases["no GPU"] = (["--image", self.image, "--device", "cuda"], "no CUDA GPU")
        return cases

    def test_bad_input_gives_one_line_and_a_failure_status(self):
        for case, (args, words) in self.bad_inputs().items():
            with self.subTest(case), self.assertRaises(SystemExit) as caught:
                self.example.main(args + ["--weights", self.weights] * ("--weights" not in args)
                                  + ["--out", os.path.join(self.tmp.name, "never.png")])
            message = str(caught.exception)
            self.assertTrue(message.startswith("loopback_awgn: error: "), message)
            self.assertIn(words, message)
            self.assertNotIn("\n", message)
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "PWNED")))
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "never.png")))

    def test_bad_input_in_a_process_prints_no_traceback(self):
        import subprocess
        import sys

        cases = self.bad_inputs()
        for case in ("bomb_png_30000.png", "exploit_legacy_pickle"):
            args, words = cases[case]
            if "--weights" not in args:
                args = args + ["--weights", self.weights]
            result = subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "examples",
                                                                  "loopback_awgn.py"), *args],
                                    capture_output=True, text=True, timeout=120)
            with self.subTest(case):
                self.assertEqual(result.returncode, 1)
                self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
                self.assertIn(words, result.stderr)


if __name__ == "__main__":
    gr_unittest.run(qa_loopback_example)
