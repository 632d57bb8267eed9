#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""image_source -> burst_transmitter -> channel_impairments -> burst_receiver ->
image_sink with a small untrained codec: bursts, tags, lost bursts, noise alone."""

import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest

from gnuradio import semcom
from gnuradio.semcom import framing

from qa_image_blocks import ImageFixture


class qa_ota_blocks(ImageFixture, gr_unittest.TestCase):
    # 320 x 256 at L4 with the tiny codec: 10240 symbols, two bursts
    SIZES = ((256, 320),)

    def setUp(self):
        self.codec = semcom.load_codec(self.weights)

    def loopback(self, *, drop=None, **channel):
        """Sends the image over the simulated radios; ``drop`` (start, stop) zeroes those
        transmitted samples (a burst lost on the air)."""
        tb = gr.top_block()
        source = semcom.image_source(images=self.images, codec=self.codec)
        tx = semcom.burst_transmitter(order=source.order, mode="stream", gap=500)
        sent = blocks.vector_sink_c()
        tb.connect(source, tx, sent)
        tb.run()
        samples = np.asarray(sent.data(), np.complex64)
        if drop is not None:
            samples[drop[0]:drop[1]] = 0
        tb = gr.top_block()
        settings = dict(esn0_db=25.0, cfo=0.031, sro_ppm=-41.0, delay=0.6, gain_db=-13.0,
                        phase=2.0, seed=3)
        settings.update(channel)
        impaired = semcom.channel_impairments(**settings)
        rx = semcom.burst_receiver()
        sink = semcom.image_sink(codec=self.codec, csi_input=True,
                                 reference=self.images[0], history=2)
        tb.connect(blocks.vector_source_c(samples.tolist()), impaired, rx)
        tb.connect((rx, 0), (sink, 0))
        tb.connect((rx, 1), (sink, 1))
        tb.run()
        return tx, rx, sink, samples

    def ideal(self, esn0_db):
        """The same image through index_mapper -> awgn_channel, told the noise."""
        tb = gr.top_block()
        source = semcom.image_source(images=self.images, codec=self.codec)
        sink = semcom.image_sink(codec=self.codec, noise_var=10 ** (-esn0_db / 10),
                                 reference=self.images[0])
        tb.connect(source, semcom.index_mapper(order=source.order),
                   semcom.awgn_channel(esn0_db=esn0_db, seed=5), sink)
        tb.run()
        return sink.last_result

    def test_image_over_the_air_decodes_as_over_the_ideal_link(self):
        tx, rx, sink, _ = self.loopback()
        self.assertEqual((tx.frames, tx.bursts), (1, 2))
        self.assertEqual((rx.detected, rx.decoded, rx.dropped, rx.missing), (2, 2, 0, 0))
        result = sink.last_result
        self.assertIsNotNone(result)
        self.assertFalse(result["truncated"])
        self.assertEqual((result["height"], result["width"]), self.SIZES[0])
        self.assertAlmostEqual(rx.last.esn0_db, 25.0, delta=0.5)
        self.assertAlmostEqual(rx.last.cfo, 0.031, delta=1e-4)
        self.assertAlmostEqual(rx.last.sro_ppm, -41.0, delta=3.0)
        ideal = self.ideal(25.0)
        self.assertAlmostEqual(result["psnr"], ideal["psnr"], delta=0.2)

    def test_a_lost_burst_loses_only_its_own_symbols(self):
        _, _, _, samples = self.loopback()
        # the first burst's preamble and header, blanked: that burst is never found
        tx, rx, sink, _ = self.loopback(drop=(0, 5000))
        self.assertEqual((rx.decoded, rx.missing), (1, 1))
        result = sink.last_result
        self.assertIsNotNone(result)  # decoded from the second burst alone
        whole = self.loopback()[2].last_result
        self.assertLess(result["psnr"], whole["psnr"])

    def test_burst_mode_tags_each_burst_with_its_length(self):
        tb = gr.top_block()
        source = semcom.image_source(images=self.images, codec=self.codec)
        tx = semcom.burst_transmitter(order=source.order)
        sent = blocks.vector_sink_c()
        tb.connect(source, tx, sent)
        tb.run()
        tags = [t for t in sent.tags() if pmt.symbol_to_string(t.key) == "packet_len"]
        lengths = [pmt.to_long(t.value) for t in tags]
        self.assertEqual(len(tags), 2)
        self.assertEqual(tags[0].offset, 0)
        self.assertEqual(tags[1].offset, lengths[0])
        self.assertEqual(sum(lengths), len(sent.data()))
        with self.assertRaisesRegex(ValueError, "mode must be one of"):
            semcom.burst_transmitter(mode="bursty")
        with self.assertRaisesRegex(ValueError, "gap and idle are for mode 'stream'"):
            semcom.burst_transmitter(gap=10)

    def test_the_cpp_matched_filter_is_the_numpy_reference(self):
        from semcom_codec.phy import pulse

        rng = np.random.default_rng(8)
        samples = rng.standard_normal(4000) + 1j * rng.standard_normal(4000)
        times = np.concatenate([rng.uniform(-40, 4040, 3000), np.arange(0, 50, 0.25)])
        for sps, rolloff in ((2, 0.35), (4, 0.25)):
            kernel = semcom.matched_filter(sps, rolloff)
            np.testing.assert_allclose(kernel.at(samples, times),
                                       pulse.matched_at(samples, times, sps, rolloff),
                                       rtol=0, atol=1e-12)
            self.assertAlmostEqual(semcom.matched_filter.rrc(0.3, rolloff),
                                   float(pulse.rrc(np.array([0.3]), rolloff)[0]), places=14)
        with self.assertRaisesRegex(ValueError, "samples per symbol must be >= 2"):
            semcom.matched_filter(1, 0.35)
        with self.assertRaisesRegex(ValueError, "roll-off must be in"):
            semcom.matched_filter(2, 1.5)

    def test_noise_and_junk_give_no_frame_and_no_fault(self):
        rng = np.random.default_rng(1)
        noise = (rng.standard_normal(80000) + 1j * rng.standard_normal(80000)) * 0.5
        noise[1000:1100] = np.nan
        tb = gr.top_block()
        rx = semcom.burst_receiver()
        symbols, noise_vars = blocks.vector_sink_c(), blocks.vector_sink_f()
        tb.connect(blocks.vector_source_c(noise.astype(np.complex64).tolist()), rx)
        tb.connect((rx, 0), symbols)
        tb.connect((rx, 1), noise_vars)
        tb.run()
        self.assertEqual((rx.detected, rx.decoded, len(symbols.data())), (0, 0, 0))
        # junk bytes around a frame in the transmitter's input: only the frame is sent
        header = framing.FrameHeader(frame=0, height=8, width=8, levels=1, codec_id=1,
                                     payload=20)
        frame = framing.frame_indices(header, np.arange(20) % 8, 8)
        stream = np.concatenate([rng.integers(0, 8, 300), frame, rng.integers(0, 8, 50)])
        tb = gr.top_block()
        tx = semcom.burst_transmitter()
        out = blocks.vector_sink_c()
        tb.connect(blocks.vector_source_b(stream.astype(np.uint8).tolist()), tx, out)
        tb.run()
        self.assertEqual((tx.frames, tx.bursts), (1, 1))

    def test_a_frame_on_a_transmission_mode_is_skipped_with_a_count(self):
        """The burst PHY maps payloads on 64-QAM only: a frame whose header names another
        mode is not sent (counted in skipped), the 64-QAM frame after it is."""
        on_mode = framing.FrameHeader(frame=0, height=8, width=8, levels=2, codec_id=1,
                                      payload=8, mode=2)
        plain = framing.FrameHeader(frame=1, height=8, width=8, levels=1, codec_id=1,
                                    payload=20)
        stream = np.concatenate([framing.frame_indices(on_mode, np.arange(8) % 8, 8),
                                 framing.frame_indices(plain, np.arange(20) % 8, 8)])
        tb = gr.top_block()
        tx = semcom.burst_transmitter()
        tb.connect(blocks.vector_source_b(stream.astype(np.uint8).tolist()), tx,
                   blocks.null_sink(gr.sizeof_gr_complex))
        tb.run()
        self.assertEqual((tx.frames, tx.bursts, tx.skipped), (1, 1, 1))


if __name__ == "__main__":
    gr_unittest.run(qa_ota_blocks)
