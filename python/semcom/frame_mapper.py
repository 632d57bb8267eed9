#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Frame mapper: image_source's index bytes to channel symbols, each frame's payload on
the index constellations its header names (SNR-adaptive transmission modes)."""

import numpy as np
from gnuradio import gr

from . import framing


class frame_mapper(gr.basic_block):
    """Maps a frame stream of index bytes (image_source) to complex symbols, following
    each frame's header.

    A frame is found where the bytes are exactly the sync sequence (this is the
    transmitter's side: nothing is noisy yet); its header is read from the bytes that
    follow, and its payload is mapped on the constellations of the header's transmission
    mode (semcom_codec.phy.modes: each level on 64-QAM axes, 8-PSK or biorthogonal
    points). Sync, header, a 64-QAM payload and every byte outside a frame (the idle
    tail) go two indices per Gray 64-QAM symbol, exactly as index_mapper maps them, so
    for frames without a mode the two blocks give the same samples. A frame whose header
    cannot be read, or names a mode that does not exist, is mapped as 64-QAM pairs and
    counted in ``unreadable``; ``frames`` counts those mapped by their header and
    ``modes`` the frames per mode name.
    """

    def __init__(self, order=8):
        from semcom_codec.phy.modes import CONSTELLATIONS, ENTRIES

        if order != ENTRIES:
            raise ValueError(f"the frame mapper carries {ENTRIES}-entry indices (64-QAM), "
                             f"got order {order}")
        gr.basic_block.__init__(self, name="semcom_frame_mapper", in_sig=[np.uint8],
                                out_sig=[np.complex64])
        self.order = int(order)
        self.qam = CONSTELLATIONS["qam64"]
        self.sync = framing.sync_indices(self.order)
        self.head = 2 * (framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS)   # bytes
        self.bytes = np.zeros(0, np.uint8)
        self.pending = np.zeros(0, np.complex64)
        self.frames = self.unreadable = 0
        self.modes = {}

    def forecast(self, noutput_items, ninputs):
        return [0 if len(self.pending) else 1] * ninputs

    def _pairs(self, data):
        """Index pairs -> Gray 64-QAM symbols (a last odd index waits for its pair)."""
        return self.qam.map(np.clip(data, 0, self.order - 1)).astype(np.complex64)

    def _frame_at_start(self):
        """(symbols, bytes used) of the frame at the start of the buffer, None when more
        bytes are needed, or False when it is not a frame that can be mapped."""
        if len(self.bytes) < self.head:
            return None
        header = framing.header_from_indices(self.bytes[2 * framing.SYNC_SYMBOLS:self.head],
                                             self.order)
        if header is None:
            return False
        try:
            mode = header.transmission_mode()
        except ValueError:
            return False
        size = header.payload + header.payload % 2
        if len(self.bytes) < self.head + size:
            return None
        payload = self.bytes[self.head:self.head + header.payload]
        if mode.id == 0:
            body = self._pairs(self.bytes[self.head:self.head + size])
        else:
            if header.payload % mode.levels or payload.max(initial=0) >= self.order:
                return False
            body = mode.map(payload.reshape(mode.levels, -1)).astype(np.complex64)
        self.frames += 1
        self.modes[mode.name] = self.modes.get(mode.name, 0) + 1
        return np.concatenate([self._pairs(self.bytes[:self.head]), body]), self.head + size

    def _map(self):
        """Maps every whole frame and every byte pair that cannot start one."""
        out = []
        while len(self.bytes) >= 2:
            if np.array_equal(self.bytes[:min(len(self.sync), len(self.bytes))],
                              self.sync[:len(self.bytes)]):
                if len(self.bytes) < len(self.sync):
                    break                      # may still become a sync
                found = self._frame_at_start()
                if found is None:
                    break
                if found is not False:
                    symbols, used = found
                    out.append(symbols)
                    self.bytes = self.bytes[used:]
                    continue
                self.unreadable += 1
                cut = 2
            else:  # up to the next pair that could start a sync
                pairs = self.bytes[:len(self.bytes) // 2 * 2].reshape(-1, 2)
                starts = np.flatnonzero((pairs[1:, 0] == self.sync[0])
                                        & (pairs[1:, 1] == self.sync[1]))
                cut = 2 * (starts[0] + 1) if starts.size else 2 * len(pairs)
            out.append(self._pairs(self.bytes[:cut]))
            self.bytes = self.bytes[cut:]
        if out:
            self.pending = np.concatenate([self.pending] + out)

    def general_work(self, input_items, output_items):
        data, out = input_items[0], output_items[0]
        if len(self.pending) < len(out) and len(data):
            self.bytes = np.concatenate([self.bytes, data])
            self.consume(0, len(data))
            try:
                self._map()
            except Exception as err:  # a fault of ours loses these bytes, not the stream
                from semcom_codec.errors import one_line

                self.logger.error(f"frame mapper: {len(self.bytes)} index bytes skipped "
                                  f"after a fault: {type(err).__name__}: {one_line(err)}")
                self.bytes = np.zeros(0, np.uint8)
        n = min(len(out), len(self.pending))
        out[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n
