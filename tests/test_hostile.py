"""Every input of the hostile corpus (tests/hostile/make_corpus.py) through the CLI.

Each case must either succeed (exit 0) or fail with exit code 2 and exactly one line
on stderr, ``imgscope: error: <file>: <problem>``, naming the input and containing
the case's expected text; never a traceback, never a hang, nothing written to the
working directory.

Most cases run in this process through click's ``CliRunner`` (with an alarm as a
hang guard); the heavy ones (bombs, deep trees) and a sample of the rest run as real
``python -m imgscope`` processes with a time limit and a 2 GiB address-space limit.
"""

from __future__ import annotations

import gc
import os
import resource
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType

import pytest
from click.testing import CliRunner

from imgscope.cli import main
from tests.hostile.make_corpus import Case, build_corpus

IN_PROCESS_TIMEOUT = 30  # seconds per light case (each takes well under 1 s; a loaded CI machine is slow)
SUBPROCESS_TIMEOUT = 60  # seconds per heavy case (a 2-core CI machine, two at a time)
MEMORY_LIMIT = 2 << 30  # RLIMIT_AS for the subprocesses
SAMPLE_EVERY = 25  # one light case in this many also runs as a real process


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    return build_corpus(str(tmp_path_factory.mktemp("hostile")))


@pytest.fixture()
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty working directory, which is also the temporary directory (TMPDIR, ``tempfile``)."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(work))
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    # Garbage left by earlier tests (explore's apps and their event loops) is collected here, at a shallow stack:
    # collected during a deep-JSON case's recursion, a finalizer fails with RecursionError and the interpreter
    # prints "Exception ignored in ..." to the stderr the case is judged by.
    gc.collect()
    yield work


def check(case: Case, code: int | None, stderr: str, cwd: Path) -> str | None:
    """What is wrong with how imgscope handled ``case``, or None. ``cwd`` is also the run's TMPDIR."""
    if "Traceback" in stderr:
        return f"traceback: {stderr[-500:]!r}"
    leftovers = os.listdir(cwd)
    if leftovers:
        return f"wrote to the working or temporary directory: {leftovers[:5]}"
    want = 0 if case.ok else 2
    if code != want:
        return f"exit code {code}, expected {want}; stderr: {stderr[-300:]!r}"
    if case.ok:
        return None
    lines = stderr.splitlines()
    if len(lines) != 1:
        return f"{len(lines)} lines on stderr, expected 1: {stderr[-300:]!r}"
    line = lines[0]
    if not line.isprintable():
        return f"error line with control characters: {line[:300]!r}"
    if not line.startswith("imgscope: error: "):
        return f"error line without the prefix: {line[:300]!r}"
    if os.path.basename(case.path) not in line:
        return f"error line does not name the input: {line[:300]!r}"
    if case.expect not in line:
        return f"error line does not contain {case.expect!r}: {line[:300]!r}"
    return None


class _Hang(BaseException):
    """The alarm: a BaseException, so that neither the CLI's own error handling nor CliRunner takes it for an
    error of the command (it was reported as "internal error (_Hang)", hiding that the case ran out of time)."""


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise _Hang()


def run_in_process(runner: CliRunner, args: list[str]) -> tuple[int | None, str]:
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(IN_PROCESS_TIMEOUT)
    try:
        result = runner.invoke(main, args, catch_exceptions=True)
    except _Hang:
        return None, f"no result after {IN_PROCESS_TIMEOUT} s"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        exc = result.exception
        return None, f"Traceback (in process): {type(exc).__name__}: {exc}"[:600]
    return result.exit_code, result.stderr


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_subprocess(args: list[str], cwd: Path) -> tuple[int | None, str]:
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "imgscope", *args],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=SUBPROCESS_TIMEOUT,
            preexec_fn=_limit_memory,
            cwd=cwd,
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "TMPDIR": str(cwd)},
        )
    except subprocess.TimeoutExpired:
        return None, f"no result after {SUBPROCESS_TIMEOUT} s"
    return proc.returncode, proc.stderr


def test_corpus_is_large_enough(corpus: list[Case]) -> None:
    assert len(corpus) >= 200
    assert len({c.name for c in corpus}) == len(corpus)
    assert sum(c.ok for c in corpus) >= 20
    assert all(c.ok or c.expect is not None for c in corpus)


def test_analyze_in_process(corpus: list[Case], empty_cwd: Path) -> None:
    runner = CliRunner()
    problems = []
    for case in corpus:
        if case.heavy:
            continue
        code, stderr = run_in_process(runner, ["analyze", case.path, *case.args])
        problem = check(case, code, stderr, empty_cwd)
        if problem:
            problems.append(f"{case.name}: {problem}")
    assert not problems, f"{len(problems)} case(s) mishandled:\n" + "\n".join(problems)


def test_ls_in_process(corpus: list[Case], empty_cwd: Path) -> None:
    """``ls`` reads only metadata: it may succeed where ``analyze`` fails, but it fails the same way."""
    runner = CliRunner()
    problems = []
    for case in corpus:
        if case.heavy:
            continue
        code, stderr = run_in_process(runner, ["ls", case.path])
        if code == 0:
            continue
        problem = check(Case(case.name, case.path, False, ""), code, stderr, empty_cwd)
        if problem:
            problems.append(f"{case.name}: {problem}")
    assert not problems, f"{len(problems)} case(s) mishandled:\n" + "\n".join(problems)


def test_subprocess(corpus: list[Case], tmp_path: Path) -> None:
    """The heavy cases, and a sample of the others, as real processes with bounded time and memory."""
    chosen = [c for i, c in enumerate(corpus) if c.heavy or i % SAMPLE_EVERY == 0]
    chosen.sort(key=lambda c: not c.heavy)  # the slow ones first, so the pool stays busy

    def one(case: Case) -> str | None:
        cwd = tmp_path / case.name
        cwd.mkdir()
        code, stderr = run_subprocess(["analyze", case.path, *case.args], cwd)
        problem = check(case, code, stderr, cwd)
        return f"{case.name}: {problem}" if problem else None

    with ThreadPoolExecutor(max_workers=2) as pool:
        problems = [p for p in pool.map(one, chosen) if p]
    assert not problems, f"{len(problems)} case(s) mishandled:\n" + "\n".join(problems)


# Every other command reads the same images: each must handle every light case as analyze does, or refuse it
# the same way (inspect and diff check the run-time config more strictly than analyze, so they may refuse a
# case analyze reads). check and advise may also exit 1: a rule or a finding failed, which is a verdict.
OTHER_COMMANDS: list[tuple[list[str], tuple[int, ...]]] = [
    (["tree"], (0,)),
    (["tree", "--changes", "--layer", "0", "--all"], (0,)),
    (["tree", "--json"], (0,)),
    (["history"], (0,)),
    (["history", "--dockerfile"], (0,)),
    (["inspect"], (0,)),
    (["inspect", "--json"], (0,)),
    (["advise"], (0, 1)),
    (["advise", "--format", "sarif"], (0, 1)),
    (["check", "--no-dive-ci", "--max-size", "1GB", "--forbid", "**/.git/**"], (0, 1)),
    (["check", "--format", "junit"], (0, 1)),
]


@pytest.mark.parametrize(("args", "verdicts"), OTHER_COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_other_commands_in_process(
    corpus: list[Case], empty_cwd: Path, args: list[str], verdicts: tuple[int, ...]
) -> None:
    runner = CliRunner()
    problems = []
    for case in corpus:
        if case.heavy or case.args:
            continue  # a case with arguments tests analyze's own options
        command = [args[0], case.path, *args[1:]]
        code, stderr = run_in_process(runner, command)
        if code in verdicts and (case.ok or args[0] in ("inspect", "history")):
            continue  # inspect and history read no layer, so a broken layer does not concern them
        if code in verdicts and not case.ok:
            problems.append(f"{case.name}: exit {code}, but analyze refuses it ({case.expect!r})")
            continue
        problem = check(Case(case.name, case.path, False, ""), code, stderr, empty_cwd)
        if problem:
            problems.append(f"{case.name}: {problem}")
    assert not problems, f"{len(problems)} case(s) mishandled by {args}:\n" + "\n".join(problems[:20])


def test_a_size_field_on_a_directory_hides_nothing(tmp_path: Path, empty_cwd: Path) -> None:
    """A directory header that declares data: Docker (Go's archive/tar) reads the blocks after it as the next
    members, and installs them. imgscope reads them too, so a forbidden path there fails the check (it used to
    skip them as the directory's data and pass)."""
    from tests.hostile.make_corpus import docker_archive, header, member, tar

    hidden = member("root/.ssh/authorized_keys", b"ssh-ed25519 AAAA x\n") + member("etc/aws-credentials", b"k=x\n")
    for flag in (b"5", b"2", b"6"):
        name = "d/" if flag == b"5" else "d"
        layer = tar(member("etc/x", b"1"), header(name, len(hidden), flag, mode=0o755) + hidden)
        image = tmp_path / f"hidden-{flag.decode()}.tar"
        image.write_bytes(docker_archive([layer]))
        result = CliRunner().invoke(
            main, ["check", str(image), "--no-dive-ci", "--forbid", "/root/**", "--forbid", "/etc/aws-credentials"]
        )
        assert result.exit_code == 1, result.output
        assert "/root/.ssh/authorized_keys" in result.stdout and "/etc/aws-credentials" in result.stdout
