#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""What two real radios do to the samples between them, as one block: the simulator of
the over-the-air figures (semcom_codec.phy.impairments), for loopbacks and the ZMQ
virtual radio."""

import collections

import numpy as np
from gnuradio import gr


class channel_impairments(gr.basic_block):
    """Multipath echo, the receiver's sample clock (fractional ``delay`` in samples and
    offset ``sro_ppm``), ``gain_db`` and ``phase``, carrier offset ``cfo`` (a fraction of
    the symbol rate), oscillator phase noise (``phase_noise_deg`` rms), AWGN at
    ``esn0_db`` (Es/N0 of the received signal, both paths of an echo counted; noise
    drawn fresh from a seeded generator, never from a pool) and the receiver's IQ
    imbalance (``iq_image_dbc``). ``echo_db`` adds a path half a symbol later. None
    switches an impairment off. ``signal_power`` is the transmitter's mean power during
    a burst (1 / back-off), ``sps`` and ``rolloff`` its shaping's.

    The output is as long as the input, times the clock offset; the noise is the same
    however the scheduler cuts the stream.
    """

    def __init__(self, *, esn0_db=None, sps=2, cfo=0.0, sro_ppm=0.0, delay=0.0,
                 gain_db=0.0, phase=0.0, phase_noise_deg=0.0, iq_image_dbc=None,
                 echo_db=None, signal_power=1.0, rolloff=0.35, seed=0):
        from semcom_codec.phy.impairments import Impairments

        gr.basic_block.__init__(self, name="semcom_channel_impairments",
                                in_sig=[np.complex64], out_sig=[np.complex64])
        self.impairments = Impairments(
            esn0_db=esn0_db, sps=sps, cfo=cfo, sro_ppm=sro_ppm, delay=delay,
            gain_db=gain_db, phase=phase, phase_noise_deg=phase_noise_deg,
            iq_image_dbc=iq_image_dbc, echo_db=echo_db, signal_power=signal_power,
            rolloff=rolloff).check()
        self.link = self.impairments.stream(np.random.default_rng(seed))
        self.pending = collections.deque()

    def forecast(self, noutput_items, ninputs):
        return [0 if self.pending else 1] * ninputs

    def general_work(self, input_items, output_items):
        data = input_items[0]
        if len(data):
            produced = self.link.process(data)
            if len(produced):
                self.pending.append(produced.astype(np.complex64))
        self.consume(0, len(data))
        out = output_items[0]
        written = 0
        while self.pending and written < len(out):
            head = self.pending[0]
            n = min(len(out) - written, len(head))
            out[written:written + n] = head[:n]
            written += n
            if n == len(head):
                self.pending.popleft()
            else:
                self.pending[0] = head[n:]
        return written
