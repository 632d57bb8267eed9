"""Tiny weight files of every registered system, for tests of the codec package and of
the GNU Radio blocks: the real architectures at small sizes, untrained but valid; and a
test picture that any test can draw again, pixel for pixel."""

import dataclasses
import os

import numpy as np
import torch

from . import systems  # noqa: F401  (registers every system)


def tiny_moc_rvq(path, seed=0):
    """MOC-RVQ "tiny": k-means-initialised codebooks, NRB attached."""
    from .systems.moc_rvq.config import get_config
    from .systems.moc_rvq.model import SemanticCodec, save_codec
    from .systems.moc_rvq.nrb import NoiseReductionBlock

    torch.manual_seed(seed)
    codec = SemanticCodec(get_config("tiny"))
    codec.quantizer.init_from_data(codec.encoder(torch.rand(2, 3, 64, 64)).detach(),
                                   generator=torch.Generator().manual_seed(seed))
    codec.nrb = NoiseReductionBlock(codec.cfg)
    save_codec(codec.eval(), path)
    return path


# The Es/N0 table of the tiny mode model: every mode of both budgets in use somewhere.
TINY_MODE_TABLE = {"1/24": [[-5.0, "L1-biorth8"], [8.0, "L2-psk8"], [14.0, "L3-psk8-qam64"],
                            [20.0, "L4-qam64"]],
                   "1/48": [[-5.0, "L1-psk8"], [16.0, "L2-qam64"]]}


def tiny_moc_rvq_modes(path, seed=0):
    """MOC-RVQ "tiny" whose NRB is told the transmission mode (its mode vectors drawn
    at random, so that a receiver not told the mode decodes differently), with
    TINY_MODE_TABLE as its Es/N0 table."""
    from .systems.moc_rvq.config import get_config
    from .systems.moc_rvq.model import SemanticCodec, save_codec
    from .systems.moc_rvq.nrb import NoiseReductionBlock

    torch.manual_seed(seed)
    codec = SemanticCodec(dataclasses.replace(get_config("tiny"), nrb_modes=True))
    codec.quantizer.init_from_data(codec.encoder(torch.rand(2, 3, 64, 64)).detach(),
                                   generator=torch.Generator().manual_seed(seed))
    codec.nrb = NoiseReductionBlock(codec.cfg)
    torch.nn.init.normal_(codec.nrb.constellation_embedding.weight)
    torch.nn.init.normal_(codec.nrb.out.weight, std=0.05)
    save_codec(codec.eval(), path, extra={"mode_thresholds": TINY_MODE_TABLE})
    return path


TINY_DEEP_JSCC = dict(widths=(8, 12), res_blocks=(1, 1))


def tiny_deep_jscc(path, seed=0, perceptual=False, cbr="1/24"):
    """Deep JSCC at widths 8-12, the shipped CBRs (latent channels), random weights."""
    from .systems.deep_jscc.config import get_config
    from .systems.deep_jscc.model import DeepJscc
    from .systems.deep_jscc.train import save_weights

    base = get_config(f"{'deep_jscc' if perceptual else 'deep_jscc_mse'}/small-{cbr}")
    cfg = dataclasses.replace(base, name=base.name.replace("small", "tiny"), **TINY_DEEP_JSCC)
    torch.manual_seed(seed)
    save_weights(DeepJscc(cfg).eval(), path, {"tiny": True})
    return path


def tiny_shipped_deep_jscc(folder, seed=0):
    """Tiny stand-ins of every shipped deep JSCC file, under the shipped names, in
    ``folder`` (for SEMCOM_WEIGHTS_DIR): tests of what loads shipped models by name."""
    from .zoo import SHIPPED

    for name in ("deep_jscc", "deep_jscc_mse"):
        for cbr, file_name in SHIPPED[name].items():
            tiny_deep_jscc(os.path.join(folder, file_name), seed,
                           perceptual=name == "deep_jscc", cbr=str(cbr))
    return folder


TINY_VQ_DEEPSC = dict(input_width=4, widths=(4, 6, 8, 8))


def tiny_vq_deepsc(path, seed=0, decoder_without=(), quantize=True):
    """VQ-DeepSC at widths 4-8 with the paper's N = 16/8/4/2, random weights; the
    codebooks k-means initialised on the features of random images."""
    from .systems.vq_deepsc.config import VqDeepScConfig
    from .systems.vq_deepsc.model import VqDeepSc
    from .systems.vq_deepsc.train import save_weights

    cfg = VqDeepScConfig(name="tiny", decoder_without=tuple(decoder_without),
                         quantize=quantize, **TINY_VQ_DEEPSC)
    torch.manual_seed(seed)
    model = VqDeepSc(cfg)
    with torch.no_grad():
        model.train()(torch.rand(2, 3, 64, 64))  # k-means initialisation
    save_weights(model.eval(), path, {"tiny": True})
    return path


def tiny_shipped_vq_deepsc(folder, seed=0):
    """Tiny stand-ins of the shipped VQ-DeepSC files (the paper's decoder, and the one
    refined without scale 1 for the CBR-matched links) in ``folder``."""
    from .zoo import SHIPPED

    for cbr, file_name in SHIPPED["vq_deepsc"].items():
        tiny_vq_deepsc(os.path.join(folder, file_name), seed,
                       decoder_without=() if cbr is None else (1,))
    return folder


TINY_WEIGHTS = {"moc_rvq": tiny_moc_rvq, "deep_jscc": tiny_deep_jscc,
                "vq_deepsc": tiny_vq_deepsc}


def tiny_weights(system, folder, seed=0):
    """Writes a tiny weight file of ``system`` into ``folder``; returns its path."""
    if system not in TINY_WEIGHTS:
        raise ValueError(f"no tiny weights for system {system!r}")
    return TINY_WEIGHTS[system](os.path.join(folder, f"tiny_{system}.pt"), seed)


def random_image_folder(folder, count=3, height=40, width=40, seed=0):
    """``count`` PNGs of uniform random pixels in ``folder`` (training-run fixtures)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(
            os.path.join(folder, f"im{i}.png"))
    return folder


def pattern_image(height, width):
    """A deterministic RGB float image [H, W, 3] in 0..1 with smooth gradients, edges and
    a fine texture (no file, no random draw: it is the same wherever it is drawn)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)
    disc = ((u - 0.6) ** 2 + (v - 0.4) ** 2 < 0.07).astype(np.float64)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (x + 2 * y) / 9.0)
    red = 0.2 + 0.6 * u + 0.2 * disc
    green = 0.3 + 0.4 * v * (1 - disc) + 0.3 * disc * stripes
    blue = 0.5 + 0.3 * np.cos(3 * np.pi * u * v) - 0.2 * disc
    image = np.stack([red, green, blue], axis=-1)
    return np.round(np.clip(image, 0.0, 1.0) * 255) / 255
