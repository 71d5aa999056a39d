"""glibc's C heap in a process imgscope owns (the command line, a scan worker): large blocks given back when freed,
and free pages returned between layers. Bottom layer; does nothing where the C library is not glibc.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

#: ``mallopt``'s parameter number for the size from which a block gets pages of its own (``<malloc.h>``).
_M_MMAP_THRESHOLD = -3

#: From this size a block is mapped on its own and unmapped when freed: just above the readers' 256 KiB chunks
#: (``sources.blobs.CHUNK``), so that a layer's chunks reuse the same heap memory rather than new pages each.
MMAP_THRESHOLD = (256 << 10) + (64 << 10)


@functools.cache
def _libc() -> object | None:
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt  # noqa: B018 (glibc's, or none of this applies)
        libc.malloc_trim  # noqa: B018
        return libc
    except (ImportError, OSError, AttributeError):  # no ctypes, no libc.so.6 (macOS, Windows), no mallopt (musl)
        return None


def own_heap() -> bool:
    """Fix glibc's mmap threshold at ``MMAP_THRESHOLD``, for a process whose heap is imgscope's alone; True if set.

    glibc raises the threshold to the largest mapped block freed (up to 32 MiB), so once a few MiB-sized columns
    have come and gone, the next ones grow inside the heap, are moved as they grow, and leave holes that stay
    resident: 8-10 MiB of the parent's 48 MiB at the peak of the medium benchmark image (docs/performance.md,
    "The C heap"). A library caller's process is not changed: only the command line and the scan workers call this.
    """
    libc = _libc()
    return bool(libc is not None and libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))  # type: ignore[attr-defined]


def trimmer() -> Callable[[], object]:
    """glibc's ``malloc_trim(0)`` (free heap pages back to the system), or a function that does nothing."""
    libc = _libc()
    if libc is None:
        return lambda: None
    return functools.partial(libc.malloc_trim, 0)  # type: ignore[attr-defined]
