"""Inputs that must not hang or be refused wrongly (issue 11): a FIFO as the image path (read as a stream,
``sources.stream_archive``), a huge layer's progress.

The descriptor, ``schemaVersion`` and UTF-16 cases are in the hostile corpus (``tests/hostile``, ``_strict``),
the 3 GiB zstd layer of zeros too (``_zeros``): each runs through the CLI there.
"""

from __future__ import annotations

import os
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard

import imgscope
from imgscope.errors import ImageFormatError
from imgscope.sources import stream_archive
from imgscope.sources.blobs import LayerStream, Limits
from imgscope.sources.stream_archive import OPEN_TIMEOUT_ENV
from imgscope.sources.tar_stream import iter_entries

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "cases"


@pytest.fixture()
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "image.fifo"
    os.mkfifo(path)
    yield path


def test_fifo_without_writer_is_an_error_not_a_hang(fifo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(OPEN_TIMEOUT_ENV, "0.2")
    with pytest.raises(ImageFormatError, match="no writer") as info:
        imgscope.open_image(fifo)
    assert str(fifo) in str(info.value)


def test_a_slow_writer_is_waited_for(fifo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer that takes its time before the first byte (``docker save`` of a large image exports it all first)
    is read: the wait is long by default (a hang is still bounded: the tests above), and it is the whole wait,
    not only until the notice a terminal gets."""
    monkeypatch.delenv(OPEN_TIMEOUT_ENV, raising=False)
    assert stream_archive.open_timeout() >= 60
    monkeypatch.setattr(stream_archive, "_NOTICE_AFTER", 0.1)
    data = (SAMPLES / "docker-archive.tar").read_bytes()

    def slow() -> None:
        with open(fifo, "wb") as f:
            time.sleep(0.8)
            f.write(data)

    writer = threading.Thread(target=slow)
    writer.start()
    try:
        assert imgscope.analyze(fifo).image.name == "localhost/cases:1"
    finally:
        writer.join()


def test_fifo_with_a_writer_that_writes_nothing(fifo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer holds the FIFO open and sends nothing: still an error once the wait is over."""
    monkeypatch.setenv(OPEN_TIMEOUT_ENV, "0.2")
    done = threading.Event()

    def hold() -> None:
        with open(fifo, "wb"):
            done.wait(10)

    writer = threading.Thread(target=hold)
    writer.start()
    try:
        with pytest.raises(ImageFormatError, match="no writer"):
            imgscope.open_image(fifo)
    finally:
        done.set()
        writer.join()


@pytest.mark.parametrize("sample", ["docker-archive.tar", "oci-archive.tar"])
def test_fifo_delivering_an_image_works(fifo: Path, sample: str) -> None:
    source = SAMPLES / sample

    def write() -> None:
        with open(fifo, "wb") as out:
            out.write(source.read_bytes())

    writer = threading.Thread(target=write)
    writer.start()
    try:
        through_fifo = imgscope.analyze(fifo).to_dict()
    finally:
        writer.join()
    from_file = imgscope.analyze(source).to_dict()
    assert through_fifo["image"].pop("source") == str(fifo)
    from_file["image"].pop("source")
    for doc in (through_fifo, from_file):  # an OCI archive's name may come from its file name
        doc["image"].pop("name")
        doc["image"].pop("tags")
    assert through_fifo == from_file


def test_progress_moves_inside_one_big_file(tmp_path: Path) -> None:
    """One 24 MiB file of zeros in a zstd layer: the progress callback is told the bytes read as they grow,
    not only once per layer (a 10 GiB file of zeros takes a while and must show it moves)."""
    size = 24 << 20
    raw = tmp_path / "layer.tar"
    with tarfile.open(raw, "w") as tar:
        info = tarfile.TarInfo("zeros")
        info.size = size
        with open(tmp_path / "zeros", "wb") as sparse:
            sparse.truncate(size)
        with open(tmp_path / "zeros", "rb") as zeros:
            tar.addfile(info, zeros)
    blob = zstandard.ZstdCompressor(level=1).compress(raw.read_bytes())
    seen: list[int] = []
    (tmp_path / "blob").write_bytes(blob)
    opened: list[LayerStream] = []
    with (
        open(tmp_path / "blob", "rb") as src,
        LayerStream(src, "layer", on_chunk=lambda: seen.append(opened[0].uncompressed_size)) as stream,
    ):
        opened.append(stream)
        entries = list(iter_entries(stream))
        stream.finish()
    assert [e.size for e in entries] == [size]
    assert len(seen) >= 5 and seen == sorted(seen) and seen[-1] == stream.uncompressed_size
    assert Limits().max_ratio is None  # zeros compress far beyond 2000:1; no ratio is refused by default
