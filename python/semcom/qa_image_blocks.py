#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""image_source -> index_mapper -> channel -> image_sink with a small untrained codec."""

import os
import tempfile

import numpy as np
import pmt
import torch
from gnuradio import analog, blocks, gr, gr_unittest
from PIL import Image

from gnuradio import semcom
from gnuradio.semcom import framing


def make_weights(folder):
    """A tiny codec of the real architecture (k-means-initialised, NRB attached)."""
    from semcom_codec.systems.moc_rvq.model import SemanticCodec, save_codec
    from semcom_codec.systems.moc_rvq.config import get_config
    from semcom_codec.systems.moc_rvq.nrb import NoiseReductionBlock

    torch.manual_seed(0)
    codec = SemanticCodec(get_config("tiny"))
    codec.quantizer.init_from_data(codec.encoder(torch.rand(2, 3, 64, 64)).detach(),
                                   generator=torch.Generator().manual_seed(0))
    codec.nrb = NoiseReductionBlock(codec.cfg)
    path = os.path.join(folder, "tiny.pt")
    save_codec(codec.eval(), path)
    return path


class ImageFixture:
    """Class fixture of the image-block tests: a temporary folder with tiny weights and
    random test images of SIZES (drawn with SEED)."""

    SIZES = ((37, 50), (24, 16))
    SEED = 0

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix=f"{cls.__name__}_")
        cls.dir = cls.tmp.name
        cls.weights = make_weights(cls.dir)
        rng = np.random.default_rng(cls.SEED)
        cls.images = []
        for i, size in enumerate(cls.SIZES):
            path = os.path.join(cls.dir, f"img{i}.png")
            Image.fromarray(rng.integers(0, 256, size + (3,), dtype=np.uint8)).save(path)
            cls.images.append(path)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()


class qa_image_blocks(ImageFixture, gr_unittest.TestCase):

    def source(self, **kw):
        return semcom.image_source(self.images, weights=self.weights, device="cpu", **kw)

    def sink(self, **kw):
        return semcom.image_sink(weights=self.weights, device="cpu", **kw)

    def loopback(self, esn0_db, **sink_kw):
        """Source -> mapper -> AWGN at ``esn0_db`` -> sink that knows the noise variance."""
        sink_kw.setdefault("noise_var", 10 ** (-esn0_db / 10))
        tb = gr.top_block()
        src, snk = self.source(levels=3), self.sink(**sink_kw)
        noise = analog.noise_source_c(analog.GR_GAUSSIAN, 10 ** (-esn0_db / 20), 3)
        add = blocks.add_cc()
        tb.connect(src, semcom.index_mapper(8), (add, 0))
        tb.connect(noise, (add, 1))
        tb.connect(add, snk)
        tb.run()
        return src, snk

    def test_clean_loopback_gives_the_noiseless_codec_images(self):
        from semcom_codec.images import load_image

        src, snk = self.loopback(40, output_dir=os.path.join(self.dir, "out"))
        self.assertEqual([r["frame"] for r in snk.results], [0, 1])
        self.assertEqual(snk.bad_headers, 0)
        for path, result in zip(self.images, snk.results):
            image = load_image(path)
            indices, size = src.codec.model.encode_image(image, 3)
            # the codec's own decoding for a receiver at 40 dB, without the channel
            want = src.codec.model.decode_image(indices, size, esn0_db=40.0)
            self.assertFalse(result["truncated"])
            np.testing.assert_array_equal(result["image"], want)
            self.assertTrue(os.path.isfile(result["path"]))
            self.assertEqual((result["height"], result["width"]), image.shape[:2])

    def test_sent_and_received_images_are_published_as_pdus(self):
        from gnuradio.semcom.image_view import pdu_image
        from semcom_codec.images import load_image, to_uint8

        tb = gr.top_block()
        src, snk = self.source(levels=2), self.sink()
        sent, received = blocks.message_debug(), blocks.message_debug()
        tb.connect(src, semcom.index_mapper(8), snk)
        tb.msg_connect(src, "sent", sent, "store")
        tb.msg_connect(snk, "image", received, "store")
        tb.run()
        self.assertEqual((sent.num_messages(), received.num_messages()), (2, 2))
        for i, path in enumerate(self.images):
            meta, pixels = pdu_image(sent.get_message(i))
            self.assertEqual((meta["frame"], meta["levels"], meta["source"]), (i, 2, path))
            np.testing.assert_array_equal(pixels, to_uint8(load_image(path)))
            meta, pixels = pdu_image(received.get_message(i))
            self.assertEqual((meta["frame"], meta["truncated"]), (i, False))
            np.testing.assert_array_equal(pixels, to_uint8(snk.results[i]["image"]))

    def test_grayscale_rgba_and_16_bit_png_go_through_as_rgb(self):
        rng = np.random.default_rng(5)
        paths = []
        for name, array, mode in (
                ("gray.png", rng.integers(0, 256, (19, 21), dtype=np.uint8), "L"),
                ("rgba.png", rng.integers(0, 256, (13, 30, 4), dtype=np.uint8), "RGBA"),
                ("deep.png", rng.integers(0, 65536, (17, 9), dtype=np.uint16), "I;16")):
            path = os.path.join(self.dir, name)
            image = Image.fromarray(array)
            self.assertEqual(image.mode, mode)
            image.save(path)
            paths.append(path)
        tb = gr.top_block()
        src = semcom.image_source(paths, weights=self.weights, levels=2, device="cpu")
        snk = self.sink()
        tb.connect(src, semcom.index_mapper(8), snk)
        tb.run()
        self.assertEqual([r["image"].shape for r in snk.results],
                         [(19, 21, 3), (13, 30, 3), (17, 9, 3)])
        self.assertEqual(snk.bad_headers, 0)

    def test_soft_demapping_at_high_snr_matches_hard(self):
        _, hard = self.loopback(60)
        _, soft = self.loopback(60, demapping="soft", noise_var=1e-6)
        for a, b in zip(hard.results, soft.results):
            np.testing.assert_allclose(a["image"], b["image"], atol=1e-5)

    def test_corrupted_header_is_dropped_and_next_frame_found(self):
        src = self.source(levels=2)
        from semcom_codec.images import load_image

        frames = [src.frame_for(load_image(p), i) for i, p in enumerate(self.images)]
        start = 2 * framing.SYNC_SYMBOLS
        corrupt = frames[0].copy()
        corrupt[start:start + 2 * framing.HEADER_SYMBOLS // 3] ^= 4  # flip the corner side
        stream = np.concatenate([corrupt, frames[1]])
        snk = self.sink()
        tb = gr.top_block()
        tb.connect(blocks.vector_source_c(semcom.gray_pam(8).map(stream).tolist()), snk)
        tb.run()
        self.assertEqual(snk.bad_headers, 1)
        self.assertEqual([r["frame"] for r in snk.results], [1])

    def test_truncated_frame_is_decoded_and_marked(self):
        src = self.source(levels=2)
        from semcom_codec.images import load_image

        frames = [src.frame_for(load_image(p), i) for i, p in enumerate(self.images)]
        cut = frames[0][:len(frames[0]) - 40]           # the last 20 symbols never arrive
        stream = np.concatenate([cut, frames[1], frames[1][:len(frames[1]) // 2 * 2 - 10]])
        snk = self.sink()
        tb = gr.top_block()
        tb.connect(blocks.vector_source_c(semcom.gray_pam(8).map(stream).tolist()), snk)
        tb.run()
        self.assertEqual([(r["frame"], r["truncated"]) for r in snk.results],
                         [(0, True), (1, False), (1, True)])
        self.assertEqual(snk.results[0]["image"].shape, (37, 50, 3))

    def test_bad_arguments(self):
        with self.assertRaisesRegex(FileNotFoundError, "codec weight file not found"):
            semcom.image_sink(weights=os.path.join(self.dir, "missing.pt"), device="cpu")
        with self.assertRaisesRegex(FileNotFoundError, "no images found"):
            semcom.image_source(os.path.join(self.dir, "*.jpg"), weights=self.weights, device="cpu")
        with self.assertRaisesRegex(ValueError, "levels \(rate\) must be one of 1, 2, 3, 4"):
            self.source(levels=5)
        with self.assertRaisesRegex(ValueError, "demapping must be 'hard' or 'soft'"):
            self.sink(demapping="maybe")
        if not torch.cuda.is_available():
            with self.assertRaisesRegex(RuntimeError, "no CUDA GPU"):
                semcom.image_sink(weights=self.weights, device="cuda")

    def test_tags_mark_frame_starts(self):
        from semcom_codec.images import load_image

        lengths = [len(self.source(levels=1).frame_for(load_image(p), 0)) for p in self.images]
        src = self.source(levels=1)
        sink = blocks.vector_sink_b()
        tb = gr.top_block()
        tb.connect(src, sink)
        tb.run()
        tags = [(t.offset, pmt.to_long(t.value)) for t in sink.tags()
                if pmt.symbol_to_string(t.key) == "semcom_frame"]
        self.assertEqual(tags, [(0, 0), (lengths[0], 1)])
        from gnuradio.semcom.image_source import TAIL_SYMBOLS

        tail = 2 * TAIL_SYMBOLS
        self.assertEqual(len(sink.data()), sum(lengths) + tail)
        self.assertFalse(np.any(np.array(sink.data()[-tail:])))



class qa_analog_image_blocks(gr_unittest.TestCase):
    """An analog codec (a tiny deep JSCC) through the same source, channel and sink:
    complex symbols on the air, no index mapper."""

    @classmethod
    def setUpClass(cls):
        from semcom_codec import testing, zoo

        cls.tmp = tempfile.TemporaryDirectory(prefix="qa_analog_")
        cls.codec = zoo.load(testing.tiny_weights("deep_jscc", cls.tmp.name))
        rng = np.random.default_rng(4)
        cls.images = []
        for i, size in enumerate(((40, 56), (33, 47))):
            path = os.path.join(cls.tmp.name, f"img{i}.png")
            Image.fromarray(rng.integers(0, 256, size + (3,), dtype=np.uint8)).save(path)
            cls.images.append(path)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_frames_are_sync_header_on_the_mapper_corners_then_unit_power_symbols(self):
        from semcom_codec.images import load_image

        tb = gr.top_block()
        src = semcom.image_source(self.images[:1], codec=self.codec)
        out = blocks.vector_sink_c()
        tb.connect(src, out)
        tb.run()
        data = np.array(out.data(), dtype=np.complex64)
        image = load_image(self.images[0])
        spec = self.codec.payload(*image.shape[:2])
        head = framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS
        header = framing.FrameHeader(frame=0, height=40, width=56, levels=1,
                                     codec_id=self.codec.identity, payload=spec.length)
        preamble = np.concatenate([framing.sync_indices(), framing.header_indices(header)])
        np.testing.assert_allclose(data[:head], semcom.gray_pam(8).map(preamble), atol=1e-6)
        payload = data[head:head + spec.channel_symbols]
        np.testing.assert_allclose(payload, self.codec.encode(image), atol=1e-6)
        self.assertAlmostEqual(float(np.mean(np.abs(payload) ** 2)), 1.0, places=4)
        np.testing.assert_array_equal(data[head + spec.channel_symbols:], 0)  # idle tail

    def test_blocks_given_only_the_weight_file_load_the_analog_codec(self):
        src = semcom.image_source(self.images, weights=self.codec.source, device="cpu")
        snk = semcom.image_sink(weights=self.codec.source, noise_reduction=False,
                                device="cpu")
        self.assertTrue(src.analog and snk.analog)
        self.assertEqual(src.codec_id, snk.codec_id)
        self.assertEqual(src.codec_id, self.codec.identity)

    def test_a_source_set_up_for_the_other_payload_refuses_the_codec(self):
        with self.assertRaisesRegex(ValueError, "sends symbols.*set up for indices"):
            semcom.image_source(self.images, codec=self.codec, payload="indices")
        src = semcom.image_source(self.images, codec=self.codec, payload="symbols")
        self.assertEqual(src.output_signature().sizeof_stream_item(0), 8)  # complex64

    def test_load_codec_gives_the_codec_of_a_file_or_names_what_is_wrong(self):
        codec = semcom.load_codec(self.codec.source, cbr="", device="cpu",
                                  noise_reduction=True, requantize=False)
        self.assertEqual((codec.kind, codec.identity), ("symbols", self.codec.identity))
        with self.assertRaisesRegex(ValueError, "comes in CBRs .*pick one"):
            semcom.load_codec("deep_jscc_mse", device="cpu")
        with self.assertRaisesRegex(ValueError, "unknown model"):
            semcom.load_codec("nonesuch", device="cpu")
        missing = os.path.join(self.tmp.name, "missing.pt")
        with self.assertRaisesRegex(Exception, "missing.pt"):
            semcom.load_codec(missing, device="cpu")

    def test_sink_decodes_what_arrived_exactly_as_the_codec(self):
        from semcom_codec.interface import Received

        tb = gr.top_block()
        src = semcom.image_source(self.images, codec=self.codec)
        channel = semcom.awgn_channel(esn0_db=10.0, seed=5)
        snk = semcom.image_sink(codec=self.codec, noise_var=0.1, history=2)
        air = blocks.vector_sink_c()
        tb.connect(src, channel, snk)
        tb.connect(channel, air)
        tb.run()
        data = np.array(air.data(), dtype=np.complex64)
        self.assertEqual([r["frame"] for r in snk.results], [0, 1])
        self.assertEqual((snk.bad_headers, snk.dropped, snk.failed), (0, 0, 0))
        start = 0
        for result in snk.results:
            spec = self.codec.payload(result["height"], result["width"])
            begin = start + framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS
            want = self.codec.decode(Received(data[begin:begin + spec.channel_symbols], 0.1),
                                     height=result["height"], width=result["width"])
            np.testing.assert_array_equal(result["image"], want)
            self.assertEqual(result["payload_symbols"], spec.channel_symbols)
            start = begin + spec.channel_symbols


if __name__ == "__main__":
    import unittest

    unittest.main(defaultTest=["qa_image_blocks", "qa_analog_image_blocks"])
