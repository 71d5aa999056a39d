"""The tar reader's runs (``tar_stream._run``: a run of plain members decoded at once, by column) give exactly what
the member-by-member path gives: the same members, values, digests, the same error for a bad member, and the same
secrets found by the sniffer, on tars written by Python's tarfile in its three formats, at chunk sizes that cut
runs anywhere, then with one byte of a header changed (its checksum made right again, or not)."""

from __future__ import annotations

import io
import tarfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgscope.analysis.sniff import Sniffer
from imgscope.errors import CorruptLayerError
from imgscope.sources import blobs, tar_stream
from imgscope.sources.blobs import LayerStream
from imgscope.sources.tar_stream import Prefilter, read_members

_KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
_NAMES = st.sampled_from(
    [
        "a",
        "usr/bin/x",
        "./etc/passwd",
        "d/",
        "x//y",
        "../esc",
        "a/../../esc",
        "é/ü",
        "root/.bashrc",
        "home/u/.npmrc",
        ".hidden/.x",
        "a/./b",
        "a/.",
        ".",
        "./",
        "/abs/path",
        "q/" * 60 + "r",  # 121 characters: a ustar prefix, a PAX path record or a GNU long name
        "n" * 99 + "/" + "m" * 50,
        "p" * 120,
        "w/.wh.gone",
        "w/.wh..wh..opq",
        "bad\udcffname",  # written as the byte 0xff (surrogateescape): not UTF-8
        "a/b/c/d/e/f",
        "s" * 1030 + "/t",
    ]
)
_CONTENT = st.sampled_from([b"", b"plain text\n", _KEY, b"  " + _KEY, b"_authToken=abc\n", b"x" * 3000])
_MEMBER = st.tuples(
    _NAMES,
    st.sampled_from([tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, b"7", b"Z", tarfile.FIFOTYPE]),
    _CONTENT,
    st.integers(0, 0o7777),
    st.sampled_from([0, 1000, 65534, 2**21 + 5]),
)


def _tar(members: list[tuple[str, bytes, bytes, int, int]], fmt: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape") as tf:
        for name, kind, content, mode, uid in members:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid = kind, mode, uid, uid // 2
            info.mtime = 1_700_000_000
            if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = "usr/bin/x" if uid % 2 == 0 else "l" * 120
            body = content if kind in (tarfile.REGTYPE, b"7", b"Z") else b""
            info.size = len(body)
            try:
                tf.addfile(info, io.BytesIO(body))
            except ValueError:  # a name or id this format cannot hold
                continue
    return out.getvalue()


class _Recorder:
    """Records what it is shown of the files its prefilter lets through (which is all the filter promises)."""

    prefilter = Prefilter(4000, 16, b"BEGIN", frozenset({".npmrc", "x"}))

    def __init__(self) -> None:
        self.seen: list[tuple[str, int, bytes]] = []

    def wants(self, name: str, size: int) -> int:
        return 0 if size > 4000 else 40

    def observe(self, path: str, size: int, content: bytes) -> None:
        if b"BEGIN" in content[:16] or path.rpartition("/")[2] in self.prefilter.names:
            self.seen.append((path, size, content))


def _read(data: bytes, runs: bool, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setattr(tar_stream, "RUNS", runs)
    sniffer, recorder = Sniffer(layer=3), _Recorder()
    try:
        with LayerStream(io.BytesIO(data), "t", threaded=True) as stream:
            entries = read_members(stream, (sniffer, recorder))
    except CorruptLayerError as exc:
        return exc.problem
    members = [(e.path, e.type.value, e.size, e.mode, e.uid, e.gid, e.link_target, e.digest) for e in entries]
    return members, sniffer.found, recorder.seen


def _same(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _read(data, True, monkeypatch) == _read(data, False, monkeypatch)


def _headers(data: bytes) -> list[int]:
    """The offsets of every header block (extended ones too)."""
    offsets, pos = [], 0
    while pos + 512 <= len(data) and data[pos : pos + 512] != bytes(512):
        offsets.append(pos)
        field = data[pos + 124 : pos + 136]
        size = int.from_bytes(field[1:], "big") if field[0] & 0x80 else int(field.strip(b" \x00") or b"0", 8)
        pos += 512 + (size + 511) // 512 * 512
    return offsets


def _with_checksum(block: bytearray) -> None:
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)


@pytest.fixture(params=[1 << 20, 4096, 700, 3], ids=["1MiB", "4096", "700", "3"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(blobs, "CHUNK", request.param)
    return int(request.param)


_FORMATS = st.sampled_from([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(members=st.lists(_MEMBER, min_size=1, max_size=24), fmt=_FORMATS)
def test_runs_read_what_the_member_path_reads(
    chunk: int, monkeypatch: pytest.MonkeyPatch, members: list[tuple[str, bytes, bytes, int, int]], fmt: int
) -> None:
    _same(_tar(members, fmt), monkeypatch)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    members=st.lists(_MEMBER, min_size=1, max_size=12),
    fmt=_FORMATS,
    which=st.integers(0, 30),
    at=st.integers(0, 511),
    byte=st.sampled_from(b"0178 \x00\x80\xff/._x+-\n="),
    fix=st.booleans(),
)
def test_a_changed_header_is_decided_as_the_member_path_decides_it(
    monkeypatch: pytest.MonkeyPatch,
    members: list[tuple[str, bytes, bytes, int, int]],
    fmt: int,
    which: int,
    at: int,
    byte: int,
    fix: bool,
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
    _same(bytes(data), monkeypatch)


@settings(max_examples=100, deadline=None)
@given(
    records=st.lists(
        st.tuples(st.sampled_from(["path", "uid", "size", "mtime", "linkpath", "comment"]), st.text(max_size=12)),
        max_size=3,
    ),
    after=st.sampled_from([b"0", b"5", b"x", b"1"]),
)
def test_pax_records_in_a_run(records: list[tuple[str, str]], after: bytes) -> None:
    """A PAX header's records, well formed or not, taken in a run only when they just name the member."""
    monkeypatch = pytest.MonkeyPatch()
    try:
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tf:
            tf.addfile(tarfile.TarInfo("first"), io.BytesIO(b""))
            info = tarfile.TarInfo("m")
            info.pax_headers = dict(records)
            info.type = after
            tf.addfile(info, io.BytesIO(b""))
            tf.addfile(tarfile.TarInfo("last"), io.BytesIO(b"z"))
        _same(out.getvalue(), monkeypatch)
    finally:
        monkeypatch.undo()


def test_runs_take_plain_members(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain tar is read by runs (not only the member-by-member path), and the sniffer still finds a key in one."""
    taken: list[int] = []
    real = tar_stream._run

    def counting(*args: object) -> tuple[int, bool]:
        before = len(args[3].types)  # type: ignore[attr-defined]
        out = real(*args)  # type: ignore[arg-type]
        taken.append(len(args[3].types) - before)  # type: ignore[attr-defined]
        return out

    monkeypatch.setattr(tar_stream, "_run", counting)
    members = [(f"usr/share/doc/f{i}", tarfile.REGTYPE, b"text %d\n" % i, 0o644, 0) for i in range(300)]
    members[150] = ("root/.ssh/id_ed25519", tarfile.REGTYPE, _KEY, 0o600, 0)
    members[151] = ("home/u/.npmrc", tarfile.REGTYPE, b"//r/:_authToken=abc\n", 0o600, 0)
    data = _tar(members, tarfile.PAX_FORMAT)
    result = _read(data, True, monkeypatch)
    assert sum(taken) == 299  # all but the first: its header lies across the stream's first chunk (8 bytes)
    assert isinstance(result, tuple)
    assert [(f.path, f.kind) for f in result[1]] == [
        ("/root/.ssh/id_ed25519", "private-key"),
        ("/home/u/.npmrc", "npm-token"),
    ]
    assert result == _read(data, False, monkeypatch)


def test_a_checksum_off_by_adler32s_modulus_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A header of high bytes sums above 65521, where one Adler-32 low word is ambiguous: a checksum off by
    exactly 65521 is refused in a run as by the header decoder."""
    members = [(f"f{i}", tarfile.REGTYPE, b"x", 0o644, 0) for i in range(5)]
    members[2] = ("\udcff" * 99, tarfile.SYMTYPE, b"", 0o644, 0)
    data = bytearray(_tar(members, tarfile.USTAR_FORMAT))
    start = _headers(bytes(data))[2]
    block = data[start : start + 512]
    block[157:257] = b"\xff" * 100  # the link name
    block[345:500] = b"\xfe" * 155  # the prefix
    _with_checksum(block)
    right = int(block[148:154], 8)
    assert right > 65521
    block[148:156] = b"%06o\x00 " % (right - 65521)
    data[start : start + 512] = block
    assert _read(bytes(data), True, monkeypatch) == f"bad tar header checksum at byte {start}"
    _same(bytes(data), monkeypatch)
    block[148:156] = b"%06o\x00 " % right  # and with the right one, both take it
    data[start : start + 512] = block
    assert isinstance(_read(bytes(data), True, monkeypatch), tuple)
    _same(bytes(data), monkeypatch)


@pytest.mark.parametrize("length", [4095, 4096, 5000])
def test_a_path_longer_than_path_max_in_a_run(monkeypatch: pytest.MonkeyPatch, length: int) -> None:
    members = [(f"f{i}", tarfile.REGTYPE, b"x", 0o644, 0) for i in range(6)]
    members[3] = ("d/" + "u" * (length - 2), tarfile.REGTYPE, b"y", 0o644, 0)
    data = _tar(members, tarfile.PAX_FORMAT)
    result = _read(data, True, monkeypatch)
    assert isinstance(result, tuple) == (length < 4096)
    _same(data, monkeypatch)
