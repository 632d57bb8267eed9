#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""In-band frames: header round trip and CRC, sync search, decoding at -5 dB."""

import numpy as np
from gnuradio import gr_unittest

from gnuradio import semcom
from gnuradio.semcom import framing

HEADER = framing.FrameHeader(frame=7, height=37, width=50, levels=3, codec_id=0xDEADBEEF,
                             payload=1234)


def on_air(indices):
    return semcom.gray_pam(8).map(indices)


def awgn(symbols, esn0_db, rng):
    n0 = 10 ** (-esn0_db / 10)
    noise = rng.standard_normal((len(symbols), 2)) @ np.array([1, 1j]) * np.sqrt(n0 / 2)
    return symbols + noise


class qa_framing(gr_unittest.TestCase):
    def test_header_round_trip_and_crc(self):
        packed = HEADER.pack()
        self.assertEqual(len(packed), framing.HEADER_BYTES)
        self.assertEqual(framing.FrameHeader.unpack(packed), HEADER)
        for byte in range(len(packed)):
            corrupt = bytearray(packed)
            corrupt[byte] ^= 0x10
            self.assertIsNone(framing.FrameHeader.unpack(bytes(corrupt)), f"byte {byte}")

    def test_the_levels_byte_carries_the_transmission_mode(self):
        """Levels in the low nibble, the mode number in the high one: a frame without a
        mode packs as before the modes existed (the levels byte is the level count)."""
        import dataclasses
        import struct

        offset = struct.calcsize(">BIHH")
        self.assertEqual(HEADER.pack()[offset], 3)
        moded = dataclasses.replace(HEADER, levels=2, mode=2)
        self.assertEqual(moded.pack()[offset], 0x22)
        back = framing.FrameHeader.unpack(moded.pack())
        self.assertEqual((back.levels, back.mode), (2, 2))
        self.assertEqual(back.transmission_mode().name, "L2-psk8")
        self.assertEqual(HEADER.transmission_mode().name, "L3-qam64")
        with self.assertRaisesRegex(ValueError, "sends 2 levels, the header says 3"):
            dataclasses.replace(HEADER, mode=2).transmission_mode()
        with self.assertRaisesRegex(ValueError, "four bits"):
            dataclasses.replace(HEADER, levels=16)

    def test_crc16_reference_value(self):
        self.assertEqual(framing.crc16(b"123456789"), 0x29B1)  # CRC-16/CCITT-FALSE check

    def test_frame_layout(self):
        payload = np.arange(HEADER.payload) % 8
        indices = framing.frame_indices(HEADER, payload)
        self.assertEqual(len(indices) // 2, framing.frame_symbols(HEADER))
        start = 2 * (framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS)
        np.testing.assert_array_equal(indices[start:], payload)
        sync = on_air(framing.sync_indices())
        np.testing.assert_allclose(np.abs(sync) ** 2, 98 / 42, rtol=1e-6)  # corner points
        with self.assertRaisesRegex(ValueError, "header says 1234 indices, payload has 3"):
            framing.frame_indices(HEADER, [1, 2, 3])

    def test_clean_header_decodes_and_corrupted_one_is_refused(self):
        symbols = on_air(framing.header_indices(HEADER))
        self.assertEqual(framing.decode_header(symbols), HEADER)
        flipped = symbols.copy()
        flipped[: framing.REPEAT] *= -1  # every chip of the first bit inverted
        self.assertIsNone(framing.decode_header(flipped))
        self.assertIsNone(framing.decode_header(symbols[:100]))

    def test_sync_found_exactly_between_payloads(self):
        rng = np.random.default_rng(1)
        frame = framing.frame_indices(HEADER, rng.integers(0, 8, HEADER.payload))
        stream = np.concatenate([rng.integers(0, 8, 2 * 500), frame, frame]).astype(np.uint8)
        corr = framing.sync_correlation(awgn(on_air(stream), 0, rng))
        peaks = np.flatnonzero(corr > 0.6)
        starts = [500, 500 + framing.frame_symbols(HEADER)]
        self.assertEqual(sorted(set(peaks)), starts)

    def test_header_survives_minus_5_db(self):
        rng = np.random.default_rng(2)
        symbols = on_air(framing.sync_indices())
        header = on_air(framing.header_indices(HEADER))
        frames, found = 300, 0
        for _ in range(frames):
            y = awgn(np.concatenate([symbols, header]), -5, rng)
            start = int(np.argmax(framing.sync_correlation(y)))
            found += start == 0 and framing.decode_header(y[framing.SYNC_SYMBOLS:]) == HEADER
        self.assertGreaterEqual(found / frames, 0.99)


if __name__ == "__main__":
    gr_unittest.run(qa_framing)
