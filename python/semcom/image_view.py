#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Qt view of the sent and the received image of a link, side by side."""

import numpy as np
import pmt
from gnuradio import gr
from PyQt5 import QtCore, QtGui, QtWidgets

# The result keys shown under the received image, with their format.
CAPTION_FIELDS = (("psnr", "PSNR {:.2f} dB"), ("ssim", "SSIM {:.3f}"),
                  ("lpips", "LPIPS {:.3f}"), ("symbols", "{} symbols"))


def pdu_image(msg):
    """(metadata dict, uint8 RGB image [H, W, 3]) of an image PDU, or raises ValueError."""
    if not (pmt.is_pair(msg) and pmt.is_u8vector(pmt.cdr(msg))):
        raise ValueError("expected an image PDU: (metadata dict, u8vector of RGB pixels)")
    meta = pmt.to_python(pmt.car(msg)) or {}
    if not isinstance(meta, dict) or "height" not in meta or "width" not in meta:
        raise ValueError("image PDU metadata needs 'height' and 'width'")
    height, width = int(meta["height"]), int(meta["width"])
    pixels = np.asarray(pmt.u8vector_elements(pmt.cdr(msg)), dtype=np.uint8)
    if pixels.size != height * width * 3:
        raise ValueError(f"image PDU holds {pixels.size} bytes, not {height}x{width}x3")
    return meta, pixels.reshape(height, width, 3)


def caption(meta, side):
    """The line under one pane: frame number, levels or transmission mode and (received
    side) the metrics."""
    parts = [f"{side}: frame {meta.get('frame', '?')}",
             meta.get("mode") or f"L{meta.get('levels', '?')}"]
    if side == "received":
        parts += [fmt.format(meta[key]) for key, fmt in CAPTION_FIELDS if key in meta]
        if meta.get("truncated"):
            parts.append("truncated")
    return ", ".join(parts)


class image_view(gr.basic_block, QtWidgets.QWidget):
    """Shows the last image on port "sent" beside the last one on port "received".

    Connect the Image Source's "sent" port and the Image Sink's "image" port. Messages
    arrive on GNU Radio's threads; a queued Qt signal hands each image to the GUI thread,
    so the widget is only touched there. A message that is not an image PDU is logged
    and ignored.
    """

    _show = QtCore.pyqtSignal(str, object, str)

    def __init__(self, title="", parent=None, max_side=384):
        gr.basic_block.__init__(self, name="semcom_image_view", in_sig=None, out_sig=None)
        QtWidgets.QWidget.__init__(self, parent)
        self.max_side = int(max_side)
        layout = QtWidgets.QGridLayout(self)
        if title:
            heading = QtWidgets.QLabel(title)
            heading.setAlignment(QtCore.Qt.AlignCenter)
            layout.addWidget(heading, 0, 0, 1, 2)
        self.panes, self.captions = {}, {}
        for col, side in enumerate(("sent", "received")):
            pane = QtWidgets.QLabel(f"waiting for the {side} image")
            pane.setAlignment(QtCore.Qt.AlignCenter)
            pane.setMinimumSize(160, 120)
            text = QtWidgets.QLabel("")
            text.setAlignment(QtCore.Qt.AlignCenter)
            text.setWordWrap(True)  # a long caption must not widen its column
            layout.addWidget(pane, 1, col)
            layout.addWidget(text, 2, col)
            self.panes[side], self.captions[side] = pane, text
        self.shown = {"sent": None, "received": None}
        self._show.connect(self._on_show, QtCore.Qt.QueuedConnection)
        # The Python block gateway looks handlers up by name: bound methods, no lambdas.
        for port, handler in (("sent", self._on_sent), ("received", self._on_received)):
            self.message_port_register_in(pmt.intern(port))
            self.set_msg_handler(pmt.intern(port), handler)

    def _on_sent(self, msg):
        self._on_message("sent", msg)

    def _on_received(self, msg):
        self._on_message("received", msg)

    def _on_message(self, side, msg):
        try:
            meta, image = pdu_image(msg)
        except ValueError as err:
            self.logger.error(f"{side} port: {err}")
            return
        self._show.emit(side, image, caption(meta, side))

    def _on_show(self, side, image, text):
        """GUI thread: puts the image (scaled to at most max_side) into its pane."""
        height, width, _ = image.shape
        data = np.ascontiguousarray(image)
        qimage = QtGui.QImage(data.data, width, height, 3 * width,
                              QtGui.QImage.Format_RGB888).copy()
        pixmap = QtGui.QPixmap.fromImage(qimage)
        if max(height, width) > self.max_side:
            pixmap = pixmap.scaled(self.max_side, self.max_side, QtCore.Qt.KeepAspectRatio,
                                   QtCore.Qt.SmoothTransformation)
        self.panes[side].setPixmap(pixmap)
        # the pane never shrinks below its picture: the window grows to show it whole
        self.panes[side].setMinimumSize(pixmap.size())
        self.captions[side].setText(text)
        self.shown[side] = (height, width)

    def pyqwidget(self):
        """The widget itself, as GNU Radio's Qt sinks hand theirs to the flowgraph."""
        return self
