"""Deep JSCC (analog): the perceptual deep JSCC of Wang et al. and its MSE twin."""

from . import image_codec  # noqa: F401  (registers the system)
