"""Where the batch's tasks run: this process, a local process pool, a Dask cluster or a Ray cluster.

Every engine does one thing: run a top-level function over items with at most ``window`` tasks in flight (so no
scheduler ever holds all results at once), retry a task whose worker failed, and yield each result as it completes.
A task that fails for good yields a ``TaskFailed`` instead of stopping the run. Stage functions report bad input as
data (an image's error row), so what reaches an engine as an exception is a lost worker or a bug.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from imgscope.analysis.scan import default_jobs
from imgscope.errors import ImgscopeError, UsageError, command_line_flags, in_words, option, option_given
from imgscope.fleet.reaper import Reaper

A = TypeVar("A")
R = TypeVar("R")

ENGINES = ("local", "dask", "ray")


class EngineError(ImgscopeError):
    """The engine could not start: a scheduler or cluster that cannot be reached, a Ray client not installed."""


@dataclass(frozen=True)
class TaskFailed:
    """A task that failed ``attempts`` times; ``message`` is the last error, one line."""

    message: str
    attempts: int


class Engine(Protocol):
    """Runs tasks; see the module docstring."""

    name: str
    workers: int
    #: True when the workers see this machine's filesystem (they then read and write the scan records in the
    #: output directory themselves instead of receiving and returning their bytes).
    local_disk: bool

    def map_unordered(self, fn: Callable[[A], R], items: Sequence[A]) -> Iterator[tuple[int, R | TaskFailed]]:
        """``(index into items, result)`` for every item, in completion order."""
        ...

    def close(self) -> None:
        """Release the workers (and a cluster the engine started itself)."""
        ...


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return " ".join(text.split())[:500]


class _Attempts(Generic[A]):
    """Bookkeeping shared by the engines: which item each pending task is, and how often it was tried."""

    def __init__(self, items: Sequence[A], retries: int) -> None:
        self.items = items
        self.retries = retries
        self.tries = [0] * len(items)

    def failed(self, index: int, exc: BaseException) -> TaskFailed | None:
        """None when the item may be tried again; else its final failure."""
        self.tries[index] += 1
        if self.tries[index] > self.retries:
            return TaskFailed(_one_line(exc), self.tries[index])
        return None


def exit_with(driver: int) -> None:
    """Make this worker exit as soon as process ``driver`` (the one running the pool) is gone, however it ended.

    A worker's parent is the forkserver, not the driver, so PR_SET_PDEATHSIG would not fire; and each worker holds
    the forkserver's and the resource tracker's pipes open, so none of them notices a ``kill -9`` of the driver
    until the workers go. A thread waits on a pidfd of the driver (Linux), else polls it.
    """
    try:
        watch = os.pidfd_open(driver)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        watch = None

    def wait() -> None:
        if watch is not None:
            select.select([watch], [], [])
        else:
            while _alive(driver):
                time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=wait, name="imgscope: exit with the driver", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's: not ours to signal
        pass
    return True


class LocalEngine:
    """This machine: in this process with ``workers=1``, else a pool of worker processes."""

    name = "local"
    local_disk = True

    def __init__(self, workers: int | None = None, *, retries: int = 2, window: int | None = None) -> None:
        self.workers = workers or default_jobs()
        self.retries = retries
        self.window = window or 2 * self.workers
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        # forkserver: workers do not inherit this process's threads (a fork with threads can deadlock).
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":  # the server imports the stages once; each worker forked from it starts warm
            context.set_forkserver_preload(["imgscope.fleet.stages"])
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=exit_with, initargs=(os.getpid(),))

    def map_unordered(self, fn: Callable[[A], R], items: Sequence[A]) -> Iterator[tuple[int, R | TaskFailed]]:
        """See ``Engine``."""
        attempts = _Attempts(items, self.retries)
        fn = functools.partial(in_words, command_line_flags(), fn)  # a worker's messages name what the driver's do
        if self.workers == 1:
            for i, item in enumerate(items):
                while True:
                    try:
                        yield i, fn(item)
                        break
                    except Exception as exc:
                        failure = attempts.failed(i, exc)
                        if failure is not None:
                            yield i, failure
                            break
            return
        queue = list(range(len(items)))[::-1]
        # A worker that dies breaks the whole pool, and Python does not say which task it was running: every task
        # in flight then is a suspect, run again alone (one in flight at a time) and charged only if it breaks the
        # pool alone; tasks merely in flight beside the culprit are never charged.
        suspects: list[int] = []
        pending: dict[Future[R], int] = {}
        while queue or suspects or pending:
            if self._pool is None:
                self._pool = self._new_pool()
            if suspects:
                if not pending:
                    i = suspects.pop()
                    pending[self._pool.submit(fn, items[i])] = i
            else:
                while queue and len(pending) < self.window:
                    i = queue.pop()
                    pending[self._pool.submit(fn, items[i])] = i
            alone = len(pending) == 1
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                i = pending.pop(future)
                try:
                    yield i, future.result()
                except BrokenProcessPool as exc:
                    broken = True
                    failure = attempts.failed(i, exc) if alone else None
                    if failure is None:
                        suspects.append(i)
                    else:
                        yield i, failure
                except Exception as exc:
                    failure = attempts.failed(i, exc)
                    if failure is None:
                        queue.append(i)
                    else:
                        yield i, failure
            if broken:  # every task still in flight is lost with the pool: suspects too; start a new pool
                for future, i in pending.items():
                    future.cancel()
                    suspects.append(i)
                pending.clear()
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def close(self) -> None:
        """See ``Engine``."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


class DaskEngine:
    """A dask.distributed cluster: ``scheduler`` (``tcp://host:8786``), or a LocalCluster started here."""

    name = "dask"

    def __init__(
        self, scheduler: str | None = None, *, workers: int | None = None, retries: int = 2, window: int | None = None
    ) -> None:
        try:
            dd: Any = importlib.import_module("distributed")  # untyped; optional extra
        except ImportError:
            raise UsageError(
                option_given("engine", "dask"), "needs dask.distributed: pip install 'imgscope[dask]'"
            ) from None
        self._cluster: Any = None
        self._dd = dd
        self.local_disk = not scheduler
        if scheduler:
            try:
                self._client: Any = dd.Client(scheduler, timeout="10s")
            except (OSError, ValueError, TimeoutError) as exc:
                raise EngineError(scheduler, f"cannot reach the Dask scheduler: {_one_line(exc)}") from None
        else:
            self._cluster = dd.LocalCluster(
                n_workers=workers or default_jobs(), threads_per_worker=1, processes=True, dashboard_address=None
            )
            self._client = dd.Client(self._cluster)
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})) or (workers or 1))
        self.retries = retries
        self.window = window or 2 * self.workers

    def map_unordered(self, fn: Callable[[A], R], items: Sequence[A]) -> Iterator[tuple[int, R | TaskFailed]]:
        """See ``Engine``. Dask retries a task whose worker died; ``retries`` also covers errors it raised."""
        queue = list(range(len(items)))[::-1]
        index_of: dict[str, int] = {}
        flow = self._dd.as_completed([], with_results=False)
        fn = functools.partial(in_words, command_line_flags(), fn)

        def submit() -> None:
            i = queue.pop()
            future = self._client.submit(fn, items[i], pure=False, retries=self.retries)
            index_of[future.key] = i
            flow.add(future)

        while queue and len(index_of) < self.window:
            submit()
        for future in flow:
            i = index_of.pop(future.key)
            try:
                result = future.result()
            except Exception as exc:
                yield i, TaskFailed(_one_line(exc), self.retries + 1)
            else:
                yield i, result
            future.release()
            if queue:
                submit()

    def close(self) -> None:
        """See ``Engine``."""
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


class RayEngine:
    """A Ray cluster at ``address`` (``ray://host:10001`` or ``auto``; default: ``RAY_ADDRESS``, as Ray's own tools
    read it), or, with neither, a local Ray runtime started here for the run: never a cluster that ``ray start``
    left running on this machine, which ``ray.init()`` would join by itself."""

    name = "ray"

    def __init__(
        self, address: str | None = None, *, workers: int | None = None, retries: int = 2, window: int | None = None
    ) -> None:
        try:
            ray: Any = importlib.import_module("ray")  # untyped; optional extra
        except ImportError:
            raise UsageError(option_given("engine", "ray"), "needs Ray: pip install 'imgscope[ray]'") from None
        self._ray: Any = ray
        where = address
        if not address and os.environ.get("RAY_ADDRESS"):
            address = os.environ["RAY_ADDRESS"]
            where = f"RAY_ADDRESS={address}"
        self._started = not ray.is_initialized()
        self.local_disk = self._started and not address
        # A runtime started here goes with this process even after a kill -9 (a cluster given by address never)
        self._reaper: Reaper | None = None
        if self.local_disk and Reaper.available():
            # no interpreter to run the watcher with (an embedded Python): Ray runs without one
            with contextlib.suppress(OSError):
                self._reaper = Reaper()
        if self._started:
            options: dict[str, Any] = {"address": address, "include_dashboard": False, "log_to_driver": False}
            if not address:  # "local": a new runtime, even where another one runs (it has its own CPU count)
                options.update(address="local", num_cpus=workers or default_jobs(), object_store_memory=100 << 20)
            try:
                with self._reaper.marking() if self._reaper is not None else contextlib.nullcontext():
                    context = ray.init(**options)
                session = getattr(context, "address_info", {}).get("session_dir")
                if self._reaper is not None and isinstance(session, str):
                    self._reaper.follow(session)
            except (ConnectionError, ValueError, RuntimeError, TimeoutError) as exc:
                self._close_reaper()
                raise EngineError(where or "local Ray", f"cannot start or reach Ray: {_one_line(exc)}") from None
            except BaseException:
                self._close_reaper()
                raise
        self.workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.retries = retries
        self.window = window or 2 * self.workers

    def map_unordered(self, fn: Callable[[A], R], items: Sequence[A]) -> Iterator[tuple[int, R | TaskFailed]]:
        """See ``Engine``. Ray retries a task whose worker died, and (``retry_exceptions``) one that raised."""
        ray = self._ray
        remote = ray.remote(max_retries=self.retries, retry_exceptions=True, num_cpus=1)(in_words)
        flags = command_line_flags()
        queue = list(range(len(items)))[::-1]
        index_of: dict[Any, int] = {}
        while queue or index_of:
            while queue and len(index_of) < self.window:
                i = queue.pop()
                index_of[remote.remote(flags, fn, items[i])] = i
            done, _ = ray.wait(list(index_of), num_returns=1)
            for ref in done:
                i = index_of.pop(ref)
                try:
                    yield i, ray.get(ref)
                except Exception as exc:
                    yield i, TaskFailed(_one_line(exc), self.retries + 1)

    def close(self) -> None:
        """See ``Engine``."""
        try:
            if self._started:
                self._ray.shutdown()
        finally:
            self._close_reaper()

    def _close_reaper(self) -> None:
        if self._reaper is not None:
            self._reaper.close()
            self._reaper = None


def make_engine(
    name: str, *, workers: int | None = None, address: str | None = None, retries: int = 2
) -> LocalEngine | DaskEngine | RayEngine:
    """The engine called ``name`` (``local``, ``dask``, ``ray``); ``address`` is the scheduler or cluster."""
    if name == "local":
        if address:
            raise UsageError(
                option("address"),
                "the local engine takes no scheduler address; "
                f"use {option_given('engine', 'dask')} or {option_given('engine', 'ray')}",
            )
        return LocalEngine(workers, retries=retries)
    if name == "dask":
        return DaskEngine(address, workers=workers, retries=retries)
    if name == "ray":
        return RayEngine(address, workers=workers, retries=retries)
    raise UsageError(option("engine"), f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
