"""gr-semcom codec core: learned image codecs for the radio, their channels and baselines.

Pure PyTorch/numpy so that it trains on a GPU box without GNU Radio; the radio blocks
import it, never the other way round. One subpackage per concern: ``systems`` (one per
codec system), ``layers`` and ``quantizers`` (shared model parts), ``phy`` (torch twins
of the radio), ``fec`` (channel codes), ``baselines`` (classical image links),
``metrics``, ``training`` (loop infrastructure) and ``evaluation``.

``semcom_codec.load("moc_rvq")`` (or a weight file path) gives an ImageCodec.
"""

__version__ = "0.1.0"

__all__ = ["ImageCodec", "PayloadSpec", "Received", "list_models", "load", "__version__"]

_LAZY = {"load": "zoo", "list_models": "zoo", "ImageCodec": "interface",
         "PayloadSpec": "interface", "Received": "interface"}


def __getattr__(name):
    """The public API, imported on first use (``import semcom_codec.images`` stays light)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
