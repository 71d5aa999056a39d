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


def run_naps(workers: int, seconds: float, engine: str = "local") -> None:
    """A driver for the parent-death tests: ``workers`` of ``engine`` (a local pool, or a local Ray runtime)
    running naps of ``seconds``."""
    from imgscope.fleet.engines import make_engine

    runner = make_engine(engine, workers=workers)
    for _ in runner.map_unordered(nap_or_die, [("nap", seconds)] * (2 * workers)):
        pass


def run_reaper() -> None:
    """A driver for the reaper tests: start a ``Reaper`` and say its token; then, for each line of stdin,
    ``follow DIR`` (tell it a session directory) or ``close``, each answered ``done``; then wait to be killed."""
    import sys

    from imgscope.fleet.reaper import Reaper

    reaper = Reaper()
    print(reaper.token, flush=True)
    for line in sys.stdin:
        what, _, directory = line.strip().partition(" ")
        if what == "follow":
            reaper.follow(directory)
        elif what == "close":
            reaper.close()
        print("done", flush=True)


if __name__ == "__main__":
    import sys

    if sys.argv[1] == "reaper":
        run_reaper()
    else:
        run_naps(int(sys.argv[1]), float(sys.argv[2]), *sys.argv[3:4])
