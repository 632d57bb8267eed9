"""Shipped models and the one loader: a model name or a weight file -> ImageCodec.

Weight files name their system (files from before systems were named hold MOC-RVQ);
the loader reads the file once with weights_only, hands its dict to the system's
registered loader and gives the codec the file's identity for frame headers.
"""

import os
import sys
from fractions import Fraction

from . import registry, systems  # noqa: F401  (systems registers every system)
from .checkpoints import file_sha256, read_weight_file

CODEC_WEIGHTS_NAME = "moc_rvq_small.pt"
# The same autoencoder and codebooks with a receiver trained for the transmission modes
# (phy.modes) and their Es/N0 table: what mode "auto" needs.
MODES_WEIGHTS_NAME = "moc_rvq_small_modes.pt"

# name -> {channel bandwidth ratio: weight file in weights/}; MOC-RVQ has one file for
# every CBR (its rate, the level count, sets the CBR: L / 96 at 64-QAM).
SHIPPED = {
    "moc_rvq": {None: CODEC_WEIGHTS_NAME},
    "moc_rvq_modes": {None: MODES_WEIGHTS_NAME},
    "deep_jscc": {Fraction(1, 24): "deep_jscc_cbr1-24.pt",
                  Fraction(1, 48): "deep_jscc_cbr1-48.pt"},
    "deep_jscc_mse": {Fraction(1, 24): "deep_jscc_mse_cbr1-24.pt",
                      Fraction(1, 48): "deep_jscc_mse_cbr1-48.pt"},
    # VQ-DeepSC: the paper's model (every scale, LDPC 1/3, 16-QAM) when no CBR is
    # named; the CBR-matched links (scale 1 dropped, its decoder refined) at 1/48, 1/24
    "vq_deepsc": {None: "vq_deepsc_small.pt", Fraction(1, 24): "vq_deepsc_small_cbr.pt",
                  Fraction(1, 48): "vq_deepsc_small_cbr.pt"},
}


def weight_folders():
    """Where shipped weight files are looked for: $SEMCOM_WEIGHTS_DIR, the repository's
    weights/ (source tree or editable install), <prefix>/share/gr-semcom/weights."""
    here = os.path.dirname(os.path.abspath(__file__))
    folders = [os.environ["SEMCOM_WEIGHTS_DIR"]] if os.environ.get("SEMCOM_WEIGHTS_DIR") else []
    folders += [os.path.join(here, "..", "..", "weights"),
                os.path.join(sys.prefix, "share", "gr-semcom", "weights")]
    return [os.path.normpath(f) for f in folders]


def _find(file_name):
    candidates = [os.path.join(folder, file_name) for folder in weight_folders()]
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"no weight file {file_name}: looked in " + ", ".join(
        weight_folders()) + "; pass a path, or set SEMCOM_WEIGHTS_DIR")


def default_codec_weights():
    """Path of the shipped MOC-RVQ weights: $SEMCOM_WEIGHTS, else the weight folders."""
    if os.environ.get("SEMCOM_WEIGHTS"):
        path = os.environ["SEMCOM_WEIGHTS"]
        if os.path.isfile(path):
            return os.path.normpath(path)
        raise FileNotFoundError(f"SEMCOM_WEIGHTS names no file: {path}")
    return _find(CODEC_WEIGHTS_NAME)


def parse_cbr(text):
    """A channel bandwidth ratio from "1/24" (or a Fraction); ValueError otherwise."""
    try:
        cbr = Fraction(text)
    except (TypeError, ValueError, ZeroDivisionError):
        raise ValueError(f"a channel bandwidth ratio is a fraction such as 1/24, got {text!r}") \
            from None
    if not 0 < cbr <= 1:
        raise ValueError(f"a channel bandwidth ratio lies in (0, 1], got {text}")
    return cbr


def list_models():
    """Shipped model names with the CBRs they come in (None: any, set by the rate)."""
    return {name: sorted((c for c in files if c is not None), reverse=True) or [None]
            for name, files in SHIPPED.items()}


def shipped_weights(name, cbr=None):
    """Weight file of shipped model ``name`` at ``cbr`` (needed where it has several)."""
    if name not in SHIPPED:
        raise ValueError(f"unknown model {name!r}; shipped: {', '.join(SHIPPED)}")
    files = SHIPPED[name]
    cbrs = ", ".join(str(c) for c in sorted(c for c in files if c is not None))
    if cbr is not None and cbrs:
        cbr = parse_cbr(cbr)
        if cbr not in files:
            raise ValueError(f"model {name} is shipped for CBRs {cbrs}, not {cbr}")
        return _find(files[cbr])
    if None in files:
        return default_codec_weights() if name == "moc_rvq" else _find(files[None])
    raise ValueError(f"model {name} comes in CBRs {cbrs}: pick one")


def identity(path):
    """32-bit identity of a weight file (first bytes of its SHA-256), for frame headers."""
    return int(file_sha256(path)[:8], 16)


def load(model, *, cbr=None, device="cpu", **options):
    """The ImageCodec of a shipped model name (with ``cbr`` where it has several) or of
    a weight file path. ``options`` go to the system's receiver (MOC-RVQ:
    noise_reduction, requantize)."""
    path = os.fspath(model)
    if path in SHIPPED:
        path = shipped_weights(path, cbr)
    elif not os.path.lexists(path) and os.sep not in path and "." not in path:
        raise ValueError(f"unknown model {path!r}: neither a shipped model "
                         f"({', '.join(SHIPPED)}) nor a weight file")
    payload = read_weight_file(path, device)
    system = payload.get("system", registry.LEGACY_SYSTEM)
    if system not in registry.SYSTEMS:
        raise ValueError(f"{path}: unknown codec system {system!r}; known: "
                         f"{', '.join(sorted(registry.SYSTEMS))}")
    return registry.SYSTEMS[system](payload, path, identity(path), device, **options)
