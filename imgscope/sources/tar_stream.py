"""Read a layer's tar once, front to back, into metadata records with content hashes.

Content observers (``ContentObserver``) may look at regular files' bytes as they stream past, together with the
content hash (no second read): each says how many of a file's first bytes it wants (all of them, up to a bound,
for a whole small file such as ``var/lib/dpkg/status``; a few hundred for a file header), and is handed them once
the member is read. The reader knows nothing of what observers look for (secrets, package databases).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import NamedTuple, NoReturn, Protocol
from zlib import adler32

from imgscope.errors import CorruptLayerError
from imgscope.model import DIR_MODE, ENTRY_CODE, EntryType, TarEntries, TarEntry
from imgscope.sources import tarheader as th
from imgscope.sources.blobs import LayerStream

_TYPES = {
    th.HARDLINK: EntryType.HARDLINK,
    th.SYMLINK: EntryType.SYMLINK,
    th.CHAR: EntryType.CHAR,
    th.BLOCKDEV: EntryType.BLOCK,
    th.DIRECTORY: EntryType.DIR,
    th.GNU_DUMPDIR: EntryType.DIR,
    th.FIFO: EntryType.FIFO,
}
_CODES = {flag: ENTRY_CODE[etype] for flag, etype in _TYPES.items()}  # the type code of each non-file type flag
_FILE_CODE = ENTRY_CODE[EntryType.FILE]
_HARDLINK_CODE = ENTRY_CODE[EntryType.HARDLINK]
_EMPTY_DIGEST = hashlib.sha256().digest()
PATH_MAX = 4096  # Linux: no runtime can create a longer path, so no real layer holds one
# Members that estargz adds to a layer; snapshotters drop them, so do we.
ESTARGZ_MEMBERS = frozenset({"stargz.index.json", ".prefetch.landmark", ".no.prefetch.landmark"})


class ContentObserver(Protocol):
    """Looks at regular files' content while the tar reader streams it (``iter_entries``). An observer may also
    have a ``head_filter`` (``HeadFilter``) that spares it the question for most files."""

    def wants(self, name: str, size: int) -> int:
        """How many of the first bytes of the regular file ``name`` (as the tar writes it, not normalised) of
        ``size`` bytes to see: 0 for none; ``size`` or more for the whole content."""
        ...

    def observe(self, path: str, size: int, content: bytes) -> None:
        """The first ``wants(...)`` bytes of the file (fewer if the file is shorter), once the member is read;
        ``path`` is normalised (no leading ``/``). Not called for the root directory or a bad member."""
        ...


class HeadFilter(NamedTuple):
    """What an observer may declare (as its ``head_filter`` attribute) so that the reader asks it about a file only
    when the file can interest it, decided without a Python call per file: a file of at most ``max_size`` bytes
    whose first ``window`` bytes hold ``needle``, or whose normalised path ends with one of ``path_suffixes``. It
    must let through every file ``observe`` would do something with. Used when the observer is the only one, and
    for a file read from one chunk (the others are asked about as ever)."""

    needle: bytes
    window: int
    max_size: int
    path_suffixes: tuple[str, ...]


class _Hasher(Protocol):
    def update(self, data: memoryview, /) -> None: ...


class Tee:
    """A sink that forwards every chunk to the content hasher and keeps the first ``limit`` bytes."""

    __slots__ = ("hasher", "head", "limit")

    def __init__(self, hasher: _Hasher, limit: int) -> None:
        self.hasher = hasher
        self.limit = limit
        self.head = bytearray()

    def update(self, data: memoryview) -> None:
        """Hash ``data`` and keep what still fits of it."""
        self.hasher.update(data)
        room = self.limit - len(self.head)
        if room > 0:
            self.head += data[:room]


def _truncated(where: str, name: str, size: int, got: int) -> NoReturn:
    if got < size:
        raise CorruptLayerError(where, f"truncated tar: member {name!r} declares {size} bytes, stream ends after {got}")
    raise CorruptLayerError(where, f"truncated tar: stream ends in the padding of {name!r}")


def iter_entries(stream: LayerStream, observers: Sequence[ContentObserver] = ()) -> Iterator[TarEntry]:
    """Each member of the layer tar as a ``TarEntry`` (``read_members``, then its entries)."""
    yield from read_members(stream, observers)


def read_members(stream: LayerStream, observers: Sequence[ContentObserver] = ()) -> TarEntries:
    """Every member of the layer tar, in order, by column (``model.TarEntries``), regular files' content hashed.

    Stops at the end-of-archive marker; the caller then calls ``stream.finish()``.
    Raises ``CorruptLayerError`` for anything malformed, naming the stream. Each of ``observers`` sees the
    first bytes it asks for of each regular file (``ContentObserver``).

    The per-member work is the scan's cost, so the common case is done here without a call per field: a plain
    header in the current chunk is decoded in place (``tarheader.FAST_HEADER``; anything else, an extended header,
    one across chunks or one the fast path does not take, goes to ``HeaderDecoder.next``, which decides it as
    strictly as ever), a small file's content is hashed from the chunk without a copy, a lone observer's
    ``head_filter`` is tested in the chunk, and the member's fields go to the columns without a ``TarEntry``.
    """
    where = stream.where
    decoder = th.HeaderDecoder(stream.read)
    next_member = decoder.next
    entries = TarEntries()
    add = entries.add
    sha256 = hashlib.sha256
    regular = th.REGULAR
    codes = _CODES
    file_code = _FILE_CODE
    hardlink_code = _HARDLINK_CODE
    header_only = th.HEADER_ONLY
    directory = th.DIRECTORY
    normalize = th.normalize_name
    unpack = th.FAST_HEADER.unpack_from
    shape = th.SHAPE
    numbers_shape = th.NUMBERS_SHAPE
    checksum_shapes = th.CHECKSUM_SHAPES
    as_zero = th.TERMINATORS_AS_ZERO
    extended = th.EXTENDED_FLAGS
    size_mask = (1 << 36) - 1  # the size field and its terminator: 12 octal digits
    field_mask = (1 << 24) - 1  # mode, uid, gid and their terminators: 8 octal digits
    view_of: bytes | None = None
    view = memoryview(b"")
    head_filter: HeadFilter | None = getattr(observers[0], "head_filter", None) if len(observers) == 1 else None
    if head_filter is not None:
        needle, window, filter_max, suffixes = head_filter
    while True:
        buf = stream.buf
        pos = stream.pos
        fast = False
        if pos + 512 <= len(buf) and not decoder.has_global:
            name, numbers, checksum, flag, link, magic, prefix = unpack(buf, pos)
            if (
                flag not in extended
                and numbers.translate(shape) == numbers_shape
                and checksum.translate(shape) in checksum_shapes
                and int(checksum.rstrip(b" \x00"), 8)
                == (adler32(buf[pos : pos + 256]) & 0xFFFF)
                + (adler32(buf[pos + 256 : pos + 512]) & 0xFFFF)
                + 254
                - sum(checksum)
            ):
                fast = True
                value = int(numbers.translate(as_zero), 8)
                size = (value & size_mask) >> 3
                value >>= 36
                gid = (value & field_mask) >> 3
                value >>= 24
                uid = (value & field_mask) >> 3
                mode = value >> 27
                typeflag = flag[0]
                nul = name.find(0)
                if nul >= 0:
                    name = name[:nul]
                if magic == b"ustar\x00" and prefix[0]:  # POSIX: a prefix field extends the name
                    nul = prefix.find(0)
                    name = (prefix[:nul] if nul >= 0 else prefix) + b"/" + name
                member_name = name.decode("utf-8", "backslashreplace")
                if typeflag == 0 and member_name.endswith("/"):  # an old-style directory (as HeaderDecoder reads)
                    typeflag = directory
                if link[0]:
                    nul = link.find(0)
                    link_text = (link[:nul] if nul >= 0 else link).decode("utf-8", "backslashreplace")
                else:
                    link_text = ""
                pos += 512
                decoder.position += 512
        if not fast:
            try:
                member = next_member()
            except th.TarFormatError as exc:
                raise CorruptLayerError(where, str(exc)) from None
            if member is None:
                break
            member_name, typeflag, size = member.name, member.typeflag, member.size
            mode, uid, gid, link_text = member.mode, member.uid, member.gid, member.linkname
            buf = stream.buf
            pos = stream.pos
        padded = (size + 511) & ~511
        digest: bytes | None = None
        declared = 0
        head: bytes | None = None
        wanted: list[int] | None = None
        filtered = -1  # where in ``buf`` a file the head filter decides on starts (decided once its path is known)
        is_file = typeflag in regular or typeflag not in codes  # POSIX: an unknown type is read as a regular file
        if is_file:
            code = file_code
            if not size:
                digest = _EMPTY_DIGEST
            else:
                limit = 0
                if head_filter is not None and pos + padded <= len(buf):
                    if size <= filter_max:
                        filtered = pos
                elif observers:
                    wanted = [o.wants(member_name, size) for o in observers]
                    limit = max(wanted)
                if pos + padded <= len(buf):  # the whole member is in this chunk: hashed from it, no copy
                    if buf is not view_of:
                        view, view_of = memoryview(buf), buf
                    content = view[pos : pos + size]
                    digest = sha256(content).digest()
                    if limit > 0:
                        head = bytes(content[:limit])
                    pos += padded
                else:
                    stream.pos = pos
                    hasher = sha256()
                    tee = Tee(hasher, limit) if limit > 0 else None
                    got = stream.consume(size, tee or hasher)
                    if got != size:
                        _truncated(where, member_name, size, got)
                    digest = hasher.digest()
                    if tee is not None:
                        head = bytes(tee.head)
                    if padded != size and stream.consume(padded - size) != padded - size:
                        _truncated(where, member_name, size, size)
                    buf = stream.buf
                    pos = stream.pos
        else:
            code = codes[typeflag]
            if size:
                declared = size  # dive counts a header's size field, whatever its type (DiveLayer.of)
                if typeflag in header_only:  # no data follows (Go's archive/tar, tarfile): the field is all there is
                    padded = 0
            if padded:  # a non-file member's data (GNU's dumpdir, rare) is skipped
                if pos + padded <= len(buf):
                    pos += padded
                else:
                    stream.pos = pos
                    got = stream.consume(size)
                    if got != size:
                        _truncated(where, member_name, size, got)
                    if padded != size and stream.consume(padded - size) != padded - size:
                        _truncated(where, member_name, size, size)
                    buf = stream.buf
                    pos = stream.pos
        stream.pos = pos
        decoder.position += padded
        try:
            path = normalize(member_name)
        except ValueError:
            raise CorruptLayerError(where, f"member {member_name!r} escapes the image root") from None
        if not path:
            continue  # the root directory itself
        if filtered >= 0 and (
            buf.find(needle, filtered, filtered + min(size, window)) >= 0 or path.endswith(suffixes)
        ):  # the file is still in ``buf``: one from another chunk goes the way below
            want = observers[0].wants(member_name, size)
            if want > 0:
                observers[0].observe(path, size, buf[filtered : filtered + min(want, size)])
        if head is not None and wanted is not None:
            for observer, want in zip(observers, wanted, strict=True):
                if want > 0:
                    observer.observe(path, size, head[:want] if want < len(head) else head)
        if len(path) >= PATH_MAX // 4 and len(path.encode()) >= PATH_MAX:
            raise CorruptLayerError(
                where, f"member name of {len(path.encode())} bytes, longer than PATH_MAX ({PATH_MAX})"
            )
        if code == hardlink_code:
            try:
                target = normalize(link_text)
            except ValueError:
                raise CorruptLayerError(
                    where, f"hard link {member_name!r} points out of the image root ({link_text!r})"
                ) from None
            if not target:
                raise CorruptLayerError(where, f"hard link {member_name!r} points to the root directory")
            link_text = target
        if declared:
            entries.declared_sizes[len(entries)] = declared
        if mode >> 12 and mode & ~0o7777 == DIR_MODE and typeflag != directory:  # a file Go's FileInfo calls a dir
            entries.directory_modes.add(len(entries))
        add(path, code, size if is_file else 0, mode & 0o7777, uid, gid, link_text, digest)
    return entries
