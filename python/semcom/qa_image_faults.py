#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Faults stay local: each defect of issue 12 in the image blocks, as a flowgraph.

A frame or image that cannot be processed is logged, counted and skipped; the flowgraph
goes on and ends when its input ends; memory follows what a long run needs.
"""

import os
import resource
import struct
import threading
import time

import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest

from gnuradio import semcom
from gnuradio.semcom import framing
from qa_image_blocks import ImageFixture

ORDER = 8


def run_to_end(tb, timeout=120.0):
    """tb.run() with a deadline: True when the flowgraph ended by itself."""
    runner = threading.Thread(target=tb.run, daemon=True)
    runner.start()
    runner.join(timeout)
    if runner.is_alive():
        tb.stop()
        return False
    return True


def symbols_of(indices):
    return semcom.gray_pam(ORDER).map(np.asarray(indices, dtype=np.uint8))


def forged_frame(header_bytes, payload_symbols, rng):
    """Sync, the given raw header bytes, and random payload symbols (index pairs)."""
    return np.concatenate([framing.sync_indices(ORDER),
                           framing.header_bytes_indices(header_bytes, ORDER),
                           rng.integers(0, ORDER, 2 * payload_symbols, dtype=np.uint8)])


def crc_valid(frame, height, width, levels, codec_id, payload, version=framing.VERSION):
    body = struct.pack(">BIHHBII", version, frame, height, width, levels, codec_id, payload)
    return body + struct.pack(">H", framing.crc16(body))


class qa_image_faults(ImageFixture, gr_unittest.TestCase):
    SIZES = ((40, 48), (24, 16))
    SEED = 1

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.source = semcom.image_source(images=cls.images, weights=cls.weights, levels=2,
                                         device="cpu")

    def frame(self, number, which=0):
        from semcom_codec.images import load_image

        return self.source.frame_for(load_image(self.images[which]), number)

    def sink(self, **kw):
        kw.setdefault("history", 1000)
        return semcom.image_sink(weights=self.weights, device="cpu", **kw)

    def receive(self, indices_or_symbols, **sink_kw):
        """The sink after the stream has run through it (which must end by itself)."""
        stream = np.asarray(indices_or_symbols)
        if stream.dtype == np.uint8:
            stream = symbols_of(stream)
        snk = self.sink(**sink_kw)
        tb = gr.top_block()
        tb.connect(blocks.vector_source_c(stream.astype(np.complex64).tolist()), snk)
        self.assertTrue(run_to_end(tb), "the flowgraph did not end")
        return snk

    def frames_received(self, snk):
        return [(r["frame"], r["truncated"]) for r in snk.results]

    # -- memory ---------------------------------------------------------------------------

    def test_results_are_a_bounded_history(self):
        stream = np.concatenate([self.frame(i, i % 2) for i in range(12)] +
                                [np.zeros(400, np.uint8)])
        snk = self.receive(stream, history=3)
        self.assertEqual(snk.decoded, 12)
        self.assertEqual([r["frame"] for r in snk.results], [9, 10, 11])
        self.assertEqual(snk.last_result["frame"], 11)
        self.assertEqual(len(self.receive(stream, history=0).results), 0)
        with self.assertRaisesRegex(ValueError, "history must be 0 or more"):
            self.sink(history=-1)

    # -- a frame that fails ---------------------------------------------------------------

    def test_a_reference_smaller_than_lpips_window_gives_the_metrics_that_exist(self):
        # 24 x 16 is under LPIPS' 31 px: PSNR and SSIM are given, LPIPS is left out
        stream = np.concatenate([self.frame(0, 1), np.zeros(400, np.uint8)])
        snk = self.receive(stream, reference=self.images[1])
        self.assertEqual(snk.decoded, 1)
        result = snk.last_result
        self.assertIn("psnr", result)
        self.assertIn("ssim", result)
        self.assertNotIn("lpips", result)

    def test_a_frame_whose_decoding_raises_is_skipped_and_not_decoded_again(self):
        stream = np.concatenate([self.frame(0), self.frame(1), np.zeros(400, np.uint8)])
        snk = self.sink()
        real, calls = snk.codec.model.decode_image, []

        def failing_first(received, size, *args):  # the fault of frame 0 only
            calls.append(size)
            if len(calls) == 1:
                raise MemoryError("no memory for this frame")
            return real(received, size, *args)

        snk.codec.model.decode_image = failing_first
        tb = gr.top_block()
        tb.connect(blocks.vector_source_c(symbols_of(stream).tolist()), snk)
        self.assertTrue(run_to_end(tb))
        self.assertEqual((snk.failed, snk.decoded), (1, 1))
        self.assertEqual(self.frames_received(snk), [(1, False)])
        self.assertEqual(len(calls), 2)  # stop() did not decode frame 0 again

    def test_noise_variances_the_demapper_cannot_use_are_refused_at_the_call(self):
        snk = self.sink(demapping="soft", noise_var=0.1)
        for bad in (float("inf"), float("nan"), 1e-300, 0.0, -1.0, 1e11, "x"):
            with self.assertRaisesRegex(ValueError, "noise variance N0 must be"):
                snk.set_noise_var(bad)
        self.assertEqual(snk.noise_var, 0.1)
        with self.assertRaisesRegex(ValueError, "noise variance N0 must be"):
            self.sink(noise_var=float("inf"))

    def test_unusable_csi_noise_variances_are_taken_as_unknown(self):
        stream = symbols_of(np.concatenate([self.frame(0), np.zeros(400, np.uint8)]))
        noise = np.full(len(stream), 1e-3, np.float32)
        noise[framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS:][:40:4] = [0, np.inf, np.nan,
                                                                          -1, 1e-300, 1e-45,
                                                                          np.inf, 0, 0, 0]
        snk = self.sink(demapping="soft", csi_input=True)
        tb = gr.top_block()
        tb.connect(blocks.vector_source_c(stream.tolist()), (snk, 0))
        tb.connect(blocks.vector_source_f(noise.tolist()), (snk, 1))
        self.assertTrue(run_to_end(tb))
        self.assertEqual((snk.decoded, snk.failed), (1, 0))
        self.assertTrue(np.all(np.isfinite(snk.last_result["image"])))

    # -- headers --------------------------------------------------------------------------

    def test_absurd_header_sizes_cost_nothing_and_the_next_frame_decodes(self):
        rng = np.random.default_rng(2)
        codec_id = self.source.codec_id
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        parts = []
        for frame, (h, w) in enumerate([(65535, 65535), (4096, 8193), (0, 30), (30, 0)]):
            payload = 2 * 4 * -(-h // 8) * -(-w // 8)  # what such an image would need
            parts.append(forged_frame(crc_valid(100 + frame, h, w, 2, codec_id,
                                                payload & 0xFFFFFFFF), 256, rng))
        parts.append(self.frame(0))
        # within the size limit, but cut after 512 symbols: dropped, not "decoded"
        big = 2 * 4 * 512 * 512
        parts.append(forged_frame(crc_valid(200, 4096, 4096, 2, codec_id, big), 512, rng))
        parts += [self.frame(1), np.zeros(400, np.uint8)]
        snk = self.receive(np.concatenate(parts))
        self.assertEqual(self.frames_received(snk), [(0, False), (1, False)])
        self.assertEqual((snk.bad_headers, snk.dropped), (4, 1))
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        self.assertLess(grown, 200_000)  # KiB: no allocation follows a header's claim

    def test_a_frame_cut_near_the_end_of_its_header_loses_nothing_else(self):
        # 1..48 symbols of the header's end replaced by the next frame: whatever the
        # cut header's CRC says, the next frame is found and the cut one not reported
        head = 2 * (framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS)
        parts = []
        for cut in range(1, 49):
            parts += [self.frame(1000 + cut)[:head - 2 * cut], self.frame(cut, 1)]
        parts.append(np.zeros(400, np.uint8))
        snk = self.receive(np.concatenate(parts))
        self.assertEqual(self.frames_received(snk), [(cut, False) for cut in range(1, 49)])
        self.assertEqual(snk.dropped + snk.bad_headers, 48)

    def test_a_frame_cut_in_its_last_symbols_is_truncated_however_the_input_is_chunked(self):
        # frame 0 loses its last 20 symbols, frame 1 follows; when a work() call ends
        # just where frame 0 would be complete, frame 1's sync is not yet whole there
        head = framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS
        cut = symbols_of(self.frame(0)[:-40])
        stream = np.concatenate([cut, symbols_of(self.frame(1)), symbols_of(
            np.zeros(400, np.uint8))]).astype(np.complex64)
        payload = len(symbols_of(self.frame(0))) - head
        for split in (head + payload, head + payload + 50, head + payload + 200):
            snk = self.sink()
            snk.work([stream[:split]], [])
            snk.work([stream[split:]], [])
            snk.stop()
            self.assertEqual(self.frames_received(snk), [(0, True), (1, False)], split)

    def test_a_frame_cut_before_its_first_level_is_dropped(self):
        frame = self.frame(0)
        head = 2 * (framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS)
        first_level = 4 * 5 * 6  # heads x ceil(40/8) x ceil(48/8) indices
        cut = frame[:head + first_level - 2]
        ok = frame[:head + first_level + 2]
        snk = self.receive(np.concatenate([cut, self.frame(1), ok, self.frame(2)]))
        self.assertEqual(self.frames_received(snk), [(1, False), (0, True), (2, False)])
        self.assertEqual(snk.dropped, 1)

    def test_non_finite_and_huge_samples_do_not_stop_the_receiver(self):
        good = symbols_of(np.concatenate([self.frame(0), self.frame(1),
                                          np.zeros(400, np.uint8)]))
        junk = np.array([np.nan, np.inf, -np.inf, 1e30, 0, 1e38 + 1e38j, np.nan * 1j] * 700,
                        dtype=np.complex64)
        head = framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS
        spoilt = good.copy()
        spoilt[head:head + 50] = np.nan  # the payload of frame 0 partly NaN
        snk = self.receive(np.concatenate([junk, spoilt, junk]))
        self.assertEqual(self.frames_received(snk), [(0, False), (1, False)])
        self.assertEqual(snk.failed, 0)
        self.assertTrue(all(np.all(np.isfinite(r["image"])) for r in snk.results))

    # -- image source ---------------------------------------------------------------------

    def test_unreadable_files_in_the_list_are_skipped_and_the_flowgraph_ends(self):
        from semcom_codec import malformed

        bad = [p for p in malformed.malformed_image_files(os.path.join(self.dir, "bad_list"), 11)
               if not p.endswith("directory.png")]  # a folder in the list is expanded
        listed = [bad[0], self.images[0], *bad[1:6], self.images[1], *bad[6:]]
        src = semcom.image_source(images=listed, weights=self.weights, levels=2, device="cpu")
        sink = blocks.vector_sink_b()
        tb = gr.top_block()
        tb.connect(src, sink)
        self.assertTrue(run_to_end(tb), "image_source hung on an unreadable file")
        self.assertEqual((src.frames_sent, src.skipped), (2, 10))
        snk = self.receive(np.array(sink.data(), dtype=np.uint8))
        self.assertEqual(self.frames_received(snk), [(0, False), (1, False)])

    def test_a_repeated_list_of_only_unreadable_files_ends(self):
        from semcom_codec import malformed

        bad = malformed.malformed_image_files(os.path.join(self.dir, "bad_repeat"), 4)
        src = semcom.image_source(images=bad, weights=self.weights, device="cpu", repeat=True)
        tb = gr.top_block()
        tb.connect(src, blocks.null_sink(gr.sizeof_char))
        self.assertTrue(run_to_end(tb))
        self.assertEqual((src.frames_sent, src.skipped), (0, 4))

    def test_a_bomb_message_does_not_stop_later_messages(self):
        from semcom_codec import malformed

        with open(self.images[0], "rb") as f:
            good = f.read()
        messages = [malformed.png_bomb(12000), b"not an image", good,
                    malformed.png_claiming(30000, 30000), good]
        src = semcom.image_source(weights=self.weights, levels=1, device="cpu",
                                  wait_for_messages=True)
        tb = gr.top_block()
        tb.connect(src, blocks.null_sink(gr.sizeof_char))
        tb.start()
        try:
            for data in messages:
                pdu = pmt.cons(pmt.PMT_NIL, pmt.init_u8vector(len(data), list(data)))
                src.to_basic_block()._post(pmt.intern("image"), pdu)
            src.to_basic_block()._post(pmt.intern("image"), pmt.from_long(3))  # not a PDU
            deadline = time.monotonic() + 60.0
            while src.frames_sent + src.skipped < 6 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            tb.stop()
            tb.wait()
        self.assertEqual((src.frames_sent, src.skipped), (2, 4))

    def test_hostile_weight_files_are_refused_by_the_blocks(self):
        from semcom_codec import malformed

        sentinel = os.path.join(self.dir, "PWNED")
        files = malformed.hostile_weight_files(os.path.join(self.dir, "hostile"), self.weights,
                                               sentinel)
        for name, path in files.items():
            if name == "permutations_bad":  # the blocks do not read the reordering
                continue
            for make in (lambda: semcom.image_sink(weights=path, device="cpu"),
                         lambda: semcom.image_source(images=self.images, weights=path,
                                                     device="cpu")):
                with self.subTest(name), self.assertRaises((ValueError, FileNotFoundError)) as err:
                    make()
                self.assertIn(path, str(err.exception))
        self.assertFalse(os.path.exists(sentinel))


if __name__ == "__main__":
    gr_unittest.run(qa_image_faults)
