"""Where an image's files live: a directory or a tar archive, read without extracting anything.

Both stores refuse names that climb out of the image, and never follow a link
out of it: a tar's symlinks and hard links are resolved among the tar's own
members, and a directory's symlinks must stay below the directory.
"""

from __future__ import annotations

import json
import os
import stat
from abc import ABC, abstractmethod
from typing import IO, Any

from imgscope.errors import ImageFormatError, MissingBlobError
from imgscope.sources import tarheader as th
from imgscope.text import printable

MAX_JSON_BYTES = 64 << 20  # manifests, indexes and configs are kilobytes; this is generous
MAX_LINK_HOPS = 40


def clean_name(name: str) -> str | None:
    """A member name made relative and canonical; None if it leaves the root."""
    try:
        return th.normalize_name(name)
    except ValueError:
        return None


class BlobStore(ABC):
    """Named files of one image source (``manifest.json``, ``blobs/sha256/…``)."""

    def __init__(self, label: str) -> None:
        self.label = label  # the path as the user gave it, for messages

    def where(self, name: str) -> str:
        return printable(f"{self.label}:{name}")  # names come from the image: a newline must not start a line

    @abstractmethod
    def has(self, name: str) -> bool: ...

    @abstractmethod
    def size(self, name: str) -> int: ...

    @abstractmethod
    def open(self, name: str) -> IO[bytes]: ...

    def read_bytes(self, name: str, limit: int = MAX_JSON_BYTES) -> bytes:
        if not self.has(name):
            raise MissingBlobError(self.where(name), "missing")
        if self.size(name) > limit:
            raise ImageFormatError(self.where(name), f"{self.size(name)} bytes, more than the {limit} allowed here")
        with self.open(name) as f:
            data = f.read(limit + 1)
        return data

    def read_json(self, name: str) -> Any:
        """Parse a JSON member; malformed JSON is an ``ImageFormatError`` naming it."""
        data = self.read_bytes(name)
        return parse_json(data, self.where(name))


def parse_json(data: bytes, where: str) -> Any:
    """Parse a JSON document, which must be UTF-8 (RFC 8259; a UTF-8 byte order mark is ignored).

    ``json.loads`` would take UTF-16 and UTF-32 too, guessing from the first bytes: an image's manifests and
    configs are UTF-8, and another tool would read such a document differently or not at all.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(data) >= 2 and (not data[0] or not data[1])):
        encoding = "UTF-32" if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff") else "UTF-16"
        raise ImageFormatError(where, f"invalid JSON (not UTF-8: {encoding} text)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImageFormatError(where, f"invalid JSON (not UTF-8: {exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, and int() refusing a 5000-digit number
        raise ImageFormatError(where, f"invalid JSON ({exc})") from None
    except RecursionError:
        raise ImageFormatError(where, "invalid JSON (nested too deeply)") from None


class DirStore(BlobStore):
    """An OCI image layout directory."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self._root = os.path.realpath(root)

    def _path(self, name: str) -> str | None:
        rel = clean_name(name)
        if rel is None or not rel:
            return None
        path = os.path.realpath(os.path.join(self._root, rel))
        if not path.startswith(self._root + os.sep):
            return None  # a symlink out of the layout
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                return None
        except OSError:
            return None
        return path

    def has(self, name: str) -> bool:
        return self._path(name) is not None

    def size(self, name: str) -> int:
        path = self._path(name)
        if path is None:
            raise MissingBlobError(self.where(name), "missing")
        return os.stat(path).st_size

    def open(self, name: str) -> IO[bytes]:
        path = self._path(name)
        if path is None:
            raise MissingBlobError(self.where(name), "missing")
        return open(path, "rb")  # the caller closes it


class _Slice:
    """A read-only window on one member of an uncompressed tar."""

    def __init__(self, path: str, offset: int, size: int) -> None:
        self._f = open(path, "rb")  # noqa: SIM115  # closed by close()
        self._f.seek(offset)
        self._left = size

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self._left:
            n = self._left
        data = self._f.read(n)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> _Slice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TarStore(BlobStore):
    """A tar archive (``docker save`` output or an OCI archive), indexed once by its headers."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._path = path
        # name -> (data offset, size) for regular members; name -> target for links
        self._files: dict[str, tuple[int, int]] = {}
        self._links: dict[str, str] = {}
        self._index()

    def _index(self) -> None:
        with open(self._path, "rb") as f:
            head = f.read(4)
            if head.startswith(b"\x1f\x8b") or head.startswith(b"\x28\xb5\x2f\xfd"):
                raise ImageFormatError(self._path, "the archive itself is compressed: decompress it first")
            f.seek(0)
            file_size = os.fstat(f.fileno()).st_size
            decoder = th.HeaderDecoder(f.read)
            while True:
                try:
                    member = decoder.next()
                except th.TarFormatError as exc:
                    raise ImageFormatError(self._path, f"not a valid tar archive ({exc})") from None
                if member is None:
                    break
                end = member.offset + member.data_size
                if end > file_size:
                    raise ImageFormatError(
                        self._path, f"truncated: member {member.name!r} ends past the end of the file"
                    )
                f.seek(th.padded(member.data_size), os.SEEK_CUR)
                decoder.skipped(th.padded(member.data_size))
                name = clean_name(member.name)
                if not name:
                    continue  # the root, or a name out of the archive: nothing we would ever look up
                self._files.pop(name, None)
                self._links.pop(name, None)
                if member.typeflag in th.REGULAR:
                    self._files[name] = (member.offset, member.size)
                elif member.typeflag == th.SYMLINK:
                    base = name.rpartition("/")[0]
                    target = clean_name(
                        member.linkname if member.linkname.startswith("/") else f"{base}/{member.linkname}"
                    )
                    if target:
                        self._links[name] = target
                elif member.typeflag == th.HARDLINK:
                    target = clean_name(member.linkname)
                    if target:
                        self._links[name] = target

    def _resolve(self, name: str) -> tuple[int, int] | None:
        rel = clean_name(name)
        for _ in range(MAX_LINK_HOPS):
            if rel is None:
                return None
            if rel in self._files:
                return self._files[rel]
            rel = self._links.get(rel)
        return None  # a loop of links

    def names(self) -> list[str]:
        return sorted({*self._files, *self._links})

    def has(self, name: str) -> bool:
        return self._resolve(name) is not None

    def size(self, name: str) -> int:
        found = self._resolve(name)
        if found is None:
            raise MissingBlobError(self.where(name), "missing")
        return found[1]

    def open(self, name: str) -> IO[bytes]:
        found = self._resolve(name)
        if found is None:
            raise MissingBlobError(self.where(name), "missing")
        return _Slice(self._path, *found)  # type: ignore[return-value]
