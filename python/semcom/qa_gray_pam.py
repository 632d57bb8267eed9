#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""The Gray N-PAM kernel against tables written out here, independent of its formula."""

import json
import os

import numpy as np
from gnuradio import gr_unittest

from gnuradio import semcom

SOURCE_DIR = os.environ.get(
    "SEMCOM_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# Gray label carried by PAM position 0, 1, ..., N-1 (lowest amplitude first), written out.
GRAY_LABEL_BY_POSITION = {
    2: [0, 1],
    4: [0, 1, 3, 2],
    8: [0, 1, 3, 2, 6, 7, 5, 4],
    16: [0, 1, 3, 2, 6, 7, 5, 4, 12, 13, 15, 14, 10, 11, 9, 8],
}
# Mean energy of square N^2-QAM on the odd-integer grid: 2 (N^2 - 1) / 3.
MEAN_GRID_ENERGY = {2: 2.0, 4: 10.0, 8: 42.0, 16: 170.0}


def expected_symbol(order, first, second):
    """Symbol for an index pair from the literal tables above."""
    labels = GRAY_LABEL_BY_POSITION[order]
    grid = lambda label: 2 * labels.index(label) - (order - 1)
    return complex(grid(first), grid(second)) / np.sqrt(MEAN_GRID_ENERGY[order])


class qa_gray_pam(gr_unittest.TestCase):
    def test_every_pair_against_table(self):
        for order in (2, 4, 8, 16):
            pam = semcom.gray_pam(order)
            pairs = [(a, b) for a in range(order) for b in range(order)]
            indices = np.array(pairs, dtype=np.uint8).ravel()
            got = pam.map(indices)
            want = np.array([expected_symbol(order, a, b) for a, b in pairs])
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-6, err_msg=f"N={order}")

    def test_64qam_corner_and_centre_points(self):
        pam = semcom.gray_pam(8)
        got = pam.map(np.array([4, 4, 0, 0, 2, 6], dtype=np.uint8))
        s = 1 / np.sqrt(42)
        np.testing.assert_allclose(got, [7 * s + 7j * s, -7 * s - 7j * s, -1 * s + 1j * s],
                                   atol=1e-6)

    def test_adjacent_amplitudes_differ_in_one_bit(self):
        for order in (2, 4, 8, 16):
            pam = semcom.gray_pam(order)
            amps = np.array(pam.position_amplitudes())
            self.assertTrue(np.all(np.diff(amps) > 0))
            labels = [int(np.argmin([abs(pam.amplitude(k) - a) for k in range(order)]))
                      for a in amps]
            self.assertEqual(sorted(labels), list(range(order)))
            for lo, hi in zip(labels, labels[1:]):
                self.assertEqual(bin(lo ^ hi).count("1"), 1, f"N={order}: {lo} -> {hi}")

    def test_unit_average_symbol_energy(self):
        for order in (2, 4, 8, 16):
            pam = semcom.gray_pam(order)
            grid = np.array(np.meshgrid(range(order), range(order))).reshape(2, -1).T
            symbols = pam.map(grid.astype(np.uint8).ravel())
            self.assertAlmostEqual(float(np.mean(np.abs(symbols) ** 2)), 1.0, places=6)

    def test_bit_identical_to_codec_package_channel(self):
        """Training simulates the channel in torch; it must be this mapping exactly."""
        from semcom_codec.phy import constellation

        rng = np.random.default_rng(8)
        for order in (2, 4, 8, 16):
            indices = rng.integers(0, order, 4096).astype(np.uint8)
            ours = semcom.gray_pam(order).map(indices)
            theirs = constellation.map_indices(indices, order).numpy()
            np.testing.assert_array_equal(ours, theirs, err_msg=f"N={order}")
            noisy = (ours + 0.3 * rng.standard_normal(ours.shape)).astype(np.complex64)
            np.testing.assert_array_equal(semcom.gray_pam(order).hard_demap(noisy),
                                          constellation.hard_demap(noisy, order).numpy())

    def test_shared_test_vectors(self):
        """The vectors that the codec package's tests also check (codec/tests/data)."""
        path = os.path.join(SOURCE_DIR, "codec", "tests", "data", "gray_qam_vectors.json")
        with open(path) as f:
            vectors = json.load(f)
        self.assertEqual(sorted(vectors, key=int), ["2", "4", "8", "16"])
        for order, case in vectors.items():
            got = semcom.gray_pam(int(order)).map(np.array(case["indices"], np.uint8).ravel())
            want = np.array([complex(re, im) for re, im in case["symbols"]])
            np.testing.assert_allclose(got, want, atol=1e-6, err_msg=f"N={order}")

    def test_bad_index_names_value_and_position(self):
        pam = semcom.gray_pam(8)
        with self.assertRaisesRegex(ValueError, r"index 9 at stream position 3 .*0\.\.7"):
            pam.map(np.array([0, 1, 2, 9], dtype=np.uint8))
        with self.assertRaisesRegex(ValueError, r"index 255 at stream position 0"):
            pam.map(np.array([255, 0], dtype=np.uint8))

    def test_bad_order_and_shapes(self):
        for order in (0, 3, 6, 32, 64):
            with self.assertRaisesRegex(ValueError, f"must be 2, 4, 8 or 16, got {order}"):
                semcom.gray_pam(order)
        with self.assertRaisesRegex(ValueError, "even number"):
            semcom.gray_pam(8).map(np.zeros(3, dtype=np.uint8))
        with self.assertRaises(IndexError):
            semcom.gray_pam(8).amplitude(8)


if __name__ == "__main__":
    gr_unittest.run(qa_gray_pam)
