"""Every registered codec system honours the codec interface the radio blocks use."""

import numpy as np
import pytest

from semcom_codec import registry, testing, zoo
from semcom_codec.checkpoints import file_sha256
from semcom_codec.interface import INDICES, SYMBOLS, ImageCodec, Received

SYSTEMS = sorted(registry.SYSTEMS)
SIZES = ((37, 53), (64, 48))


def test_every_registered_system_has_tiny_weights_and_is_covered():
    assert set(SYSTEMS) >= {"moc_rvq", "deep_jscc"}
    assert set(testing.TINY_WEIGHTS) == set(SYSTEMS)


@pytest.fixture(scope="module", params=SYSTEMS)
def weights(request, tmp_path_factory):
    return testing.tiny_weights(request.param, tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="module")
def codec(weights):
    return zoo.load(weights)


def image(height, width, seed=0):
    return np.random.default_rng(seed).random((height, width, 3), dtype=np.float32)


def test_loads_as_its_system_with_the_file_identity(codec, weights):
    assert isinstance(codec, ImageCodec)
    assert codec.system in SYSTEMS and codec.kind in (INDICES, SYMBOLS)
    assert codec.identity == int(file_sha256(weights)[:8], 16)
    assert codec.source == weights and codec.default_rate in codec.rates


@pytest.mark.parametrize("size", SIZES)
def test_encode_fills_the_payload_it_announces(codec, size):
    for rate in codec.rates:
        spec = codec.payload(*size, rate=rate)
        sent = codec.encode(image(*size), rate=rate)
        assert sent.shape == (spec.length,) and spec.kind == codec.kind
        assert 1 <= spec.minimum <= spec.length
        if spec.kind == INDICES:
            assert sent.dtype == np.uint8 and int(sent.max()) < spec.order
            assert spec.channel_symbols == (spec.length + 1) // 2
        else:
            assert sent.dtype == np.complex64 and spec.channel_symbols == spec.length
            assert np.mean(np.abs(sent) ** 2) == pytest.approx(1.0, rel=1e-4)
        assert codec.cbr(*size, rate=rate) == pytest.approx(
            spec.channel_symbols / (3 * size[0] * size[1]))


def test_encode_is_deterministic_and_survives_a_reload(codec, weights):
    x = image(*SIZES[0], seed=3)
    first = codec.encode(x)
    np.testing.assert_array_equal(first, codec.encode(x))
    np.testing.assert_array_equal(first, zoo.load(weights).encode(x))


@pytest.mark.parametrize("size", SIZES)
def test_decodes_whole_and_truncated_payloads_to_the_image_size(codec, size):
    sent = codec.encode(image(*size))
    spec = codec.payload(*size)
    for values in (sent, sent[:spec.minimum]):
        out = codec.decode(Received(values, noise_var=0.1), height=size[0], width=size[1])
        assert out.shape == size + (3,) and out.dtype == np.float32
        assert 0.0 <= out.min() and out.max() <= 1.0
    # N0 per symbol, or unknown, decode too
    per_symbol = np.full(spec.channel_symbols, 0.1, np.float32)
    for noise_var in (per_symbol, None):
        out = codec.decode(Received(sent, noise_var), height=size[0], width=size[1])
        assert out.shape == size + (3,)


def test_noiseless_whole_payload_decodes_as_the_model_does(codec):
    """The interface adds nothing: decoding what was sent is the model's own output,
    so the same input gives the same image every time."""
    x = image(*SIZES[1], seed=5)
    sent = codec.encode(x)
    a = codec.decode(Received(sent, 1e-6), height=SIZES[1][0], width=SIZES[1][1])
    b = codec.decode(Received(sent.copy(), 1e-6), height=SIZES[1][0], width=SIZES[1][1])
    np.testing.assert_array_equal(a, b)


def test_digital_posteriors_one_hot_equal_hard_decisions(codec):
    if codec.kind != INDICES:
        pytest.skip("analog codec")
    h, w = SIZES[0]
    sent = codec.encode(image(h, w))
    spec = codec.payload(h, w)
    one_hot = np.eye(spec.order, dtype=np.float32)[sent]
    hard = codec.decode(Received(sent), height=h, width=w)
    soft = codec.decode(Received(one_hot), height=h, width=w)
    np.testing.assert_allclose(soft, hard, atol=1e-5)


def test_lost_symbols_decode_as_unknown_and_leave_the_snr_alone(codec):
    """A burst lost on the air: its symbols' placeholders carry nothing, whatever they
    hold, and the Es/N0 comes from the symbols that arrived. A channel-coded payload
    loses more than its code can fill in."""
    h, w = SIZES[1]
    sent = codec.encode(image(h, w, seed=7))
    spec = codec.payload(h, w)
    lost = np.zeros(spec.channel_symbols, dtype=bool)
    first, last = (0.05, 0.95) if getattr(codec, "channel_coded", False) else (1 / 3, 1 / 2)
    lost[int(spec.channel_symbols * first):int(spec.channel_symbols * last)] = True
    n0 = np.where(lost, 1e10, 0.01).astype(np.float32)
    received = Received(sent, n0, lost)
    assert received.esn0_db() == pytest.approx(20.0)
    per_symbol = 2 if codec.kind == INDICES else 1
    entries = received.lost_entries(per_symbol, len(sent))
    assert entries.sum() == min(per_symbol * lost.sum(), len(sent))
    garbled = sent.copy()
    garbled[entries] = (spec.order - 1 - garbled[entries]) if codec.kind == INDICES else 5.0
    a = codec.decode(Received(sent, n0, lost), height=h, width=w)
    b = codec.decode(Received(garbled, n0, lost), height=h, width=w)
    np.testing.assert_allclose(a, b, atol=1e-6)  # the placeholders do not matter
    if codec.kind == INDICES:  # lost indices are uniform posteriors
        clean = np.where(lost, 1e10, 1e-6).astype(np.float32)  # the others certain
        posteriors = np.eye(spec.order, dtype=np.float32)[sent]
        posteriors[entries] = 1.0 / spec.order
        np.testing.assert_allclose(
            codec.decode(Received(sent, clean, lost), height=h, width=w),
            codec.decode(Received(posteriors, 1e-6), height=h, width=w), atol=1e-5)
    whole = codec.decode(Received(sent, 0.01), height=h, width=w)
    assert not np.allclose(a, whole, atol=1e-3)  # what was lost shows
    assert Received(sent, n0, np.zeros_like(lost)).lost_entries(per_symbol, len(sent)) is None


def test_bad_rates_and_payloads_are_refused_with_clear_errors(codec):
    h, w = SIZES[0]
    with pytest.raises(ValueError, match="rate must be one of"):
        codec.payload(h, w, rate=max(codec.rates) + 1)
    with pytest.raises(ValueError, match="rate must be one of"):
        codec.encode(image(h, w), rate=0)
    spec = codec.payload(h, w)
    too_long = np.zeros(spec.length + 1, np.uint8 if codec.kind == INDICES else np.complex64)
    with pytest.raises(ValueError, match="entries for a payload of"):
        codec.decode(Received(too_long), height=h, width=w)
    with pytest.raises(ValueError, match=r"RGB image \[H, W, 3\]"):
        codec.encode(np.zeros((h, w), np.float32))
    if codec.kind == INDICES:
        with pytest.raises(ValueError, match="posteriors over"):
            codec.decode(Received(np.zeros((4, spec.order + 1), np.float32)), height=h, width=w)


@pytest.mark.parametrize("name, error, words", [
    ("nonesuch", ValueError, "unknown model 'nonesuch': neither a shipped model"),
    ("deep_jscc", ValueError, "comes in CBRs .* pick one"),
    ("missing.pt", FileNotFoundError, "codec weight file not found: missing.pt"),
])
def test_the_loader_names_what_it_cannot_load(name, error, words):
    with pytest.raises(error, match=words):
        zoo.load(name)
