"""How ``scan_layers`` shares the layers between this process and its forked workers (issue 11): this process
scans the layer it must merge next when no worker has started it, scans ahead while the layer due is still in a
worker, and whatever goes wrong (a corrupt layer here, in a worker or scanned ahead; a worker killed; the caller
stopping early) gives the error of the first bad layer in layer order, and leaves no process behind."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import imgscope
from imgscope.analysis import scan as scan_module
from imgscope.analysis.scan import scan_layer, scan_layers
from imgscope.errors import CorruptLayerError
from imgscope.render import json as json_report
from imgscope.sources.reference import SourceOptions
from imgscope.sources.resolve import open_source
from tests.conftest import SAMPLES
from tests.hostile.make_corpus import Case
from tests.registry_server import isolated_credentials, start_registry
from tests.test_hostile import check, corpus, empty_cwd, run_in_process, run_subprocess

__all__ = ["corpus", "empty_cwd"]  # the hostile corpus's fixtures, used here too

WAIT = 60  # seconds a rendezvous below may take before the test gives up (it never should)


def _children() -> list[int]:
    """This process's child processes (from /proc: every thread's list)."""
    found: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that has just ended
            found += [int(pid) for pid in (task / "children").read_text().split()]
    return found


@pytest.fixture()
def no_children_left() -> Iterator[None]:
    """The test leaves no child process behind (every worker stopped and waited for)."""
    before = set(_children()), set(multiprocessing.active_children())
    yield
    assert set(_children()) - before[0] == set()
    assert set(multiprocessing.active_children()) - before[1] == set()


def _corrupt(layout: Path, layer: int) -> None:
    """Flip a bit of the second tar header of ``layer``'s blob: its checksum fails when read."""
    img = imgscope.open_image(layout)
    digest = img.layers[layer].digest
    assert digest is not None
    blob = layout / "blobs" / "sha256" / digest.removeprefix("sha256:")
    data = bytearray(blob.read_bytes())
    data[600] ^= 0x01
    blob.write_bytes(bytes(data))


def _copy(tmp_path: Path) -> Path:
    layout = tmp_path / "oci"
    shutil.copytree(SAMPLES / "cases" / "oci-plain", layout)
    return layout


def _error(layout: Path, jobs: int) -> str:
    with pytest.raises(CorruptLayerError) as info:
        imgscope.analyze(layout, jobs=jobs)
    return str(info.value)


def _patch_scan(monkeypatch: pytest.MonkeyPatch, before: Callable[[bool, int], None]) -> None:
    """Every layer scan (here and in the workers, which are forked with it) first calls ``before(in_worker,
    index)``."""
    parent = os.getpid()
    real = scan_module.scan_layer

    def scan(image: imgscope.Image, index: int, **options: Any) -> scan_module.LayerScan:
        before(os.getpid() != parent, index)
        return real(image, index, **options)

    monkeypatch.setattr(scan_module, "scan_layer", scan)


def _worker_holds_layer_1(monkeypatch: pytest.MonkeyPatch, kill: bool = False) -> Any:
    """Arrange that the worker takes layer 1 and keeps it until this process has scanned layer 2 itself (ahead
    of its turn); ``kill``: the worker then dies with layer 1 instead. Returns the event set once layer 2 was
    scanned here."""
    context = multiprocessing.get_context("fork")
    worker_started, scanned_ahead = context.Event(), context.Event()

    def before(in_worker: bool, index: int) -> None:
        if in_worker and index == 1:
            worker_started.set()
            assert scanned_ahead.wait(WAIT)
            if kill:
                os.kill(os.getpid(), signal.SIGKILL)
        elif not in_worker and index == 0:
            assert worker_started.wait(WAIT)  # layer 0 here, layer 1 in the worker
        elif not in_worker and index == 2:
            scanned_ahead.set()

    _patch_scan(monkeypatch, before)
    return scanned_ahead


def test_this_process_scans_the_first_layer_and_ahead_while_the_worker_has_the_next(
    monkeypatch: pytest.MonkeyPatch, no_children_left: None
) -> None:
    img = imgscope.open_image(SAMPLES / "cases" / "oci-plain")
    here = [scan_layer(img, i) for i in range(len(img.layers))]
    scanned_ahead = _worker_holds_layer_1(monkeypatch)
    got = list(scan_layers(img, jobs=2))
    assert scanned_ahead.is_set()  # layer 2 was scanned here while layer 1 was still in the worker
    assert [s.index for s in got] == list(range(len(img.layers)))
    assert got == here


def test_a_layer_scanned_ahead_gives_its_error_in_its_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_children_left: None
) -> None:
    layout = _copy(tmp_path)
    _corrupt(layout, 2)
    expected = _error(layout, 1)
    assert "(layer 2): " in expected
    scanned_ahead = _worker_holds_layer_1(monkeypatch)
    assert _error(layout, 2) == expected  # found ahead, raised once layers 0 and 1 were merged
    assert scanned_ahead.is_set()


def test_an_earlier_layer_in_a_worker_is_the_first_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_children_left: None
) -> None:
    """Layer 2 (scanned here, ahead) and layer 1 (in the worker) are both corrupt: layer 1's error is raised."""
    layout = _copy(tmp_path)
    _corrupt(layout, 1)
    _corrupt(layout, 2)
    expected = _error(layout, 1)
    assert "(layer 1): " in expected
    scanned_ahead = _worker_holds_layer_1(monkeypatch)
    assert _error(layout, 2) == expected
    assert scanned_ahead.is_set()


def test_an_error_in_this_process_stops_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_children_left: None
) -> None:
    """Layer 0 is corrupt and scanned here while the workers are busy with the next layers."""
    layout = _copy(tmp_path)
    _corrupt(layout, 0)
    expected = _error(layout, 1)
    assert "(layer 0): " in expected
    context = multiprocessing.get_context("fork")
    busy = context.Event()

    def before(in_worker: bool, index: int) -> None:
        if in_worker:
            busy.set()
        elif index == 0:
            assert busy.wait(WAIT)  # a worker is scanning when layer 0 fails here

    _patch_scan(monkeypatch, before)
    assert _error(layout, 4) == expected


def test_a_worker_that_dies_has_its_layer_scanned_here(monkeypatch: pytest.MonkeyPatch, no_children_left: None) -> None:
    img = imgscope.open_image(SAMPLES / "cases" / "oci-plain")
    expected = json_report.dumps(imgscope.analyze(img, jobs=1).to_dict())
    scanned_ahead = _worker_holds_layer_1(monkeypatch, kill=True)
    assert json_report.dumps(imgscope.analyze(img, jobs=2).to_dict()) == expected
    assert scanned_ahead.is_set()


def test_stopping_early_stops_the_workers(no_children_left: None) -> None:
    img = imgscope.open_image(SAMPLES / "advise.tar")
    scans = scan_layers(img, jobs=3)
    first = next(scans)
    assert first.index == 0
    scans.close()


def test_the_command_line_error_for_the_layer_scanned_here(tmp_path: Path) -> None:
    """``analyze --jobs 2`` of an image whose layer 0 (scanned by the command's own process) is corrupt: one
    line, exit 2, and no process left (the command's process group is empty once it has exited)."""
    layout = _copy(tmp_path)
    _corrupt(layout, 0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgscope", "analyze", str(layout), "--json", "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("imgscope: error: ") and "(layer 0): " in lines[0]
    assert out == ""
    with pytest.raises(ProcessLookupError):  # the session (the command and any worker) is gone
        os.killpg(proc.pid, 0)


def test_hostile_inputs_with_workers(corpus: list[Case], empty_cwd: Path, no_children_left: None) -> None:
    """Every light case of the hostile corpus (tests/test_hostile.py) through ``analyze --jobs 2``: the same
    verdict and one-line error as in one process, and no worker left behind."""
    runner = CliRunner()
    problems = []
    before = set(_children())  # other tests' servers, if any
    for case in corpus:
        if case.heavy or "--jobs" in case.args:
            continue
        code, stderr = run_in_process(runner, ["analyze", case.path, *case.args, "--jobs", "2"])
        problem = check(case, code, stderr, empty_cwd)
        if problem:
            problems.append(f"{case.name}: {problem}")
        left = set(_children()) - before
        if left:
            problems.append(f"{case.name}: processes left: {sorted(left)}")
    assert not problems, f"{len(problems)} case(s) mishandled:\n" + "\n".join(problems)


def test_heavy_hostile_inputs_with_workers(corpus: list[Case], tmp_path: Path) -> None:
    """The heavy cases (bombs, deep trees) as real ``analyze --jobs 2`` processes, with bounded time and memory."""

    def one(case: Case) -> str | None:
        cwd = tmp_path / case.name
        cwd.mkdir()
        code, stderr = run_subprocess(["analyze", case.path, *case.args, "--jobs", "2"], cwd)
        problem = check(case, code, stderr, cwd)
        return f"{case.name}: {problem}" if problem else None

    with ThreadPoolExecutor(max_workers=2) as pool:
        problems = [p for p in pool.map(one, [c for c in corpus if c.heavy and "--jobs" not in c.args]) if p]
    assert not problems, f"{len(problems)} case(s) mishandled:\n" + "\n".join(problems)


def test_a_registry_image_with_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry's layers read by this process and its workers at once, with no cache: each process sends on
    connections of its own (the parent's idle keep-alive connection, inherited by a fork, was shared: two
    processes reading each other's answers cut a blob short)."""
    with isolated_credentials(tmp_path / "home", monkeypatch):
        server = start_registry(tmp_path / "registry")
        try:
            server.push(f"oci:{SAMPLES}/cases/oci-gzip:1", "cases:1")
            server.push(f"oci:{SAMPLES}/cases/oci-zstd:1", "zstd:1")
            for name in ("cases:1", "zstd:1"):
                docs = set()
                for jobs in (1, 2, 4, 2, 4):
                    options = SourceOptions(use_cache=False, timeout=20)
                    img = open_source(f"{server.host}/{name}", options=options)
                    docs.add(json_report.dumps(imgscope.analyze(img, jobs=jobs).to_dict()))
                assert len(docs) == 1, name
        finally:
            server.stop()


def test_progress_follows_the_layer_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """The progress callback names the layer the merge waits for, never one scanned ahead of its turn: the layer
    index never goes back, nor the bytes read within one layer, and every layer's blob is read to its end."""
    img = imgscope.open_image(SAMPLES / "advise.tar")
    count = len(img.layers)
    _worker_holds_layer_1(monkeypatch)  # layer 2 is scanned here while layer 1 is due
    calls: list[tuple[int, int, int]] = []
    imgscope.analyze(img, jobs=2, progress=lambda i, n, done: calls.append((i, n, done)))
    assert calls[-1] == (count, count, 0)
    steps = calls[:-1]
    assert all(n == count for _i, n, _done in steps)
    assert steps == sorted(steps)  # by layer, then by bytes read
    assert {i for i, _n, _done in steps} == set(range(count))
    for index, blob in enumerate(img.layers):
        assert max(done for i, _n, done in steps if i == index) == blob.size


def test_a_claim_holds_any_worker_number() -> None:
    """Worker marks are the worker's number + 1 and never collide with this process's mark, however many workers
    ``--jobs`` asks for (a byte column wrapped at 256: two processes scanned the same layers)."""
    shared = scan_module._Shared.make(multiprocessing.get_context("fork"), 3)
    marks = [300, 70000, scan_module._PARENT]
    for layer, mark in enumerate(marks):
        claimed, _ = scan_module._claim(shared, [layer], 0, mark)
        assert claimed == layer
    assert list(shared.claims) == marks
    assert len(set(marks)) == 3 and all(marks)  # none reads as "unclaimed"
    assert scan_module._claim(shared, [0, 1, 2], 0, 5) == (None, 3)


def test_a_failure_receiving_the_scans_does_not_hang(monkeypatch: pytest.MonkeyPatch, no_children_left: None) -> None:
    """The thread that receives the workers' scans fails (here a MemoryError on the second message): the layers
    still in the workers are scanned here, the result is the same, and nothing waits forever."""
    from multiprocessing.connection import Connection

    img = imgscope.open_image(SAMPLES / "cases" / "oci-plain")
    expected = json_report.dumps(imgscope.analyze(img, jobs=1).to_dict())
    real = Connection.recv_bytes
    calls = [0]

    def recv_bytes(self: Connection, maxlength: int | None = None) -> bytes:
        calls[0] += 1
        if calls[0] == 2:
            raise MemoryError("receiving a scan")
        return real(self, maxlength)

    monkeypatch.setattr(Connection, "recv_bytes", recv_bytes)
    got: list[str] = []
    thread = threading.Thread(
        target=lambda: got.append(json_report.dumps(imgscope.analyze(img, jobs=3).to_dict())), daemon=True
    )
    thread.start()
    thread.join(WAIT)
    assert not thread.is_alive(), "the analysis still waits for scans nobody receives"
    assert calls[0] >= 2
    assert got == [expected]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe sizes are Linux's")
def test_a_workers_pipe_is_widened() -> None:
    """A worker's pipe holds ``PIPE_BYTES`` (or the system's most), not the default 64 KiB: through that, the
    thread receiving a scan of several MiB needed the GIL back every 64 KiB while the merge held it, and the
    worker waited a third of a second per large layer instead of scanning."""
    import fcntl

    most = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    reader, writer = multiprocessing.get_context("fork").Pipe(duplex=False)
    try:
        before = fcntl.fcntl(writer.fileno(), fcntl.F_GETPIPE_SZ)
        scan_module._widen_pipe(writer)
        after = fcntl.fcntl(reader.fileno(), fcntl.F_GETPIPE_SZ)  # one pipe: the same size seen from either end
    finally:
        reader.close()
        writer.close()
    assert after == min(scan_module.PIPE_BYTES, most) > before
