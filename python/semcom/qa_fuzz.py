#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Bounded, seeded fuzz of the image blocks.

10,000 corrupted frames (flipped and random header bytes, CRC-valid headers with absurd
sizes, levels, payload lengths, versions and codec ids, NaN / Inf / zero / huge samples,
frames cut anywhere, headers cut near their end, back-to-back frames, noise) stream
into one image_sink, a valid frame after every 50 of them. The flowgraph must end by
itself, decode every valid frame whole, report no cut frame as whole (each cut frame
is followed by the start of another), and stay under 1 GB. 100 malformed image files go into one image_source among readable ones.
"""

import os
import resource
import sys

import numpy as np
from gnuradio import gr, gr_unittest

from gnuradio import semcom
from gnuradio.semcom import framing
from qa_image_blocks import ImageFixture
from qa_image_faults import crc_valid, forged_frame, run_to_end, symbols_of

CORRUPTED = int(os.environ.get("SEMCOM_FUZZ_FRAMES", 10_000))
VALID_EVERY = 50
VALID_BASE, CUT_BASE, OTHER_BASE = 1_000_000, 2_000_000, 3_000_000
SEED = 12
HEAD = framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS


class chunk_source(gr.sync_block):
    """Streams the complex chunks of an iterator, then ends (so nothing is held whole)."""

    def __init__(self, chunks):
        gr.sync_block.__init__(self, name="chunk_source", in_sig=None, out_sig=[np.complex64])
        self.chunks, self.pending = iter(chunks), np.zeros(0, np.complex64)

    def work(self, input_items, output_items):
        while self.pending.size == 0:
            chunk = next(self.chunks, None)
            if chunk is None:
                return -1  # WORK_DONE
            self.pending = np.asarray(chunk, dtype=np.complex64)
        out = output_items[0]
        n = min(len(out), self.pending.size)
        out[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


class Corruptor:
    """Corrupted frames of every kind, one per call, from a seeded generator."""

    def __init__(self, frames, codec_id, rng):
        self.frames, self.codec_id, self.rng = frames, codec_id, rng
        self.kinds = [getattr(self, name) for name in sorted(dir(self))
                      if name.startswith("kind_")]
        self.count = 0

    def real(self, base):
        """A real frame (index bytes) of one of the test images, numbered base + count."""
        self.count += 1
        return self.frames[self.count % len(self.frames)](base + self.count)

    @staticmethod
    def header_of(frame):
        return framing.decode_header(symbols_of(frame[2 * framing.SYNC_SYMBOLS:2 * HEAD]))

    def __call__(self):
        kind = self.kinds[int(self.rng.integers(len(self.kinds)))]
        return symbols_of(kind()) if kind.__name__.startswith("kind_i") else kind()

    # -- kinds that return index bytes ----------------------------------------------------

    def kind_i_flipped_header_bits(self):
        frame = self.real(OTHER_BASE).copy()
        raw = bytearray(self.header_of(frame).pack())
        for _ in range(int(self.rng.integers(1, 9))):
            raw[int(self.rng.integers(len(raw)))] ^= 1 << int(self.rng.integers(8))
        frame[2 * framing.SYNC_SYMBOLS:2 * HEAD] = framing.header_bytes_indices(bytes(raw))
        return frame

    def kind_i_random_header_bytes(self):
        raw = self.rng.integers(0, 256, framing.HEADER_BYTES, dtype=np.uint8).tobytes()
        return forged_frame(raw, int(self.rng.integers(0, 300)), self.rng)

    def kind_i_crc_valid_random_fields(self):
        r = self.rng.integers
        fields = (int(r(0, 2 ** 32)), int(r(0, 2 ** 16)), int(r(0, 2 ** 16)), int(r(0, 256)),
                  int(r(0, 2 ** 32)), int(r(0, 2 ** 32)))
        return forged_frame(crc_valid(*fields, version=int(r(0, 3))),
                            int(r(0, 300)), self.rng)

    def kind_i_crc_valid_absurd_sizes(self):
        h, w = [(65535, 65535), (4096, 8192), (8192, 8192), (0, 0), (1, 65535),
                (65535, 1)][int(self.rng.integers(6))]
        payload = 4 * 4 * -(-h // 8) * -(-w // 8)
        return forged_frame(crc_valid(OTHER_BASE, h, w, 4, self.codec_id, payload & 0xFFFFFFFF),
                            int(self.rng.integers(0, 600)), self.rng)

    def kind_i_crc_valid_big_frame_cut_short(self):
        # 4096 x 4096 at L4 is allowed, but only a few hundred of its 2 M symbols come
        return forged_frame(crc_valid(CUT_BASE, 4096, 4096, 4, self.codec_id,
                                      4 * 4 * 512 * 512), int(self.rng.integers(0, 900)),
                            self.rng)

    def kind_i_crc_valid_absurd_levels_and_payloads(self):
        levels = [0, 5, 9, 255][int(self.rng.integers(4))]
        payload = int(self.rng.integers(0, 2 ** 32))
        return forged_frame(crc_valid(OTHER_BASE, 40, 48, levels, self.codec_id, payload),
                            int(self.rng.integers(0, 200)), self.rng)

    def kind_i_wrong_codec_id(self):
        frame = self.real(OTHER_BASE).copy()
        h = self.header_of(frame)
        wrong = (self.codec_id + 1 + int(self.rng.integers(2 ** 31))) & 0xFFFFFFFF
        frame[2 * framing.SYNC_SYMBOLS:2 * HEAD] = framing.header_bytes_indices(
            crc_valid(h.frame, h.height, h.width, h.levels, wrong, h.payload))
        return frame

    # A cut frame is followed by the next frame's start, as bursts on the air are: cut
    # and followed by noise alone, it could not be told from a whole noisy frame.
    def kind_i_cut_anywhere(self):
        frame = self.real(CUT_BASE)
        return np.concatenate([frame[:2 * int(self.rng.integers(1, len(frame) // 2 - 1))],
                               self.real(OTHER_BASE)])

    def kind_i_header_cut_near_its_end(self):
        frame = self.real(CUT_BASE)
        return np.concatenate([frame[:2 * (HEAD - int(self.rng.integers(1, 49)))],
                               self.real(OTHER_BASE)])

    def kind_i_back_to_back(self):  # two whole frames, no gap: both count as valid
        return np.concatenate([self.real(OTHER_BASE), self.real(OTHER_BASE)])

    # -- kinds that return samples --------------------------------------------------------

    def kind_s_bad_samples(self):
        symbols = symbols_of(self.real(OTHER_BASE))
        start = int(self.rng.integers(0, len(symbols) - 1))
        length = int(self.rng.integers(1, len(symbols) - start))
        value = [np.nan, np.inf, -np.inf, 0.0, 1e30, complex(np.nan, 1e38),
                 complex(3e38, -3e38)][int(self.rng.integers(7))]
        symbols[start:start + length] = value
        return symbols

    def kind_s_noise(self):
        n = int(self.rng.integers(1, 6000))
        scale = [1e-3, 0.5, 1.0, 3.0][int(self.rng.integers(4))]
        return (self.rng.standard_normal(n) + 1j * self.rng.standard_normal(n)) * scale

    def kind_s_noisy_real_frame(self):  # at -5 dB nothing is promised, nothing may break
        symbols = symbols_of(self.real(OTHER_BASE))
        n = len(symbols)
        noise = self.rng.standard_normal(n) + 1j * self.rng.standard_normal(n)
        return symbols + noise * np.sqrt(10 ** 0.5 / 2)


class qa_fuzz(ImageFixture, gr_unittest.TestCase):
    SIZES = ((40, 48), (24, 16), (9, 70))
    SEED = SEED

    def test_ten_thousand_corrupted_frames_into_the_sink(self):
        from semcom_codec.images import load_image

        src = semcom.image_source(images=self.images, weights=self.weights, levels=2,
                                  device="cpu")
        # each image encoded once; a frame number is a header field
        encoded = [(src.codec.model.encode_image(load_image(p), 2)) for p in self.images]

        def maker(indices, size):
            def frame(number):
                header = framing.FrameHeader(frame=number, height=size[0], width=size[1],
                                             levels=2, codec_id=src.codec_id,
                                             payload=indices.size)
                return framing.frame_indices(header, indices)
            return frame

        rng = np.random.default_rng(SEED)
        corrupt = Corruptor([maker(*e) for e in encoded], src.codec_id, rng)
        valid = []

        def stream():
            for i in range(CORRUPTED):
                yield corrupt()
                if i % VALID_EVERY == VALID_EVERY - 1:
                    valid.append(VALID_BASE + len(valid))
                    yield symbols_of(corrupt.frames[len(valid) % 3](valid[-1]))
            yield np.zeros(2 * framing.SYNC_SYMBOLS, np.complex64)

        snk = semcom.image_sink(weights=self.weights, device="cpu", history=10 ** 6)
        tb = gr.top_block()
        source = chunk_source(stream())  # held: GNU Radio does not keep Python blocks alive
        tb.connect(source, snk)
        self.assertTrue(run_to_end(tb, timeout=600), "the fuzzed flowgraph did not end")
        self.assertEqual(len(valid), CORRUPTED // VALID_EVERY)
        whole = {r["frame"] for r in snk.results if not r["truncated"]}
        self.assertEqual(sorted(set(valid) - whole), [])  # every valid frame, whole
        cut_as_whole = [r["frame"] for r in snk.results
                        if CUT_BASE <= r["frame"] < OTHER_BASE and not r["truncated"]]
        self.assertEqual(cut_as_whole, [])
        self.assertEqual(snk.failed, 0)
        self.assertGreater(snk.bad_headers, CORRUPTED // 4)
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"\nfuzz: {CORRUPTED} corrupted + {len(valid)} valid frames: {snk.decoded} "
              f"decoded ({snk.truncated} truncated), {snk.bad_headers} bad headers, "
              f"{snk.dropped} dropped, {snk.failed} failed; peak RSS {peak_kib / 1024:.0f} MiB",
              file=sys.stderr)
        self.assertLess(peak_kib, 1 << 20, f"peak RSS {peak_kib / 1024:.0f} MiB")

    def test_hundred_malformed_files_into_the_source(self):
        from semcom_codec import malformed

        bad = [p for p in malformed.malformed_image_files(os.path.join(self.dir, "bad"), 101)
               if not p.endswith("directory.png")]  # a folder in a list is expanded
        self.assertEqual(len(bad), 100)
        listed = []
        for i, path in enumerate(bad):
            listed.append(path)
            if i % 10 == 9:
                listed.append(self.images[(i // 10) % len(self.images)])
        src = semcom.image_source(images=listed, weights=self.weights, levels=1, device="cpu")
        snk = semcom.image_sink(weights=self.weights, device="cpu", history=100)
        tb = gr.top_block()
        tb.connect(src, semcom.index_mapper(order=8), snk)
        self.assertTrue(run_to_end(tb), "image_source hung on a malformed file")
        self.assertEqual((src.frames_sent, src.skipped), (10, 100))
        self.assertEqual([r["frame"] for r in snk.results], list(range(10)))


if __name__ == "__main__":
    gr_unittest.run(qa_fuzz)
