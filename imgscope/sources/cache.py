"""The content-addressed blob cache: downloaded blobs kept by digest, so a second pull fetches nothing it has.

Layout: ``ROOT/blobs/sha256/<hex>`` (complete, verified blobs only) and ``ROOT/tmp/`` (downloads in flight).
A blob is written to a private temporary file, its digest checked as it is written, and moved into place with
an atomic rename only when complete and correct: a reader never sees a half-written blob, two runs fetching
the same blob at once each write their own temporary file and the last rename wins (same bytes). The cache is
capped in size: after each blob is added, the least recently used blobs go until it fits again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from imgscope.model import Digest

DEFAULT_MAX_BYTES = 10 << 30  # 10 GiB
STALE_TMP_SECONDS = 24 * 3600  # a temporary file this old belongs to a run that died


def default_cache_dir() -> Path:
    """``$IMGSCOPE_CACHE_DIR``, else ``$XDG_CACHE_HOME/imgscope``, else ``~/.cache/imgscope``."""
    explicit = os.environ.get("IMGSCOPE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "imgscope"


@dataclass(frozen=True)
class CacheEntry:
    """One cached blob."""

    digest: str
    size: int
    last_used: float  # seconds since the epoch


class BlobCache:
    """Blobs by digest under ``root``; ``max_bytes`` caps the total (least recently used go first)."""

    def __init__(self, root: str | os.PathLike[str] | None = None, max_bytes: int | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.max_bytes = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes

    def path_of(self, digest: str) -> Path:
        """Where the blob with this digest lives (validated: no path can be made from a hostile digest)."""
        if not Digest.is_valid(digest):
            raise ValueError(f"not a digest: {digest[:80]!r}")
        algorithm, _, hexpart = digest.partition(":")
        return self.root / "blobs" / algorithm / hexpart

    def get(self, digest: str) -> Path | None:
        """The cached blob's path (marked as just used), or None."""
        path = self.path_of(digest)
        try:
            os.utime(path)
        except FileNotFoundError:
            return None
        except OSError:
            pass  # a cache we may read but not write (shared, read-only): still a hit
        return path if path.is_file() else None

    def open(self, digest: str, size: int | None = None) -> CachedBlob | None:
        """The cached blob, open, when it is here and whole: a file of another size than ``size`` (the descriptor's)
        is dropped from the cache (None: fetch it again). The blob checks its digest as it is read and drops itself
        when it is damaged (``CachedBlob``)."""
        path = self.get(digest)
        if path is None:
            return None
        try:
            f = open(path, "rb")  # noqa: SIM115  (handed to the CachedBlob, which the caller closes)
        except FileNotFoundError:  # pruned by another run just now
            return None
        if size is not None and os.fstat(f.fileno()).st_size != size:
            f.close()
            self.drop(digest)
            return None
        return CachedBlob(self, digest, f)

    def drop(self, digest: str) -> None:
        """Remove the cached blob (a damaged one: the next run fetches it again)."""
        with contextlib.suppress(OSError):
            self.path_of(digest).unlink()

    def writer(self, digest: str) -> CacheWriter:
        """A private temporary file that becomes the blob only if what is written matches ``digest``."""
        self.path_of(digest)  # validated before anything is created
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp, prefix=digest.partition(":")[2][:16] + ".", suffix=".part")
        return CacheWriter(self, digest, fd, Path(name))

    def entries(self) -> list[CacheEntry]:
        """Every complete blob, least recently used first."""
        found: list[CacheEntry] = []
        blobs = self.root / "blobs"
        if not blobs.is_dir():
            return found
        for algorithm_dir in sorted(blobs.iterdir()):
            if not algorithm_dir.is_dir():
                continue
            for path in algorithm_dir.iterdir():
                digest = f"{algorithm_dir.name}:{path.name}"
                if not Digest.is_valid(digest):
                    continue
                with contextlib.suppress(FileNotFoundError):  # pruned by another run meanwhile
                    st = path.stat()
                    found.append(CacheEntry(digest, st.st_size, st.st_mtime))
        found.sort(key=lambda e: (e.last_used, e.digest))
        return found

    def size(self) -> int:
        """Bytes held by complete blobs."""
        return sum(e.size for e in self.entries())

    def prune(self, max_bytes: int | None = None) -> list[CacheEntry]:
        """Remove least recently used blobs until at most ``max_bytes`` (default: the cap) remain, and
        temporary files left by runs that died; returns the blobs removed."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        entries = self.entries()
        total = sum(e.size for e in entries)
        removed: list[CacheEntry] = []
        for entry in entries:
            if total <= limit:
                break
            with contextlib.suppress(FileNotFoundError):
                self.path_of(entry.digest).unlink()
            total -= entry.size
            removed.append(entry)
        tmp = self.root / "tmp"
        if tmp.is_dir():
            cutoff = time.time() - (0 if limit == 0 else STALE_TMP_SECONDS)
            for part in tmp.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    if part.stat().st_mtime < cutoff:
                        part.unlink()
        return removed


class CachedBlob:
    """A cached blob being read. When reading it ends in an error (its digest does not match, its compression is
    corrupt ...), the file is hashed and, when it does not match its digest (a disk error, a hand edit), dropped from
    the cache, so that one damaged file does not fail every later run. A read that succeeds costs nothing more: the
    reader checks the digest itself."""

    def __init__(self, cache: BlobCache, digest: str, f: BinaryIO) -> None:
        self._cache, self._digest, self._f = cache, digest, f

    def read(self, n: int = -1) -> bytes:
        return self._f.read(n)

    def close(self) -> None:
        self._f.close()

    def check(self) -> None:
        """Hash the whole file; drop it from the cache when it does not match its digest."""
        algorithm, _, expected = self._digest.partition(":")
        hasher = hashlib.new(algorithm)
        try:
            with open(self._f.name, "rb") as f:
                while data := f.read(1 << 20):
                    hasher.update(data)
        except OSError:
            return
        if hasher.hexdigest() != expected:
            self._cache.drop(self._digest)

    def __enter__(self) -> CachedBlob:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.close()
        if exc_type is not None:  # the reader failed: was it the file?
            self.check()


class CacheWriter:
    """A blob being written: ``write`` hashes as it goes; ``commit`` renames it into place if the digest
    matches (returns False and keeps nothing otherwise); ``discard`` drops it."""

    def __init__(self, cache: BlobCache, digest: str, fd: int, path: Path) -> None:
        self._cache, self._digest, self._path = cache, digest, path
        self._file = os.fdopen(fd, "wb")
        self._hasher = hashlib.new(digest.partition(":")[0])
        self.written = 0
        self._broken = False

    def write(self, data: bytes) -> None:
        if self._broken:
            return
        try:
            self._file.write(data)
        except OSError:  # a full disk: stop keeping this blob, the download itself goes on
            self._broken = True
            self.discard()
            return
        self._hasher.update(data)
        self.written += len(data)

    def commit(self) -> bool:
        """Move the blob into the cache if it matches its digest; then keep the cache under its cap."""
        if self._broken:
            return False
        self._file.close()
        if f"{self._digest.partition(':')[0]}:{self._hasher.hexdigest()}" != self._digest:
            self.discard()
            return False
        final = self._cache.path_of(self._digest)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._path, final)
            self._cache.prune()
        except OSError:  # a full or read-only disk: the blob was read and checked all the same
            self.discard()
            return False
        return True

    def discard(self) -> None:
        """Drop the temporary file."""
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()


def iter_entries(cache: BlobCache) -> Iterator[CacheEntry]:
    """The cached blobs, most recently used first (for ``imgscope cache ls``)."""
    yield from reversed(cache.entries())
