"""MOC-RVQ (Zhou et al.): f = 8 autoencoder, multi-head octonary residual VQ, NRB."""

from . import image_codec  # noqa: F401  (registers the system)
