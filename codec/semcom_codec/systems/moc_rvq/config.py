"""Named model configurations: everything needed to rebuild a codec from its weights."""

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class CodecConfig:
    """Sizes of the f = 8 autoencoder, the MOC-RVQ quantizer and the NRB.

    The encoder reaches 1/4 resolution at once (space-to-depth x4) and does most of its
    work at 1/8, where convolutions are 64x cheaper than at full resolution; the decoder
    mirrors it with pixel shuffles.
    """

    name: str = "small"
    n_q: int = 16              # latent channels (head dim 4: each level's 3 bits per head
                               # then remove more of the residual than in 8 dims)
    heads: int = 4             # P, codebooks per level
    entries: int = 8           # N, code vectors per head (8: 64-QAM)
    levels: int = 4            # D, residual levels
    stem_channels: int = 64    # width at 1/4 resolution
    stem_blocks: int = 1       # residual blocks at 1/4
    body_channels: int = 128   # width at 1/8 resolution
    body_blocks: int = 2       # residual blocks at 1/8
    nrb_dim: int = 64          # NRB token width
    nrb_layers: int = 2        # NRB Swin layer pairs (regular + shifted windows)
    nrb_heads: int = 4
    nrb_window: int = 8
    # Es/N0 as an NRB input (an extension of the paper): without it the NRB cannot tell a
    # clean latent from a noisy one and alters clean inputs. False in weight files that
    # predate the field, so that they load unchanged.
    nrb_snr_input: bool = False
    # Receiver (an extension of the paper): hard index decisions are dequantized to their
    # MMSE code vector E[c | decision] under the known Es/N0 rather than to the decided
    # code vector, so a likely slicer error lands between its candidates. Trained with
    # the NRB (stage 2), whose input it shapes; False in older weight files.
    mmse_hard_decisions: bool = False
    # Transmission modes (issue 17; an extension of the paper): the NRB is told each
    # level's index constellation (64-QAM axis, 8-PSK, biorthogonal), as it is told the
    # level count. False in older weight files, whose NRB knows 64-QAM only.
    nrb_modes: bool = False

    def to_dict(self):
        return dataclasses.asdict(self)

    def stage1_fields(self):
        """The fields stage 1 trains (everything but the NRB): these must match between
        a stage-1 checkpoint and the configuration that continues from it."""
        return {k: v for k, v in self.to_dict().items()
                if not _receiver_field(k) and k != "name"}

    def with_nrb_of(self, other):
        """This autoencoder and quantizer with ``other``'s receiver: the noise-reduction
        block's sizes and the dequantization of hard decisions."""
        receiver = {k: v for k, v in other.to_dict().items() if _receiver_field(k)}
        return dataclasses.replace(self, **receiver)

    @classmethod
    def from_dict(cls, values):
        """The configuration stored in a weight file, checked field by field (types and
        ranges), so that a damaged or foreign file fails here with a clear message
        rather than while the model is built."""
        if not isinstance(values, dict):
            raise ValueError(f"codec configuration must be a mapping of fields, "
                             f"got {type(values).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = [k for k in values if k not in fields]
        if unknown:
            raise ValueError(f"unknown codec configuration fields: "
                             f"{sorted(map(str, unknown))}")
        for key, value in values.items():
            _check_field(key, value, fields[key].type)
        cfg = cls(**values)
        if cfg.n_q % cfg.heads or cfg.nrb_dim % cfg.nrb_heads:
            raise ValueError(f"codec configuration: n_q ({cfg.n_q}) must be a multiple of "
                             f"heads ({cfg.heads}) and nrb_dim ({cfg.nrb_dim}) of nrb_heads "
                             f"({cfg.nrb_heads})")
        return cfg


# Ranges of the integer fields: generous for any real model. (The loader also checks the
# weights' shapes on a meta-device skeleton before it allocates the model, so a
# configuration cannot make it allocate more than the file holds.)
_INT_RANGES = {"entries": (2, 16), "levels": (1, 8), "heads": (1, 64)}
_INT_DEFAULT_RANGE = (1, 1024)


def _check_field(key, value, kind):
    if kind is int:
        low, high = _INT_RANGES.get(key, _INT_DEFAULT_RANGE)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"codec configuration field {key} must be an integer in "
                             f"{low}..{high}, got {value!r}")
        if key == "entries" and value & (value - 1):
            raise ValueError(f"codec configuration field entries must be a power of two "
                             f"(2, 4, 8, 16), got {value}")
    elif not isinstance(value, kind):
        raise ValueError(f"codec configuration field {key} must be a {kind.__name__}, "
                         f"got {value!r}")


def _receiver_field(name):
    """Fields that stage 2 sets (the receiver), as opposed to the stage-1 codec."""
    return name.startswith("nrb_") or name == "mmse_hard_decisions"


CONFIGS = {
    # Trains on 2 CPU cores in two and a half hours (both stages with their decoder-only
    # steps, docs/MODEL_CARD.md). The NRB is wider and deeper than the defaults (which
    # earlier weight files store): with 96 x 3 pairs and a longer stage 2, Kodak LPIPS at
    # 10 dB went from 0.360 to 0.341 (docs/MODEL_CARD.md).
    "small": CodecConfig(nrb_dim=96, nrb_layers=3, nrb_snr_input=True,
                         mmse_hard_decisions=True),
    # For tests and smoke runs of the training commands only.
    "tiny": CodecConfig(name="tiny", n_q=8, stem_channels=8, body_channels=16,
                        body_blocks=1, nrb_dim=16, nrb_layers=1, nrb_heads=2, nrb_window=4,
                        nrb_snr_input=True, mmse_hard_decisions=True),
    # For a GPU: twice the width, deeper at 1/8.
    "large": CodecConfig(name="large", stem_channels=96, stem_blocks=2, body_channels=256,
                         body_blocks=6, nrb_dim=128, nrb_layers=4, nrb_snr_input=True,
                         mmse_hard_decisions=True),
}


def get_config(name):
    try:
        return CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown configuration {name!r}; known: {sorted(CONFIGS)}") from None
