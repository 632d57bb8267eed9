#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Burst receiver: raw complex samples from a radio in, the image frames of the bursts
found in them out, each symbol with its own noise variance, for image_sink's CSI input
(the codec package's burst PHY, semcom_codec.phy.burst_rx)."""

import collections

import numpy as np
import pmt
from gnuradio import gr
from semcom_codec.phy.burst_rx import END_MARGIN

from . import framing
from .semcom_python import gray_pam, matched_filter

UNKNOWN = np.float32(np.inf)   # N0 of a symbol that never arrived: image_sink takes it
                               # as unknown
CLEAN = np.float32(1e-6)       # N0 of the frame sync and header the receiver rebuilds


class burst_receiver(gr.basic_block):
    """Finds bursts of burst_transmitter(sps, rolloff) in raw samples and streams the
    image frames they carry: for each image the frame's sync and header (rebuilt from
    the header every burst carries), then the payload symbols in order, gain and phase
    removed; second output, each symbol's N0 from the known symbols of its burst
    (image_sink with csi_input: the NRB, the MMSE code vectors or the soft demapping
    and the metrics all use the receiver's own estimate).

    A burst that is not found, or whose header fails, leaves its symbols out: they go
    out as zeros of infinite N0 and the sink takes them as unknown. After each image's
    last burst a short tail lets the sink decode it at once. ``threshold`` is the
    detection metric's threshold (0.1: about one false detection in 10^10 hypotheses;
    each is refused by the header code and CRC); ``equaliser`` allows the LS equaliser
    where the channel needs it.

    Counters: ``detected``, ``decoded`` and ``dropped`` bursts (header failed), ``images``
    begun and ``missing`` bursts (never decoded, counted from the headers of the others);
    ``last`` is the latest ReceivedBurst (Es/N0, carrier and clock offsets, gain) and
    ``log`` one dictionary per decoded burst (start sample, length, what was measured),
    what a SigMF recorder annotates. The counters are printed when the flowgraph stops.
    """

    def __init__(self, *, sps=2, rolloff=0.35, threshold=0.1, equaliser=True, tail=256):
        from semcom_codec.phy.burst_rx import BurstReceiver

        gr.basic_block.__init__(self, name="semcom_burst_receiver", in_sig=[np.complex64],
                                out_sig=[np.complex64, np.float32])
        kernel = matched_filter(int(sps), float(rolloff))  # the C++ hot path
        self.receiver = BurstReceiver(sps=sps, rolloff=rolloff, threshold=threshold,
                                      equaliser=equaliser, matched_filter=kernel.at)
        self.sps = self.receiver.sps
        self.tail = int(tail)
        self.buffer = np.zeros(0, np.complex64)
        self.base = 0              # input sample of buffer[0]
        self.scanned = 0           # input samples searched for preambles
        self.pending = []          # detections (start, cfo, metric, end once known)
        self.recent = collections.deque(maxlen=64)   # starts already taken
        self.out_symbols = collections.deque()
        self.out_noise = collections.deque()
        self.image = None          # (info bytes, FrameHeader, order) of the current image
        self.next_burst = 0        # its next burst index
        self.images = self.missing = 0
        self.last = None
        self.log = collections.deque(maxlen=100000)  # decoded bursts, for recordings
        from semcom_codec.phy.burst_format import HEADER_SYMBOLS
        from semcom_codec.phy.preamble import PREAMBLE_LENGTH
        from semcom_codec.phy.pulse import SPAN

        self.preamble_samples = PREAMBLE_LENGTH * self.sps
        # from a preamble's first peak to its header's last symbol and that pulse's tail
        self.header_samples = (PREAMBLE_LENGTH + HEADER_SYMBOLS + SPAN) * self.sps

    @property
    def detected(self):
        return self.receiver.detected

    @property
    def decoded(self):
        return self.receiver.decoded

    @property
    def dropped(self):
        return self.receiver.dropped

    def forecast(self, noutput_items, ninputs):
        return [0 if self.out_symbols else 1] * ninputs

    # -- frames out --------------------------------------------------------------------

    def _emit(self, symbols, noise_var):
        self.out_symbols.append(np.asarray(symbols, np.complex64))
        self.out_noise.append(np.broadcast_to(np.float32(noise_var), len(symbols)).copy()
                              if np.ndim(noise_var) == 0 else np.asarray(noise_var, np.float32))

    def _close_image(self):
        """The current image's missing last bursts as unknown symbols, then a tail."""
        if self.image is None:
            return
        from semcom_codec.phy.burst_format import MAX_PAYLOAD

        _, header, _ = self.image
        total = (header.payload + 1) // 2
        done = min(self.next_burst * MAX_PAYLOAD, total)
        if done < total:
            self.missing += -(-(total - done) // MAX_PAYLOAD)
            self._emit(np.zeros(total - done, np.complex64), UNKNOWN)
        self._emit(np.zeros(self.tail, np.complex64), UNKNOWN)
        self.image = None

    def _place(self, burst):
        """A decoded burst's symbols into the image frame stream."""
        from semcom_codec.phy.burst_format import MAX_PAYLOAD

        info, order = burst.header.info, burst.header.order
        if self.image is not None and (self.image[0] != info or self.image[2] != order
                                       or burst.header.burst < self.next_burst):
            self._close_image()  # a new image began (or this one's bursts repeat)
        if self.image is None:
            header = framing.FrameHeader.unpack(info)
            if header is None:
                return
            self.image = (info, header, order)
            self.images += 1
            self.next_burst = 0
            pam = gray_pam(order)
            start = np.concatenate([framing.sync_indices(order),
                                    framing.header_indices(header, order)])
            self._emit(pam.map(start), CLEAN)
        _, header, _ = self.image
        total = (header.payload + 1) // 2
        gap = burst.header.burst - self.next_burst
        if gap > 0:   # bursts lost in between
            self.missing += gap
            self._emit(np.zeros(min(gap * MAX_PAYLOAD, total - self.next_burst * MAX_PAYLOAD),
                                np.complex64), UNKNOWN)
        self._emit(burst.symbols, burst.noise_var)
        self.next_burst = burst.header.burst + 1
        if self.next_burst * MAX_PAYLOAD >= total:
            self._close_image()

    def _log(self, burst):
        """What a recording's annotations say of a decoded burst."""
        from semcom_codec.phy.burst_format import Layout

        header = framing.FrameHeader.unpack(burst.header.info)
        length = Layout(burst.header.length).total * self.sps * (1 + burst.sro_ppm * 1e-6)
        self.log.append({"start": int(round(burst.start)), "length": int(np.ceil(length)),
                         "burst": burst.header.burst,
                         "frame": None if header is None else header.frame,
                         "esn0_db": burst.esn0_db, "cfo": burst.cfo, "sro_ppm": burst.sro_ppm,
                         "gain_db": burst.gain_db, "equalised": burst.equalised})

    # -- bursts in ---------------------------------------------------------------------

    def _search(self):
        """New preambles in what arrived since the last search. A start is taken only
        once every start up to a preamble after it could be searched too: a preamble cut
        by the buffer's end shows its periodic part's side peaks (-6.6 dB at multiples of
        8 symbols) before the true start arrives, and the strongest must win."""
        end = self.base + len(self.buffer)
        edge = 16 * self.sps                       # the matched filter's reach
        settle = 2 * self.preamble_samples + edge  # searchable and settled up to here
        limit = end - settle
        begin = max(self.base, self.scanned - edge)
        if limit <= self.scanned or end - begin < self.preamble_samples + edge:
            return
        for start, cfo, metric in self.receiver.detect(self.buffer[begin - self.base:]):
            start += begin
            if not self.scanned <= start < limit:
                continue
            if all(abs(start - s) >= self.preamble_samples for s in self.recent):
                self.pending.append((start, cfo, metric, None))
                self.recent.append(start)
        self.pending.sort()
        self.scanned = limit

    def _demodulate(self):
        """Every pending burst whose samples have all arrived. A burst's header is read
        once, when it has arrived; that tells where the burst ends, and the burst is
        demodulated once the buffer reaches a little past that."""
        while self.pending:
            start, cfo, metric, end = self.pending[0]
            local = start - self.base
            if end is None:
                if len(self.buffer) < local + self.header_samples:
                    return          # its header has not arrived yet
                found = self.receiver.acquire(self.buffer, local, cfo, metric)
                if found is None:
                    self.receiver.detected += 1
                    self.receiver.dropped += 1
                    self.pending.pop(0)
                    continue
                end = found.end + self.base + END_MARGIN * self.sps
                self.pending[0] = (start, cfo, metric, end)
            if end > self.base + len(self.buffer):
                return              # the rest of the burst is on its way
            self.pending.pop(0)
            self.receiver.detected += 1
            burst = self.receiver.demodulate(self.buffer, local, cfo, metric,
                                             end=end - self.base)
            if burst is None:
                self.receiver.dropped += 1
                continue
            self.receiver.decoded += 1
            self.last = burst._replace(start=burst.start + self.base)
            self._log(self.last)
            self._place(burst)

    def _trim(self):
        keep_from = (self.pending[0][0] - 64 * self.sps if self.pending
                     else self.scanned - self.preamble_samples - 64 * self.sps)
        drop = min(max(keep_from - self.base, 0), len(self.buffer))
        self.buffer = self.buffer[drop:]
        self.base += drop

    def general_work(self, input_items, output_items):
        data = input_items[0]
        try:
            clean = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
            self.buffer = np.concatenate([self.buffer, clean.astype(np.complex64)])
            self._search()
            self._demodulate()
            self._trim()
        except Exception as err:  # a fault of ours loses these samples, not the flowgraph
            from semcom_codec.errors import one_line

            self.logger.error(f"burst receiver: samples skipped after a fault: "
                              f"{type(err).__name__}: {one_line(err)}")
            self.pending, self.buffer = [], np.zeros(0, np.complex64)
            self.base = self.scanned = self.nitems_read(0) + len(data)
        self.consume(0, len(data))
        out, noise = output_items
        written = 0
        while self.out_symbols and written < len(out):
            symbols, variances = self.out_symbols[0], self.out_noise[0]
            n = min(len(out) - written, len(symbols))
            out[written:written + n] = symbols[:n]
            noise[written:written + n] = variances[:n]
            written += n
            if n == len(symbols):
                self.out_symbols.popleft()
                self.out_noise.popleft()
            else:
                self.out_symbols[0], self.out_noise[0] = symbols[n:], variances[n:]
        return written

    def stop(self):
        self.logger.info(f"bursts: {self.detected} detected, {self.decoded} decoded, "
                         f"{self.dropped} dropped; images {self.images}, bursts missing "
                         f"{self.missing}")
        return True
