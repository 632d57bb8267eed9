#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""Image source: files or PDUs in, one in-band frame per image out: index bytes of a
digital codec (for the index mapper) or complex symbols of an analog one."""

import glob
import os
import queue
import time

import numpy as np
import pmt
from gnuradio import gr

from . import framing

# Idle symbols after the last frame: blocks that work in multiples of a few items (VOLK
# alignment) drop a stream's last items, which must not be the last frame's; and the
# receiver looks one sync length past a header (for a frame cut inside it) before it
# takes the header, so the tail is longer than a sync.
TAIL_SYMBOLS = 192
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".webp")


def expand_images(spec):
    """Image paths from a path, a glob, a directory, or a list of those (sorted)."""
    specs = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec or [])
    paths = []
    for item in specs:
        item = os.fspath(item)
        if os.path.isdir(item):
            found = sorted(os.path.join(item, f) for f in os.listdir(item)
                           if f.lower().endswith(IMAGE_SUFFIXES))
        elif any(c in item for c in "*?["):
            found = sorted(glob.glob(item))
        else:
            found = [item]
        if not found:
            raise FileNotFoundError(f"no images found for {item!r}")
        paths += found
    return paths


def load_codec(model="moc_rvq", *, cbr=None, device="auto", **options):
    """The ImageCodec that the Image Codec variable hands to image sources and sinks:
    a shipped model (moc_rvq, deep_jscc, deep_jscc_mse; ``cbr`` such as "1/24" where it
    comes in several) or a weight file. ``options`` are the receiver's (MOC-RVQ:
    noise_reduction, requantize; an analog codec accepts and ignores them)."""
    from semcom_codec.runtime import resolve_device
    from semcom_codec.zoo import load

    return load(model, cbr=cbr or None, device=resolve_device(device), **options)


def load_block_codec(codec, weights, device, **options):
    """The ImageCodec a block works with: ``codec`` as given, else loaded from
    ``weights`` (a shipped model name or a file; empty: the shipped MOC-RVQ)."""
    if codec is not None:
        return codec
    from semcom_codec.zoo import default_codec_weights

    return load_codec(weights or default_codec_weights(), device=device, **options)


class image_source(gr.sync_block):
    """Encodes images with a codec and streams each as one frame.

    A digital codec (MOC-RVQ) gives a frame of index bytes for the index mapper; an
    analog one (deep JSCC) gives complex symbols, sync and header on the same corner
    points the mapper would produce, the payload at unit mean power: no mapper in the
    path. ``codec`` is an ImageCodec (semcom_codec.load); without it ``weights`` (a
    file, or a shipped model name) is loaded. ``rate`` is the codec's rate knob;
    ``levels`` is its MOC-RVQ name and is kept for that.

    Images come from ``images`` (paths, globs or directories) and from the message port
    "image" (a PDU whose data is an encoded image file, or a string/symbol path). Each
    frame is sync + header + the image's indices, level-major, for ``levels`` levels; a
    stream tag "semcom_frame" marks each frame start. With ``repeat`` the file list is
    sent again and again. Without ``repeat`` the stream ends after the listed images,
    unless ``wait_for_messages`` (the default when no images are listed) keeps it open
    for messages. The model loads once; each image is encoded once, whole. Each sent
    image is also published on port "sent" as a PDU: metadata (frame, levels, height,
    width, source) and the RGB pixels as bytes, row-major. ``payload`` ("indices" or
    "symbols"), when given, is the output the flowgraph expects (GRC fixes it to type
    the port); a codec of the other kind is refused.

    ``mode`` (MOC-RVQ) sends the frames on a transmission mode (semcom_codec.phy.modes):
    a name such as "L2-psk8" (its own level count; the frame mapper then maps it), or
    "auto", which picks per frame from the weights' Es/N0 table for the symbol budget of
    ``levels`` levels on 64-QAM (4: CBR 1/24, 2: CBR 1/48) at the link's Es/N0: the
    ``esn0_db`` parameter, updated by ``set_esn0_db`` or by messages on port "esn0" (a
    number in dB, or a dictionary or PDU whose metadata has "esn0_db": what
    burst_receiver publishes for each burst). Unknown Es/N0 takes the sturdiest mode.
    Empty: every level on 64-QAM (the paper's link). The header carries the mode.

    An image that cannot be read or encoded (missing, truncated, not an image, over
    semcom_codec.images.MAX_IMAGE_PIXELS, a decompression bomb) is logged in one line,
    counted in ``skipped`` and passed over; the stream goes on with the next one. When
    a whole pass over a repeated list finds nothing readable, the stream ends.
    """

    def __init__(self, images=(), *, codec=None, weights="", levels=None, rate=None,
                 device="auto", repeat=False, first_frame=0, wait_for_messages=None,
                 payload=None, mode="", esn0_db=None):
        self.codec = load_block_codec(codec, weights, device)
        self.analog = self.codec.kind == "symbols"
        if payload is not None and payload != self.codec.kind:
            raise ValueError(
                f"{self.codec.describe()} sends {self.codec.kind} "
                f"({'complex symbols' if self.analog else 'index bytes'}), but the block "
                f"was set up for {payload}: set its payload to {self.codec.kind!r}")
        gr.sync_block.__init__(self, name="semcom_image_source", in_sig=None,
                               out_sig=[np.complex64 if self.analog else np.uint8])
        chosen = rate if rate is not None else levels
        try:
            self.levels = self.codec.check_rate(chosen)
        except (TypeError, ValueError):
            raise ValueError(f"levels (rate) must be one of "
                             f"{', '.join(map(str, self.codec.rates))} for "
                             f"{self.codec.describe()}, got {chosen!r}") from None
        self.order = 0 if self.analog else self.codec.order
        self.esn0_db = None
        self.set_esn0_db(esn0_db)
        self.set_mode(mode)
        self.mode_counts = {}        # frames sent per mode name
        if self.analog:
            from .semcom_python import gray_pam

            self.pam = gray_pam(8)  # sync and header on the 64-QAM corners
        self.weights = self.codec.source
        self.codec_id = self.codec.identity
        self.paths = expand_images(images) if images else []
        self.repeat = bool(repeat)
        self.next_path = 0
        self.frame = int(first_frame)
        self.wait_for_messages = (not self.paths) if wait_for_messages is None \
            else bool(wait_for_messages)
        self.inbox = queue.Queue()
        self.dtype = np.complex64 if self.analog else np.uint8
        self.pending = np.zeros(0, dtype=self.dtype)
        self.tail_sent = False
        self.frames_sent = 0
        self.skipped = 0             # images that could not be read or encoded
        self.unreadable_run = 0      # listed files in a row that could not be read
        self.encode_seconds = 0.0  # time spent in the encoder + MOC-RVQ, for benchmarks
        self.message_port_register_in(pmt.intern("image"))
        self.set_msg_handler(pmt.intern("image"), self._on_message)
        self.message_port_register_out(pmt.intern("sent"))
        self.message_port_register_in(pmt.intern("esn0"))
        self.set_msg_handler(pmt.intern("esn0"), self._on_esn0)

    def set_mode(self, mode):
        """"" (64-QAM), a mode name or "auto"; refused at the call when this codec cannot
        send it (GRC calls this when a mode chooser changes)."""
        mode = "" if mode is None else str(mode)
        if mode and (self.analog or not hasattr(self.codec, "mode_for")):
            raise ValueError(f"{self.codec.describe()} has no transmission modes; leave "
                             "mode empty")
        if mode:
            self.codec.mode_for(mode, self.esn0_db, rate=self.levels)  # checks it
        self.mode = mode

    def set_esn0_db(self, esn0_db):
        """The link's Es/N0 (dB) that mode "auto" picks for; None: unknown."""
        if esn0_db is None or esn0_db == "":
            self.esn0_db = None
            return
        try:
            value = float(esn0_db)
        except (TypeError, ValueError):
            raise ValueError(f"Es/N0 must be a number in dB, got {esn0_db!r}") from None
        if not np.isfinite(value):
            raise ValueError(f"Es/N0 must be finite, got {esn0_db!r}")
        self.esn0_db = value

    def _on_esn0(self, msg):
        """A receiver's Es/N0 estimate: a number, or a dict / PDU with "esn0_db"."""
        key, value = pmt.intern("esn0_db"), msg
        if pmt.is_dict(value) and pmt.dict_has_key(value, key):
            value = pmt.dict_ref(value, key, pmt.PMT_NIL)
        elif pmt.is_pair(value) and pmt.is_dict(pmt.car(value)):   # a PDU: its metadata
            value = pmt.dict_ref(pmt.car(value), key, pmt.PMT_NIL)
        if not pmt.is_number(value) or pmt.is_complex(value):
            self.logger.error("esn0 port: expected an Es/N0 in dB (a number, or a dict or "
                              "PDU with esn0_db); message ignored")
            return
        try:
            self.set_esn0_db(pmt.to_double(value))
        except ValueError as err:
            self.logger.error(f"esn0 port: {err}; message ignored")

    def current_mode(self):
        """The phy.modes.Mode the next frame goes on (None: the codec's 64-QAM link)."""
        if not self.mode:
            return None
        return self.codec.mode_for(self.mode, self.esn0_db, rate=self.levels)

    def _on_message(self, msg):
        if pmt.is_pair(msg) and pmt.is_u8vector(pmt.cdr(msg)):
            self.inbox.put(("bytes", bytes(pmt.u8vector_elements(pmt.cdr(msg)))))
        elif pmt.is_symbol(msg):
            self.inbox.put(("path", pmt.symbol_to_string(msg)))
        else:
            self.skipped += 1
            self.logger.error("image port: expected a PDU of image file bytes or a path; "
                              "message skipped")

    def _skip(self, name, err):
        """Logs in one line why image ``name`` is passed over, and counts it."""
        from semcom_codec.errors import one_line

        self.skipped += 1
        text = one_line(err)
        self.logger.error(f"image skipped: {text if name in text else name + ': ' + text}")

    def _next_image(self):
        """(name, RGB float image) or None when nothing is waiting; unreadable images
        are logged, counted and passed over."""
        from semcom_codec.images import load_image, load_image_bytes

        files_left = self.repeat and self.paths or self.next_path < len(self.paths)
        while True:
            try:
                # Block a little when only messages can come, so work() does not spin.
                kind, item = (self.inbox.get_nowait() if files_left
                              else self.inbox.get(timeout=0.05))
            except queue.Empty:
                break
            try:
                return (("image message", load_image_bytes(item, "image message"))
                        if kind == "bytes"
                        else (item, load_image(item)))
            except Exception as err:  # untrusted input: nothing it does may end the block
                self._skip("image message", err)
        while self.paths:
            if self.next_path >= len(self.paths):
                if not self.repeat:
                    return None
                self.next_path = 0
            path = self.paths[self.next_path]
            self.next_path += 1
            try:
                image = load_image(path)
            except Exception as err:
                self._skip(path, err)
                self.unreadable_run += 1
                if self.unreadable_run >= len(self.paths) and self.repeat:
                    self.logger.error(f"none of the {len(self.paths)} listed images can be "
                                      "read; the list is not repeated again")
                    self.paths, self.repeat = [], False
                continue
            self.unreadable_run = 0
            return path, image
        return None

    def frame_for(self, image, frame):
        """The stream items of frame number ``frame`` for an RGB float image [H, W, 3]:
        index bytes (digital) or complex symbols (analog)."""
        start = time.perf_counter()
        height, width = image.shape[:2]
        mode = self.current_mode()
        levels = self.levels if mode is None else mode.levels
        try:
            payload = self.codec.encode(image, rate=levels)
        finally:
            from semcom_codec.heap import release_freed_memory

            release_freed_memory()  # the encoder's tensors, back to the system
        self.encode_seconds += time.perf_counter() - start
        header = framing.FrameHeader(frame=frame & 0xFFFFFFFF, height=height,
                                     width=width, levels=levels,
                                     codec_id=self.codec_id, payload=payload.size,
                                     mode=0 if mode is None else mode.id)
        self.last_levels = levels
        self.last_mode = mode.name if mode is not None else (
            None if self.analog else f"L{levels}-qam64")
        if self.analog:
            preamble = np.concatenate([framing.sync_indices(), framing.header_indices(header)])
            return np.concatenate([self.pam.map(preamble), payload]).astype(np.complex64)
        return framing.frame_indices(header, payload, self.order)

    def _done(self):
        """No more frames: the file list is exhausted and messages are not awaited."""
        return (not self.repeat and self.next_path >= len(self.paths)
                and self.inbox.empty() and not self.wait_for_messages)

    def _refill(self):
        """Queues the next frame, or once at the end the idle tail; False if none."""
        while True:
            item = self._next_image()
            if item is None:
                break
            name, image = item
            try:
                self.pending = self.frame_for(image, self.frame)
            except Exception as err:  # e.g. out of memory for this image: skip it
                self._skip(name, err)
                continue
            self._announce(name, image)
            if self.last_mode:
                self.mode_counts[self.last_mode] = self.mode_counts.get(self.last_mode, 0) + 1
            self.add_item_tag(0, self.nitems_written(0), pmt.intern("semcom_frame"),
                              pmt.from_long(self.frame))
            self.frame += 1
            self.frames_sent += 1
            return True
        if self._done() and not self.tail_sent:
            # digital: index bytes, two per symbol; analog: silence
            self.pending = np.zeros(TAIL_SYMBOLS * (1 if self.analog else 2), self.dtype)
            self.tail_sent = True
            return True
        return False

    def _announce(self, name, image):
        """Publishes the sent image on port "sent" (for an image view or a logger)."""
        from semcom_codec.images import to_uint8

        meta = pmt.make_dict()
        for key, value in (("frame", self.frame), ("levels", self.last_levels),
                           ("mode", self.last_mode or ""),
                           ("height", image.shape[0]), ("width", image.shape[1]),
                           ("source", name)):
            meta = pmt.dict_add(meta, pmt.intern(key), pmt.to_pmt(value))
        pixels = pmt.init_u8vector(image.size, to_uint8(image).ravel())
        self.message_port_pub(pmt.intern("sent"), pmt.cons(meta, pixels))

    def work(self, input_items, output_items):
        out = output_items[0]
        try:
            if self.pending.size == 0 and not self._refill():
                return -1 if self._done() else 0  # -1: WORK_DONE
        except Exception as err:  # a fault of ours: this image is lost, the stream goes on
            self.pending = np.zeros(0, dtype=self.dtype)
            self._skip("an image after an unexpected fault", err)
            return 0
        n = min(len(out), self.pending.size)
        out[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n
