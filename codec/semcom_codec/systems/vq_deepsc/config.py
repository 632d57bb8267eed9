"""Configurations of VQ-DeepSC (Fu et al.): scales, codebook sizes, widths and losses."""

import dataclasses
import math
from dataclasses import dataclass

# The paper's feature channels per scale (its codebook dimensions); ours are a quarter.
PAPER_WIDTHS = (128, 256, 512, 1024)


@dataclass(frozen=True)
class VqDeepScConfig:
    """A CNN encoder of down-sample blocks (residual block, stride-2 convolution, residual
    block; batch norm and PReLU), one codebook per scale whose vectors have the scale's
    channel count, and a decoder that fuses the scales by concatenation, coarse to fine,
    and ends in a transposed convolution.

    Scale k (1 = finest) has spatial factor 2^k: a 128^2 crop gives maps of 64^2, 32^2,
    16^2 and 8^2. ``entries[k]`` is the codebook size of scale k + 1 (a power of two:
    log2 N bits per index); ``quantize`` False is the paper's upper bound, the same
    network without embedding spaces.
    """

    name: str = "small"
    input_width: int = 16
    widths: tuple = (32, 64, 128, 256)  # the paper's 128..1024 divided by 4
    entries: tuple = (16, 8, 4, 2)      # 4-, 3-, 2-, 1-bit indices
    quantize: bool = True
    # Scales the decoder was trained to do without (filled with their codebook means):
    # () for the paper's decoder; (1,) for the CBR-matched links, which drop scale 1.
    decoder_without: tuple = ()
    # Loss: lambda * (L1 + VQ) + GAN, VQ = codebook + beta_c * commitment; the codebooks
    # follow EMAs, so the codebook term only reports their distance.
    l1_vq_weight: float = 5.0
    beta_c: float = 0.25
    gan_weight: float = 1.0
    ema_decay: float = 0.99
    restart_after: int = 50

    @property
    def scales(self):
        return len(self.widths)

    @property
    def factor(self):
        """Images are padded to a multiple of this (the coarsest scale's factor)."""
        return 2 ** self.scales

    def bits_per_index(self):
        return tuple(int(math.log2(n)) for n in self.entries)

    def bits_per_pixel(self):
        """Index bits per pixel with every scale sent."""
        return sum(b / 4 ** (k + 1) for k, b in enumerate(self.bits_per_index()))

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """The configuration stored in a weight file, checked field by field."""
        if not isinstance(values, dict):
            raise ValueError(f"a VQ-DeepSC configuration is a dict, got {type(values).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ValueError(f"unknown VQ-DeepSC configuration field(s): {', '.join(unknown)}")
        clean = {}
        for key, value in values.items():
            default = fields[key].default
            if isinstance(default, tuple):
                if not isinstance(value, (list, tuple)) or not all(
                        isinstance(v, int) and not isinstance(v, bool) for v in value):
                    raise ValueError(f"configuration field {key!r} must be a list of integers")
                value = tuple(value)
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"configuration field {key!r} must be true or false")
            elif isinstance(default, str):
                if not isinstance(value, str):
                    raise ValueError(f"configuration field {key!r} must be a string")
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"configuration field {key!r} must be a number")
            clean[key] = value
        cfg = cls(**clean)
        if (not cfg.widths or len(cfg.entries) != len(cfg.widths) or min(cfg.widths) < 1
                or cfg.input_width < 1
                or any(n < 2 or n > 256 or n & (n - 1) for n in cfg.entries)
                or not set(cfg.decoder_without) <= set(range(1, cfg.scales))):
            raise ValueError(f"inconsistent VQ-DeepSC configuration: {values} (codebook "
                             "sizes must be powers of two in 2..256, one per scale)")
        return cfg


CONFIGS = {
    # The paper's four scales, N = 16 / 8 / 4 / 2 (Table I: 20,032 bits per 128^2 crop).
    "small": VqDeepScConfig(),
    # The paper's upper bound: no embedding spaces, the features go as they are.
    "small-unquantized": VqDeepScConfig(name="small-unquantized", quantize=False),
}


def get_config(name):
    try:
        return CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown VQ-DeepSC configuration {name!r}; known: "
                         f"{', '.join(CONFIGS)}") from None
