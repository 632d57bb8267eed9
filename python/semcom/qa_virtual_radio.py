#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""examples/ota_virtual_radio.py: transmitter and receiver as two processes joined by
ZMQ on this machine's loopback address, one image through the simulated air."""

import os
import socket
import subprocess
import sys
import tempfile

import numpy as np
from gnuradio import gr_unittest
from PIL import Image

from qa_grc_examples import EXAMPLES
from qa_image_blocks import make_weights


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class qa_virtual_radio(gr_unittest.TestCase):
    def test_one_image_between_two_processes(self):
        from semcom_codec.images import load_image

        with tempfile.TemporaryDirectory(prefix="qa_virtual_radio_") as folder:
            weights = make_weights(folder)
            image = os.path.join(folder, "sent.png")
            rng = np.random.default_rng(2)
            Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(image)
            address = f"tcp://127.0.0.1:{free_port()}"
            script = os.path.join(EXAMPLES, "ota_virtual_radio.py")
            out = os.path.join(folder, "received")
            rx = subprocess.Popen([sys.executable, script, "rx", "--address", address,
                                   "--weights", weights, "--images", "1", "--timeout", "60",
                                   "--out-dir", out], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
            tx = subprocess.run([sys.executable, script, "tx", "--address", address,
                                 "--weights", weights, "--image", image, "--snr", "30",
                                 "--cfo", "-0.04", "--sro", "-55", "--phase-noise", "1"],
                                capture_output=True, text=True, timeout=180)
            stdout, stderr = rx.communicate(timeout=180)
            self.assertEqual(tx.returncode, 0, tx.stderr)
            self.assertIn("tx: 1 images in 1 bursts", tx.stdout)
            self.assertEqual(rx.returncode, 0, stdout + stderr)
            self.assertIn("rx: 1 images decoded", stdout)
            self.assertIn("1 decoded, 0 dropped, 0 missing", stdout)
            received = load_image(os.path.join(out, "frame_000000.png"))
            self.assertEqual(received.shape, (48, 64, 3))


if __name__ == "__main__":
    gr_unittest.run(qa_virtual_radio)
