"""gzip layers are inflated by ISA-L (``isal``) where it is installed: the same bytes as zlib's, so the same scan,
and a corrupt or cut stream is refused as zlib's inflate refuses it."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import zlib

import pytest

import imgscope
from imgscope.analysis.scan import scan_layer
from imgscope.errors import CorruptLayerError
from imgscope.sources import blobs
from imgscope.sources.blobs import LayerStream
from tests.conftest import SAMPLES

isal_zlib = pytest.importorskip("isal.isal_zlib")


@pytest.fixture(params=["isal", "zlib"])
def inflater(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(blobs, "inflate", isal_zlib if request.param == "isal" else zlib)
    return str(request.param)


def test_isal_is_what_reads_gzip_layers() -> None:
    assert vars(blobs)["inflate"] is isal_zlib


def _scans(path: str) -> list[bytes]:
    image = imgscope.open_image(SAMPLES / path)
    return [scan_layer(image, i).to_bytes() for i in range(len(image.layers))]


def test_the_same_scans_as_zlib(monkeypatch: pytest.MonkeyPatch) -> None:
    with_isal = _scans("cases/oci-gzip")
    monkeypatch.setattr(blobs, "inflate", zlib)
    assert _scans("cases/oci-gzip") == with_isal


def _layer(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _read(blob: bytes) -> tuple[str | None, int]:
    with LayerStream(io.BytesIO(blob), "t", threaded=True) as stream:
        while stream.read(1 << 16):
            pass
        stream.finish()
        return stream.diff_id, stream.uncompressed_size


TAR = _layer({"a": os.urandom(50_000), "b": b"text " * 40_000})
GZ = gzip.compress(TAR)


def test_whole_and_concatenated_members(inflater: str) -> None:
    # estargz ends with a second gzip member; zero padding after the last member is allowed
    assert _read(GZ) == ("sha256:" + hashlib.sha256(TAR).hexdigest(), len(TAR))
    assert _read(gzip.compress(TAR[:10240]) + gzip.compress(TAR[10240:]) + bytes(100))[1] == len(TAR)


@pytest.mark.parametrize(
    ("blob", "problem"),
    [
        (GZ[:-8] + bytes([GZ[-8] ^ 1]) + GZ[-7:], "corrupt gzip stream"),  # the CRC
        (GZ[:-1] + bytes([GZ[-1] ^ 1]), "corrupt gzip stream"),  # the length
        (GZ[:3000] + bytes([GZ[3000] ^ 0x40]) + GZ[3001:], "corrupt gzip stream"),
        (GZ[:-100], "truncated gzip stream"),
        (GZ[:3] + bytes([GZ[3] | 0xE0]) + GZ[4:], "corrupt gzip stream (reserved header flags set)"),
        (GZ + gzip.compress(b"")[:3] + b"\xe0" + gzip.compress(b"")[4:], "corrupt gzip stream (reserved header"),
        (GZ + b"garbage!", "corrupt gzip stream (data after a member is not a gzip member)"),
    ],
    ids=["crc", "isize", "flipped", "cut", "reserved-flags", "reserved-flags-second-member", "trailing-garbage"],
)
def test_a_bad_stream_is_refused(inflater: str, blob: bytes, problem: str) -> None:
    with pytest.raises(CorruptLayerError) as caught:
        _read(blob)
    assert caught.value.problem.startswith(problem)
