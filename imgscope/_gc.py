"""Pausing Python's cyclic garbage collector so that a host application cannot notice. Bottom layer."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused(*, own_process: bool = False) -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a pass that allocates millions of small acyclic objects (the
    collector would walk them over and over for nothing: a third of the CPU time on a 160,000-file image).

    Only when this is the only thread, so no other thread of a host application can run while the collector is
    off (the reader threads analyze starts come after); restored in ``finally``. With other threads running, or
    the collector already off, nothing is changed. ``own_process``: the caller owns the process and every thread
    in it (the command line, whose progress bar runs a thread of its own), so pause anyway.
    """
    if not gc.isenabled() or (threading.active_count() > 1 and not own_process):
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def freeze_survivors(*, own_process: bool) -> None:
    """When the caller owns the process (``own_process``), move every object alive now to the collector's
    permanent generation (``gc.freeze``): an analysis and the explorer's timeline are millions of objects that
    live as long as the process, and each full collection would walk them all again (a third of a second on a
    160,000-file image, in the middle of a key press). A library caller's process is left alone."""
    if own_process:
        gc.freeze()
