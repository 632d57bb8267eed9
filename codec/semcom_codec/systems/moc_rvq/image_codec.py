"""MOC-RVQ behind the codec interface: uint8 indices, two per Gray 64-QAM symbol.

The rate is the number of residual levels L sent; indices go level-major (level, head,
latent row, column). The receiver's options (NRB, requantization) belong to the codec
object; hard decisions, soft posteriors and truncated frames all decode.
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

    def __init__(self, model, *, identity, source="", noise_reduction=True, requantize=True):
        super().__init__(name=model.cfg.name, identity=identity,
                         rates=range(1, model.cfg.levels + 1), source=source)
        self.model = model
        self.noise_reduction, self.requantize = bool(noise_reduction), bool(requantize)

    @property
    def order(self):
        return self.model.cfg.entries

    @staticmethod
    def latent_size(height, width):
        """(h, w): latent positions of an image (f = 8, rounded up)."""
        return -(-height // FACTOR), -(-width // FACTOR)

    def payload(self, height, width, *, rate=None):
        rate = self.check_rate(rate)
        per_level = self.model.cfg.heads * int(np.prod(self.latent_size(height, width)))
        return PayloadSpec(INDICES, rate * per_level, order=self.order, minimum=per_level)

    def encode(self, image, *, rate=None):
        rate = self.check_rate(rate)
        indices, _ = self.model.encode_image(check_image(image), rate)
        return np.ascontiguousarray(indices, dtype=np.uint8).ravel()

    def decode(self, received, *, height, width, rate=None):
        rate = self.check_rate(rate)
        spec = self.payload(height, width, rate=rate)
        values = check_received(received, spec)
        esn0_db = received.esn0_db()
        shape = (rate, self.model.cfg.heads, *self.latent_size(height, width))
        lost = received.lost_entries(2, len(values))
        if values.ndim == 1 and len(values) == spec.length and lost is None:
            decoded = np.asarray(values, dtype=np.uint8).reshape(shape)
        else:  # posteriors, or a truncated frame: what did not arrive is uniform
            posteriors = np.full((spec.length, self.order), 1.0 / self.order, np.float32)
            if values.ndim == 1:  # the decided code vectors, or their MMSE means
                table = self.model.decision_posteriors(esn0_db).numpy()
                values = table[np.asarray(values, dtype=np.intp)]
            posteriors[:len(values)] = values
            if lost is not None:  # a lost burst: those indices are unknown
                posteriors[:len(values)][lost] = 1.0 / self.order
            decoded = posteriors.reshape(*shape, self.order)
        return self.model.decode_image(decoded, (height, width), self.noise_reduction,
                                       self.requantize, esn0_db)


@register_system(SYSTEM)
def load_weights(payload, path, identity, device="cpu", *, noise_reduction=True,
                 requantize=True):
    """The codec of a MOC-RVQ weight file (already read by the zoo)."""
    return MocRvqCodec(codec_from_payload(payload, path, device), identity=identity,
                       source=path, noise_reduction=noise_reduction, requantize=requantize)
