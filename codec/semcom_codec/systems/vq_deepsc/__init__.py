"""VQ-DeepSC (Fu et al.): multi-scale vector-quantized semantic communication."""

from . import image_codec  # noqa: F401  (registers the system)
