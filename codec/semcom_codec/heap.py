"""Giving freed heap memory back to the system, so that a receiver left running keeps
flat memory.

Each image allocates and frees tens of megabytes of tensors in the thread that decodes
it. glibc keeps what a thread frees in that thread's arena, and with several threads
(GNU Radio runs a thread per block, torch its own) and images of several sizes the
arenas creep up from image to image. malloc_trim(0) hands their free pages back; it
costs well under a millisecond next to an image's decoding. Elsewhere than glibc this
does nothing.
"""

import ctypes
import ctypes.util

_TRIM = None


def _malloc_trim():
    global _TRIM
    if _TRIM is None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _TRIM = libc.malloc_trim
            _TRIM.argtypes, _TRIM.restype = [ctypes.c_size_t], ctypes.c_int
        except (OSError, AttributeError):
            _TRIM = False
    return _TRIM


def release_freed_memory():
    """Returns the heap's free pages to the system (glibc); True when it could."""
    trim = _malloc_trim()
    if not trim:
        return False
    trim(0)
    return True
