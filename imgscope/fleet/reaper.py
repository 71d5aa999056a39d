"""A local Ray runtime's processes go with the process that started it, however that process ended.

Ray's own processes mostly fate-share with the driver that called ``ray.init()``, but not all: after a ``kill -9``
of the driver, its dashboard and runtime-env agents see the raylet die and then wait, for good, on the GCS that
died with it. ``Reaper`` starts a small watcher process before ``ray.init()``, which then runs inside ``marking()``:
the processes it starts inherit ``IMGSCOPE_RAY_RUN=<token>`` in their environment (the driver's own environment
has it only while ``ray.init()`` runs). A process that sets its title (``ray::DashboardAgent``, a worker) may write
the title over its environment, so the watcher is also told the runtime's session directory, which every Ray
process holds files in. When the driver is gone (its pidfd, else polling) or says the run is over, the watcher
kills this user's processes that hold the token or are titled ``ray::``, and hold a file in that session's
directory (before it is known, those that hold the token): only this run's Ray, never a Ray the user started,
another run's, the driver's other children, nor what a task started and left running (a ``gpg-agent`` a credential
helper started inherits the token from its worker, but holds no file of the session).

The watcher runs this file as a script (``python -I reaper.py DRIVER TOKEN``), so it imports the standard library
only, not the fleet package (pyarrow); it needs ``/proc`` (Linux). Elsewhere no watcher is started.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

#: The environment variable that marks the processes of one run's local Ray runtime.
MARK = "IMGSCOPE_RAY_RUN"
#: How long the watcher keeps killing marked processes that appear (a raylet forking as it was killed).
SWEEP_SECONDS = 10.0


def find(token: str, session: str | None = None, *, spare: int | None = None) -> list[int]:
    """The processes of this user that are this run's Ray (see the module docstring); not this process, nor
    ``spare`` (the driver, which holds files of the session too)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) not in (os.getpid(), spare) and _ours(int(name), token, session):
            found.append(int(name))
    return found


def _ours(pid: int, token: str, session: str | None) -> bool:
    if session is None:
        return _marked(pid, token)
    return (_marked(pid, token) or _titled_ray(pid)) and _holds_file_in(pid, session)


def _titled_ray(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().startswith(b"ray::")
    except OSError:
        return False


def _marked(pid: int, token: str) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:  # another user's: PermissionError
            return f"{MARK}={token}".encode() in f.read().split(b"\0")
    except OSError:  # gone, or not ours to read
        return False


def _holds_file_in(pid: int, directory: str) -> bool:
    inside = os.path.join(directory, "")
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(inside):
                return True
    return False


def started_here(token: str, session: str) -> bool:
    """True when a process marked with ``token`` holds a file in ``session``: the runtime there is the one this
    run started (``ray.init()`` that joined a running Ray, through ``RAY_ADDRESS``, started none)."""
    return any(
        name.isdigit() and _marked(int(name), token) and _holds_file_in(int(name), session)
        for name in os.listdir("/proc")
    )


def _kill(pid: int, token: str, session: str | None) -> None:
    """SIGKILL ``pid`` if it is still ours: held by a pidfd while checked, so a pid reused meanwhile is spared;
    without pidfds (a kernel before 5.3, a seccomp profile refusing them) checked just before the kill."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:  # gone already
        return
    except (AttributeError, OSError):  # no pidfds: a pid reused between this look and the kill is improbable
        if _ours(pid, token, session):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        return
    try:
        if _ours(pid, token, session):
            signal.pidfd_send_signal(handle, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(handle)


def sweep(token: str, session: str | None = None, *, spare: int | None = None) -> None:
    """Kill this run's Ray processes, looking again until a look finds none (at most ``SWEEP_SECONDS``)."""
    deadline = time.monotonic() + SWEEP_SECONDS
    while True:
        found = find(token, session, spare=spare)
        for pid in found:
            _kill(pid, token, session)
        if not found or time.monotonic() > deadline:
            return
        time.sleep(0.1)


def watch(driver: int, token: str) -> None:
    """Wait until ``driver`` (this process's parent) is gone or writes ``done`` on stdin, then ``sweep``. The
    driver writes ``session DIR`` there once Ray runs."""
    try:
        handle: int | None = os.pidfd_open(driver)
    except (AttributeError, OSError):
        handle = None
    if os.getppid() != driver:  # it died before we looked (its pid may be another process's by now)
        sweep(token)
        return
    stdin, listening = sys.stdin.fileno(), True
    session: str | None = None
    pending = b""
    while True:
        waits = ([stdin] if listening else []) + ([handle] if handle is not None else [])
        ready, _, _ = select.select(waits, [], [], None if handle is not None else 0.5)
        if (handle is not None and handle in ready) or os.getppid() != driver:
            break  # the driver is gone
        if stdin not in ready:
            continue
        piece = os.read(stdin, 4096)
        if not piece:  # its end closed without "done": the driver is ending; wait until it is gone
            listening = False
            continue
        *lines, pending = (pending + piece).split(b"\n")
        for line in lines:
            said = _real_directory(os.fsdecode(line.removeprefix(b"session ")))
            if line.startswith(b"session ") and started_here(token, said):
                session = said
        if b"done" in lines:  # the run is over (ray.shutdown() returned): stragglers at most
            sweep(token, session, spare=driver)
            return
    sweep(token, session)


def _real_directory(path: str) -> str:
    """``path`` as ``/proc`` shows the files in it: Ray names its session directory as ``TMPDIR`` spells it
    (through a link, maybe). The directory's own name is kept: were it made a link to ``/`` (a shared ``/tmp/ray``),
    every ``ray::`` process would hold a file in it."""
    parent, name = os.path.split(os.path.normpath(path))
    return os.path.join(os.path.realpath(parent), name)


class Reaper:
    """The watcher of one local Ray runtime: start it, then ``ray.init()`` inside ``marking()``; ``close()`` after
    ``ray.shutdown()``. See the module docstring."""

    def __init__(self) -> None:
        self.token = f"{os.getpid()}-{uuid.uuid4().hex}"
        read, self._write = os.pipe()  # not inherited by the processes Ray starts (PEP 446)
        try:
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-I", os.path.abspath(__file__), str(os.getpid()), self.token],
                stdin=read, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,  # a terminal's ^C is for the driver, which then ends Ray itself
            )  # fmt: skip
        finally:
            os.close(read)

    @staticmethod
    def available() -> bool:
        """True where a watcher can find the marked processes (``/proc``)."""
        return os.path.isdir("/proc/self") and os.path.exists("/proc/self/environ")

    @contextlib.contextmanager
    def marking(self) -> Iterator[None]:
        """Processes started inside inherit the mark; the driver's environment is as it was after."""
        before = os.environ.get(MARK)
        os.environ[MARK] = self.token
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(MARK, None)
            else:
                os.environ[MARK] = before

    def follow(self, session: str) -> None:
        """Tell the watcher the runtime's session directory (``ray.init()``'s ``address_info["session_dir"]``)."""
        if self._process is not None:
            with contextlib.suppress(OSError):
                os.write(self._write, b"session " + os.fsencode(session) + b"\n")

    def close(self) -> None:
        """The run is over: the watcher kills what of this runtime is left, if anything, and exits."""
        if self._process is None:
            return
        with contextlib.suppress(OSError):
            os.write(self._write, b"done\n")
        os.close(self._write)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=SWEEP_SECONDS + 5)
        self._process = None


if __name__ == "__main__":
    watch(int(sys.argv[1]), sys.argv[2])
