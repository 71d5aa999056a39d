"""Read a layer's tar once, front to back, into metadata records with content hashes.

Content observers (``ContentObserver``) may look at regular files' bytes as they stream past, together with the
content hash (no second read): each says how many of a file's first bytes it wants (all of them, up to a bound,
for a whole small file such as ``var/lib/dpkg/status``; a few hundred for a file header), and is handed them once
the member is read. The reader knows nothing of what observers look for (secrets, package databases).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import NoReturn, Protocol

from imgscope.errors import CorruptLayerError
from imgscope.model import EntryType, TarEntry
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
_EMPTY_DIGEST = hashlib.sha256().digest()
PATH_MAX = 4096  # Linux: no runtime can create a longer path, so no real layer holds one
# Members that estargz adds to a layer; snapshotters drop them, so do we.
ESTARGZ_MEMBERS = frozenset({"stargz.index.json", ".prefetch.landmark", ".no.prefetch.landmark"})


_SMALL = 64 << 10  # files up to this size are read in one piece


class ContentObserver(Protocol):
    """Looks at regular files' content while the tar reader streams it (``iter_entries``)."""

    def wants(self, name: str, size: int) -> int:
        """How many of the first bytes of the regular file ``name`` (as the tar writes it, not normalised) of
        ``size`` bytes to see: 0 for none; ``size`` or more for the whole content."""
        ...

    def observe(self, path: str, size: int, content: bytes) -> None:
        """The first ``wants(...)`` bytes of the file (fewer if the file is shorter), once the member is read;
        ``path`` is normalised (no leading ``/``). Not called for the root directory or a bad member."""
        ...


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
    """Yield each member of the layer tar as a ``TarEntry``, hashing regular files' content.

    Stops at the end-of-archive marker; the caller then calls ``stream.finish()``.
    Raises ``CorruptLayerError`` for anything malformed, naming the stream. Each of ``observers`` sees the
    first bytes it asks for of each regular file (``ContentObserver``).
    """
    where = stream.where
    decoder = th.HeaderDecoder(stream.read)
    next_member = decoder.next
    read = stream.read
    sha256 = hashlib.sha256
    regular = th.REGULAR
    types = _TYPES
    file_type = EntryType.FILE
    # One int object per distinct mode/owner, not one per member: they repeat, and live as long as the tree.
    ints: dict[int, int] = {}
    shared = ints.setdefault
    while True:
        try:
            member = next_member()
        except th.TarFormatError as exc:
            raise CorruptLayerError(where, str(exc)) from None
        if member is None:
            return
        size = member.size
        flag = member.typeflag
        digest: bytes | None = None
        total = (size + 511) & ~511
        tee: Tee | None = None
        wanted: list[int] | None = None
        if observers and size and (flag in regular or flag not in types):
            wanted = [o.wants(member.name, size) for o in observers]
            limit = max(wanted)
            if limit > 0:
                hasher = sha256()
                tee = Tee(hasher, limit)
        if flag in regular or flag not in types:
            # POSIX: an unknown type flag is read as a regular file, so its bytes still count.
            etype = file_type
            if not size:
                digest = _EMPTY_DIGEST
            elif total <= _SMALL:
                # Small files in one piece: one slice, one hash call.
                data = read(total)
                if len(data) < total:
                    _truncated(where, member.name, size, len(data))
                content = data[:size] if total != size else data
                if tee is None:
                    digest = sha256(content).digest()
                else:
                    tee.update(memoryview(content))
                    digest = hasher.digest()
                total = 0
            else:
                if tee is None:
                    hasher = sha256()
                got = stream.consume(size, tee or hasher)
                if got != size:
                    _truncated(where, member.name, size, got)
                digest = hasher.digest()
                total -= size
        else:
            etype = types[flag]
            if size:
                got = stream.consume(size)
                if got != size:
                    _truncated(where, member.name, size, got)
                total -= size
        if total and stream.consume(total) != total:
            _truncated(where, member.name, size, size)
        decoder.skipped((size + 511) & ~511)
        try:
            path = th.normalize_name(member.name)
        except ValueError:
            raise CorruptLayerError(where, f"member {member.name!r} escapes the image root") from None
        if not path:
            continue  # the root directory itself
        if tee is not None and wanted is not None:
            head = bytes(tee.head)
            for observer, want in zip(observers, wanted, strict=True):
                if want > 0:
                    observer.observe(path, size, head[:want] if want < len(head) else head)
        if len(path) >= PATH_MAX // 4 and len(path.encode()) >= PATH_MAX:
            raise CorruptLayerError(
                where, f"member name of {len(path.encode())} bytes, longer than PATH_MAX ({PATH_MAX})"
            )
        link = member.linkname
        if etype is EntryType.HARDLINK:
            try:
                target = th.normalize_name(link)
            except ValueError:
                raise CorruptLayerError(
                    where, f"hard link {member.name!r} points out of the image root ({link!r})"
                ) from None
            if not target:
                raise CorruptLayerError(where, f"hard link {member.name!r} points to the root directory")
            link = target
        yield TarEntry(
            path,
            etype,
            size if etype is EntryType.FILE else 0,
            shared(member.mode & 0o7777, member.mode & 0o7777),
            shared(member.uid, member.uid),
            shared(member.gid, member.gid),
            link,
            digest,
        )
