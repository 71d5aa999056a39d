"""The engines run tasks, retry lost ones, and report a task that fails for good without stopping the others."""

from __future__ import annotations

import contextlib
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


def _processes() -> dict[int, tuple[int, str, int]]:
    """Every live (not zombie) process: ``pid -> (parent pid, command line, start time)``."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields[0] != "Z":
            found[int(stat.parent.name)] = (int(fields[1]), command.strip(), int(fields[19]))
    return found


def _descendants(root: int) -> dict[int, tuple[int, str, int]]:
    """The live processes below ``root`` (its children, theirs, ...), as ``_processes`` gives them."""
    every = _processes()
    below: set[int] = set()
    grew = True
    while grew:
        grew = False
        for pid, (parent, _, _) in every.items():
            if pid not in below and (parent == root or parent in below):
                below.add(pid)
                grew = True
    return {pid: every[pid] for pid in below}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_local_ray_runtime_goes_when_its_driver_is_killed() -> None:
    """``kill -9`` of the process that started a local Ray runtime: every process of that runtime (raylet, GCS,
    agents, workers) is gone within seconds. Ray's dashboard and runtime-env agents had stayed for good: they see
    the raylet die, then wait on the GCS that died with it."""
    pytest.importorskip("ray")
    driver = subprocess.Popen(
        [sys.executable, "-m", "tests.batch_tasks", "2", "120", "ray"], cwd=Path(__file__).parent.parent,
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    started: dict[int, tuple[int, str, int]] = {}
    try:
        deadline = time.monotonic() + 120  # Ray starts slowly on a busy machine
        while time.monotonic() < deadline and driver.poll() is None:
            started = _descendants(driver.pid)
            commands = [command for _, command, _ in started.values()]
            if sum(c.startswith("ray::in_words") for c in commands) == 2 and any("Agent" in c for c in commands):
                break
            time.sleep(0.5)
        commands = sorted(command for _, command, _ in started.values())
        assert sum(c.startswith("ray::in_words") for c in commands) == 2, commands  # both workers in their naps
        assert any(c.startswith("ray::DashboardAgent") for c in commands), commands
        assert any(c.startswith("ray::RuntimeEnvAgent") for c in commands), commands
        driver.kill()
        driver.wait()
        deadline = time.monotonic() + 10
        left = started
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            now = _processes()
            left = {pid: p for pid, p in started.items() if pid in now and now[pid][2] == p[2]}
        assert sorted(command for _, command, _ in left.values()) == []
    finally:
        driver.kill()
        now = _processes()
        for pid, (_, _, start) in started.items():  # what this test started, by id (and start time)
            if pid in now and now[pid][2] == start:
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("end", ["kill", "close"])
@pytest.mark.parametrize("named", ["as it is", "through a link", "a link to /"])
def test_the_reaper_stops_this_runs_ray_only(tmp_path: Path, end: str, named: str) -> None:
    """The reaper's choice, with stand-ins for Ray's processes: what its driver's ``ray.init()`` started (marked
    in its environment), and what is titled ``ray::`` (a title may be written over the environment), that holds a
    file in that runtime's session directory go when the driver is killed or closes it. Another Ray session's
    ``ray::`` process, a ``tail`` of this session's log, another run's marked process, and a daemon a task started
    (marked: it inherits the worker's environment, as a ``gpg-agent`` a credential helper starts does) that holds
    no file of the session all stay, and a session directory in which no process of this run holds a file is not
    followed. A session directory named through a symbolic link (Ray takes ``TMPDIR`` as it is) is followed: its
    processes' files are seen by their real paths. One that is itself a link to ``/`` (someone else's ``/tmp/ray``)
    is not: every process holds a file there, the other session's agent too; the mark alone is then taken."""
    from imgscope.fleet.reaper import MARK

    ours, theirs = tmp_path / "session_ours", tmp_path / "session_theirs"
    for directory in (ours, theirs):
        (directory / "logs").mkdir(parents=True)
        (directory / "logs" / "raylet.out").write_text("")
    (tmp_path / "tmp").symlink_to(tmp_path)
    (tmp_path / "session_root").symlink_to("/")
    told = {"as it is": ours, "through a link": tmp_path / "tmp" / ours.name, "a link to /": tmp_path / "session_root"}
    driver = subprocess.Popen(
        [sys.executable, "-m", "tests.batch_tasks", "reaper"], cwd=Path(__file__).parent.parent,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert driver.stdin is not None and driver.stdout is not None
    stand_ins: dict[str, subprocess.Popen[bytes]] = {}
    try:
        token = driver.stdout.readline().strip()
        watcher = [pid for pid, (parent, _, _) in _processes().items() if parent == driver.pid]
        assert len(watcher) == 1, watcher

        def start(name: str, title: str, session: Path | None, env: dict[str, str]) -> None:
            shell = f'exec -a "{title}" sleep 120 3<"$0"'  # sleep, with a file of the session open
            held = str(session / "logs/raylet.out") if session is not None else os.devnull
            stand_ins[name] = subprocess.Popen(["bash", "-c", shell, held], env=env)

        plain = {k: v for k, v in os.environ.items() if k != MARK}
        start("raylet", "raylet", ours, {**plain, MARK: token})
        start("agent", "ray::DashboardAgent", ours, plain)
        start("their agent", "ray::DashboardAgent", theirs, plain)
        start("tail", "tail", ours, plain)
        start("another run's", "raylet", theirs, {**plain, MARK: "1-another"})
        start("a task's daemon", "gpg-agent", None, {**plain, MARK: token})
        time.sleep(0.5)  # each has exec'd: its title and files are set
        # their session is not taken: no process this run started holds a file in it (as when ray.init() joins a
        # runtime someone else started)
        for session in (told[named], theirs):
            driver.stdin.write(f"follow {session}\n")
            driver.stdin.flush()
            assert driver.stdout.readline() == "done\n"
        if end == "kill":
            driver.kill()
            driver.wait()
        else:
            driver.stdin.write("close\n")
            driver.stdin.flush()
            assert driver.stdout.readline() == "done\n"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and watcher[0] in _processes():
            time.sleep(0.1)
        assert watcher[0] not in _processes()  # the watcher is gone: it has killed what it kills
        left = {name for name, p in stand_ins.items() if p.poll() is None}
        if named == "a link to /":  # not followed: the marked raylet and daemon go, the agent unmarked stays
            assert left == {"their agent", "tail", "another run's", "agent"}
            assert stand_ins["raylet"].returncode == -signal.SIGKILL
        else:
            assert left == {"their agent", "tail", "another run's", "a task's daemon"}
            assert stand_ins["raylet"].returncode == stand_ins["agent"].returncode == -signal.SIGKILL
    finally:
        driver.kill()
        driver.wait()
        driver.stdout.close()
        with contextlib.suppress(BrokenPipeError):
            driver.stdin.close()
        for process in stand_ins.values():
            process.kill()
            process.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_reaper_kills_without_pidfds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel older than 5.3 has no pidfd_open (ENOSYS: RHEL 8's 4.18, Debian 10's 4.19): the reaper still kills
    this run's Ray, checking each process just before its kill, and spares the rest. It had taken ENOSYS for a
    process already gone and killed nothing."""
    import errno

    from imgscope.fleet import reaper

    def no_pidfd(pid: int, flags: int = 0) -> int:
        raise OSError(errno.ENOSYS, "Function not implemented")

    session = tmp_path / "session"
    (session / "logs").mkdir(parents=True)
    (session / "logs" / "raylet.out").write_text("")
    plain = {k: v for k, v in os.environ.items() if k != reaper.MARK}
    token = f"{os.getpid()}-test"
    shell = 'exec sleep 120 3<"$0"'
    held = str(session / "logs" / "raylet.out")
    ours = subprocess.Popen(["bash", "-c", shell, held], env={**plain, reaper.MARK: token})
    other = subprocess.Popen(["bash", "-c", shell, held], env={**plain, reaper.MARK: "1-another"})
    try:
        time.sleep(0.5)  # each has exec'd
        monkeypatch.setattr(os, "pidfd_open", no_pidfd)
        monkeypatch.setattr(reaper, "SWEEP_SECONDS", 2.0)
        reaper.sweep(token, str(session))
        assert ours.wait(timeout=5) == -signal.SIGKILL
        assert other.poll() is None
    finally:
        for process in (ours, other):
            process.kill()
            process.wait()


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


@pytest.mark.parametrize("env", [None, "10.0.0.7:6379"])
def test_ray_joins_ray_address_and_otherwise_starts_its_own(monkeypatch: pytest.MonkeyPatch, env: str | None) -> None:
    """Without ``--address``: ``RAY_ADDRESS`` names the cluster, as it does for Ray's own tools (a Ray job's
    driver has it set), and gets no CPU count (Ray refuses one for a cluster it joins: "num_cpus and num_gpus must
    not be provided"); with neither, a runtime of the run's own, never a cluster ``ray start`` left running here,
    which a bare ``ray.init()`` would join. What is asked of Ray is checked here: joining a real cluster, or
    failing to, takes minutes of Ray's own retries."""
    ray = pytest.importorskip("ray")
    asked: list[dict[str, object]] = []

    def init(**options: object) -> object:
        asked.append(options)
        raise ConnectionError("no cluster here")  # stops the engine before it asks for resources

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    if env is None:
        monkeypatch.delenv("RAY_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("RAY_ADDRESS", env)
    with pytest.raises(EngineError) as caught:
        make_engine("ray", workers=2)
    (options,) = asked
    if env is None:
        assert options["address"] == "local"
        assert options["num_cpus"] == 2
        assert str(caught.value).startswith("local Ray: ")
    else:
        assert options["address"] == env
        assert "num_cpus" not in options and "object_store_memory" not in options
        assert str(caught.value).startswith(f"RAY_ADDRESS={env}: cannot start or reach Ray")


def test_ray_starts_without_its_watcher_where_none_can_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """The watcher that ends a local runtime after a ``kill -9`` is a nicety: where it cannot be started (an
    embedded interpreter, no ``sys.executable`` to run), Ray is still started, without it."""
    ray = pytest.importorskip("ray")
    asked: list[dict[str, object]] = []

    def init(**options: object) -> object:
        asked.append(options)
        raise ConnectionError("no cluster here")

    def no_interpreter(*args: object, **kwargs: object) -> object:
        raise FileNotFoundError("python")

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(subprocess, "Popen", no_interpreter)  # the watcher's start
    with pytest.raises(EngineError, match="cannot start or reach Ray"):
        make_engine("ray", workers=1)
    assert [options["address"] for options in asked] == ["local"]
