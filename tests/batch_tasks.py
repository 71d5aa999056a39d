"""Top-level task functions for the engine tests (workers import them by name, so they live in a module)."""

from __future__ import annotations

import os
from pathlib import Path


def square(n: int) -> int:
    """n * n."""
    return n * n


def die_once(marker: str) -> int:
    """Kill the worker process the first time (when ``marker`` does not exist yet); then return its pid."""
    path = Path(marker)
    if not path.exists():
        path.write_text("died")
        os._exit(3)
    return os.getpid()


def always_raises(n: int) -> int:
    """A task that fails every time."""
    raise RuntimeError(f"task {n} is broken")
