"""Registered codec systems: weight files name their system, and this finds its loader.

A system registers a loader ``(payload, path, identity, device, **options) ->
ImageCodec`` for the dict read from its weight files; ``semcom_codec.zoo.load`` imports
the systems, reads a file, looks its ``system`` up here and calls the loader. This
module imports nothing, so that every system can import it.
"""

SYSTEMS = {}

# Weight files written before systems were named hold MOC-RVQ models.
LEGACY_SYSTEM = "moc_rvq"


def register_system(name):
    """Decorator: registers ``loader`` under system ``name``."""

    def decorate(loader):
        if name in SYSTEMS and SYSTEMS[name] is not loader:
            raise ValueError(f"codec system {name!r} is registered twice")
        SYSTEMS[name] = loader
        return loader

    return decorate

