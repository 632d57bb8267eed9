#!/usr/bin/env python3
#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""The Qt image view: image PDUs from the source and the sink land in their panes."""

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest
from PyQt5 import QtWidgets

from gnuradio.semcom.image_view import caption, image_view, pdu_image


def image_pdu(image, **meta):
    d = pmt.make_dict()
    for key, value in dict(meta, height=image.shape[0], width=image.shape[1]).items():
        d = pmt.dict_add(d, pmt.intern(key), pmt.to_pmt(value))
    return pmt.cons(d, pmt.init_u8vector(image.size, image.ravel()))


class qa_image_view(gr_unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])

    def test_pdu_round_trip_and_bad_messages(self):
        image = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
        meta, got = pdu_image(image_pdu(image, frame=3, levels=2))
        np.testing.assert_array_equal(got, image)
        self.assertEqual((meta["frame"], meta["levels"]), (3, 2))
        with self.assertRaisesRegex(ValueError, "image PDU"):
            pdu_image(pmt.intern("nope"))
        with self.assertRaisesRegex(ValueError, "not 5x7x3"):
            pdu_image(pmt.cons(pmt.car(image_pdu(image)), pmt.init_u8vector(10, [0] * 10)))
        with self.assertRaisesRegex(ValueError, "'height' and 'width'"):
            pdu_image(pmt.cons(pmt.make_dict(), pmt.init_u8vector(3, [0] * 3)))

    def test_captions(self):
        self.assertEqual(caption({"frame": 4, "levels": 3}, "sent"), "sent: frame 4, L3")
        text = caption({"frame": 4, "levels": 3, "psnr": 21.234, "lpips": 0.4, "symbols": 900,
                        "truncated": True}, "received")
        self.assertEqual(text, "received: frame 4, L3, PSNR 21.23 dB, LPIPS 0.400, "
                               "900 symbols, truncated")

    def test_images_arrive_in_their_panes_through_a_flowgraph(self):
        view = image_view("link", max_side=64)
        sent = np.zeros((50, 100, 3), np.uint8)
        received = np.full((50, 100, 3), 200, np.uint8)
        tb = gr.top_block()
        strobe_sent = blocks.message_strobe(image_pdu(sent, frame=0, levels=4), 50)
        strobe_rx = blocks.message_strobe(image_pdu(received, frame=0, levels=4, psnr=30.0),
                                          50)
        tb.msg_connect(strobe_sent, "strobe", view, "sent")
        tb.msg_connect(strobe_rx, "strobe", view, "received")
        tb.start()
        deadline = time.monotonic() + 10
        while None in view.shown.values() and time.monotonic() < deadline:
            self.app.processEvents()
            time.sleep(0.02)
        tb.stop()
        tb.wait()
        self.assertEqual(view.shown, {"sent": (50, 100), "received": (50, 100)})
        pixmap = view.panes["received"].pixmap()
        self.assertEqual((pixmap.width(), pixmap.height()), (64, 32))  # scaled, aspect kept
        self.assertEqual(pixmap.toImage().pixelColor(10, 10).red(), 200)
        self.assertIn("PSNR 30.00 dB", view.captions["received"].text())
        self.assertEqual(view.captions["sent"].text(), "sent: frame 0, L4")


if __name__ == "__main__":
    gr_unittest.run(qa_image_view)
