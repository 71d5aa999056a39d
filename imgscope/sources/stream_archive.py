"""A whole image archive read as a one-pass stream: ``docker save`` output or an OCI archive, from a pipe,
a FIFO, a daemon's ``/images/{name}/get`` response, or a compressed save (``.tar.gz``, ``.tar.zst``,
``.tar.xz``) on disk.

A stream cannot be indexed by offset, and a classic ``docker save`` writes ``manifest.json`` last, so the
layer order is known only at the end. Each member is therefore judged by its first bytes as it streams by:

- a layer (a tar header, or gzip/zstd magic) is handed to the *scanner* at once and only its scan record
  is kept (metadata, never the bytes), keyed by the member's name;
- a small member that is not a layer (``manifest.json``, ``index.json``, configs, manifests, ``VERSION``)
  is kept in memory, up to a total bound;
- anything else is read past.

At the end the kept members form a small in-memory store that the ordinary readers (``docker_archive``,
``oci_layout``) open as they open a file; the layers the chosen image lists are then matched to their
scans in order. Nothing is written to disk, and memory grows with the number of files, not with bytes.
"""

from __future__ import annotations

import io
import lzma
import os
import select
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Generic, TypeVar

from imgscope.errors import CorruptLayerError, ImageFormatError, MissingBlobError, UsageError
from imgscope.model import Image, LayerBlob
from imgscope.sources import blobs
from imgscope.sources import tarheader as th
from imgscope.sources.store import MAX_JSON_BYTES, BlobStore, clean_name
from imgscope.text import printable

#: Compressions of a whole archive, by magic bytes.
XZ_MAGIC = b"\xfd7zXZ\x00"
#: Total bytes of non-layer members kept in memory (a real save has a few KB of them).
MAX_KEPT_BYTES = 256 << 20
#: Non-layer members kept (a real save has a few per image).
MAX_KEPT_MEMBERS = 100_000
#: How long to wait for the first byte of a FIFO or a terminal-less pipe before giving up (seconds).
OPEN_TIMEOUT_ENV = "IMGSCOPE_OPEN_TIMEOUT"
#: Long enough for a writer that is slow to start (``docker save`` of a large image may export it all before its
#: first byte), short enough that a pipe or FIFO nobody writes to (a CI runner's idle standard input) is no hang.
DEFAULT_OPEN_TIMEOUT = 300.0
_HEAD = th.BLOCK  # bytes of a member looked at to judge it


S = TypeVar("S")
#: ``scanner(raw, where)``: read one layer blob (as stored, possibly compressed) to its end into a scan record.
Scanner = Callable[[IO[bytes], str], S]


# -- the outer stream: decompressed by magic, errors naming the source -----------------------------------------


class _Xz:
    """xz (and lzma) streams, concatenated streams included; truncation is an error."""

    def __init__(self, raw: IO[bytes], head: bytes, where: str) -> None:
        self._raw, self._pending, self._where = raw, head, where
        self._d = lzma.LZMADecompressor()

    def next_chunk(self) -> bytes:
        while True:
            if self._d.eof:
                rest = self._d.unused_data or self._raw.read(blobs.CHUNK)
                while rest and not rest.strip(b"\x00"):  # stream padding
                    rest = self._raw.read(blobs.CHUNK)
                if not rest:
                    return b""
                self._d = lzma.LZMADecompressor()
                self._pending = rest.lstrip(b"\x00")
            if self._d.needs_input:
                data = self._pending or self._raw.read(blobs.CHUNK)
                self._pending = b""
                if not data:
                    raise CorruptLayerError(self._where, "truncated xz stream")
            else:
                data = b""
            try:
                out = self._d.decompress(data, blobs.CHUNK)
            except lzma.LZMAError as exc:
                raise CorruptLayerError(self._where, f"corrupt xz stream ({exc})") from None
            if out:
                return out


class OuterStream:
    """The bytes of a whole archive, decompressed by magic (gzip, zstd, xz or none), read once.

    ``read(n)`` returns ``n`` bytes, fewer only at the end. A corrupt or truncated compressed stream, or one
    decompressing past ``limits.max_layer_bytes`` (or ``max_ratio``, when set), raises ``ImageFormatError`` naming
    ``label``.
    """

    def __init__(self, raw: IO[bytes], label: str, limits: blobs.Limits | None = None) -> None:
        self.label = label
        self._limits = limits or blobs.Limits()
        self._counter = blobs._CountingReader(raw, hashed=False)
        counted: IO[bytes] = self._counter  # type: ignore[assignment]  # has read()
        head = _read_full(counted, 8)
        self.compression = "none"
        self._chunks: blobs._Chunks
        if head.startswith(blobs.GZIP_MAGIC):
            self.compression = "gzip"
            self._chunks = blobs._Gzip(counted, head, label)
        elif head.startswith(blobs.ZSTD_MAGIC) or (
            head[1:4] == b"\x2a\x4d\x18" and head[:1] and head[0] & 0xF0 == 0x50
        ):
            self.compression = "zstd"
            self._chunks = blobs._Zstd(counted, head, label)
        elif head.startswith(XZ_MAGIC):
            self.compression = "xz"
            self._chunks = _Xz(counted, head, label)
        elif head.startswith(b"BZh"):
            raise ImageFormatError(label, "a bzip2-compressed archive: only gzip, zstd and xz are read")
        else:
            self._chunks = blobs._Plain(counted, head)
        if not head:
            raise ImageFormatError(label, "empty input (no image was written to it)")
        self._buf = b""
        self._pos = 0
        self.size = 0  # decompressed bytes produced so far

    @property
    def compressed_size(self) -> int:
        return self._counter.count

    def _next_chunk(self) -> bytes:
        try:
            chunk = self._chunks.next_chunk()
        except CorruptLayerError as exc:  # the outer stream, not a layer: say so by type
            raise ImageFormatError(self.label, exc.problem) from None
        except OSError as exc:
            raise ImageFormatError(self.label, f"read error ({exc.strerror or exc})") from None
        self.size += len(chunk)
        lim = self._limits
        if lim.max_layer_bytes is not None and self.size > lim.max_layer_bytes:
            raise ImageFormatError(self.label, f"the archive decompresses to more than {lim.max_layer_bytes} bytes")
        if (
            self.compression != "none"
            and lim.max_ratio is not None
            and self.size > lim.ratio_floor
            and self.size > lim.max_ratio * max(self._counter.count, 1)
        ):
            raise ImageFormatError(
                self.label, f"decompression ratio above {lim.max_ratio:g}:1 after {self.size} bytes (a bomb?)"
            )
        return chunk

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; fewer only when the stream ends."""
        pos, buf = self._pos, self._buf
        if pos + n <= len(buf):
            self._pos = pos + n
            return buf[pos : pos + n]
        pieces = [buf[pos:]]
        want = n - (len(buf) - pos)
        self._buf, self._pos = b"", 0
        while want > 0:
            chunk = self._next_chunk()
            if not chunk:
                break
            if len(chunk) > want:
                pieces.append(chunk[:want])
                self._buf, self._pos = chunk, want
                break
            pieces.append(chunk)
            want -= len(chunk)
        return b"".join(pieces)

    def drain(self, limit: int) -> int:
        """Read to the end, at most ``limit`` bytes; return how many there were (``limit + 1`` when more)."""
        seen = len(self._buf) - self._pos
        self._buf, self._pos = b"", 0
        while seen <= limit:
            chunk = self._next_chunk()
            if not chunk:
                break
            seen += len(chunk)
        return seen


class ReadReporter:
    """``raw`` that tells ``on_read`` how many bytes have been read so far: every ``step`` bytes and at the end
    (a progress display for a stream, whose layers are not known until it ends)."""

    def __init__(self, raw: IO[bytes], on_read: Callable[[int], None], step: int = 1 << 20) -> None:
        self._raw, self._on_read, self._step = raw, on_read, step
        self.count = self._told = 0

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self.count += len(data)
        if not data or self.count - self._told >= self._step:
            self._told = self.count
            self._on_read(self.count)
        return data


def _read_full(raw: IO[bytes], n: int) -> bytes:
    """``n`` bytes from a pipe (whose reads may return less), fewer only at its end."""
    data = raw.read(n)
    while data and len(data) < n:
        more = raw.read(n - len(data))
        if not more:
            break
        data += more
    return data


class _Member:
    """The data of one member of the outer tar, ``size`` bytes, with its first bytes put back in front."""

    def __init__(self, outer: OuterStream, size: int, head: bytes, name: str) -> None:
        self._outer, self._left, self._head, self._name = outer, size - len(head), head, name

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n < 0 or n >= len(self._head):
                head, self._head = self._head, b""
                return head
            head, self._head = self._head[:n], self._head[n:]
            return head
        if n < 0 or n > self._left:
            n = self._left
        if n == 0:
            return b""
        data = self._outer.read(n)
        self._left -= len(data)
        if len(data) < n:
            raise ImageFormatError(self._outer.label, f"truncated: the stream ends inside {self._name!r}")
        return data

    def close(self) -> None:
        """Nothing to release: the outer stream is read on."""

    def __enter__(self) -> _Member:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def skip_rest(self) -> None:
        self._head = b""
        while self._left:
            self.read(min(self._left, blobs.CHUNK))


# -- what the pass keeps ---------------------------------------------------------------------------------------


@dataclass
class _Scanned(Generic[S]):
    size: int
    scan: S | None = None
    error: CorruptLayerError | None = None  # a member that looked like a layer but is not a readable one


@dataclass
class StreamContents(Generic[S]):
    """What one pass over an archive stream kept: small members, layer scans, links, member sizes."""

    label: str
    kept: dict[str, bytes] = field(default_factory=dict)
    scanned: dict[str, _Scanned[S]] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # members read past: name -> size
    links: dict[str, str] = field(default_factory=dict)
    compression: str = "none"
    compressed_size: int = 0
    size: int = 0

    def resolve(self, name: str) -> str | None:
        """The member a name (maybe a link, maybe unnormalised) stands for, or None."""
        rel = clean_name(name)
        for _ in range(40):
            if rel is None:
                return None
            if rel in self.kept or rel in self.scanned or rel in self.skipped:
                return rel
            rel = self.links.get(rel)
        return None


def _looks_like_layer(head: bytes) -> bool:
    """A tar (a valid header, or an empty archive) or a compressed blob: a layer, not metadata."""
    if head.startswith((blobs.GZIP_MAGIC, blobs.ZSTD_MAGIC, XZ_MAGIC, b"BZh", b"\x04\x22\x4d\x18")):
        return True
    if len(head) < th.BLOCK:
        return False
    try:
        th.HeaderDecoder(io.BytesIO(head).read).next()
    except th.TarFormatError as exc:
        return "truncated" in str(exc)  # a valid header whose extended data goes on past the first block
    return True


def read_stream(
    raw: IO[bytes], label: str, scanner: Scanner[S] | None, limits: blobs.Limits | None = None
) -> StreamContents[S]:
    """Read a whole archive from ``raw`` once, scanning each layer as it goes by (``scanner``; None: read past).

    Raises ``ImageFormatError`` naming ``label`` for a stream that is not a tar, is truncated or corrupt.
    A member that looks like a layer but fails to scan is remembered, not raised: it matters only if the
    chosen image lists it.
    """
    outer = OuterStream(raw, label, limits)
    out: StreamContents[S] = StreamContents(label, compression=outer.compression)
    decoder = th.HeaderDecoder(outer.read)
    kept_bytes = 0
    while True:
        try:
            member = decoder.next()
        except th.TarFormatError as exc:
            first = not (out.kept or out.scanned or out.skipped or out.links)
            what = "not a tar archive" if first else "not a valid tar archive"
            raise ImageFormatError(label, f"{what} ({exc})") from None
        if member is None:
            break
        size = member.data_size
        name = clean_name(member.name)
        if member.typeflag not in th.REGULAR or not name:
            if size and outer.read(th.padded(size)).__len__() != th.padded(size):
                raise ImageFormatError(label, f"truncated: the stream ends inside {printable(member.name)!r}")
            decoder.skipped(th.padded(size))
            if name and member.typeflag in (th.SYMLINK, th.HARDLINK):
                _add_link(out, name, member.typeflag, member.linkname)
            continue
        for table in (out.kept, out.scanned, out.skipped, out.links):
            table.pop(name, None)  # a later member of the same name replaces the earlier one, as tar does
        head = outer.read(min(size, _HEAD))
        if len(head) < min(size, _HEAD):
            raise ImageFormatError(label, f"truncated: the stream ends inside {printable(name)!r}")
        data = _Member(outer, size, head, printable(name))
        if _looks_like_layer(head):
            out.scanned[name] = _scan(data, f"{printable(label)}:{printable(name)}", size, scanner)
        elif size <= MAX_JSON_BYTES:
            content = head + outer.read(size - len(head))
            if len(content) < size:
                raise ImageFormatError(label, f"truncated: the stream ends inside {printable(name)!r}")
            kept_bytes += size
            if kept_bytes > MAX_KEPT_BYTES or len(out.kept) >= MAX_KEPT_MEMBERS:
                raise ImageFormatError(label, f"more than {MAX_KEPT_BYTES} bytes of non-layer members: not an image")
            out.kept[name] = content
        else:
            data.skip_rest()
            out.skipped[name] = size
        pad = th.padded(size) - size
        if pad and len(outer.read(pad)) != pad:
            raise ImageFormatError(label, f"truncated: the stream ends in the padding of {printable(name)!r}")
        decoder.skipped(th.padded(size))
    if outer.drain(blobs.Limits().max_trailing_bytes) > blobs.Limits().max_trailing_bytes:
        raise ImageFormatError(label, "more than 16 MiB of data after the end of the archive")
    out.compressed_size, out.size = outer.compressed_size, outer.size
    return out


def _add_link(out: StreamContents[S], name: str, typeflag: int, linkname: str) -> None:
    if typeflag == th.SYMLINK:
        base = name.rpartition("/")[0]
        target = clean_name(linkname if linkname.startswith("/") else f"{base}/{linkname}")
    else:
        target = clean_name(linkname)
    for table in (out.kept, out.scanned, out.skipped):
        table.pop(name, None)
    if target:
        out.links[name] = target


def _scan(data: _Member, where: str, size: int, scanner: Scanner[S] | None) -> _Scanned[S]:
    record: _Scanned[S] = _Scanned(size)
    if scanner is None:
        data.skip_rest()
        return record
    try:
        record.scan = scanner(data, where)  # type: ignore[arg-type]  # a file-like reader
    except CorruptLayerError as exc:  # this member's content; the outer stream is still good
        record.error = exc
    data.skip_rest()
    return record


# -- the kept members as a store the ordinary readers open ----------------------------------------------------


class MemStore(BlobStore):
    """The members a pass kept, as a read-only store: small ones with their bytes, layers by size only."""

    def __init__(self, contents: StreamContents[Any]) -> None:
        super().__init__(contents.label)
        self.contents = contents

    def has(self, name: str) -> bool:
        return self.contents.resolve(name) is not None

    def size(self, name: str) -> int:
        rel = self.contents.resolve(name)
        if rel is None:
            raise MissingBlobError(self.where(name), "missing")
        c = self.contents
        if rel in c.kept:
            return len(c.kept[rel])
        return c.scanned[rel].size if rel in c.scanned else c.skipped[rel]

    def open(self, name: str) -> IO[bytes]:
        rel = self.contents.resolve(name)
        if rel is None:
            raise MissingBlobError(self.where(name), "missing")
        if rel not in self.contents.kept:
            raise ImageFormatError(self.where(name), "was read past in the stream (a layer, or too large)")
        return io.BytesIO(self.contents.kept[rel])

    def names(self) -> list[str]:
        c = self.contents
        return sorted({*c.kept, *c.scanned, *c.skipped, *c.links})


def layer_member(store: MemStore, blob: LayerBlob) -> str | None:
    """The member of the stream that holds ``blob`` (its ``member`` is ``store.where(name)``)."""
    prefix = printable(f"{store.label}:")
    if not blob.member.startswith(prefix):
        return None
    return store.contents.resolve(blob.member[len(prefix) :])


def layer_scans(store: MemStore, image: Image, scanner: Scanner[S]) -> list[S]:
    """The scan of each of ``image``'s layers, in order: a layer listed twice shares one scan.

    A layer listed but not in the stream, and one that failed to scan, are errors naming the layer. The
    digests are the caller's to check (the scan records are the scanner's type).
    """
    contents = store.contents
    scans: list[S] = []
    for blob in image.layers:
        where = f"{blob.member} (layer {blob.index})"
        rel = layer_member(store, blob)
        if rel is None:
            raise MissingBlobError(where, "listed by the image but not in the stream")
        record = contents.scanned.get(rel)
        if record is None and rel in contents.kept:  # a small member judged not a layer by its first bytes
            record = contents.scanned[rel] = _Scanned(len(contents.kept[rel]))
            try:
                record.scan = scanner(io.BytesIO(contents.kept[rel]), where)
            except CorruptLayerError as exc:
                record.error = exc
        if record is None:
            raise CorruptLayerError(where, "not a layer (neither a tar nor a compressed tar)")
        if record.error is not None:  # scanned before its layer index was known: say it now
            raise CorruptLayerError(where, record.error.problem)
        if record.scan is None:
            raise MissingBlobError(where, "the layer was not scanned")
        scans.append(record.scan)
    return scans


# -- opening inputs without blocking -------------------------------------------------------------------------


def open_timeout() -> float:
    """Seconds to wait for the first byte of a FIFO or pipe (``IMGSCOPE_OPEN_TIMEOUT``, default 300)."""
    try:
        return max(0.0, float(os.environ.get(OPEN_TIMEOUT_ENV, DEFAULT_OPEN_TIMEOUT)))
    except ValueError:
        raise UsageError(OPEN_TIMEOUT_ENV, f"not a number of seconds: {os.environ[OPEN_TIMEOUT_ENV]!r}") from None


def _wait_readable(fd: int, label: str, what: str, timeout: float) -> None:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP)
    first = min(timeout, _NOTICE_AFTER)
    if poller.poll(int(first * 1000)):
        return
    if timeout > first:
        if sys.stderr is not None and sys.stderr.isatty():  # said where someone waits, silent in a log
            print(
                f"imgscope: waiting for {label} to deliver (at most {timeout:g} s; {OPEN_TIMEOUT_ENV})",
                file=sys.stderr,
                flush=True,
            )
        if poller.poll(int((timeout - first) * 1000)):
            return
    raise ImageFormatError(label, f"{what}: nothing arrived in {timeout:g} s (set {OPEN_TIMEOUT_ENV} to wait longer)")


_NOTICE_AFTER = 2.0  # seconds of silence from a pipe or FIFO before a terminal is told what imgscope waits for


def open_fifo(path: str) -> IO[bytes]:
    """Open a FIFO (or other non-regular file) without blocking on a missing writer; wait for data with a timeout."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ImageFormatError(path, exc.strerror or str(exc)) from None
    try:
        # Linux's poll does not tell a FIFO without a writer from one whose writer is silent: say both
        _wait_readable(fd, path, "a FIFO (no writer, or one that sent nothing)", open_timeout())
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return open(fd, "rb")


def open_stdin() -> IO[bytes]:
    """Standard input as a binary stream; refused when it is a terminal."""
    stdin = sys.stdin.buffer if sys.stdin is not None else None
    if stdin is None:
        raise ImageFormatError("-", "no standard input")
    try:
        fd = stdin.fileno()
    except (OSError, ValueError):
        return stdin  # a test's in-memory stream
    if os.isatty(fd):
        raise ImageFormatError(
            "-", "standard input is a terminal: pipe an image in (docker save app | imgscope analyze -)"
        )
    mode = os.fstat(fd).st_mode
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        _wait_readable(fd, "-", "standard input", open_timeout())
    return os.fdopen(os.dup(fd), "rb")


def is_stream_path(path: str) -> bool:
    """True for a path the stream reader must read: a FIFO/device, or a compressed archive file."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if stat.S_ISDIR(st.st_mode):
        return False
    if not stat.S_ISREG(st.st_mode):
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return head.startswith((blobs.GZIP_MAGIC, blobs.ZSTD_MAGIC, XZ_MAGIC)) or (
        len(head) >= 4 and head[1:4] == b"\x2a\x4d\x18" and head[0] & 0xF0 == 0x50
    )


def open_path(path: str) -> IO[bytes]:
    """A path's bytes for the stream reader: a FIFO opened without blocking, a regular file as is."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ImageFormatError(path, exc.strerror or str(exc)) from None
    if not stat.S_ISREG(st.st_mode):
        return open_fifo(path)
    try:
        return open(path, "rb")
    except OSError as exc:
        raise ImageFormatError(path, exc.strerror or str(exc)) from None
