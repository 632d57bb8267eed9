#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""AWGN at a given Es/N0 for unit-energy symbols: fast, seedable, settable while running."""

import threading

import numpy as np
from gnuradio import gr


class awgn_channel(gr.sync_block):
    """y = x + w, w complex Gaussian of variance N0 = 10^(-Es/N0 dB / 10) (N0/2 per axis).

    Noise comes from numpy's PCG64 generator, a whole work() buffer at a time (several
    times faster than analog.noise_source_c), so the same seed gives the same noise for
    the same stream. ``set_esn0_db`` takes effect at the next buffer.
    """

    def __init__(self, esn0_db=10.0, seed=0):
        gr.sync_block.__init__(self, name="semcom_awgn_channel", in_sig=[np.complex64],
                               out_sig=[np.complex64])
        self._lock = threading.Lock()
        self.set_esn0_db(esn0_db)
        self.rng = np.random.Generator(np.random.PCG64(seed))
        # Large buffers amortise the Python call per work(): noise is made in bulk.
        self.set_min_output_buffer(1 << 16)

    def set_esn0_db(self, esn0_db):
        esn0_db = float(esn0_db)
        if not np.isfinite(esn0_db):
            raise ValueError(f"Es/N0 must be a finite number of dB, got {esn0_db}")
        with self._lock:
            self.esn0_db = esn0_db
            self.sigma = np.float32(np.sqrt(10 ** (-esn0_db / 10) / 2))

    def noise_var(self):
        return float(2 * self.sigma ** 2)

    def work(self, input_items, output_items):
        x, y = input_items[0], output_items[0]
        n = len(x)
        with self._lock:
            sigma = self.sigma
        w = self.rng.standard_normal(2 * n, dtype=np.float32)
        w *= sigma
        y[:] = x + w.view(np.complex64)
        return n
