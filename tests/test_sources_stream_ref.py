"""``PATH:REF``, ``docker-archive:PATH:REF`` and ``oci-archive:PATH:REF`` of a stream (a FIFO, a compressed save):
the REF picks the image in the one pass, as ``--image`` does, instead of a first pass that used the FIFO up."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import imgscope
from tests.conftest import SAMPLES, require_tool
from tests.test_local_sources import cli, compressed, document, one_line_exit_2


@contextmanager
def fifo_of(data: Path, where: Path) -> Iterator[Path]:
    """A FIFO that delivers ``data`` once, to whoever opens it first."""
    fifo = where / "p2"
    os.mkfifo(fifo)

    def write() -> None:
        try:
            with open(fifo, "wb") as f:
                f.write(data.read_bytes())
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield fifo
    finally:
        if writer.is_alive():  # nobody read it: let the writer go
            with open(fifo, "rb") as f:
                f.read()
        writer.join(timeout=30)


def _expected(path: Path, image: str) -> dict[str, Any]:
    return document(imgscope.analyze(path, image=image).to_dict())


@pytest.mark.parametrize("form", ["{}:{}", "docker-archive:{}:{}"])
def test_a_ref_on_a_fifo_picks_the_image_in_one_pass(form: str, tmp_path: Path) -> None:
    with fifo_of(SAMPLES / "two-images.tar", tmp_path) as fifo:
        proc = cli("analyze", form.format(fifo, "localhost/tiny-b:1"), "--json", timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    assert document(proc.stdout) == _expected(SAMPLES / "two-images.tar", "localhost/tiny-b:1")


def test_a_ref_on_a_fifo_of_an_oci_archive(tmp_path: Path) -> None:
    skopeo = require_tool("skopeo")
    archive = tmp_path / "mp.tar"
    subprocess.run(
        [skopeo, "copy", "-q", "--all", f"oci:{SAMPLES / 'multi-platform'}:1", f"oci-archive:{archive}:mp"],
        check=True,
        capture_output=True,
    )
    with fifo_of(archive, tmp_path) as fifo:
        proc = cli("analyze", f"oci-archive:{fifo}:mp", "--platform", "linux/arm64", "--json", timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout)["image"]["platform"] == "linux/arm64"


def test_the_library_takes_a_ref_on_a_fifo(tmp_path: Path) -> None:
    with fifo_of(SAMPLES / "two-images.tar", tmp_path) as fifo:
        result = imgscope.analyze(f"{fifo}:localhost/tiny-b:1")
    assert document(result.to_dict()) == _expected(SAMPLES / "two-images.tar", "localhost/tiny-b:1")


def test_a_ref_and_another_image_on_a_fifo_is_refused(tmp_path: Path) -> None:
    with fifo_of(SAMPLES / "two-images.tar", tmp_path) as fifo:
        proc = cli("analyze", f"{fifo}:localhost/tiny-b:1", "--image", "localhost/tiny-a:1", timeout=60)
    one_line_exit_2(proc, "tiny-b", "tiny-a", "give one")


def test_check_and_history_of_a_ref_on_a_fifo(tmp_path: Path) -> None:
    with fifo_of(SAMPLES / "two-images.tar", tmp_path) as fifo:
        proc = cli("check", f"docker-archive:{fifo}:localhost/tiny-b:1", "--max-size", "100MB", timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    (tmp_path / "p2").unlink()
    with fifo_of(SAMPLES / "two-images.tar", tmp_path) as fifo:
        proc = cli("history", f"{fifo}:localhost/tiny-b:1", "--dockerfile", timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()


def test_a_ref_on_a_compressed_save_is_one_pass(tmp_path: Path) -> None:
    gz = compressed("two-images.tar", "gzip", tmp_path)
    proc = cli("analyze", f"{gz}:localhost/tiny-b:1", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    assert document(proc.stdout) == _expected(SAMPLES / "two-images.tar", "localhost/tiny-b:1")
