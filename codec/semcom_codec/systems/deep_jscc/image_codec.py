"""Deep JSCC behind the codec interface: complex channel symbols of unit mean power.

One model has one channel bandwidth ratio (rates = (1,)). The receiver tells the
decoder the Es/N0 from the N0 it knows (or per symbol, after equalisation); when N0 is
unknown it estimates it from the received power (the symbols were sent at Es = 1, so
E|y|^2 = 1 + N0 over AWGN). Symbols that did not arrive count as 0, their mean.
"""

import math

import numpy as np
import torch

from ...checkpoints import model_from_weights
from ...interface import SYMBOLS, ImageCodec, PayloadSpec, check_image, check_received
from ...layers.padding import pad_to_factor
from ...registry import register_system
from .config import DeepJsccConfig
from .model import DeepJscc

SYSTEM = "deep_jscc"
# Share of a payload's symbols a truncated frame needs to be decoded at all.
MINIMUM_SHARE = 0.5
# Lowest N0 estimate from the received power (Es/N0 30 dB): the estimate is noisy near 0.
MIN_ESTIMATED_NOISE_VAR = 1e-3


def estimate_noise_var(symbols):
    """Blind N0 of unit-power symbols over AWGN: mean |y|^2 - 1, floored."""
    power = float(np.mean(np.abs(np.asarray(symbols, dtype=np.complex64)) ** 2))
    return max(power - 1.0, MIN_ESTIMATED_NOISE_VAR)


class DeepJsccCodec(ImageCodec):
    """A trained DeepJscc model (perceptual or MSE) as an analog image codec."""

    system = SYSTEM
    kind = SYMBOLS

    def __init__(self, model, *, identity, source=""):
        super().__init__(name=model.cfg.name, identity=identity, rates=(1,), source=source)
        self.model = model

    @property
    def device(self):
        return next(self.model.parameters()).device

    def latent_size(self, height, width):
        f = self.model.cfg.factor
        return -(-height // f), -(-width // f)

    def payload(self, height, width, *, rate=None):
        self.check_rate(rate)
        h, w = self.latent_size(height, width)
        length = self.model.cfg.latent_channels // 2 * h * w
        return PayloadSpec(SYMBOLS, length, minimum=max(1, math.ceil(MINIMUM_SHARE * length)))

    @torch.no_grad()
    def encode(self, image, *, rate=None):
        self.check_rate(rate)
        x = torch.from_numpy(check_image(image)).permute(2, 0, 1)[None].to(self.device)
        symbols, _ = self.model.transmit(pad_to_factor(x, self.model.cfg.factor)[0])
        return symbols[0].cpu().numpy().astype(np.complex64)

    @torch.no_grad()
    def decode(self, received, *, height, width, rate=None):
        self.check_rate(rate)
        spec = self.payload(height, width, rate=rate)
        values = check_received(received, spec)
        esn0_db = received.esn0_db()
        if esn0_db is None:
            esn0_db = -10.0 * math.log10(estimate_noise_var(values))
        symbols = np.zeros(spec.length, dtype=np.complex64)
        symbols[:len(values)] = values
        lost = received.lost_entries(1, len(values))
        if lost is not None:  # a lost burst: zero, the mean of what it would have been
            symbols[:len(values)][lost] = 0.0
        y = torch.from_numpy(symbols)[None].to(self.device)
        h, w = self.latent_size(height, width)
        image = self.model.receive(y, esn0_db, (self.model.cfg.latent_channels, h, w))
        image = image[0, :, :height, :width].clamp(0.0, 1.0)
        return image.permute(1, 2, 0).cpu().numpy()


def model_from_payload(payload, path, device="cpu"):
    """A DeepJscc model from the dict of a weight file ``path`` (named in errors)."""
    return model_from_weights(payload, path, DeepJsccConfig.from_dict, DeepJscc, device)


@register_system(SYSTEM)
def load_weights(payload, path, identity, device="cpu", *, noise_reduction=True,
                 requantize=True):
    """The codec of a deep JSCC weight file (already read by the zoo). The MOC-RVQ
    receiver options are accepted, so that a sink given only a weight file loads any
    system; an analog codec has no NRB or codebook, so they change nothing."""
    return DeepJsccCodec(model_from_payload(payload, path, device), identity=identity,
                         source=path)
