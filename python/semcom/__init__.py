#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""gr-semcom: digital generative semantic communication of images (MOC-RVQ, deep JSCC) for GNU Radio.

C++ blocks: index_mapper (codebook indices -> Gray-mapped square QAM), index_demapper
(hard decision) and index_soft_demapper (per-index posteriors), and the gray_pam kernel
they share; matched_filter (the RRC matched filter at any instant, the burst receiver's
hot path); awgn_channel and fading_channel (Rayleigh / Rician with perfect CSI) on the
normal_rng noise kernel. Python blocks: image_source (images -> framed MOC-RVQ indices) and
image_sink (symbols -> frames -> images), which run the codec package's model;
frame_mapper (frames of indices -> symbols, each payload on its header's transmission
mode: 64-QAM, 8-PSK or biorthogonal per level), and
image_view (a Qt widget showing the sent and the received image); over the air,
burst_transmitter (frames -> shaped bursts), burst_receiver (raw samples -> frames with
each symbol's N0) and channel_impairments (a simulated pair of radios); the radio ends
radio_sink / radio_source (USRP, PlutoSDR, SoapySDR) and the hier blocks ota_radio_tx /
ota_radio_rx that put the burst PHY in front of them; sigmf_recorder and sigmf_source
(record what a receiver gets, replay it). load_codec gives the
ImageCodec (MOC-RVQ, deep JSCC) that the Image Codec variable hands to both image blocks.
"""

from .semcom_python import (
    awgn_channel,
    fading_channel,
    gray_pam,
    index_demapper,
    index_mapper,
    index_soft_demapper,
    matched_filter,
    normal_rng,
)

from .burst_receiver import burst_receiver
from .burst_transmitter import burst_transmitter
from .channel_impairments import channel_impairments
from .frame_mapper import frame_mapper
from .image_sink import image_sink
from .image_source import image_source, load_codec
from .image_view import image_view
from .radios import RadioNotFound, ota_radio_rx, ota_radio_tx, radio_sink, radio_source
from .sigmf_io import sigmf_recorder, sigmf_source

__all__ = ["gray_pam", "index_mapper", "index_demapper", "index_soft_demapper",
           "image_source", "load_codec", "frame_mapper", "image_sink", "image_view", "awgn_channel",
           "fading_channel", "normal_rng", "matched_filter", "burst_transmitter", "burst_receiver",
           "channel_impairments", "radio_sink", "radio_source", "ota_radio_tx",
           "ota_radio_rx", "RadioNotFound", "sigmf_recorder", "sigmf_source"]
