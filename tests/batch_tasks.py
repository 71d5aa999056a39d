"""Top-level task functions for the engine tests (workers import them by name, so they live in a module)."""

from __future__ import annotations

import os
import signal
import time
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


def option_word(name: str) -> str:
    """How a message made in the worker names the option ``name`` (``errors.option``)."""
    from imgscope.errors import option

    return option(name)


def always_raises(n: int) -> int:
    """A task that fails every time."""
    raise RuntimeError(f"task {n} is broken")


def nap_or_die(spec: tuple[str, float]) -> int:
    """``("nap", s)``: sleep ``s`` seconds and return the worker's pid; ``("die", s)``: sleep, then SIGKILL the
    worker process itself (as the OOM killer would)."""
    what, seconds = spec
    time.sleep(seconds)
    if what == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


def run_naps(workers: int, seconds: float) -> None:
    """A driver for the parent-death test: a local pool of ``workers`` running naps of ``seconds``."""
    from imgscope.fleet.engines import LocalEngine

    engine = LocalEngine(workers)
    for _ in engine.map_unordered(nap_or_die, [("nap", seconds)] * (2 * workers)):
        pass


if __name__ == "__main__":
    import sys

    run_naps(int(sys.argv[1]), float(sys.argv[2]))
