"""MOC-RVQ behind the codec interface: uint8 indices, two per Gray 64-QAM symbol, or on
the index constellations of a transmission mode (phy.modes).

The rate is the number of residual levels L sent; indices go level-major (level, head,
latent row, column). A ``mode`` (name or phy.modes.Mode) fixes the levels and each
level's constellation; the indices are the same, the receiver is told the mode. The
receiver's options (NRB, requantization) belong to the codec object; hard decisions,
soft posteriors and truncated frames all decode.
"""

import numpy as np

from ...interface import INDICES, ImageCodec, PayloadSpec, check_image, check_received
from ...registry import register_system
from .model import FACTOR, codec_from_payload

SYSTEM = "moc_rvq"


class MocRvqCodec(ImageCodec):
    """A trained SemanticCodec with its receiver options."""

    system = SYSTEM
    kind = INDICES

    def __init__(self, model, *, identity, source="", noise_reduction=True, requantize=True,
                 thresholds=None):
        super().__init__(name=model.cfg.name, identity=identity,
                         rates=range(1, model.cfg.levels + 1), source=source)
        self.model = model
        self.noise_reduction, self.requantize = bool(noise_reduction), bool(requantize)
        self._thresholds = dict(thresholds or {})

    @property
    def order(self):
        return self.model.cfg.entries

    @staticmethod
    def latent_size(height, width):
        """(h, w): latent positions of an image (f = 8, rounded up)."""
        return -(-height // FACTOR), -(-width // FACTOR)

    @property
    def thresholds(self):
        """{CBR text: ((lowest Es/N0 dB, mode name), ...)} of the weight file (what
        ``mode="auto"`` picks from; ``semcom modes`` measures it), or {}."""
        return self._thresholds

    def mode_for(self, mode, esn0_db=None, rate=None):
        """The phy.modes.Mode of ``mode``: a name, a Mode, "auto" (the thresholds' pick
        for ``esn0_db`` at the CBR of ``rate`` levels on 64-QAM), or None (64-QAM at
        ``rate`` levels)."""
        from ...phy import modes

        if mode is None or mode == "":
            return modes.qam64_mode(self.check_rate(rate))
        if mode == "auto":
            return modes.mode_named(pick_mode(self.thresholds, self.budget_cbr(rate),
                                              esn0_db))
        chosen = modes.mode_named(mode)
        if chosen.levels not in self.rates:
            raise ValueError(f"mode {chosen.name} sends {chosen.levels} levels; "
                             f"{self.describe()} has {', '.join(map(str, self.rates))}")
        return chosen

    def budget_cbr(self, rate=None):
        """The CBR name ("1/24") of ``rate`` levels on 64-QAM: the budget a mode fills."""
        from ...phy.modes import MODE_SETS

        levels = self.check_rate(rate)
        for name, table in MODE_SETS.items():
            if table[0].levels == levels:
                return name
        raise ValueError(f"no transmission modes fill the budget of {levels} levels "
                         f"(modes exist for {', '.join(f'L{t[0].levels}' for t in MODE_SETS.values())})")

    def payload(self, height, width, *, rate=None, mode=None):
        chosen = None if mode is None else self.mode_for(mode, rate=rate)
        rate = self.check_rate(rate if chosen is None else chosen.levels)
        per_level = self.model.cfg.heads * int(np.prod(self.latent_size(height, width)))
        return PayloadSpec(INDICES, rate * per_level, order=self.order, minimum=per_level,
                           mode=None if chosen is None or chosen.id == 0 else chosen)

    def encode(self, image, *, rate=None, mode=None):
        if mode is not None:
            rate = self.mode_for(mode, rate=rate).levels
        rate = self.check_rate(rate)
        indices, _ = self.model.encode_image(check_image(image), rate)
        return np.ascontiguousarray(indices, dtype=np.uint8).ravel()

    def decode(self, received, *, height, width, rate=None, mode=None):
        chosen = None if mode is None else self.mode_for(mode, rate=rate)
        rate = self.check_rate(rate if chosen is None else chosen.levels)
        spec = self.payload(height, width, rate=rate, mode=chosen)
        values = check_received(received, spec)
        esn0_db = received.esn0_db()
        shape = (rate, self.model.cfg.heads, *self.latent_size(height, width))
        lost = spec.lost_entries(received.lost, len(values))
        chosen = spec.mode
        if values.ndim == 1 and len(values) == spec.length and lost is None:
            decoded = np.asarray(values, dtype=np.uint8).reshape(shape)
        else:  # posteriors, or a truncated frame: what did not arrive is uniform
            posteriors = np.full((spec.length, self.order), 1.0 / self.order, np.float32)
            if values.ndim == 1:  # the decided code vectors, or their MMSE means
                values = self._decision_rows(values, esn0_db, chosen, spec.minimum)
            posteriors[:len(values)] = values
            if lost is not None:  # a lost burst: those indices are unknown
                posteriors[:len(values)][lost] = 1.0 / self.order
            decoded = posteriors.reshape(*shape, self.order)
        return self.model.decode_image(decoded, (height, width), self.noise_reduction,
                                       self.requantize, esn0_db, chosen)

    def _decision_rows(self, values, esn0_db, mode, per_level):
        """p(sent | decided) rows [n, N] of n hard decisions, each level's own slicer."""
        values = np.asarray(values, dtype=np.intp)
        if mode is None:
            return self.model.decision_posteriors(esn0_db).numpy()[values]
        tables = self.model.decision_posteriors(esn0_db, mode).numpy()   # [L, N, N]
        level = np.arange(len(values)) // per_level
        return tables[level, values]


def pick_mode(thresholds, cbr, esn0_db):
    """The mode name a threshold table picks at ``esn0_db`` for budget ``cbr``: the
    entry with the highest lowest-Es/N0 at or below it (the sturdiest below them all;
    an unknown Es/N0 takes the sturdiest too)."""
    import math

    table = thresholds.get(cbr)
    if not table:
        raise ValueError(f"mode auto: the weights carry no threshold table for CBR {cbr} "
                         "(measure one with `semcom modes`)")
    chosen = table[0][1]
    if esn0_db is None or not math.isfinite(float(esn0_db)):
        return chosen
    for lowest, name in table:
        if float(esn0_db) >= lowest:
            chosen = name
    return chosen


@register_system(SYSTEM)
def load_weights(payload, path, identity, device="cpu", *, noise_reduction=True,
                 requantize=True):
    """The codec of a MOC-RVQ weight file (already read by the zoo)."""
    return MocRvqCodec(codec_from_payload(payload, path, device), identity=identity,
                       source=path, noise_reduction=noise_reduction, requantize=requantize,
                       thresholds=mode_thresholds(payload, path))


def mode_thresholds(payload, path):
    """The threshold table a weight file ships ({} if none), checked."""
    from ...errors import BadWeightFile
    from ...phy.modes import MODE_SETS

    table = (payload.get("extra") or {}).get("mode_thresholds", {})
    try:
        out = {}
        for cbr, rows in table.items():
            names = {m.name for m in MODE_SETS[cbr]}
            out[cbr] = tuple((float(lowest), str(name)) for lowest, name in rows)
            if any(name not in names for _, name in out[cbr]):
                raise ValueError(f"a mode outside the CBR {cbr} set")
            if [t for t, _ in out[cbr]] != sorted(t for t, _ in out[cbr]):
                raise ValueError("thresholds not ascending")
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise BadWeightFile(f"{path}: bad mode_thresholds ({err})") from None
    return out
