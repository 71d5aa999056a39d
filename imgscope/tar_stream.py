"""Read a layer's tar once, front to back, into metadata records with content hashes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from imgscope import tarheader as th
from imgscope.errors import CorruptLayerError
from imgscope.model import EntryType, TarEntry
from imgscope.sniff import Sniffer
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


def iter_entries(stream: LayerStream, sniffer: Sniffer | None = None) -> Iterator[TarEntry]:
    """Yield each member of the layer tar as a ``TarEntry``, hashing regular files' content.

    Stops at the end-of-archive marker; the caller then calls ``stream.finish()``.
    Raises ``CorruptLayerError`` for anything malformed, naming the stream. A ``sniffer`` sees the
    first bytes of small regular files as they stream past (``imgscope.sniff``).
    """
    where = stream.where
    decoder = th.HeaderDecoder(stream.read)
    sha256 = hashlib.sha256
    regular = th.REGULAR
    while True:
        try:
            member = decoder.next()
        except th.TarFormatError as exc:
            raise CorruptLayerError(where, str(exc)) from None
        if member is None:
            return
        size = member.size
        flag = member.typeflag
        digest: bytes | None = None
        tee = None
        if flag in regular or flag not in _TYPES:
            # POSIX: an unknown type flag is read as a regular file, so its bytes still count.
            etype = EntryType.FILE
            if size:
                hasher = sha256()
                tee = sniffer.tee(member.name, size, hasher) if sniffer is not None else None
                got = stream.consume(size, tee or hasher)
                digest = hasher.digest()
            else:
                got = 0
                digest = _EMPTY_DIGEST
        else:
            etype = _TYPES[flag]
            got = stream.consume(size) if size else 0
        if got != size:
            raise CorruptLayerError(
                where,
                f"truncated tar: member {member.name!r} declares {size} bytes, stream ends after {got}",
            )
        pad = th.padded(size) - size
        if pad and stream.consume(pad) != pad:
            raise CorruptLayerError(where, f"truncated tar: stream ends in the padding of {member.name!r}")
        decoder.skipped(th.padded(size))
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
            member.mode & 0o7777,
            member.uid,
            member.gid,
            link,
            digest,
        )
