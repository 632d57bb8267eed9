#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Image sink: finds frames in received symbols and decodes them with the codec (MOC-RVQ:
demapping, NRB and decoder; analog deep JSCC: the decoder told the Es/N0)."""

import collections
import os
import time

import numpy as np
import pmt
from gnuradio import gr

from . import framing
from .semcom_python import gray_pam

SYNC_THRESHOLD = 0.5  # normalised correlation: ~1 at a sync, < 0.3 over data
# Noise variances the receiver accepts (Es/N0 from -100 to +100 dB): beyond them the
# float32 demapper would see 0 or inf.
MIN_NOISE_VAR, MAX_NOISE_VAR = 1e-10, 1e10
# Received samples are clipped to this magnitude per axis (the constellation's corners
# are at 1.08); NaN and infinite samples count as 0, i.e. as carrying nothing.
MAX_SAMPLE = 1e3


class image_sink(gr.sync_block):
    """Decodes every frame of an equalised symbol stream into an image.

    ``codec`` is an ImageCodec (semcom_codec.load); without it ``weights`` (a file, or a
    shipped model name) is loaded with the receiver options below. For an analog codec
    the payload symbols go to its decoder with the N0 of ``noise_var`` or the CSI
    input; demapping and the NRB options do not apply.

    Finds frames by correlation with the sync sequence and reads their header (a bad CRC
    or an inconsistent header drops the frame, counts it, and the search goes on at the
    next sync). The payload is demapped hard (a model trained for it then takes the MMSE
    code vector of each decision at the Es/N0 below), or soft as per-index posteriors for
    noise variance ``noise_var`` (the receiver then uses posterior-weighted code vectors), or
    with ``csi_input`` for the per-symbol variance on a second, float input (what
    fading_channel's second output or burst_receiver's gives; a symbol whose variance
    is infinite or NaN never arrived and counts as unknown); the NRB (told the Es/N0
    that ``noise_var`` or the CSI input implies, when the model takes it) and
    requantization run if enabled; the decoder writes frame_NNNNNN.png into
    ``output_dir``. A frame cut short (the next sync arrives early, or the stream ends)
    is decoded from what arrived, missing indices counting as unknown, and marked
    truncated; one cut before its first level is complete, or inside its header, is
    dropped. One PDU per image leaves on port "image": the result dictionary (without
    the image) and the decoded RGB pixels as bytes, row-major.

    A long run keeps flat memory: ``results`` holds the last ``history`` result
    dictionaries (with their images), ``last_result`` the latest, and counters the rest
    (``decoded``, ``truncated``, ``failed``, ``dropped``, ``bad_headers``). A frame that
    cannot be decoded is logged in one line, counted and skipped; nothing escapes
    work() or stop(). Headers claiming an image over the size limit of
    semcom_codec.images.check_image_size are refused.
    """

    def __init__(self, *, codec=None, weights="", demapping="hard", noise_var=0.1,
                 noise_reduction=True, requantize=True, output_dir="", reference="",
                 device="auto", csi_input=False, history=8):
        self.csi_input = bool(csi_input)
        in_sig = [np.complex64, np.float32] if self.csi_input else [np.complex64]
        gr.sync_block.__init__(self, name="semcom_image_sink", in_sig=in_sig, out_sig=None)
        from .image_source import load_block_codec

        if demapping not in ("hard", "soft"):
            raise ValueError(f"demapping must be 'hard' or 'soft', got {demapping!r}")
        if int(history) < 0:
            raise ValueError(f"history must be 0 or more results, got {history}")
        self.codec = load_block_codec(codec, weights, device,
                                      noise_reduction=bool(noise_reduction),
                                      requantize=bool(requantize))
        self.analog = self.codec.kind == "symbols"
        self.weights = self.codec.source
        self.codec_id = self.codec.identity
        self.pam = None if self.analog else gray_pam(self.codec.order)
        self.demapping = demapping
        self.set_noise_var(noise_var)
        self.output_dir = output_dir
        self.reference = None
        if reference:
            from semcom_codec.images import load_image

            self.reference = load_image(reference)
        self.buffer = np.zeros(0, dtype=np.complex64)
        self.noise_vars = np.zeros(0, dtype=np.float32)  # beside buffer, with csi_input
        self.header = None           # header of the frame whose payload is arriving
        self.spec = None             # its PayloadSpec
        self.searched = 0            # payload symbols already searched for an early sync
        self.results = collections.deque(maxlen=int(history))  # the last decoded images
        self.last_result = None
        self.decode_seconds = 0.0    # time in NRB + requantization + decoder, for benchmarks
        self.decoded = 0             # frames decoded (truncated ones included)
        self.frame_symbols = 0       # their symbols on the air (sync + header + payload)
        self.truncated = 0           # of which cut short
        self.failed = 0              # frames whose decoding raised: logged and skipped
        self.dropped = 0             # frames cut inside their header or first level
        self.bad_headers = 0
        self.message_port_register_out(pmt.intern("image"))

    def set_noise_var(self, noise_var):
        """The receiver's N0; refuses what the demapper cannot use, at the call."""
        try:
            value = float(noise_var)
        except (TypeError, ValueError):
            raise ValueError(f"noise variance N0 must be a number, got {noise_var!r}") from None
        if not MIN_NOISE_VAR <= value <= MAX_NOISE_VAR:
            raise ValueError(f"noise variance N0 must be in {MIN_NOISE_VAR:g}..{MAX_NOISE_VAR:g} "
                             f"(Es/N0 -100..100 dB), got {noise_var}")
        self.noise_var = value

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

    def _spec(self, header):
        """The PayloadSpec of the header's image, or None for a size or rate this
        receiver does not take (the images' size limit: memory follows the symbols)."""
        from semcom_codec.images import check_image_size

        if header.levels not in self.codec.rates:
            return None
        try:
            check_image_size(header.height, header.width)
            mode = header.transmission_mode()
        except ValueError:  # empty, over the limit, or a mode that does not exist
            return None
        if mode.id == 0:
            return self.codec.payload(header.height, header.width, rate=header.levels)
        if self.analog or not hasattr(self.codec, "mode_for"):
            return None  # a codec without transmission modes
        return self.codec.payload(header.height, header.width, rate=header.levels,
                                  mode=mode)

    def _process(self, final=False):
        sync, head = framing.SYNC_SYMBOLS, framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS
        while True:
            if self.header is None:
                pos = self._find_sync()
                if pos is None:
                    self._advance(max(0, len(self.buffer) - (sync - 1)))
                    return
                self._advance(pos)
                # a sync starting inside this header means the frame was cut there:
                # its header may still pass the CRC, but it is not this frame's
                if len(self.buffer) < (head if final else head + sync - 1):
                    return
                inner = self._find_sync(1, head + sync - 1)
                if inner is not None and inner < head:
                    self.dropped += 1
                    self.logger.warn("dropped a frame cut inside its header; the next "
                                     "frame starts there")
                    self._advance(inner)
                    continue
                header = framing.decode_header(self.buffer[sync:head])
                spec = None if header is None else self._spec(header)
                if (spec is None or header.version != framing.VERSION
                        or header.payload != spec.length):
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
                self.header, self.spec = header, spec
                self._advance(head)
            needed = self.spec.channel_symbols
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
                self._decode_or_skip(early, truncated=True)
                self._advance(early)
            elif len(self.buffer) >= needed + framing.SYNC_SYMBOLS - 1 or (
                    final and len(self.buffer) >= needed):
                # whole only once the search has seen every sync that could start
                # before the payload's end (a cut in its last symbols)
                self._decode_or_skip(needed, truncated=False)
                self._advance(needed)
            elif final:
                self._decode_or_skip(len(self.buffer), truncated=True)
                self._advance(len(self.buffer))
                self.header = None
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

    def _noise_var(self, count):
        """N0 of the first ``count`` payload symbols: ``noise_var``, or with
        ``csi_input`` each symbol's N0 / |h|^2."""
        if self.csi_input and count:
            return np.ascontiguousarray(self.noise_vars[:count], dtype=np.float32)
        return self.noise_var

    def _decode_or_skip(self, count, truncated):
        """Decodes the frame, or logs in one line why it cannot be and counts it."""
        header, spec = self.header, self.spec
        if truncated and spec.entries_in(count) < spec.minimum:
            self.dropped += 1
            self.logger.warn(f"frame {header.frame} was cut after {count} of "
                             f"{spec.channel_symbols} payload symbols, before the "
                             f"{spec.minimum} entries its codec needs (MOC-RVQ: the first "
                             "level): dropped")
            return
        try:
            self._decode(count, truncated)
        except Exception as err:  # any fault stays in this frame; the stream goes on
            from semcom_codec.errors import one_line

            self.failed += 1
            self.logger.error(f"frame {header.frame} could not be decoded and was skipped: "
                              f"{type(err).__name__}: {one_line(err)}")
        finally:
            from semcom_codec.heap import release_freed_memory

            release_freed_memory()  # the image's tensors, back to the system

    def _decode(self, count, truncated):
        """Decode the frame whose payload is the first ``count`` buffered symbols."""
        from semcom_codec.interface import Received

        header, spec = self.header, self.spec
        symbols = np.ascontiguousarray(self.buffer[:count], dtype=np.complex64)
        noise_var = self._noise_var(count)
        if self.analog:
            values = symbols[:spec.length]
        elif spec.mode is not None:  # each level on its mode's constellation
            values = self._mode_demap(spec, symbols, noise_var)
        elif self.demapping == "soft":  # per-index posteriors
            values = self.pam.soft_demap(symbols, noise_var)[:spec.length]
        else:  # hard decisions (the codec turns them into code vectors or their means)
            values = self.pam.hard_demap(symbols)[:spec.length]
        start = time.perf_counter()
        # with the CSI input, the largest N0 marks symbols that never arrived (a burst
        # lost on the air, or NaN / infinite noise variances): the codec takes them as
        # unknown and leaves them out of the Es/N0 it tells the NRB
        lost = (noise_var >= MAX_NOISE_VAR) if self.csi_input and count else None
        image = self.codec.decode(Received(values, noise_var, lost), height=header.height,
                                  width=header.width, rate=header.levels,
                                  **({"mode": spec.mode} if spec.mode is not None else {}))
        self.decode_seconds += time.perf_counter() - start
        n = spec.channel_symbols
        mode = spec.mode.name if spec.mode is not None else (
            "" if self.analog else f"L{header.levels}-qam64")
        result = {"frame": header.frame, "levels": header.levels, "mode": mode,
                  "height": header.height,
                  "width": header.width,
                  "symbols": framing.SYNC_SYMBOLS + framing.HEADER_SYMBOLS + n,
                  "payload_symbols": n,
                  "received_symbols": len(symbols), "truncated": bool(truncated),
                  "image": image}
        if self.output_dir:
            from semcom_codec.images import save_png

            result["path"] = os.path.join(self.output_dir, f"frame_{header.frame:06d}.png")
            save_png(image, result["path"])
        if self.reference is not None and self.reference.shape == image.shape:
            result.update(self._metrics(image))
        self.decoded += 1
        self.frame_symbols += result["symbols"]
        self.truncated += bool(truncated)
        self.last_result = result
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
                             f"{len(symbols)} of {n} payload symbols")

    def _mode_demap(self, spec, symbols, noise_var):
        """Hard labels or posteriors of the entries that arrived whole, each level on
        its own constellation (semcom_codec.phy.modes, float64): a frame cut short is
        completed with zeros and only its whole entries are kept."""
        total = spec.channel_symbols
        y = np.zeros(total, np.complex128)
        y[:len(symbols)] = symbols
        arrived = spec.entries_in(len(symbols))
        if self.demapping == "soft":
            n0 = noise_var
            if np.ndim(noise_var):
                n0 = np.full(total, MAX_NOISE_VAR, np.float64)
                n0[:len(noise_var)] = noise_var
            values = spec.mode.soft_demap(y, n0, spec.minimum).reshape(-1, self.codec.order)
            return values[:arrived].astype(np.float32)
        return spec.mode.hard_demap(y, spec.minimum).ravel()[:arrived]

    def _metrics(self, image):
        """PSNR, and SSIM and LPIPS where the image is large enough for their windows
        (below them they are not defined and left out)."""
        from semcom_codec.errors import MetricUndefined
        from semcom_codec.metrics.psnr import psnr
        from semcom_codec.metrics.lpips import check_lpips_size, lpips_distance
        from semcom_codec.metrics.ssim import check_ssim_size, ssim

        out = {"psnr": psnr(self.reference, image)}
        for key, check, metric in (("ssim", check_ssim_size, ssim),
                                   ("lpips", check_lpips_size, lpips_distance)):
            try:
                check(*image.shape[:2])
            except MetricUndefined:
                continue
            out[key] = metric(self.reference, image)
        return out

    # -- gr.sync_block -------------------------------------------------------------------

    def work(self, input_items, output_items):
        n = len(input_items[0])
        try:
            # appended once, then scrubbed in place: no extra copy per call
            self.buffer = np.concatenate([self.buffer, input_items[0]])
            new = self.buffer[len(self.buffer) - n:]
            np.nan_to_num(new, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
            np.clip(new.real, -MAX_SAMPLE, MAX_SAMPLE, out=new.real)
            np.clip(new.imag, -MAX_SAMPLE, MAX_SAMPLE, out=new.imag)
            if self.csi_input:  # an unusable N0 counts as "nothing known" (the largest)
                self.noise_vars = np.concatenate([self.noise_vars, input_items[1]])
                new = self.noise_vars[len(self.noise_vars) - n:]
                np.nan_to_num(new, copy=False, nan=MAX_NOISE_VAR, posinf=MAX_NOISE_VAR,
                              neginf=MAX_NOISE_VAR)
                np.clip(new, MIN_NOISE_VAR, MAX_NOISE_VAR, out=new)
            self._process()
        except Exception as err:  # a fault of ours must not end the flowgraph
            self._recover(err)
        return n

    def stop(self):
        try:
            self._process(final=True)
        except Exception as err:
            self._recover(err)
        return True

    def _recover(self, err):
        """Logs an unexpected fault in one line and restarts the frame search."""
        from semcom_codec.errors import one_line

        self.failed += 1
        self.logger.error(f"receiver fault, searching for the next frame: "
                          f"{type(err).__name__}: {one_line(err)}")
        self.header, self.searched = None, 0
        self._advance(min(len(self.buffer), 1 + framing.SYNC_SYMBOLS))
