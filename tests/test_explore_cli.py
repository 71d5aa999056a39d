"""``imgscope explore`` as a program: started on a real pseudo-terminal, it opens the UI and quits on ``q``
leaving the terminal as it found it; a broken image gives analyze's one line and exit 2 before any UI."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from imgscope.cli import main
from tests.conftest import ROOT, SAMPLES

CASES = str(SAMPLES / "cases" / "docker-archive.tar")
ALT_SCREEN_ON = b"\x1b[?1049h"
ALT_SCREEN_OFF = b"\x1b[?1049l"


def on_pty(
    args: list[str],
    keys: bytes = b"",
    wait_for: bytes | None = None,
    timeout: float = 60,
    env_extra: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """Run ``python -m imgscope ARGS`` with stdin/stdout/stderr on a pseudo-terminal; send ``keys`` once
    ``wait_for`` appeared in the output. Returns the exit code and everything written to the terminal."""
    primary, secondary = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    env.pop("NO_COLOR", None)
    env.update(env_extra or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgscope", *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        cwd=ROOT,
        close_fds=True,
    )
    os.close(secondary)
    out = b""
    sent = not keys
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            if not sent and (wait_for is None or wait_for in out):
                os.write(primary, keys)
                sent = True
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(primary)
    return code, out


def test_broken_image_is_analyzes_one_line_before_any_ui(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar"
    data = bytearray(Path(CASES).read_bytes())
    data[data.find(b"BusyBox v")] ^= 0x01
    bad.write_bytes(bytes(data))
    analyze = CliRunner().invoke(main, ["analyze", str(bad)])
    assert analyze.exit_code == 2
    code, out = on_pty(["explore", str(bad)])
    assert code == 2
    text = out.decode("utf-8", "replace").replace("\r\n", "\n")
    assert analyze.stderr.strip() in text
    assert ALT_SCREEN_ON not in out  # the UI never started
    assert "Traceback" not in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explore", "/nonexistent/image.tar"], "/nonexistent/image.tar: no such file or directory"),
        (["explore", CASES, "--against", "/nonexistent/b.tar"], "/nonexistent/b.tar: no such file or directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_no_terminal_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["explore", CASES])
    assert result.exit_code == 2 and "needs a terminal" in result.stderr


def test_opens_and_quits_leaving_the_terminal_clean() -> None:
    code, out = on_pty(["explore", CASES], keys=b"q", wait_for=b"Layer Details")
    assert code == 0
    assert b"Layer Details" in out and b"Image Details" in out
    # the alternate screen was entered and left, the cursor shown again
    assert out.count(ALT_SCREEN_ON) == 1 and out.rfind(ALT_SCREEN_OFF) > out.rfind(ALT_SCREEN_ON)
    assert out.rfind(b"\x1b[?25h") > out.rfind(ALT_SCREEN_ON)


def test_help_lists_the_keys() -> None:
    result = CliRunner().invoke(main, ["explore", "--help"])
    assert result.exit_code == 0 and "--against" in result.stdout and "Ctrl+F" in result.stdout


def test_no_color_opens_and_quits() -> None:
    code, out = on_pty(["explore", CASES], keys=b"q", wait_for=b"Layer Details", env_extra={"NO_COLOR": "1"})
    assert code == 0 and b"Traceback" not in out and b"Error" not in out
    assert b"Layer Details" in out and b"overwritten.txt" in out
