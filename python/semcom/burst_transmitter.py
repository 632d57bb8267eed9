#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Burst transmitter: an image source's index frames in, shaped over-the-air bursts out
(the codec package's burst PHY, semcom_codec.phy.burst_tx)."""

import collections

import numpy as np
import pmt
from gnuradio import gr
from semcom_codec.phy.burst_format import Layout

from . import framing

MODES = ("burst", "stream")


class burst_transmitter(gr.basic_block):
    """Cuts each image frame of an index byte stream (image_source's output) into bursts
    of at most 8192 Gray QAM symbols and sends them as RRC-shaped complex baseband.

    Every burst carries a preamble, an LDPC-coded header with the image frame's header
    (so that any burst can be placed in its image without the others), pilots and a
    postamble; the in-band sync and header of the frame are not sent, the receiver
    rebuilds them. ``order`` is the QAM's indices per axis (8: 64-QAM), ``sps`` the
    samples per symbol, ``rolloff`` the RRC roll-off, ``backoff_db`` lowers the mean
    power during a burst below 1.

    ``mode`` "burst": each burst alone, a ``length_tag`` (packet_len) tag on its first
    sample giving its length, for radios that send tagged bursts (gr-uhd's usrp_sink,
    gr-soapy's sink with that length tag). "stream": bursts ``gap`` zero samples apart,
    and with ``idle`` zeros whenever nothing waits, a continuous stream for radios that
    cannot burst (PlutoSDR, HackRF). Frames are found by their sync in the stream;
    anything else in it (the source's idle tail) is skipped.
    """

    def __init__(self, *, order=8, sps=2, rolloff=0.35, backoff_db=0.0, mode="burst",
                 gap=0, idle=False, length_tag="packet_len"):
        from semcom_codec.phy.burst_tx import BurstModulator

        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if int(gap) < 0:
            raise ValueError(f"gap must be 0 or more samples, got {gap}")
        if mode == "burst" and (gap or idle):
            raise ValueError("burst mode sends tagged bursts only: gap and idle are for "
                             "mode 'stream'")
        gr.basic_block.__init__(self, name="semcom_burst_transmitter", in_sig=[np.uint8],
                                out_sig=[np.complex64])
        self.modulator = BurstModulator(order=order, sps=sps, rolloff=rolloff,
                                        backoff_db=backoff_db)
        self.order, self.mode, self.gap, self.idle = int(order), mode, int(gap), bool(idle)
        self.length_tag = pmt.intern(length_tag)
        self.sync = framing.sync_indices(self.order).tobytes()
        self.buffer = bytearray()
        self.queue = collections.deque()   # (samples, tag this burst) waiting to leave
        self.offset = 0                    # samples of queue[0] already sent
        self.frames = 0                    # image frames sent
        self.bursts = 0                    # bursts sent
        self.skipped = 0                   # frames with an unreadable header, or on a mode
        self.symbols_sent = 0              # symbols on the air, overheads included
        self.set_tag_propagation_policy(gr.TPP_DONT)
        # a tagged burst leaves in one piece: the output buffer holds the longest one
        longest = self.modulator.longest_burst()
        self.set_min_output_buffer(0, int(2 ** np.ceil(np.log2(2 * longest))))

    def forecast(self, noutput_items, ninputs):
        """Output waits in the queue (or idle zeros can be sent): no input needed."""
        return [0 if (self.queue or self.idle) else 1] * ninputs

    def _frames(self):
        """Moves every whole frame in the buffer to the queue as bursts."""
        head = 2 * (framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS)
        while True:
            start = self.buffer.find(self.sync)
            if start < 0:  # keep what could still be the start of a sync
                del self.buffer[:max(0, len(self.buffer) - len(self.sync) + 1)]
                return
            del self.buffer[:start]
            if len(self.buffer) < head:
                return
            raw = np.frombuffer(bytes(self.buffer[2 * framing.SYNC_SYMBOLS:head]), np.uint8)
            header = framing.header_from_indices(raw, self.order)
            if header is None:
                self.skipped += 1
                self.logger.warn("a frame's header could not be read from the index "
                                 "stream; searching for the next sync")
                del self.buffer[:1]
                continue
            size = head + header.payload + header.payload % 2
            if len(self.buffer) < size:
                return
            payload = np.frombuffer(bytes(self.buffer[head:head + header.payload]), np.uint8)
            del self.buffer[:size]
            if header.mode:  # the burst PHY maps every payload on 64-QAM
                self.skipped += 1
                self.logger.error(f"frame {header.frame} is on transmission mode {header.mode}; "
                                  "the burst PHY carries 64-QAM frames only (leave the image "
                                  "source's mode empty): skipped")
                continue
            for burst in self.modulator.bursts(header.pack(), payload):
                self.queue.append((burst.samples, True))
                self.symbols_sent += Layout(burst.header.length).total
                if self.gap:
                    self.queue.append((np.zeros(self.gap, np.complex64), False))
            self.frames += 1

    def general_work(self, input_items, output_items):
        data = input_items[0]
        self.buffer += data.tobytes()
        self.consume(0, len(data))
        try:
            self._frames()
        except Exception as err:  # a fault of ours loses this frame, not the flowgraph
            from semcom_codec.errors import one_line

            self.logger.error(f"burst transmitter: frame dropped: {one_line(err)}")
            self.buffer.clear()
        out = output_items[0]
        written = 0
        while self.queue and written < len(out):
            item, is_burst = self.queue[0]
            if self.offset == 0 and self.mode == "burst":
                if len(item) > len(out) - written and written:
                    break  # a tagged burst leaves in one piece where the buffer allows
                self.add_item_tag(0, self.nitems_written(0) + written, self.length_tag,
                                  pmt.from_long(len(item)))
            n = min(len(out) - written, len(item) - self.offset)
            out[written:written + n] = item[self.offset:self.offset + n]
            written += n
            self.offset += n
            if self.offset == len(item):
                self.queue.popleft()
                self.offset = 0
                self.bursts += is_burst
        if written == 0 and self.idle and not self.queue:
            out[:] = 0
            written = len(out)
        return written
