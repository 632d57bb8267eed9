#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""The radio ends of the over-the-air link: a configured transmit or receive block of
gr-uhd (USRP), gr-iio (PlutoSDR) or gr-soapy (HackRF, LimeSDR, bladeRF, ...), and hier
blocks that put the burst PHY in front of them.

Without the hardware each fails when it is made, with one line that names the radio
that was not found and how to look for it, instead of the driver's own words alone.
"""

from gnuradio import gr

from .burst_receiver import burst_receiver
from .burst_transmitter import burst_transmitter

RADIOS = ("usrp", "pluto", "soapy")
LENGTH_TAG = "packet_len"
# how to look for each radio when it is not there
LOOK_FOR = {"usrp": "uhd_find_devices", "pluto": "iio_info -s",
            "soapy": "SoapySDRUtil --find"}


class RadioNotFound(RuntimeError):
    """The radio asked for is not connected (or not reachable with those arguments)."""


def _check(radio, lo_offset):
    if radio not in RADIOS:
        raise ValueError(f"radio must be one of {', '.join(RADIOS)}, got {radio!r}")
    if lo_offset and radio != "usrp":
        raise ValueError(f"an LO offset is a USRP (UHD) setting; the {radio} end takes none")


def _made(radio, device, make):
    """``make()``, its driver's failure turned into RadioNotFound naming the radio."""
    names = {"usrp": "USRP", "pluto": "PlutoSDR", "soapy": "SoapySDR device"}
    try:
        return make()
    except RuntimeError as err:
        detail = " ".join(str(err).split())
        raise RadioNotFound(
            f"no {names[radio]} found for {device or 'the default device'!r} ({detail}); "
            f"connect it or fix the device arguments (look with {LOOK_FOR[radio]})") from None


def radio_sink(radio, *, device="", freq=2.45e9, rate=2e6, gain=0.0, lo_offset=0.0,
               length_tag=LENGTH_TAG, buffer_size=32768):
    """The transmitting end. ``device``: UHD device arguments ("type=b200"), a libiio URI
    ("usb:1.2.5", "ip:pluto.local") or SoapySDR arguments ("driver=hackrf"). ``gain``
    in dB: the USRP's or SoapySDR's TX gain; for the PlutoSDR minus its attenuation
    (0 is full power). ``lo_offset`` (USRP only) tunes the LO that far from ``freq``
    and the DSP back, away from the carrier leak. USRP and SoapySDR take tagged bursts
    (``length_tag``); the PlutoSDR needs a continuous stream (burst_transmitter mode
    "stream" with idle zeros)."""
    _check(radio, lo_offset)
    if radio == "usrp":
        from gnuradio import uhd

        def make():
            sink = uhd.usrp_sink(device, uhd.stream_args(cpu_format="fc32", channels=[0]),
                                 length_tag)
            sink.set_samp_rate(rate)
            sink.set_center_freq(uhd.tune_request(freq, lo_offset), 0)
            sink.set_gain(gain, 0)
            return sink
    elif radio == "pluto":
        from gnuradio import iio

        def make():
            sink = iio.fmcomms2_sink_fc32(device or iio.get_pluto_uri(), [True, True],
                                          int(buffer_size), False)
            sink.set_len_tag_key("")
            sink.set_bandwidth(int(rate))
            sink.set_frequency(int(freq))
            sink.set_samplerate(int(rate))
            sink.set_attenuation(0, max(0.0, -float(gain)))
            sink.set_filter_params("Auto", "", 0, 0)
            return sink
    else:
        from gnuradio import soapy

        def make():
            sink = soapy.sink(device, "fc32", 1, "", "", [""], [""])
            sink.set_sample_rate(0, rate)
            sink.set_frequency(0, freq)
            sink.set_gain(0, gain)
            sink.set_length_tag_name(length_tag)
            return sink
    return _made(radio, device, make)


def radio_source(radio, *, device="", freq=2.45e9, rate=2e6, gain=30.0, lo_offset=0.0,
                 buffer_size=32768):
    """The receiving end, at a fixed gain (no AGC: the burst receiver measures each
    burst's gain, and a gain that moves inside a burst would cost the 64-QAM);
    arguments as radio_sink's."""
    _check(radio, lo_offset)
    if radio == "usrp":
        from gnuradio import uhd

        def make():
            source = uhd.usrp_source(device, uhd.stream_args(cpu_format="fc32", channels=[0]))
            source.set_samp_rate(rate)
            source.set_center_freq(uhd.tune_request(freq, lo_offset), 0)
            source.set_gain(gain, 0)
            return source
    elif radio == "pluto":
        from gnuradio import iio

        def make():
            source = iio.fmcomms2_source_fc32(device or iio.get_pluto_uri(), [True, True],
                                              int(buffer_size))
            source.set_len_tag_key("")
            source.set_frequency(int(freq))
            source.set_samplerate(int(rate))
            source.set_gain_mode(0, "manual")
            source.set_gain(0, float(gain))
            source.set_quadrature(True)
            source.set_rfdc(True)
            source.set_bbdc(True)
            source.set_filter_params("Auto", "", 0, 0)
            return source
    else:
        from gnuradio import soapy

        def make():
            source = soapy.source(device, "fc32", 1, "", "", [""], [""])
            source.set_sample_rate(0, rate)
            source.set_frequency(0, freq)
            source.set_gain_mode(0, False)
            source.set_gain(0, gain)
            return source
    return _made(radio, device, make)


class ota_radio_tx(gr.hier_block2):
    """Index frames in (Image Source), bursts out of a radio: burst_transmitter in the
    mode the radio needs (tagged bursts for USRP and SoapySDR, a continuous stream with
    idle zeros for the PlutoSDR, or with ``continuous`` for a SoapySDR radio that
    ignores end-of-burst, such as the HackRF) into radio_sink."""

    def __init__(self, *, radio="usrp", device="", freq=2.45e9, rate=2e6, gain=0.0,
                 lo_offset=0.0, order=8, sps=2, rolloff=0.35, backoff_db=3.0,
                 continuous=False):
        gr.hier_block2.__init__(self, "semcom_ota_radio_tx",
                                gr.io_signature(1, 1, gr.sizeof_char),
                                gr.io_signature(0, 0, 0))
        continuous = bool(continuous) or radio == "pluto"
        self.radio = radio_sink(radio, device=device, freq=freq, rate=rate, gain=gain,
                                lo_offset=lo_offset)
        self.transmitter = burst_transmitter(
            order=order, sps=sps, rolloff=rolloff, backoff_db=backoff_db,
            mode="stream" if continuous else "burst", idle=continuous)
        self.connect(self, self.transmitter, self.radio)


class ota_radio_rx(gr.hier_block2):
    """A radio's samples in, image frames out for image_sink (symbols and each
    symbol's N0): radio_source into burst_receiver."""

    def __init__(self, *, radio="usrp", device="", freq=2.45e9, rate=2e6, gain=30.0,
                 lo_offset=0.0, sps=2, rolloff=0.35, threshold=0.1):
        gr.hier_block2.__init__(self, "semcom_ota_radio_rx", gr.io_signature(0, 0, 0),
                                gr.io_signature2(2, 2, gr.sizeof_gr_complex,
                                                 gr.sizeof_float))
        self.radio = radio_source(radio, device=device, freq=freq, rate=rate, gain=gain,
                                  lo_offset=lo_offset)
        self.receiver = burst_receiver(sps=sps, rolloff=rolloff, threshold=threshold)
        self.connect(self.radio, self.receiver)
        self.connect((self.receiver, 0), (self, 0))
        self.connect((self.receiver, 1), (self, 1))
