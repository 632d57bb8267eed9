"""release_freed_memory gives the heap's free pages back (glibc)."""

import platform

import numpy as np
import pytest

from semcom_codec.heap import release_freed_memory


def rss_mib():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) / 1024


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_heap_chunks_go_back_to_the_system():
    # 300 MiB in 64 KiB chunks (below glibc's mmap threshold, so on the heap); the last
    # one stays, so free() alone cannot shrink the heap from its top
    chunks = [np.ones(8192) for _ in range(4800)]
    keep = chunks[-1]
    before = rss_mib()
    del chunks
    freed = rss_mib()
    assert release_freed_memory()
    trimmed = rss_mib()
    assert before - trimmed > 200, (before, freed, trimmed)
    assert keep.sum() == 8192
