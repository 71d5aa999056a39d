"""Read a layer's tar once, front to back, into metadata records with content hashes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import NoReturn

from imgscope import tarheader as th
from imgscope.errors import CorruptLayerError
from imgscope.model import EntryType, TarEntry
from imgscope.sniff import Sniffer, Tee
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


def _truncated(where: str, name: str, size: int, got: int) -> NoReturn:
    if got < size:
        raise CorruptLayerError(where, f"truncated tar: member {name!r} declares {size} bytes, stream ends after {got}")
    raise CorruptLayerError(where, f"truncated tar: stream ends in the padding of {name!r}")


def iter_entries(stream: LayerStream, sniffer: Sniffer | None = None) -> Iterator[TarEntry]:
    """Yield each member of the layer tar as a ``TarEntry``, hashing regular files' content.

    Stops at the end-of-archive marker; the caller then calls ``stream.finish()``.
    Raises ``CorruptLayerError`` for anything malformed, naming the stream. A ``sniffer`` sees the
    first bytes of small regular files as they stream past (``imgscope.sniff``).
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
                if sniffer is not None:
                    hasher = sha256()
                    tee = sniffer.tee(member.name, size, hasher)
                if tee is None:
                    digest = sha256(content).digest()
                else:
                    tee.update(memoryview(content))
                    digest = hasher.digest()
                total = 0
            else:
                hasher = sha256()
                tee = sniffer.tee(member.name, size, hasher) if sniffer is not None else None
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
        if tee is not None and sniffer is not None:
            sniffer.judge(path, tee)
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
