#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Transmission modes through GNU Radio: image_source (mode or auto) -> frame_mapper ->
channel -> image_sink, against the codec's own simulation of the same noise."""

import os

import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest

from gnuradio import semcom
from gnuradio.semcom import framing
from gnuradio.semcom.image_source import TAIL_SYMBOLS
from qa_image_blocks import ImageFixture

def make_mode_weights(folder):
    """The tiny MOC-RVQ told the mode, with testing.TINY_MODE_TABLE."""
    from semcom_codec import testing

    return testing.tiny_moc_rvq_modes(os.path.join(folder, "tiny_modes.pt"))


class qa_modes(ImageFixture, gr_unittest.TestCase):
    SIZES = ((27, 44),)

    @classmethod
    def setUpClass(cls):
        from semcom_codec import zoo

        super().setUpClass()
        cls.codec = zoo.load(make_mode_weights(cls.dir))
        cls.image = cls.images[0]

    def source_bytes(self, **kw):
        """The index bytes image_source sends for the test image."""
        tb = gr.top_block()
        src = semcom.image_source(images=[self.image], codec=self.codec, **kw)
        sink = blocks.vector_sink_b()
        tb.connect(src, sink)
        tb.run()
        return np.array(sink.data(), np.uint8), src

    def mapped(self, data, mapper):
        tb = gr.top_block()
        out = blocks.vector_sink_c()
        tb.connect(blocks.vector_source_b(data.tolist()), mapper, out)
        tb.run()
        return np.array(out.data(), np.complex64)

    def test_frames_without_a_mode_map_as_the_index_mapper_maps_them(self):
        data, _ = self.source_bytes(rate=3)
        data = np.concatenate([data[:-2 * TAIL_SYMBOLS], data])   # two frames, one tail
        mapper = semcom.frame_mapper()
        mine = self.mapped(data, mapper)
        theirs = self.mapped(data, semcom.index_mapper(order=8))
        np.testing.assert_array_equal(mine, theirs)
        self.assertEqual(mapper.frames, 2)
        self.assertEqual(mapper.modes, {"L3-qam64": 2})

    def test_each_level_goes_on_the_constellation_of_the_header(self):
        from semcom_codec.images import load_image
        from semcom_codec.phy.modes import mode_named

        head = framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS
        for name in ("L3-psk8-qam64", "L1-biorth8", "L1-psk8"):
            with self.subTest(name):
                data, src = self.source_bytes(mode=name)
                header = framing.header_from_indices(data[2 * framing.SYNC_SYMBOLS:])
                mode = mode_named(name)
                self.assertEqual((header.levels, header.mode), (mode.levels, mode.id))
                mapper = semcom.frame_mapper()
                symbols = self.mapped(data, mapper)
                plain = self.mapped(data[:2 * head], semcom.index_mapper(order=8))
                np.testing.assert_array_equal(symbols[:head], plain)
                indices = self.codec.encode(load_image(self.image), mode=name)
                body = mode.map(indices.reshape(mode.levels, -1)).astype(np.complex64)
                np.testing.assert_array_equal(symbols[head:head + len(body)], body)
                self.assertEqual(len(symbols), head + len(body) + TAIL_SYMBOLS)
                self.assertEqual(mapper.modes, {name: 1})

    def loopback(self, mode, demapping, esn0_db, seed):
        """(sink, codec simulation's image) for one frame on ``mode`` through AWGN whose
        noise both sides share."""
        from semcom_codec.images import load_image
        from semcom_codec.interface import Received
        from semcom_codec.phy.modes import mode_named

        chosen = mode_named(mode)
        image = load_image(self.image)
        spec = self.codec.payload(*image.shape[:2], mode=chosen)
        head = framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS
        total = head + spec.channel_symbols + TAIL_SYMBOLS
        n0 = 10 ** (-esn0_db / 10)
        rng = np.random.default_rng(seed)
        noise = (np.sqrt(n0 / 2) * (rng.standard_normal(total)
                                    + 1j * rng.standard_normal(total))).astype(np.complex64)
        tb = gr.top_block()
        tb.source = semcom.image_source(images=[self.image], codec=self.codec,
                                        rate=chosen.budget_levels, mode=mode)
        tb.mapper = semcom.frame_mapper()
        tb.sink = semcom.image_sink(codec=self.codec, demapping=demapping, noise_var=n0)
        adder = blocks.add_cc()
        tb.connect(tb.source, tb.mapper, (adder, 0))
        tb.connect(blocks.vector_source_c(noise.tolist()), (adder, 1))
        tb.connect(adder, tb.sink)
        tb.run()
        # the codec's own simulation: the mode's symbols plus the same payload noise
        indices = self.codec.encode(image, mode=chosen).reshape(chosen.levels, -1)
        y = (chosen.map(indices).astype(np.complex64)
             + noise[head:head + spec.channel_symbols]).astype(np.complex128)
        if demapping == "hard":
            values = chosen.hard_demap(y, spec.minimum).ravel()
        else:
            values = chosen.soft_demap(y, n0, spec.minimum).reshape(-1, 8).astype(np.float32)
        want = self.codec.decode(Received(values, n0), height=image.shape[0],
                                 width=image.shape[1], rate=chosen.levels,
                                 mode=chosen if chosen.id else None)
        return tb.sink, want

    def test_a_frame_of_each_mode_decodes_as_the_codec_simulation(self):
        from semcom_codec.phy.modes import MODE_SETS

        for seed, mode in enumerate(m.name for t in MODE_SETS.values() for m in t):
            with self.subTest(mode):
                sink, want = self.loopback(mode, "hard", 4.0, seed)
                self.assertEqual(sink.decoded, 1)
                self.assertEqual(sink.last_result["mode"], mode)
                np.testing.assert_array_equal(sink.last_result["image"], want)
        sink, want = self.loopback("L2-psk8", "soft", 2.0, 11)
        np.testing.assert_array_equal(sink.last_result["image"], want)

    def test_the_receiver_is_told_the_mode(self):
        """The same decisions decoded as if on 64-QAM give another image: the sink's
        decode follows the header's mode into the NRB and the MMSE code vectors."""
        from semcom_codec.images import load_image
        from semcom_codec.interface import Received

        sink, want = self.loopback("L2-psk8", "hard", 4.0, 3)
        image = load_image(self.image)
        values = self.codec.encode(image, rate=2)
        other = self.codec.decode(Received(values, 10 ** -0.4), height=image.shape[0],
                                  width=image.shape[1], rate=2)
        mine = self.codec.decode(Received(values, 10 ** -0.4), height=image.shape[0],
                                 width=image.shape[1], mode="L2-psk8")
        self.assertFalse(np.array_equal(other, mine))

    def test_auto_follows_the_link_es_n0_from_the_parameter_and_the_port(self):
        src = semcom.image_source(images=[self.image], codec=self.codec, rate=4, mode="auto")
        self.assertEqual(src.current_mode().name, "L1-biorth8")        # unknown: sturdiest
        src._on_esn0(pmt.from_double(25.0))
        self.assertEqual(src.current_mode().name, "L4-qam64")
        meta = pmt.dict_add(pmt.make_dict(), pmt.intern("esn0_db"), pmt.from_double(9.0))
        src._on_esn0(meta)
        self.assertEqual(src.current_mode().name, "L2-psk8")
        src._on_esn0(pmt.cons(pmt.dict_add(meta, pmt.intern("esn0_db"), pmt.from_long(15)),
                              pmt.init_u8vector(1, [0])))
        self.assertEqual(src.current_mode().name, "L3-psk8-qam64")
        src._on_esn0(pmt.intern("loud"))                 # logged and ignored
        self.assertEqual(src.esn0_db, 15.0)
        src.set_esn0_db(-3)
        self.assertEqual(src.current_mode().name, "L1-biorth8")
        half = semcom.image_source(images=[self.image], codec=self.codec, rate=2,
                                   mode="auto", esn0_db=17.0)
        self.assertEqual(half.current_mode().name, "L2-qam64")
        data, _ = self.source_bytes(rate=4, mode="auto", esn0_db=9.0)
        header = framing.header_from_indices(data[2 * framing.SYNC_SYMBOLS:])
        self.assertEqual((header.levels, header.mode), (2, 2))
        with self.assertRaisesRegex(ValueError, "unknown transmission mode 'L9-psk8'"):
            src.set_mode("L9-psk8")
        with self.assertRaisesRegex(ValueError, "no transmission modes fill the budget of 3"):
            semcom.image_source(images=[self.image], codec=self.codec, rate=3, mode="auto")

    def test_a_header_naming_no_mode_is_dropped_and_counted(self):
        from semcom_codec.images import load_image

        image = load_image(self.image)
        indices = self.codec.encode(image, rate=2)
        header = framing.FrameHeader(frame=0, height=image.shape[0], width=image.shape[1],
                                     levels=2, codec_id=self.codec.identity,
                                     payload=indices.size, mode=9)
        frame = framing.frame_indices(header, indices)
        data = np.concatenate([frame, np.zeros(2 * TAIL_SYMBOLS, np.uint8)])
        mapper = semcom.frame_mapper()
        symbols = self.mapped(data, mapper)
        self.assertEqual((mapper.frames, mapper.unreadable), (0, 1))
        np.testing.assert_array_equal(symbols, self.mapped(data, semcom.index_mapper(order=8)))
        tb = gr.top_block()
        tb.sink = semcom.image_sink(codec=self.codec, noise_var=1e-3)
        tb.connect(blocks.vector_source_c(symbols.tolist()), tb.sink)
        tb.run()
        self.assertEqual((tb.sink.decoded, tb.sink.bad_headers), (0, 1))


if __name__ == "__main__":
    gr_unittest.run(qa_modes)
