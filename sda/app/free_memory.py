"""Hand memory freed after a generation back to the system.

A take's float audio is megabytes; once it is released (`UserSession.add_take`) glibc keeps the
freed pages in its heap for reuse, so the process would not shrink. `malloc_trim` returns them.
"""

from __future__ import annotations

import ctypes
import sys


def return_freed_memory() -> bool:
    """Ask the C allocator to give free heap pages back; False where there is no such call
    (not Linux, or a C library without `malloc_trim`, e.g. musl)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return bool(trim(0))
