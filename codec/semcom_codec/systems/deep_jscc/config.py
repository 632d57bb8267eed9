"""Configurations of the deep JSCC systems: sizes, channel bandwidth ratio and loss."""

import dataclasses
from dataclasses import dataclass
from fractions import Fraction

# Training Es/N0s of the perceptual deep JSCC paper, drawn per sample.
PAPER_TRAIN_SNRS = (1.0, 4.0, 7.0, 10.0, 13.0)


@dataclass(frozen=True)
class DeepJsccConfig:
    """A convolutional encoder to complex channel symbols and its decoder, f = 8.

    The official perceptual deep JSCC code keeps 256 channels and stops at 1/4
    resolution (about 100 GMAC per 128^2 crop); this family is sized for a 2-core CPU:
    space-to-depth to 1/4, then one stage per halving (1/4, 1/8) of pre-activation
    residual blocks, pixel shuffles instead of transposed convolutions, SNR attention
    after every decoder stage. In 800-step trials (CID22 validation at 10 dB) an f = 16
    build (a third stage at 1/16 with 64 / 32 latent channels for the same CBRs) reached
    18.5 dB, f = 8 builds 21.3-21.8 dB at twice its speed; a first build with GDN and
    stride-2 5x5 convolutions learnt slower still. CBR = latent_channels / (2 * 3 * factor^2).
    """

    name: str = "small-1/24"
    perceptual: bool = False   # LPIPS + MSE (+ GAN); False: the MSE twin
    latent_channels: int = 16  # real channels at 1/8: 16 -> CBR 1/24, 8 -> 1/48
    widths: tuple = (96, 160)  # per stage: 1/4, 1/8 resolution
    res_blocks: tuple = (1, 2)  # residual blocks per stage
    # Es/N0s drawn in training; the decoder's SNR attention is fed Es/N0 clamped to their
    # range (outside it the model was never trained; a 20 dB input then decodes at least
    # as well as a 13 dB one).
    train_snrs: tuple = PAPER_TRAIN_SNRS
    mse_weight: float = 1.0    # on images in 0..1
    lpips_weight: float = 0.0
    gan_weight: float = 0.0

    @property
    def factor(self):
        return 4 * 2 ** (len(self.widths) - 1)

    @property
    def cbr(self):
        return Fraction(self.latent_channels, 6 * self.factor ** 2)

    @property
    def snr_range(self):
        return min(self.train_snrs), max(self.train_snrs)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """The configuration stored in a weight file, checked field by field."""
        if not isinstance(values, dict):
            raise ValueError(f"a deep JSCC configuration is a dict, got {type(values).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ValueError(f"unknown deep JSCC configuration field(s): {', '.join(unknown)}")
        clean = {}
        for key, value in values.items():
            default = fields[key].default
            if isinstance(default, tuple):
                if not isinstance(value, (list, tuple)) or not all(
                        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                    raise ValueError(f"configuration field {key!r} must be a list of numbers")
                value = tuple(value)
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"configuration field {key!r} must be true or false")
            elif isinstance(default, (int, float)) and (
                    isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"configuration field {key!r} must be a number")
            clean[key] = value
        cfg = cls(**clean)
        if (cfg.latent_channels < 2 or cfg.latent_channels % 2 or not cfg.widths
                or len(cfg.res_blocks) != len(cfg.widths) or not cfg.train_snrs
                or min(cfg.widths) < 1 or min(cfg.res_blocks) < 0):
            raise ValueError(f"inconsistent deep JSCC configuration: {values}")
        return cfg


def _config(name, cbr_channels, perceptual):
    losses = dict(mse_weight=1.0, lpips_weight=0.0, gan_weight=0.0)
    if perceptual:
        losses = dict(mse_weight=PERCEPTUAL_MSE_WEIGHT, lpips_weight=1.0,
                      gan_weight=PERCEPTUAL_GAN_WEIGHT)
    return DeepJsccConfig(name=name, perceptual=perceptual, latent_channels=cbr_channels,
                          **losses)


# The paper gives beta_p = 1, beta_m = 1e-5 (MSE on 0..255, i.e. 0.65 on 0..1) and
# beta_g = 1e-3; its code uses 650 and 5 on the 0..1 scale. We keep the paper's MSE weight
# and take a GAN weight between the two, large enough to act in a short alternating phase.
PERCEPTUAL_MSE_WEIGHT = 0.65
PERCEPTUAL_GAN_WEIGHT = 0.01

CONFIGS = {
    "deep_jscc/small-1/24": _config("deep_jscc/small-1/24", 16, True),
    "deep_jscc/small-1/48": _config("deep_jscc/small-1/48", 8, True),
    "deep_jscc_mse/small-1/24": _config("deep_jscc_mse/small-1/24", 16, False),
    "deep_jscc_mse/small-1/48": _config("deep_jscc_mse/small-1/48", 8, False),
}


def get_config(name):
    try:
        return CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown deep JSCC configuration {name!r}; known: "
                         f"{', '.join(CONFIGS)}") from None
