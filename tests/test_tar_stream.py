"""The layer reader on tars built in memory by the standard library's tarfile: formats, and the traps."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile

import pytest
import zstandard

from imgscope.errors import CorruptLayerError
from imgscope.model import EntryType, TarEntry
from imgscope.sources.blobs import LayerStream, Limits
from imgscope.sources.tar_stream import iter_entries


def make_tar(members: list[tuple[str, bytes | None]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def read(blob: bytes, limits: Limits | None = None) -> tuple[list[TarEntry], LayerStream]:
    stream = LayerStream(io.BytesIO(blob), "test-layer", limits=limits)
    entries = list(iter_entries(stream))
    stream.finish()
    return entries, stream


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_formats_and_names(fmt: int) -> None:
    long_dir = "d" * 90 + "/" + "e" * 60
    names = ["./a.txt", "/abs.txt", "dir/", f"{long_dir}/f.txt"]
    if fmt != tarfile.USTAR_FORMAT:
        names.append("x" * 300)  # needs PAX or GNU long names
    raw = make_tar([(n, None if n.endswith("/") else n.encode()) for n in names], fmt)
    entries, stream = read(raw)
    assert [e.path for e in entries] == ["a.txt", "abs.txt", "dir", f"{long_dir}/f.txt", *names[4:]]
    assert entries[0].digest == hashlib.sha256(b"./a.txt").digest() and entries[0].size == 7
    assert entries[2].type is EntryType.DIR
    assert stream.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()


def test_gzip_zstd_and_plain_give_the_same_entries() -> None:
    raw = make_tar([("a", b"x" * 5000), ("b/", None), ("b/c", b"y")])
    plain, s1 = read(raw)
    gz, s2 = read(gzip.compress(raw))
    zs, s3 = read(zstandard.ZstdCompressor().compress(raw))
    assert plain == gz == zs
    assert (s1.compression, s2.compression, s3.compression) == ("none", "gzip", "zstd")
    assert s1.diff_id == s2.diff_id == s3.diff_id


def test_gzip_with_several_members_like_estargz() -> None:
    raw = make_tar([("a", b"1" * 3000), ("b", b"2")])
    blob = gzip.compress(raw[:1024]) + gzip.compress(raw[1024:]) + gzip.compress(b"")
    entries, _ = read(blob)
    assert [e.path for e in entries] == ["a", "b"]


def test_bad_checksum_is_an_error_not_the_end() -> None:
    raw = bytearray(make_tar([("a", b"1"), ("b", b"2"), ("c", b"3")]))
    # tarfile would stop silently at a corrupt second header and report a shorter layer
    raw[1024 + 10] ^= 0xFF
    with pytest.raises(CorruptLayerError, match="bad tar header checksum at byte 1024"):
        read(bytes(raw))


def test_truncated_layer_is_an_error() -> None:
    raw = make_tar([("a", b"1" * 2000), ("b", b"2")])
    for cut in (100, 700, 2500, 3072):
        with pytest.raises(CorruptLayerError, match="truncated"):
            read(raw[:cut])
    with pytest.raises(CorruptLayerError, match="truncated gzip"):
        read(gzip.compress(raw)[:-30])


def test_missing_end_marker_is_an_error() -> None:
    raw = make_tar([("a", b"1")])
    with pytest.raises(CorruptLayerError, match="no end-of-archive marker"):
        read(raw[:1024])


def test_a_member_after_a_single_zero_block_is_an_error() -> None:
    # Go's archive/tar (Docker, containerd) refuses a header after one zero block; read as what follows the end of
    # the tar, the member would be missing from the report without a word
    a, b = make_tar([("a", b"1")]), make_tar([("b", b"2")])
    with pytest.raises(CorruptLayerError, match="data after a single zero block at byte 1024"):
        read(a[:1024] + bytes(512) + b)
    for end in (bytes(512), bytes(700), bytes(1024)):  # one zero block then the stream's end, or zeros: the end
        entries, _ = read(a[:1024] + end)
        assert [e.path for e in entries] == ["a"]
    with pytest.raises(CorruptLayerError, match="data after a single zero block"):
        read(a[:1024] + bytes(512) + b"\x00" * 100 + b"x")  # a cut block with something in it


def test_escaping_names_are_errors() -> None:
    with pytest.raises(CorruptLayerError, match="escapes the image root"):
        read(make_tar([("../etc/passwd", b"x")]))
    entries, _ = read(make_tar([("a/../b", b"x")]))
    assert [e.path for e in entries] == ["b"]


def test_unsupported_compression_is_named() -> None:
    import bz2

    with pytest.raises(CorruptLayerError, match="bzip2-compressed layer"):
        read(bz2.compress(make_tar([("a", b"1")])))


def test_data_after_the_tar_is_bounded() -> None:
    raw = make_tar([("a", b"1")]) + bytes(64 << 10)
    read(raw)  # zero padding is normal
    with pytest.raises(CorruptLayerError, match="after the end of the tar"):
        read(raw, Limits(max_trailing_bytes=1024))


def test_decompression_ratio_limit() -> None:
    raw = make_tar([("zeros", bytes(8 << 20))])
    with pytest.raises(CorruptLayerError, match="decompression ratio"):
        read(gzip.compress(raw), Limits(max_ratio=100.0, ratio_floor=1 << 20))
    entries, _ = read(gzip.compress(raw))
    assert entries[0].size == 8 << 20


def test_no_diff_hash_when_not_asked() -> None:
    stream = LayerStream(io.BytesIO(make_tar([("a", b"1")])), "test-layer", hash_diff=False, hash_blob=False)
    assert [e.path for e in iter_entries(stream)] == ["a"]
    stream.finish()
    assert stream.diff_id is None and stream.blob_digest is None


def test_the_reader_thread_hands_over_what_the_parser_would_read() -> None:
    # about 3.6 MB: several hand-overs of several chunks each, then the end, or an error after them (raised after
    # the chunks before it, where the parser reading the blob itself would find it)
    raw = make_tar([(f"f{i}", bytes([i]) * (300_000 + i)) for i in range(12)])
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        last = tar.getmembers()[-1].offset
    bad_header = bytearray(raw)
    bad_header[last] ^= 1  # the last member's header fails its checksum, near the end of a gzip stream cut short
    whole = (raw, gzip.compress(raw))
    cut = (gzip.compress(raw)[:-30], raw[:-20_000], gzip.compress(bytes(bad_header))[:-30])
    for blob in whole + cut:
        seen: list[tuple[object, ...]] = []
        for threaded in (False, True):
            stream = LayerStream(io.BytesIO(blob), "test-layer", threaded=threaded)
            try:
                members = [(entry.path, entry.size, entry.digest) for entry in iter_entries(stream)]
                stream.finish()
                seen.append((members, stream.diff_id, stream.blob_digest))
            except CorruptLayerError as exc:
                seen.append(("error", str(exc)))
            finally:
                stream.close()
        assert seen[0] == seen[1]
        assert (seen[0][0] != "error") == (blob in whole)
        if blob in whole:
            assert len(seen[0][0]) == 12  # type: ignore[arg-type]
    assert "bad tar header checksum" in str(seen[0][1])  # the header before the stream's cut, as the parser meets it
