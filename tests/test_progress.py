"""The progress bar: never in a log (whatever FORCE_COLOR says), and counting bytes, so one large layer moves."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import imgscope
from tests.buildah import Buildah, needs_buildah
from tests.conftest import ROOT, SAMPLES

CASES = str(SAMPLES / "cases" / "docker-archive.tar")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def test_no_progress_in_a_log_even_with_force_color(tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"
    for command in (["analyze", CASES], ["check", "--no-dive-ci", "--max-size", "1GB", CASES], ["tree", CASES]):
        with open(log, "wb") as err:
            done = subprocess.run(
                [sys.executable, "-m", "imgscope", *command],
                stdout=subprocess.PIPE,
                stderr=err,
                env=_env(FORCE_COLOR="1", CI="true"),
                cwd=tmp_path,
                timeout=120,
                check=False,
            )
        assert done.returncode == 0
        assert log.read_bytes() == b"", command  # not one escape code, not one byte


def test_progress_on_an_interactive_terminal(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgscope", "analyze", "--json", CASES],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=_env(),
        cwd=tmp_path,
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
    assert proc.returncode == 0 and out.startswith(b"{")  # stdout is untouched
    assert b"reading layer" in seen


@needs_buildah
def test_progress_counts_bytes_within_one_large_layer(tmp_path: Path) -> None:
    b = Buildah(tmp_path)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 << 20))  # one file, one layer: 20 MiB
    container = b.from_scratch()
    b.copy(container, big, "/big.bin")
    archive = b.save(container, "localhost/big:1", tmp_path / "big.tar")
    calls: list[tuple[int, int, int]] = []
    result = imgscope.analyze(archive, progress=lambda i, n, done: calls.append((i, n, done)))
    (blob,) = result.image.layers
    within = [done for i, _n, done in calls if i == 0]
    assert len(set(within)) >= 4  # moved several times inside the one layer (chunks of a few MiB)
    assert within == sorted(within) and max(within) == blob.size
    assert calls[-1] == (1, 1, 0)
