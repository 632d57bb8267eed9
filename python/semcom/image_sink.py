#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Image sink: finds frames in received symbols, decodes them with the NRB + decoder."""

import os
import time

import numpy as np
import pmt
from gnuradio import gr

from . import framing
from .semcom_python import gray_pam

SYNC_THRESHOLD = 0.5  # normalised correlation: ~1 at a sync, < 0.3 over data


class image_sink(gr.sync_block):
    """Decodes every frame of an equalised symbol stream into an image.

    Finds frames by correlation with the sync sequence and reads their header (a bad CRC
    or an inconsistent header drops the frame, counts it, and the search goes on at the
    next sync). The payload is demapped hard (a model trained for it then takes the MMSE
    code vector of each decision at the Es/N0 below), or soft as per-index posteriors for
    noise variance ``noise_var`` (the receiver then uses posterior-weighted code vectors), or
    with ``csi_input`` for the per-symbol variance on a second, float input (what
    fading_channel's second output gives after equalisation); the NRB (told the Es/N0
    that ``noise_var`` or the CSI input implies, when the model takes it) and
    requantization run if enabled; the decoder writes frame_NNNNNN.png into
    ``output_dir``. A frame cut short (the next sync arrives early, or the stream ends)
    is decoded from what arrived, missing indices counting as unknown, and marked
    truncated. One PDU per image leaves on port "image": the result dictionary (without
    the image) and the decoded RGB pixels as bytes, row-major.
    """

    def __init__(self, weights="", demapping="hard", noise_var=0.1, noise_reduction=True,
                 requantize=True, output_dir="", reference="", device="auto",
                 csi_input=False):
        self.csi_input = bool(csi_input)
        in_sig = [np.complex64, np.float32] if self.csi_input else [np.complex64]
        gr.sync_block.__init__(self, name="semcom_image_sink", in_sig=in_sig, out_sig=None)
        from semcom_codec.codec import load_codec
        from semcom_codec.train import resolve_device
        from semcom_codec.weights import default_codec_weights

        from .image_source import codec_id

        if demapping not in ("hard", "soft"):
            raise ValueError(f"demapping must be 'hard' or 'soft', got {demapping!r}")
        self.weights = weights or default_codec_weights()
        self.codec = load_codec(self.weights, resolve_device(device))
        self.codec_id = codec_id(self.weights)
        self.pam = gray_pam(self.codec.cfg.entries)
        self.demapping = demapping
        self.set_noise_var(noise_var)
        self.noise_reduction, self.requantize = bool(noise_reduction), bool(requantize)
        self.output_dir = output_dir
        self.reference = None
        if reference:
            from semcom_codec.images import load_image

            self.reference = load_image(reference)
        self.buffer = np.zeros(0, dtype=np.complex64)
        self.noise_vars = np.zeros(0, dtype=np.float32)  # beside buffer, with csi_input
        self.header = None           # header of the frame whose payload is arriving
        self.searched = 0            # payload symbols already searched for an early sync
        self.results = []            # one dict per decoded image
        self.decode_seconds = 0.0    # time in NRB + requantization + decoder, for benchmarks
        self.bad_headers = 0
        self.message_port_register_out(pmt.intern("image"))

    def set_noise_var(self, noise_var):
        if not noise_var > 0:
            raise ValueError(f"noise variance N0 must be positive, got {noise_var}")
        self.noise_var = float(noise_var)

    # -- frame search ------------------------------------------------------------------

    def _find_sync(self, start=0, end=None):
        """Index of the first sync in buffer[start:end] (its correlation peak), or None."""
        corr = framing.sync_correlation(self.buffer[start:end])
        above = np.flatnonzero(corr > SYNC_THRESHOLD)
        if above.size == 0:
            return None
        first = above[0]
        window = corr[first:first + framing.SYNC_SYMBOLS]
        return start + first + int(np.argmax(window))

    def _expected_payload(self, header):
        cfg = self.codec.cfg
        if not 1 <= header.levels <= cfg.levels or header.height < 1 or header.width < 1:
            return None
        h, w = -(-header.height // 8), -(-header.width // 8)
        return header.levels * cfg.heads * h * w

    def _process(self, final=False):
        head = framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS
        while True:
            if self.header is None:
                pos = self._find_sync()
                if pos is None:
                    self._advance(max(0, len(self.buffer) - (framing.SYNC_SYMBOLS - 1)))
                    return
                self._advance(pos)
                if len(self.buffer) < head:
                    return
                header = framing.decode_header(self.buffer[framing.SYNC_SYMBOLS:head])
                if (header is None or header.version != framing.VERSION
                        or header.payload != self._expected_payload(header)):
                    self.bad_headers += 1
                    self.logger.warn(f"dropped a frame with a bad header "
                                     f"({self.bad_headers} so far); searching for the next")
                    self._advance(1)
                    continue
                if header.codec_id != self.codec_id:
                    self.bad_headers += 1
                    self.logger.error(f"frame {header.frame} was encoded with another codec "
                                      f"(id {header.codec_id:08x}, ours {self.codec_id:08x}); "
                                      "skipped")
                    self._advance(1)
                    continue
                self.header = header
                self._advance(head)
            needed = (self.header.payload + 1) // 2
            # Search only what arrived since the last call (plus one sync length of
            # overlap), not the whole payload again on every work().
            start = max(0, self.searched - framing.SYNC_SYMBOLS + 1)
            end = min(len(self.buffer), needed + framing.SYNC_SYMBOLS - 1)
            early = None
            if end - start >= framing.SYNC_SYMBOLS:
                found = self._find_sync(start, end)
                early = found if found is not None and found < needed else None
                self.searched = end
            if early is not None:
                self._decode(early, truncated=True)
                self._advance(early)
            elif len(self.buffer) >= needed:
                self._decode(needed, truncated=False)
                self._advance(needed)
            elif final and len(self.buffer):
                self._decode(len(self.buffer), truncated=True)
                self._advance(len(self.buffer))
                return
            else:
                return
            self.header = None
            self.searched = 0

    # -- decoding ------------------------------------------------------------------------

    def _advance(self, count):
        """Drop the first ``count`` buffered symbols (and their noise variances)."""
        self.buffer = self.buffer[count:]
        if self.csi_input:
            self.noise_vars = self.noise_vars[count:]

    def _esn0_db(self, count):
        """The Es/N0 an SNR-aware NRB is told: 1/N0 from ``noise_var``, or with
        ``csi_input`` the mean of the payload symbols' 1 / (N0 / |h|^2)."""
        if self.csi_input and count:
            inverse = np.mean(1.0 / np.maximum(self.noise_vars[:count], 1e-30))
            return float(10.0 * np.log10(max(inverse, 1e-30)))
        return float(-10.0 * np.log10(self.noise_var))

    def _decode(self, count, truncated):
        """Decode the frame whose payload is the first ``count`` buffered symbols."""
        header, cfg = self.header, self.codec.cfg
        n, order = header.payload, cfg.entries
        shape = (header.levels, cfg.heads, -(-header.height // 8), -(-header.width // 8))
        symbols = np.ascontiguousarray(self.buffer[:count], dtype=np.complex64)
        if self.demapping == "soft" or truncated:
            post = np.full((n + 1, order), 1.0 / order, dtype=np.float32)  # unknown: uniform
            if self.demapping == "soft" and self.csi_input:
                got = self.pam.soft_demap(symbols, np.ascontiguousarray(self.noise_vars[:count]))
            elif self.demapping == "soft":
                got = self.pam.soft_demap(symbols, self.noise_var)
            else:  # the decided code vectors, or their MMSE means for such a model
                table = self.codec.decision_posteriors(self._esn0_db(count)).numpy()
                got = table[self.pam.hard_demap(symbols)]
            post[:len(got)] = got[:n + 1]
            received = post[:n].reshape(*shape, order)
        else:
            received = self.pam.hard_demap(symbols)[:n].reshape(shape)
        start = time.perf_counter()
        image = self.codec.decode_image(received, (header.height, header.width),
                                        self.noise_reduction, self.requantize,
                                        self._esn0_db(count))
        self.decode_seconds += time.perf_counter() - start
        result = {"frame": header.frame, "levels": header.levels, "height": header.height,
                  "width": header.width, "symbols": framing.frame_symbols(header),
                  "payload_symbols": (n + 1) // 2,
                  "received_symbols": len(symbols), "truncated": bool(truncated),
                  "image": image}
        if self.output_dir:
            from semcom_codec.images import save_png

            result["path"] = os.path.join(self.output_dir, f"frame_{header.frame:06d}.png")
            save_png(image, result["path"])
        if self.reference is not None and self.reference.shape == image.shape:
            from semcom_codec.images import psnr
            from semcom_codec.lpips import lpips_distance
            from semcom_codec.metrics import ssim

            result["psnr"] = psnr(self.reference, image)
            if min(image.shape[:2]) >= 11:  # the SSIM window
                result["ssim"] = ssim(self.reference, image)
            result["lpips"] = lpips_distance(self.reference, image)
        self.results.append(result)
        meta = pmt.make_dict()
        for key, value in result.items():
            if key != "image":
                meta = pmt.dict_add(meta, pmt.intern(key), pmt.to_pmt(value))
        from semcom_codec.images import to_uint8

        pixels = pmt.init_u8vector(image.size, to_uint8(image).ravel())
        self.message_port_pub(pmt.intern("image"), pmt.cons(meta, pixels))
        if truncated:
            self.logger.warn(f"frame {header.frame} was cut short: decoded from "
                             f"{len(symbols)} of {(n + 1) // 2} payload symbols")

    # -- gr.sync_block -------------------------------------------------------------------

    def work(self, input_items, output_items):
        self.buffer = np.concatenate([self.buffer, input_items[0]])
        if self.csi_input:
            self.noise_vars = np.concatenate([self.noise_vars, input_items[1]])
        self._process()
        return len(input_items[0])

    def stop(self):
        self._process(final=True)
        return True
