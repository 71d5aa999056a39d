"""The engines run tasks, retry lost ones, and report a task that fails for good without stopping the others."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imgscope.errors import UsageError, command_line_words
from imgscope.fleet.engines import EngineError, LocalEngine, TaskFailed, make_engine
from tests.batch_tasks import always_raises, die_once, nap_or_die, option_word, square


@pytest.mark.parametrize("workers", [1, 2])
def test_local_engine_runs_every_item_once(workers: int) -> None:
    engine = LocalEngine(workers, window=3)
    try:
        results = dict(engine.map_unordered(square, list(range(20))))
    finally:
        engine.close()
    assert results == {i: i * i for i in range(20)}


def test_a_lost_worker_is_replaced_and_its_task_retried(tmp_path: Path) -> None:
    engine = LocalEngine(2, retries=2)
    marker = str(tmp_path / "died")
    try:
        results = dict(engine.map_unordered(die_once, [marker]))
    finally:
        engine.close()
    assert Path(marker).read_text() == "died"  # the first attempt did kill its worker
    pid = results[0]
    assert isinstance(pid, int) and pid != os.getpid()  # the retry ran in a new worker


@pytest.mark.parametrize("retries", [0, 2])
def test_a_killed_worker_charges_only_the_task_that_killed_it(retries: int) -> None:
    """A worker SIGKILLed mid-task breaks the whole pool, and Python does not say which task did it: the tasks
    that were merely in flight beside it are run again without being charged; only a task that killed its worker
    while alone in flight is, so with ``retries`` 0 it fails once and the others all succeed."""
    engine = LocalEngine(2, retries=retries, window=4)
    items = [("nap", 0.6), ("die", 0.2), ("nap", 0.6), ("nap", 0.6), ("nap", 0.1)]
    try:
        got = dict(engine.map_unordered(nap_or_die, items))
    finally:
        engine.close()
    failure = got.pop(1)
    assert isinstance(failure, TaskFailed) and failure.attempts == retries + 1, failure
    assert "terminated abruptly" in failure.message or "BrokenProcessPool" in failure.message
    assert sorted(got) == [0, 2, 3, 4] and all(isinstance(pid, int) for pid in got.values()), got


def _group(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_pool_exits_promptly_when_its_driver_is_killed() -> None:
    """``kill -9`` of the process running the pool: its workers, forkserver and resource tracker all exit within
    seconds (they had stayed for a minute and more, holding each other's pipes open)."""
    driver = subprocess.Popen(
        [sys.executable, "-m", "tests.batch_tasks", "2", "120"], cwd=Path(__file__).parent.parent,
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while len(_group(driver.pid)) < 5 and time.monotonic() < deadline:  # driver, tracker, forkserver, 2 workers
            time.sleep(0.2)
        assert len(_group(driver.pid)) >= 5, _group(driver.pid)
        time.sleep(1)  # the workers are in their tasks
        driver.kill()
        driver.wait()
        deadline = time.monotonic() + 5
        while _group(driver.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _group(driver.pid) == []
    finally:
        for pid in _group(driver.pid):  # what this test started, by id
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_task_failing_for_good_is_reported_and_the_rest_go_on(workers: int) -> None:
    engine = LocalEngine(workers, retries=1)
    try:
        got = dict(engine.map_unordered(always_raises, [7]))
        assert dict(engine.map_unordered(square, [3])) == {0: 9}
    finally:
        engine.close()
    failure = got[0]
    assert isinstance(failure, TaskFailed)
    assert failure.attempts == 2 and "task 7 is broken" in failure.message


def test_unknown_engine_and_misplaced_address_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown engine"):
        make_engine("spark")
    with pytest.raises(UsageError, match="takes no scheduler"):
        make_engine("local", address="tcp://127.0.0.1:8786")


def test_an_unreachable_cluster_is_one_line() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(EngineError, match="cannot reach the Dask scheduler") as caught:
        make_engine("dask", address="tcp://127.0.0.1:1")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["local", "dask", "ray"])
def test_a_task_names_options_as_the_command_that_started_it_does(name: str) -> None:
    """A message made in a worker (another process, on any engine) names an option as the driver's would: the
    command line's flag while a command runs (``errors.command_line_words``), the library's parameter otherwise;
    the worker does not inherit the driver's context by itself."""
    engine = make_engine(name, workers=2)
    try:
        with command_line_words({"platform": "--platform"}):
            under_cli = {word for _, word in engine.map_unordered(option_word, ["platform"] * 4)}
        as_library = {word for _, word in engine.map_unordered(option_word, ["platform"] * 2)}
    finally:
        engine.close()
    assert under_cli == {"--platform"}
    assert as_library == {"platform"}


def test_images_opened_in_threads_name_options_as_the_command_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registry sources are opened several at a time in threads, which do not inherit the command's words: their
    messages must still name the command line's flags."""
    from imgscope.errors import option
    from imgscope.fleet import run
    from imgscope.fleet.plan import ImageJob

    monkeypatch.setattr(run, "_open_job", lambda job: option("insecure"))
    jobs = [ImageJob(f"reg.example/app:{n}", f"docker://reg.example/app:{n}") for n in range(3)]
    with command_line_words({"insecure": "--insecure"}):
        under_cli: list[object] = list(run._open_all(jobs))
    as_library: list[object] = list(run._open_all(jobs))
    assert under_cli == ["--insecure"] * 3
    assert as_library == ["insecure"] * 3
