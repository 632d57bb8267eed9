#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""SigMF record and replay of what a receiver gets: cf32 samples and their metadata
(sample rate, centre frequency, one annotation per burst the receiver decoded), written
and read with the `sigmf` package."""

import datetime
import os

import numpy as np
from gnuradio import blocks, gr

DATATYPE = "cf32_le"


def _paths(path):
    """(meta, data) paths of a recording named with or without its extension."""
    for suffix in (".sigmf-meta", ".sigmf-data", ".sigmf"):
        if str(path).endswith(suffix):
            path = str(path)[:-len(suffix)]
            break
    return f"{path}.sigmf-meta", f"{path}.sigmf-data"


class sigmf_recorder(gr.sync_block):
    """Writes every sample it gets to ``path``.sigmf-data (cf32_le) and, when the
    flowgraph stops, ``path``.sigmf-meta: sample rate, centre frequency, the time the
    recording began, and with ``receiver`` (a burst_receiver fed the same samples) one
    annotation per decoded burst: where it lies, its image and burst index, the Es/N0,
    carrier and clock offsets the receiver measured."""

    def __init__(self, path, *, sample_rate, frequency=0.0, receiver=None,
                 description="gr-semcom over-the-air recording", hardware=""):
        gr.sync_block.__init__(self, name="semcom_sigmf_recorder", in_sig=[np.complex64],
                               out_sig=None)
        if not sample_rate > 0:
            raise ValueError(f"sample rate must be positive, got {sample_rate!r}")
        self.meta_path, self.data_path = _paths(path)
        folder = os.path.dirname(os.path.abspath(self.data_path))
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"SigMF recording {path}: no folder {folder}")
        self.sample_rate, self.frequency = float(sample_rate), float(frequency)
        self.receiver, self.description, self.hardware = receiver, description, hardware
        self.data = open(self.data_path, "wb")
        self.began = datetime.datetime.now(datetime.timezone.utc)
        self.samples = 0

    def work(self, input_items, output_items):
        chunk = np.ascontiguousarray(input_items[0], dtype="<c8")
        self.data.write(chunk.tobytes())
        self.samples += len(chunk)
        return len(chunk)

    def stop(self):
        self.data.close()
        try:
            self.write_metadata()
        except Exception as err:  # the samples are on disk; say why the metadata is not
            self.logger.error(f"SigMF metadata {self.meta_path} not written: {err}")
        return True

    def write_metadata(self):
        from sigmf import SigMFFile

        info = {SigMFFile.DATATYPE_KEY: DATATYPE,
                SigMFFile.SAMPLE_RATE_KEY: self.sample_rate,
                SigMFFile.DESCRIPTION_KEY: self.description,
                SigMFFile.RECORDER_KEY: "gr-semcom sigmf_recorder"}
        if self.hardware:
            info[SigMFFile.HW_KEY] = self.hardware
        meta = SigMFFile(data_file=self.data_path, global_info=info)
        meta.add_capture(0, metadata={
            SigMFFile.FREQUENCY_KEY: self.frequency,
            SigMFFile.DATETIME_KEY: self.began.strftime("%Y-%m-%dT%H:%M:%S.%fZ")})
        for burst in (self.receiver.log if self.receiver is not None else []):
            start = burst["start"]
            if start < 0 or start >= self.samples:
                continue
            frame = "?" if burst["frame"] is None else burst["frame"]
            meta.add_annotation(start, min(burst["length"], self.samples - start), metadata={
                SigMFFile.LABEL_KEY: f"image {frame} burst {burst['burst']}",
                SigMFFile.COMMENT_KEY: (
                    f"Es/N0 {burst['esn0_db']:.2f} dB, CFO {burst['cfo']:+.6f} x Rs, clock "
                    f"{burst['sro_ppm']:+.2f} ppm, gain {burst['gain_db']:+.2f} dB, "
                    f"equaliser {'on' if burst['equalised'] else 'off'}")})
        meta.tofile(self.meta_path, overwrite=True)


class sigmf_source(gr.hier_block2):
    """The samples of a SigMF recording (cf32_le, one channel), once; ``sample_rate``,
    ``frequency`` and ``annotations`` say what the metadata holds. A recording that is
    missing, of another data type or whose data do not match the metadata is refused
    naming the problem."""

    def __init__(self, path):
        meta_path, data_path = _paths(path)
        recording = read_metadata(meta_path, data_path)
        gr.hier_block2.__init__(self, "semcom_sigmf_source", gr.io_signature(0, 0, 0),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        self.sample_rate = recording.get_global_field(recording.SAMPLE_RATE_KEY)
        captures = recording.get_captures()
        self.frequency = captures[0].get(recording.FREQUENCY_KEY) if captures else None
        self.annotations = recording.get_annotations()
        self.file = blocks.file_source(gr.sizeof_gr_complex, data_path, False)
        self.connect(self.file, self)


def read_metadata(meta_path, data_path):
    """The recording's SigMFFile, checked: one channel of cf32_le, data as long as the
    metadata says (sha512 checked)."""
    from sigmf import SigMFFile, sigmffile

    if not os.path.isfile(meta_path):
        raise FileNotFoundError(f"SigMF recording: no metadata file {meta_path}")
    if not os.path.isfile(data_path):
        raise FileNotFoundError(f"SigMF recording: no data file {data_path}")
    try:
        recording = sigmffile.fromfile(meta_path)
    except Exception as err:  # the package's own errors: bad JSON, schema, checksum
        raise ValueError(f"SigMF recording {meta_path} cannot be read: "
                         f"{type(err).__name__}: {err}") from None
    kind = recording.get_global_field(SigMFFile.DATATYPE_KEY)
    if kind != DATATYPE:
        raise ValueError(f"SigMF recording {meta_path}: data type {kind}, not {DATATYPE}")
    channels = recording.get_global_field(SigMFFile.NUM_CHANNELS_KEY) or 1
    if channels != 1:
        raise ValueError(f"SigMF recording {meta_path}: {channels} channels, not 1")
    if os.path.getsize(data_path) % 8:
        raise ValueError(f"SigMF recording {data_path}: size is not a whole number of "
                         "cf32 samples")
    return recording
