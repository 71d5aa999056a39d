"""What bounds a stream read in one pass (docs/sources.md, "One pass over a stream"; docs/security.md): the bytes it
decompresses to, not its ratio. A valid archive of zeros compresses thousands to one and must be read."""

from __future__ import annotations

import io
import re
import subprocess

import pytest

from imgscope.errors import ImageFormatError
from imgscope.sources import blobs, stream_archive
from tests.conftest import ROOT, require_tool


def _zstd_zeros(size: int) -> bytes:
    return subprocess.run(
        [require_tool("zstd"), "-q", "-1", "-c"], input=bytes(size), capture_output=True, check=True
    ).stdout


def _read_all(stream: stream_archive.OuterStream) -> int:
    total = 0
    while chunk := stream.read(1 << 20):
        total += len(chunk)
    return total


def test_a_high_ratio_alone_is_not_refused() -> None:
    data = _zstd_zeros(64 << 20)
    assert len(data) * 2000 < 64 << 20  # far above the 2000:1 the docs once claimed was refused
    limits = blobs.Limits(ratio_floor=1 << 20)  # the default limits, with the floor lowered below the size read
    assert _read_all(stream_archive.OuterStream(io.BytesIO(data), "zeros.zst", limits)) == 64 << 20


def test_the_bytes_a_stream_decompresses_to_are_capped() -> None:
    data = _zstd_zeros(8 << 20)
    stream = stream_archive.OuterStream(io.BytesIO(data), "zeros.zst", blobs.Limits(max_layer_bytes=4 << 20))
    with pytest.raises(ImageFormatError, match="decompresses to more than 4194304 bytes"):
        _read_all(stream)
    assert blobs.Limits().max_layer_bytes == 1 << 40  # the 1 TiB the docs name


def test_the_docs_claim_no_ratio_refusal() -> None:
    sources = (ROOT / "docs/sources.md").read_text()
    one_pass = sources.partition("### One pass over a stream")[2].partition("\n### ")[0]
    assert not re.search(r"ratio above|decompression bomb \(ratio", one_pass), one_pass
    assert "1 TiB" in one_pass
    assert "a high decompression ratio alone is not refused" in (ROOT / "docs/security.md").read_text()
