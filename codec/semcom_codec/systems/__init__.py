"""One subpackage per codec system; importing this registers every system."""

from . import deep_jscc, moc_rvq, vq_deepsc  # noqa: F401
