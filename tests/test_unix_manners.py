"""Manners of a Unix tool: a reader that stops early (``| head``) ends the program quietly; an error names the
file the user gave; a stream source (stdin, a FIFO) shows the bytes read on a terminal, as a file does."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest
from rich import filesize

import imgscope
from tests.conftest import ROOT, SAMPLES, pax_layer
from tests.hostile.make_corpus import docker_archive

CASES = str(SAMPLES / "cases" / "docker-archive.tar")
SIGPIPE_EXIT = 141  # what a shell reports for a program a closed pipe stopped (128 + SIGPIPE)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


@pytest.mark.parametrize(
    "args",
    [
        ("analyze", "--ncdu", "-", CASES),
        ("analyze", "--html", "-", CASES),
        ("analyze", "--json", CASES),
        ("analyze", CASES),
        ("tree", "--depth", "9", CASES),
        ("history", "--json", CASES),
        ("report", "-o", "-", CASES),
    ],
    ids=lambda a: " ".join(w for w in a if not w.startswith("/")),
)
def test_a_reader_that_stops_early_ends_it_quietly(args: tuple[str, ...]) -> None:
    """``imgscope … | head -1`` once head has quit: no error line, no traceback, the exit status of a tool a pipe
    stopped. (The pipe's reader is closed before the program writes, so every write finds it gone, whatever
    the output's size.)"""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "imgscope", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=_env(COLUMNS="80"),
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == b""
    assert proc.returncode == SIGPIPE_EXIT


def test_an_unwritable_output_names_the_path_given(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "x.html"
    proc = subprocess.run(
        [sys.executable, "-m", "imgscope", "report", "-o", str(target), CASES],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"imgscope: error: {target}: "), proc.stderr
    assert ".imgscope-" not in proc.stderr  # not the temporary file's name
    assert not any(tmp_path.rglob(".imgscope-*"))


def test_analyze_html_into_a_missing_directory_names_it(tmp_path: Path) -> None:
    target = tmp_path / "nope" / "r.html"
    proc = subprocess.run(
        [sys.executable, "-m", "imgscope", "analyze", "--html", str(target), CASES],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and proc.stderr.startswith(f"imgscope: error: {target}: "), proc.stderr


def _imgscope(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imgscope", *args], capture_output=True, text=True, env=_env(), timeout=120, check=False
    )


def test_an_output_path_is_written_as_a_shell_writes_it(tmp_path: Path) -> None:
    """``--html``/``--ncdu``/``report -o`` write to what the path names, as ``>`` would: a FIFO's reader gets the
    page (the FIFO stays a FIFO), a symbolic link's target gets it (the link stays), an existing file keeps its
    mode and a new one gets the umask's; a directory is said to be one. They replaced any of these by a new
    0644 file (as root, ``--html /dev/full`` replaced the device)."""
    fifo = tmp_path / "page.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    proc = _imgscope("analyze", "--html", str(fifo), CASES)
    reader.join(60)
    assert proc.returncode == 0, proc.stderr
    assert fifo.is_fifo() and got and got[0].startswith(b"<!DOCTYPE html>")

    target = tmp_path / "real.json"
    target.write_text("old")
    target.chmod(0o600)
    link = tmp_path / "link.json"
    link.symlink_to(target.name)
    assert _imgscope("analyze", "--ncdu", str(link), CASES).returncode == 0
    assert link.is_symlink() and target.read_text().startswith("[1,")
    assert (target.stat().st_mode & 0o777) == 0o600
    assert not any(tmp_path.glob(".imgscope-*"))

    fresh = tmp_path / "new.html"
    proc = subprocess.run(
        ["sh", "-c", 'umask 077 && exec "$0" -m imgscope report -o "$1" "$2"', sys.executable, str(fresh), CASES],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (fresh.stat().st_mode & 0o777) == 0o600

    for given in (f"{tmp_path}/", str(tmp_path)):
        proc = _imgscope("analyze", "--html", given, CASES)
        assert proc.returncode == 2 and proc.stderr == f"imgscope: error: {given}: Is a directory\n", proc.stderr


@pytest.mark.parametrize(
    "args",
    [("analyze", CASES), ("analyze", "--json", CASES), ("check", CASES), ("report", "-o", "-", CASES), ("ls", CASES)],
    ids=lambda a: " ".join(w for w in a if not w.startswith("/")),
)
def test_a_full_stdout_is_named_not_the_image(args: tuple[str, ...]) -> None:
    """``imgscope … > /dev/full``: the write failed, so the line names stdout, not the image or "input" (which
    sent the user to the wrong file), and nothing follows it (no "Exception ignored" from the last flush)."""
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "imgscope", *args], stdout=full, stderr=subprocess.PIPE, text=True, env=_env()
        )
    assert proc.returncode == 2
    assert proc.stderr == "imgscope: error: <stdout>: No space left on device\n", proc.stderr


def test_dev_stdout_as_the_output_is_the_process_stdout(tmp_path: Path) -> None:
    """``-o /dev/stdout`` (or ``/dev/fd/1``) writes to stdout as ``-o -`` does: into a pipe (the link resolved to
    ``/proc/PID/fd/1`` names ``pipe:[N]``, a path that does not exist) and after what a file opened for appending
    (``>> file``) holds, rather than replacing that file."""
    for given in ("/dev/stdout", "/dev/fd/1"):
        piped = subprocess.run(
            [sys.executable, "-m", "imgscope", "report", "-o", given, CASES],
            capture_output=True,
            env=_env(),
            timeout=120,
            check=False,
        )
        assert piped.returncode == 0 and piped.stdout.startswith(b"<!DOCTYPE html>"), piped.stderr
        appended = tmp_path / "log.html"
        appended.write_text("PREFIX\n")
        with open(appended, "a") as out:
            proc = subprocess.run(
                [sys.executable, "-m", "imgscope", "analyze", "--ncdu", given, CASES],
                stdout=out,
                stderr=subprocess.PIPE,
                env=_env(),
                timeout=120,
                check=False,
            )
        assert proc.returncode == 0, proc.stderr
        text = appended.read_text()
        assert text.startswith("PREFIX\n[1,") and not any(tmp_path.glob(".imgscope-*"))


def _many_files_image(tmp_path: Path, count: int) -> Path:
    image = tmp_path / "many.tar"
    image.write_bytes(
        docker_archive([pax_layer({f"d{i % 50}/file-with-a-longish-name-{i}.txt": b"" for i in range(count)})])
    )
    return image


def test_a_reader_that_stops_in_the_middle_of_a_large_write_ends_it_quietly(tmp_path: Path) -> None:
    """A report larger than the pipe holds, and a reader that takes its first line and quits (``| head -1``): the
    write the pipe took in part must end the program as a closed pipe does (141), not with status 0 and the rest
    dropped without a word."""
    image = _many_files_image(tmp_path, 6000)
    for args in (("tree", "--all", str(image)), ("analyze", "--top", "6000", str(image))):
        proc = subprocess.Popen(
            [sys.executable, "-m", "imgscope", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(COLUMNS="80"),
        )
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline()
        proc.stdout.close()
        assert proc.wait(120) == SIGPIPE_EXIT, args
        assert proc.stderr.read() == b""
        proc.stderr.close()


def test_a_file_is_80_columns_wide_when_stdin_is_a_wide_terminal(tmp_path: Path) -> None:
    """Redirected (``imgscope analyze x > file`` in a terminal of 150 columns, COLUMNS not exported), the report is
    80 columns wide, as docs/cli.md says: rich took the width of the terminal on stdin."""
    out = tmp_path / "report.txt"
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 150, 0, 0))
    try:
        with open(out, "w") as stdout:
            proc = subprocess.run(
                [sys.executable, "-m", "imgscope", "analyze", CASES],
                stdin=follower,
                stdout=stdout,
                stderr=follower,
                env=_env(),
                timeout=120,
                check=False,
            )
    finally:
        os.close(follower)
        os.close(leader)
    assert proc.returncode == 0
    lines = out.read_text().splitlines()
    assert max(map(len, lines)) == 80, max(map(len, lines))


def test_the_library_reports_bytes_of_a_stream(tmp_path: Path) -> None:
    """A stream's layers are not known until it ends: progress gives (0, 0, bytes of the stream read)."""
    fifo = tmp_path / "image.fifo"
    os.mkfifo(fifo)
    size = os.path.getsize(CASES)

    def feed() -> None:
        with open(fifo, "wb") as out, open(CASES, "rb") as src:
            while chunk := src.read(256 << 10):
                out.write(chunk)

    writer = threading.Thread(target=feed)
    writer.start()
    calls: list[tuple[int, int, int]] = []
    result = imgscope.analyze(str(fifo), progress=lambda i, n, done: calls.append((i, n, done)))
    writer.join()
    streamed = [done for i, n, done in calls if n == 0]
    assert len(streamed) >= 2 and streamed == sorted(streamed)  # it moved while the stream was read
    assert max(streamed) == size  # every byte of the stream counted
    n = len(result.layers)
    assert calls[-1] == (n, n, 0)  # then done, as for a file


def _stderr_on_a_terminal(args: list[str], stdin: int | None) -> tuple[int, bytes, bytes]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgscope", *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=_env(),
    )
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    return proc.returncode, out, seen


@pytest.mark.parametrize(
    "args",
    [["analyze", "--json", "-"], ["packages", "--json", "-"], ["check", "--no-dive-ci", "--max-size", "1GB", "-"]],
    ids=lambda a: a[0],
)
def test_stdin_shows_bytes_read_on_a_terminal(args: list[str]) -> None:
    with open(CASES, "rb") as f:
        code, out, seen = _stderr_on_a_terminal(args, f.fileno())
    assert code == 0 and out, seen[-300:]
    assert b"reading -" in seen
    total = filesize.decimal(os.path.getsize(CASES)).encode()  # "2.4 MB": a file behind stdin, its size known
    assert re.search(rb"\d[\d.]* ?(?:[kM]B)?/" + re.escape(total), seen), seen[-300:]


def test_stdin_progress_never_in_a_log(tmp_path: Path) -> None:
    log = tmp_path / "err.log"
    with open(CASES, "rb") as f, open(log, "wb") as err:
        proc = subprocess.run(
            [sys.executable, "-m", "imgscope", "analyze", "--json", "-"],
            stdin=f,
            stdout=subprocess.PIPE,
            stderr=err,
            env=_env(FORCE_COLOR="1"),
            timeout=120,
            check=False,
        )
    assert proc.returncode == 0 and log.read_bytes() == b""


def test_a_failure_while_rendering_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug of ours in a renderer (outside the command's error handling) is still one line, exit 2."""
    from click.testing import CliRunner

    import imgscope.render.advice
    from imgscope.cli import main

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("style must not be set")

    # the command imports its renderers when it renders (cli/analyze.py), so the renderer's own module is patched
    monkeypatch.setattr(imgscope.render.advice, "render_top_savings", broken)
    result = CliRunner().invoke(main, ["analyze", CASES])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "internal error (ValueError: style must not be set)" in result.stderr
    assert "Traceback" in CliRunner().invoke(main, ["--debug", "analyze", CASES]).stderr
