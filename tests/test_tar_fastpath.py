"""The tar reader's fast path (``tar_stream.read_members`` decoding a plain header in place) accepts exactly what
``tarheader.HeaderDecoder`` accepts, with the same values and the same errors: tars written by Python's tarfile in
each format, at chunk sizes that put headers and files across chunk boundaries, then with one byte of a header's
numeric fields or checksum changed (and the checksum made right again, or not)."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgscope.errors import CorruptLayerError
from imgscope.sources import blobs
from imgscope.sources import tarheader as th
from imgscope.sources.blobs import LayerStream
from imgscope.sources.tar_stream import read_members

_FILE_TYPES = {ord("0"), ord("7"), 0}
_KINDS = {ord("1"): "hardlink", ord("2"): "symlink", ord("3"): "char", ord("4"): "block", ord("5"): "dir"}
_KINDS |= {ord("6"): "fifo", ord("D"): "dir"}
_HEADER_ONLY = {ord(c) for c in "123456"}  # Go's isHeaderOnlyType: links, devices, directories, FIFOs


def _reference(data: bytes) -> list[tuple[object, ...]] | str:
    """The members as ``HeaderDecoder`` alone reads them (the reader before the fast path), or the error message."""
    f = io.BytesIO(data)
    decoder = th.HeaderDecoder(f.read)
    out: list[tuple[object, ...]] = []
    try:
        while (m := decoder.next()) is not None:
            data_size = 0 if m.typeflag in _HEADER_ONLY else m.size  # Go's archive/tar: no data after these
            padded = th.padded(data_size)
            body = f.read(min(padded, len(data)))  # a base-256 size may be far beyond any stream
            decoder.skipped(padded)
            is_file = m.typeflag in _FILE_TYPES or m.typeflag not in _KINDS
            if len(body) < data_size:
                return f"truncated tar: member {m.name!r} declares {m.size} bytes, stream ends after {len(body)}"
            if len(body) < padded:
                return f"truncated tar: stream ends in the padding of {m.name!r}"
            try:
                path = th.normalize_name(m.name)
            except ValueError:
                return f"member {m.name!r} escapes the image root"
            if not path:
                continue
            kind = "file" if is_file else _KINDS[m.typeflag]
            link = m.linkname
            if kind == "hardlink":
                try:
                    link = th.normalize_name(link)
                except ValueError:
                    return f"hard link {m.name!r} points out of the image root ({link!r})"
                if not link:
                    return f"hard link {m.name!r} points to the root directory"
            digest = hashlib.sha256(body[: m.size]).digest() if is_file else None
            out.append((path, kind, m.size if is_file else 0, m.mode & 0o7777, m.uid, m.gid, link, digest))
    except th.TarFormatError as exc:
        return str(exc)
    return out


def _read(data: bytes) -> list[tuple[object, ...]] | str:
    try:
        with LayerStream(io.BytesIO(data), "t", threaded=True) as stream:
            entries = read_members(stream)
    except CorruptLayerError as exc:
        return exc.problem
    return [(e.path, e.type.value, e.size, e.mode, e.uid, e.gid, e.link_target, e.digest) for e in entries]


_NAMES = st.sampled_from(
    ["a", "usr/bin/x", "./etc/passwd", "d/", "x//y", "../esc", "é/ü", "p" * 120, "q/" * 60 + "r", ".", "a/./b"]
)
_MEMBER = st.tuples(
    _NAMES,
    st.sampled_from([tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, b"7", b"Z"]),
    st.integers(0, 2000),
    st.integers(0, 0o7777),
    st.sampled_from([0, 1000, 65534, 2**21 + 5]),
)


def _tar(members: list[tuple[str, bytes, int, int, int]], fmt: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tf:
        for i, (name, kind, size, mode, uid) in enumerate(members):
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid = kind, mode, uid, uid
            info.mtime = 1_700_000_000
            if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = "a"
            body = bytes((i + j) % 251 for j in range(size)) if kind in (tarfile.REGTYPE, b"7", b"Z") else b""
            info.size = len(body)
            try:
                tf.addfile(info, io.BytesIO(body))
            except ValueError:  # a name or id this format cannot hold
                continue
    return out.getvalue()


def _headers(data: bytes) -> list[int]:
    """The offsets of every header block (extended ones too)."""
    offsets, pos = [], 0
    while pos + 512 <= len(data) and data[pos : pos + 512] != bytes(512):
        offsets.append(pos)
        size = int(data[pos + 124 : pos + 136].strip(b" \x00") or b"0", 8)
        pos += 512 + th.padded(size)
    return offsets


def _with_checksum(block: bytearray) -> None:
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)


@pytest.fixture(params=[1 << 20, 512, 700, 3], ids=["1MiB", "512", "700", "3"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(blobs, "CHUNK", request.param)
    return int(request.param)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    members=st.lists(_MEMBER, min_size=1, max_size=6),
    fmt=st.sampled_from([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]),
)
def test_same_members_as_the_header_decoder(
    chunk: int, members: list[tuple[str, bytes, int, int, int]], fmt: int
) -> None:
    data = _tar(members, fmt)
    assert _read(data) == _reference(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    members=st.lists(_MEMBER, min_size=1, max_size=3),
    fmt=st.sampled_from([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]),
    which=st.integers(0, 10),
    at=st.integers(100, 155),
    byte=st.sampled_from(b"0178 \x00\x80\xffx_+-"),
    fix=st.booleans(),
)
def test_a_changed_header_is_decided_as_the_header_decoder_decides_it(
    chunk: int, members: list[tuple[str, bytes, int, int, int]], fmt: int, which: int, at: int, byte: int, fix: bool
) -> None:
    data = bytearray(_tar(members, fmt))
    offsets = _headers(bytes(data))
    if not offsets:
        return
    start = offsets[which % len(offsets)]
    block = data[start : start + 512]
    block[at] = byte
    if fix and not 148 <= at < 156:
        _with_checksum(block)
    data[start : start + 512] = block
    assert _read(bytes(data)) == _reference(bytes(data))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ((100, 108), b" 0644  \x00"),  # leading spaces: the slow path takes it
        ((124, 136), b"00000000012\x00"[:-1] + b"3"),  # 12 digits, no terminator: size 0o123 (not 0o12)
        ((124, 136), b"\x80" + (5).to_bytes(11, "big")),  # GNU base-256
        ((108, 116), b"0001750 "),  # space-terminated
        ((100, 108), b"0000648\x00"),  # an 8: refused
    ],
)
def test_fields_the_fast_path_leaves_to_the_decoder(field: tuple[int, int], value: bytes) -> None:
    data = bytearray(_tar([("f", tarfile.REGTYPE, 300, 0o644, 0)], tarfile.USTAR_FORMAT))
    data[field[0] : field[1]] = value
    block = data[:512]
    _with_checksum(block)
    data[:512] = block
    assert _read(bytes(data)) == _reference(bytes(data))
