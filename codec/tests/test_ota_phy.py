"""The over-the-air PHY's numpy reference: pulse, burst format, transmitter, impairments
and receiver, against exact values and the figures of ../shared/research/ota.md."""

import math

import numpy as np
import pytest

from semcom_codec.phy import burst_format as fmt
from semcom_codec.phy import burst_rx, burst_tx, constellation, impairments, pulse
from semcom_codec.phy import preamble as pre

INFO = bytes(range(20))


def qam64(rng, count):
    axis = (2 * rng.integers(0, 8, (2, count)) - 7) / math.sqrt(42)
    return axis[0] + 1j * axis[1]


def index_error_rate_ideal(esn0_db, order=8):
    """8-PAM symbol error rate per axis at Es/N0 (the ideal AWGN index error rate)."""
    q = 0.5 * math.erfc(math.sqrt(3 * 10 ** (esn0_db / 10) / (order * order - 1)) / math.sqrt(2))
    return 2 * (1 - 1 / order) * q


def random_link(rng, esn0_db, **extra):
    """The acceptance impairments: CFO in +/- Rs/16, SRO in +/- 60 ppm, random phase,
    fractional delay and gain in +/- 20 dB."""
    return impairments.Impairments(
        esn0_db=esn0_db, cfo=rng.uniform(-1 / 16, 1 / 16), sro_ppm=rng.uniform(-60, 60),
        delay=rng.uniform(0, 2), gain_db=rng.uniform(-20, 20), phase=rng.uniform(0, 2 * np.pi),
        **extra)


def test_pulse_is_nyquist_and_the_matched_filter_is_exact_at_any_instant():
    rng = np.random.default_rng(0)
    symbols = qam64(rng, 3000)
    for sps in (2, 4):
        x = pulse.shape(symbols, sps)
        assert x.shape == ((3000 + 2 * pulse.SPAN) * sps + 1,)
        assert abs(np.mean(np.abs(x[100:-100]) ** 2) - 1.0) < 0.03  # unit power
        peaks = pulse.SPAN * sps + sps * np.arange(3000)
        err = pulse.matched_at(x, peaks, sps) - symbols
        assert 10 * np.log10(np.mean(np.abs(err[20:-20]) ** 2)) < -50
    # a signal delayed by a fraction of a sample, sampled where the delay says
    x = pulse.shape(symbols, 2)
    for delay in (0.31, 0.77):
        late = impairments.interpolate(x, np.arange(len(x)) - delay)
        err = pulse.matched_at(late, 2 * pulse.SPAN + delay + 2 * np.arange(3000)) - symbols
        assert 10 * np.log10(np.mean(np.abs(err[40:-40]) ** 2)) < -50
    assert pulse.rrc(np.array([0.0]))[0] == pytest.approx(1 - 0.35 + 4 * 0.35 / np.pi)
    # the removable singularity at t = 1 / (4 alpha) matches its neighbours
    pole = 1 / (4 * 0.35)
    near = pulse.rrc(np.array([pole - 1e-6, pole, pole + 1e-6]))
    assert np.allclose(near, near[1], atol=1e-5)
    with pytest.raises(ValueError, match="samples per symbol"):
        pulse.taps(sps=1)
    with pytest.raises(ValueError, match="roll-off"):
        pulse.taps(rolloff=1.5)


def test_the_pulse_table_matches_the_pulse_itself():
    """matched_at reads the pulse from a 512-phase table: against the pulse evaluated at
    each of the same taps' exact offsets the outputs agree to 5e-6 (-106 dB)."""
    rng = np.random.default_rng(9)
    samples = rng.standard_normal(300) + 1j * rng.standard_normal(300)
    times = rng.uniform(40, 260, 500)
    half = pulse.SPAN * 2
    exact = []
    for t in times:
        n = np.floor(t).astype(int) - half + np.arange(2 * half + 2)
        exact.append(np.sum(samples[n] * pulse.rrc((t - n) / 2)) / 2)
    assert np.max(np.abs(pulse.matched_at(samples, times) - np.array(exact))) < 5e-6


def test_header_round_trip_crc_and_fields():
    header = fmt.BurstHeader(order=8, burst=7, length=1234, info=INFO)
    packed = header.pack()
    assert len(packed) == fmt.HEADER_BYTES == 28
    assert fmt.BurstHeader.unpack(packed) == header
    corrupted = bytearray(packed)
    corrupted[9] ^= 0x10
    assert fmt.BurstHeader.unpack(bytes(corrupted)) is None
    with pytest.raises(ValueError, match="order"):
        fmt.BurstHeader(order=6, burst=0, length=1, info=INFO)
    with pytest.raises(ValueError, match="payload symbols"):
        fmt.BurstHeader(order=8, burst=0, length=fmt.MAX_PAYLOAD + 1, info=INFO)
    with pytest.raises(ValueError, match="info is 20 bytes"):
        fmt.BurstHeader(order=8, burst=0, length=1, info=b"short")


def test_header_decodes_at_minus_5_db_and_fails_safely_on_noise():
    rng = np.random.default_rng(1)
    header = fmt.BurstHeader(order=8, burst=3, length=8192, info=INFO)
    sent = fmt.header_symbols(header)
    assert sent.shape == (fmt.HEADER_SYMBOLS,) and np.allclose(np.abs(sent), 1.0)
    n0 = 10 ** 0.5  # Es/N0 -5 dB
    decoded = 0
    for _ in range(100):
        noise = rng.standard_normal((2, sent.size)) * math.sqrt(n0 / 2)
        decoded += fmt.decode_header(sent + noise[0] + 1j * noise[1], n0) == header
    assert decoded >= 99
    for _ in range(50):  # noise alone never passes the code and the CRC
        noise = rng.standard_normal((2, sent.size))
        assert fmt.decode_header(noise[0] + 1j * noise[1], 1.0) is None
    assert fmt.decode_header(np.full(sent.size, np.nan), 1.0) is None
    assert fmt.decode_header(sent[:-1], 1.0) is None


def test_layout_places_every_symbol_once():
    for length in (1, 511, 512, 513, 5000, fmt.MAX_PAYLOAD):
        layout = fmt.Layout(length)
        header = fmt.BurstHeader(order=8, burst=0, length=length, info=INFO)
        known, _ = fmt.known_symbols(header)
        everything = np.concatenate([known, layout.payload_positions()])
        assert np.array_equal(np.sort(everything), np.arange(layout.total))
        assert layout.segments == -(-length // fmt.SEGMENT)
    assert fmt.Layout(fmt.MAX_PAYLOAD).total == 10492


def test_payload_is_index_mapper_gray_qam_turned_by_quarter_turns():
    rng = np.random.default_rng(2)
    for order in (2, 4, 8, 16):
        indices = rng.integers(0, order, 2000)
        symbols = fmt.payload_symbols(indices, order)
        plain = constellation.map_indices(indices, order).numpy().astype(np.complex128)
        assert np.allclose(fmt.unscramble(symbols), plain, atol=1e-6)
        turns = np.round(np.angle(symbols / plain) / (np.pi / 2)) % 4
        assert set(np.unique(turns)) == {0, 1, 2, 3}
        # a quarter turn maps the square QAM onto itself: slicing still works
        assert np.array_equal(constellation.hard_demap(symbols.astype(np.complex64),
                                                       order).numpy().size, indices.size)
    with pytest.raises(ValueError, match="pairs"):
        fmt.payload_symbols([1, 2, 3], 8)
    with pytest.raises(ValueError, match="0..7"):
        fmt.payload_symbols([1, 8], 8)


def test_transmitter_cuts_an_image_into_bursts_with_the_shaping_and_backoff():
    rng = np.random.default_rng(3)
    indices = rng.integers(0, 8, 2 * fmt.MAX_PAYLOAD + 1001)  # odd: completed with 0
    modulator = burst_tx.BurstModulator(backoff_db=6.0)
    bursts = modulator.bursts(INFO, indices)
    assert [b.header.length for b in bursts] == [fmt.MAX_PAYLOAD, 501]
    assert [b.header.burst for b in bursts] == [0, 1]
    first = bursts[0]
    assert first.samples.dtype == np.complex64
    assert len(first.samples) == (fmt.Layout(fmt.MAX_PAYLOAD).total + 2 * pulse.SPAN) * 2 + 1
    assert 10 * np.log10(np.mean(np.abs(first.samples[100:-100]) ** 2)) == pytest.approx(
        -6.0, abs=0.1)
    gapped = burst_tx.stream(bursts, gap=100, lead=50)
    assert len(gapped) == 50 + sum(len(b.samples) + 100 for b in bursts)
    with pytest.raises(ValueError, match="back-off"):
        burst_tx.BurstModulator(backoff_db=-1)


def _link(rng, esn0_db, count_symbols, **extra):
    indices = rng.integers(0, 8, 2 * count_symbols)
    bursts = burst_tx.BurstModulator().bursts(INFO, indices)
    channel = random_link(rng, esn0_db, **extra)
    received = channel.apply(burst_tx.stream(bursts, gap=300, lead=400), rng)
    return indices, channel, received


def _index_errors(bursts, indices):
    errors = total = 0
    for b in bursts:
        first = b.header.burst * fmt.MAX_PAYLOAD
        sent = indices[2 * first:2 * (first + b.header.length)]
        decided = constellation.hard_demap(b.symbols, 8).numpy()
        errors += int(np.sum(decided != sent))
        total += sent.size
    return errors, total


def test_receiver_at_20_db_with_every_impairment_is_within_the_ideal_error_rate():
    rng = np.random.default_rng(4)
    indices, channel, received = _link(rng, 20.0, fmt.MAX_PAYLOAD + 3000)
    receiver = burst_rx.BurstReceiver()
    bursts = receiver.receive(received)
    assert receiver.counters == (2, 2, 0)
    assert [b.header.burst for b in bursts] == [0, 1]
    assert all(b.header.info == INFO for b in bursts)
    errors, total = _index_errors(bursts, indices)
    assert total == indices.size
    ideal = index_error_rate_ideal(20.0)
    assert errors / total < 1.15 * ideal  # about 1000 errors expected: a tight bound
    for b in bursts:
        assert b.cfo == pytest.approx(channel.cfo, abs=2e-5)
        assert b.sro_ppm == pytest.approx(channel.sro_ppm, abs=3.0)
        assert b.esn0_db == pytest.approx(20.0, abs=0.3)
        assert b.gain_db == pytest.approx(channel.gain_db, abs=0.2)
        assert np.allclose(b.noise_var, 10 ** (-b.esn0_db / 10), rtol=0.2)


def test_receiver_at_minus_5_db_decodes_headers_and_measures_n0():
    rng = np.random.default_rng(5)
    indices, _, received = _link(rng, -5.0, 2 * fmt.MAX_PAYLOAD)
    bursts = burst_rx.BurstReceiver().receive(received)
    assert [b.header.burst for b in bursts] == [0, 1]
    for b in bursts:  # 0.3 dB rms per burst at -5 dB (the gain's estimate): 3 sigma
        assert b.esn0_db == pytest.approx(-5.0, abs=0.9)
    errors, total = _index_errors(bursts, indices)
    assert errors / total == pytest.approx(index_error_rate_ideal(-5.0), rel=0.05)


def test_echo_iq_image_and_phase_noise_cost_under_1_db():
    rng = np.random.default_rng(6)
    indices, _, received = _link(rng, 20.0, 2 * fmt.MAX_PAYLOAD, phase_noise_deg=1.0,
                                 iq_image_dbc=-30.0, echo_db=-10.0)
    bursts = burst_rx.BurstReceiver().receive(received)
    assert len(bursts) == 2 and all(b.equalised for b in bursts)
    errors, total = _index_errors(bursts, indices)
    assert errors / total < index_error_rate_ideal(19.0)


def test_noise_junk_and_cut_bursts_are_counted_never_raised():
    rng = np.random.default_rng(7)
    receiver = burst_rx.BurstReceiver()
    noise = (rng.standard_normal(60000) + 1j * rng.standard_normal(60000)) * 0.3
    assert receiver.receive(noise) == []
    assert receiver.receive(np.zeros(5000, complex)) == []
    assert receiver.receive(np.zeros(10, complex)) == []
    _, _, received = _link(rng, 15.0, 3000)
    cut = received[:len(received) // 2]            # the burst's end never arrives
    assert receiver.receive(cut) == []
    assert receiver.counters.dropped == 1
    spoiled = received.copy()
    spoiled[1500:2400] = np.nan     # a hole over a quarter of the header: its copies fill it
    assert len(receiver.receive(spoiled)) == 1
    spoiled[900:4300] = np.inf      # no header left
    assert receiver.receive(spoiled) == []
    assert receiver.counters == (3, 1, 2)
    # back to back, one sample apart: both found
    bursts = burst_tx.BurstModulator().bursts(INFO, rng.integers(0, 8, 2 * 600))
    twice = burst_tx.stream(bursts * 2, gap=1, lead=100)
    channel = random_link(rng, 20.0)
    found = burst_rx.BurstReceiver().receive(channel.apply(twice, rng))
    assert len(found) == 2


def test_the_simulated_link_is_the_same_however_the_stream_is_cut():
    """A GNU Radio scheduler cuts the stream anywhere: noise, phase noise and the clock
    come out the same for every cut."""
    link = impairments.Impairments(esn0_db=10.0, cfo=0.01, sro_ppm=50.0, delay=0.7,
                                   echo_db=-10.0, phase_noise_deg=1.0, iq_image_dbc=-30.0)
    x = np.random.default_rng(0).standard_normal(20000) + 0j
    whole = link.apply(x, np.random.default_rng(1))
    for step in (13, 777, 4096):
        stream = link.stream(np.random.default_rng(1))
        parts = [stream.process(x[i:i + step]) for i in range(0, len(x), step)]
        cut = np.concatenate(parts + [stream.flush()])[:len(x)]
        np.testing.assert_allclose(cut, whole, rtol=0, atol=1e-12)
