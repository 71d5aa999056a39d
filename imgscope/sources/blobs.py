"""Open a layer blob as a stream of tar bytes: decompress by magic, hash both sides, bound the work.

A layer is read once, front to back, in chunks; nothing holds more than a few
chunks of it. While it streams, the compressed bytes are hashed (the blob digest)
and the decompressed bytes are hashed (the diff_id), so integrity costs no extra
pass. Hostile blobs are bounded: decompressed output per call is capped (memory
stays a few chunks whatever the ratio), the uncompressed size is capped, and so is
data after the end of the tar beyond a little padding. A high decompression ratio
alone is not refused: a layer of zeros is a valid layer, and streaming bounds its
memory; its time is what it is, shown by the progress callback.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Protocol, cast

import zstandard

try:  # ISA-L's inflate: the same bytes as zlib's, in about half the time (a dependency where isal has wheels)
    from isal import isal_zlib as inflate
except ImportError:  # pragma: no cover  # a platform without isal: zlib's
    import zlib as inflate  # type: ignore[no-redef]

from imgscope.errors import CorruptLayerError
from imgscope.model import Compression

#: What a corrupt gzip stream raises (isal's stubs declare its error as an instance)
_INFLATE_ERRORS = (zlib.error, cast("type[Exception]", inflate.error))

GZIP_LEVEL = 6  # zlib's default, as Go's compress/gzip (docker push) and pgzip (skopeo, buildah push) use
# 256 KiB: the reader thread's chunks (handed over ``_HANDOFF_BYTES`` at a time, ``_QUEUE_CHUNKS`` hand-overs ahead)
# are the scan's fixed memory, and they stay below the mmap threshold the command line fixes (``_heap``), so they
# reuse heap memory. Against 1 MiB chunks with glibc's moving threshold: the medium benchmark image's peak about 57
# MiB instead of 71 (all processes), the scan about 5 % more CPU (docs/performance.md, "The C heap").
CHUNK = 256 << 10
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_OTHER_MAGICS = {b"BZh": "bzip2", b"\xfd7zXZ": "xz", b"\x04\x22\x4d\x18": "lz4"}


@dataclass(frozen=True)
class Limits:
    """Bounds on the work one layer may cause; ``None`` lifts a bound.

    The defaults let any real image through: real layers end their tar with at most a few KiB of padding.
    ``max_ratio`` is off by default: a zstd layer of zeros is a valid layer, and it streams in bounded memory.

    Attributes:
        max_layer_bytes: 1 TiB uncompressed
        max_ratio: uncompressed/compressed, enforced past ratio_floor bytes when set (None: no bound)
        ratio_floor: bytes below which the ratio limit does not apply
        max_trailing_bytes: data after the tar's end-of-archive marker
    """

    max_layer_bytes: int | None = 1 << 40
    max_ratio: float | None = None
    ratio_floor: int = 1 << 30
    max_trailing_bytes: int = 16 << 20


class _Chunks(Protocol):
    def next_chunk(self) -> bytes: ...


class _Plain:
    def __init__(self, raw: IO[bytes], head: bytes) -> None:
        self._raw, self._head = raw, head

    def next_chunk(self) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            return head
        return self._raw.read(CHUNK)


class _Gzip:
    """Gzip, including concatenated members (estargz ends with a footer member)."""

    def __init__(self, raw: IO[bytes], head: bytes, where: str) -> None:
        self._raw, self._pending, self._where = raw, head, where
        self._d = inflate.decompressobj(31)
        self._fresh = True  # a member starts: its header's flags are checked before it is inflated

    def next_chunk(self) -> bytes:
        while True:
            if self._d.eof:
                rest = self._d.unused_data
                while not rest.strip(b"\x00"):  # nothing, or zero padding after the last member
                    rest = self._raw.read(CHUNK)
                    if not rest:
                        return b""
                self._d = inflate.decompressobj(31)
                self._fresh = True
                self._pending = rest.lstrip(b"\x00")
            data = self._d.unconsumed_tail or self._pending
            self._pending = b""
            if not data:
                data = self._raw.read(CHUNK)
                if not data:
                    raise CorruptLayerError(self._where, "truncated gzip stream")
            if self._fresh:
                data = self._check_header(data)
            try:
                out = self._d.decompress(data, CHUNK)
            except _INFLATE_ERRORS as exc:
                raise CorruptLayerError(self._where, f"corrupt gzip stream ({exc})") from None
            if out:
                return out

    def _check_header(self, data: bytes) -> bytes:
        """``data``, the start of a member (more read when it is shorter than the flags), refused when it is not
        one or a reserved flag is set: RFC 1952 says a decoder must, and zlib does; ISA-L's inflate would read on."""
        while len(data) < 4:
            more = self._raw.read(CHUNK)
            if not more:
                break
            data += more
        self._fresh = False
        if data[:2] != GZIP_MAGIC:  # only after a member: the first one's magic was what chose gzip
            raise CorruptLayerError(self._where, "corrupt gzip stream (data after a member is not a gzip member)")
        if len(data) >= 4 and data[3] & 0xE0:
            raise CorruptLayerError(self._where, "corrupt gzip stream (reserved header flags set)")
        return data


_ZSTD_FIELD_SIZES = {"fhd": 1, "block": 3, "checksum": 4, "magic": 4, "skip_size": 4}


class _ZstdFrames:
    """Follows the zstd frame structure of the compressed bytes as the decompressor pulls them.

    The zstandard stream reader takes an input that ends inside a frame for a clean end,
    so a cut-off blob would pass for a short one; block headers carry every size needed
    to know where a frame ends, so the end of input is checked against them instead.
    """

    def __init__(self, raw: _Prepended, where: str) -> None:
        self._raw, self._where = raw, where
        self._state = "magic"
        self._need = 4
        self._acc = b""
        self._skip = 0  # bytes to pass without looking: block contents, header fields
        self._checksum = False

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        if data:
            self._feed(data)
        elif n and self._state != "other" and (self._acc or self._skip or self._state != "magic"):
            raise CorruptLayerError(self._where, "truncated zstd stream")
        return data

    def _feed(self, data: bytes) -> None:
        i, end = 0, len(data)
        while i < end and self._state != "other":
            if self._skip:
                take = min(self._skip, end - i)
                self._skip -= take
                i += take
                continue
            take = min(self._need - len(self._acc), end - i)
            self._acc += data[i : i + take]
            i += take
            if len(self._acc) == self._need:
                acc, self._acc = self._acc, b""
                self._step(acc)

    def _goto(self, state: str) -> None:
        self._state, self._need = state, _ZSTD_FIELD_SIZES.get(state, 0)

    def _step(self, acc: bytes) -> None:
        state = self._state
        if state == "magic":
            if acc == ZSTD_MAGIC:
                self._goto("fhd")
            elif acc[1:] == b"\x2a\x4d\x18" and acc[0] & 0xF0 == 0x50:  # a skippable frame
                self._goto("skip_size")
            else:
                self._goto("other")  # not a frame: the decompressor says what is wrong
        elif state == "skip_size":
            self._skip = int.from_bytes(acc, "little")
            self._goto("magic")
        elif state == "fhd":
            fhd = acc[0]
            single = bool(fhd & 0x20)
            self._checksum = bool(fhd & 0x04)
            fcs = fhd >> 6
            self._skip = (0 if single else 1) + (0, 1, 2, 4)[fhd & 3] + ((1 if single else 0), 2, 4, 8)[fcs]
            self._goto("block")
        elif state == "block":
            value = int.from_bytes(acc, "little")
            kind, size = (value >> 1) & 3, value >> 3
            self._skip = 1 if kind == 1 else size  # an RLE block stores one byte
            if value & 1:  # the last block of the frame
                self._goto("checksum" if self._checksum else "magic")
        else:  # the checksum
            self._goto("magic")


class _Zstd:
    def __init__(self, raw: IO[bytes], head: bytes, where: str) -> None:
        self._where = where
        source: IO[bytes] = _ZstdFrames(_Prepended(raw, head), where)  # type: ignore[assignment]  # has read()
        self._reader = zstandard.ZstdDecompressor().stream_reader(source, read_size=CHUNK, read_across_frames=True)

    def next_chunk(self) -> bytes:
        try:
            return self._reader.read(CHUNK)
        except zstandard.ZstdError as exc:
            raise CorruptLayerError(self._where, f"corrupt zstd stream ({exc})") from None


class _Prepended:
    """A raw stream with bytes already read put back in front."""

    def __init__(self, raw: IO[bytes], head: bytes) -> None:
        self._raw, self._head = raw, head

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n < 0 or n >= len(self._head):
                head, self._head = self._head, b""
                return head + (self._raw.read(n - len(head)) if n > 0 else b"")
            head, self._head = self._head[:n], self._head[n:]
            return head
        return self._raw.read(n)


class _CountingReader:
    """Counts and hashes the compressed bytes as the decompressor pulls them."""

    def __init__(self, raw: IO[bytes], hashed: bool, algorithm: str = "sha256") -> None:
        self._raw = raw
        self.count = 0
        self.hasher = hashlib.new(algorithm) if hashed else None

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self.count += len(data)
        if self.hasher is not None:
            self.hasher.update(data)
        return data


class LayerStream:
    """The decompressed bytes of one layer blob, read once.

    ``read(n)`` returns ``n`` bytes (fewer only at the end); ``consume(n, sink)``
    passes ``n`` bytes to ``sink`` in pieces without joining them. After the tar
    is parsed, ``finish()`` drains what follows, and the digests can be read.

    With ``threaded=True`` a reader thread reads, decompresses and hashes the blob
    (zlib, zstandard and hashlib release the GIL on large buffers) a few chunks
    ahead of the parser, handed over 512 KiB at a time; memory stays bounded
    by ``_QUEUE_CHUNKS`` hand-overs. Call ``close()`` (or use the stream as a
    context manager) to stop the thread early.
    """

    def __init__(
        self,
        raw: IO[bytes],
        where: str,
        *,
        limits: Limits | None = None,
        hash_blob: bool = True,
        hash_diff: bool = True,
        threaded: bool = False,
        on_chunk: Callable[[], None] | None = None,
        gzip_plain: bool = False,
        blob_algorithm: str = "sha256",
        diff_algorithm: str = "sha256",
    ) -> None:
        self.where = where
        self._on_chunk = on_chunk  # called in the parsing thread after each chunk is handed over (progress)
        self._limits = limits or Limits()
        self._counter = _CountingReader(raw, hash_blob, blob_algorithm)
        head = self._counter.read(8)
        self.compression = detect_compression(head, where)
        counted: IO[bytes] = self._counter  # type: ignore[assignment]
        self._chunks: _Chunks
        if self.compression == "gzip":
            self._chunks = _Gzip(counted, head, where)
        elif self.compression == "zstd":
            self._chunks = _Zstd(counted, head, where)
        else:
            self._chunks = _Plain(counted, head)
        # An uncompressed blob's gzip (level 6, the default of the gzip writers docker and skopeo push with):
        # only its size is kept, the size a registry would serve. Computed in the reader thread.
        plain = gzip_plain and self.compression == "none"
        self._gzip = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31) if plain else None
        self.gzip_size: int | None = None
        self._gzipped = 0
        self._diff_hasher = hashlib.new(diff_algorithm) if hash_diff else None
        # An uncompressed blob is its own tar: its digest and its diff_id hash the same bytes, so one hash serves both.
        self._diff_is_blob = self.compression == "none" and hash_diff and hash_blob and diff_algorithm == blob_algorithm
        if self._diff_is_blob:
            self._diff_hasher = None
        self.buf = b""  #: the chunk being read (the tar reader decodes headers in it in place)
        self.pos = 0  #: where in ``buf`` reading is
        self.uncompressed_size = 0
        self._eof = False
        self._source = self._produce()
        self._queue: queue.Queue[_Handed] | None = None
        self._batch: list[bytes] = []  # chunks handed over and not read yet, the next one last
        self._thread: threading.Thread | None = None
        self._stop = False
        if threaded:
            self._queue = queue.Queue(_QUEUE_CHUNKS)
            self._thread = threading.Thread(target=self._run, name=f"imgscope reader: {where}", daemon=True)
            self._thread.start()

    @property
    def compressed_size(self) -> int:
        return self._counter.count

    # -- the producer: raw bytes -> checked, hashed chunks ---------------------------------------

    def _produce(self) -> Iterator[bytes]:
        diff = self._diff_hasher
        next_chunk = self._chunks.next_chunk
        while True:
            chunk = next_chunk()
            if not chunk:
                break
            if diff is not None:
                diff.update(chunk)
            if self._gzip is not None:
                self._gzipped += len(self._gzip.compress(chunk))
            self.uncompressed_size += len(chunk)
            self._check_limits()
            yield chunk
        if self._gzip is not None:
            self.gzip_size = self._gzipped + len(self._gzip.flush())
        # Pull any raw bytes the decompressor did not need (e.g. garbage after a zstd frame), so the
        # blob digest covers every byte.
        while self._counter.read(CHUNK):
            pass

    def _run(self) -> None:
        q = self._queue
        assert q is not None
        batch: list[bytes] = []
        size = 0
        item: _Handed = None
        try:
            for chunk in self._source:
                if self._stop:  # closed: no more reading (a hand-over would be refused anyway)
                    return
                batch.append(chunk)
                size += len(chunk)
                if size >= _HANDOFF_BYTES:
                    if not self._put(q, batch):
                        return
                    batch, size = [], 0
        except BaseException as exc:  # handed to the parsing thread, which raises it after the chunks before it
            item = exc
        if batch and not self._put(q, batch):
            return
        self._put(q, item)

    def _put(self, q: queue.Queue[_Handed], item: _Handed) -> bool:
        while not self._stop:
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _next(self) -> bytes | None:
        if self._eof:
            return None
        chunk: bytes | None
        if self._queue is None:
            chunk = next(self._source, None)
        elif self._batch:
            chunk = self._batch.pop()
        else:
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._eof = True
                raise item
            if item is None:
                chunk = None
            else:
                item.reverse()
                chunk = item.pop()
                self._batch = item
        if chunk is None:
            self._eof = True
        elif self._on_chunk is not None:
            self._on_chunk()
        return chunk

    def close(self) -> None:
        """Stop the reader thread, if any, and wait for it. A closed stream calls ``on_chunk`` no more."""
        self._stop = True
        # The callback often holds the stream (a progress closure that reads its size): a cycle, which would
        # keep the stream, its decompressor and its chunks alive for as long as the collector is paused (the
        # whole analysis; a scan worker's whole life).
        self._on_chunk = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> LayerStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_limits(self) -> None:
        lim = self._limits
        size = self.uncompressed_size
        if lim.max_layer_bytes is not None and size > lim.max_layer_bytes:
            raise CorruptLayerError(self.where, f"layer decompresses to more than {lim.max_layer_bytes} bytes")
        if lim.max_ratio is not None and size > lim.ratio_floor and size > lim.max_ratio * max(self._counter.count, 1):
            raise CorruptLayerError(
                self.where,
                f"decompression ratio above {lim.max_ratio:g}:1 after {size} bytes (a decompression bomb?)",
            )

    # -- the consumer ----------------------------------------------------------------------------

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; fewer only when the stream ends."""
        pos = self.pos
        end = pos + n
        buf = self.buf
        if end <= len(buf):
            self.pos = end
            return buf[pos:end]
        pieces = [buf[pos:]]
        want = n - (len(buf) - pos)
        self.buf, self.pos = b"", 0
        while want > 0:
            chunk = self._next()
            if chunk is None:
                break
            if len(chunk) > want:
                pieces.append(chunk[:want])
                self.buf, self.pos = chunk, want
                break
            pieces.append(chunk)
            want -= len(chunk)
        return b"".join(pieces)

    def consume(self, n: int, sink: object = None) -> int:
        """Pass the next ``n`` bytes to ``sink(memoryview)`` (or drop them); return how many there were."""
        done = 0
        update = getattr(sink, "update", None) if sink is not None else None
        while done < n:
            avail = len(self.buf) - self.pos
            if avail == 0:
                chunk = self._next()
                if chunk is None:
                    return done
                self.buf, self.pos = chunk, 0
                continue
            take = min(avail, n - done)
            if update is not None:
                update(memoryview(self.buf)[self.pos : self.pos + take])
            self.pos += take
            done += take
        return done

    def finish(self) -> None:
        """Read to the end of the blob, so both digests cover every byte; bound what may follow the tar."""
        trailing = len(self.buf) - self.pos
        self.buf, self.pos = b"", 0
        limit = self._limits.max_trailing_bytes
        while trailing <= limit:
            chunk = self._next()
            if chunk is None:
                break
            trailing += len(chunk)
        if trailing > limit:
            raise CorruptLayerError(self.where, f"more than {limit} bytes after the end of the tar")
        self.close()

    @property
    def diff_id(self) -> str | None:
        """The digest of the decompressed stream (``sha256:<hex>``, or the algorithm asked for), when hashed."""
        h = self._counter.hasher if self._diff_is_blob else self._diff_hasher
        return None if h is None else f"{h.name}:{h.hexdigest()}"

    @property
    def blob_digest(self) -> str | None:
        """The digest of the blob as stored (``sha256:<hex>``, or the algorithm asked for), when hashed."""
        h = self._counter.hasher
        return None if h is None else f"{h.name}:{h.hexdigest()}"


#: what the reader thread hands to the parsing thread: chunks, the error that ended the blob, or its end (None)
_Handed = list[bytes] | BaseException | None
_QUEUE_CHUNKS = 2  # hand-overs the reader thread may run ahead of the parser
#: the chunks the reader thread hands over at a time: a queue operation (two thread switches) for each chunk cost
#: the scan 4-5 % more CPU than 1 MiB chunks; 1 MiB hand-overs kept 3-5 MiB more in flight (performance.md, "The C
#: heap")
_HANDOFF_BYTES = 512 << 10


def detect_compression(head: bytes, where: str) -> Compression:
    """gzip, zstd or none, from the first bytes; other compressions are refused by name."""
    if head.startswith(GZIP_MAGIC):
        return Compression.GZIP
    if head.startswith(ZSTD_MAGIC) or (head[1:4] == b"\x2a\x4d\x18" and head[0] & 0xF0 == 0x50):
        return Compression.ZSTD  # a zstd frame, or a skippable frame (which zstd streams may start with)
    for magic, name in _OTHER_MAGICS.items():
        if head.startswith(magic):
            raise CorruptLayerError(where, f"{name}-compressed layer: only plain, gzip and zstd layers are supported")
    if not head:
        raise CorruptLayerError(where, "empty layer blob (not a tar)")
    return Compression.NONE
