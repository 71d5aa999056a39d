"""RPM: ``rpmdb.sqlite`` (``var/lib/rpm`` or ``usr/lib/sysimage/rpm``), read with the standard library's
sqlite3 from an in-memory copy (``Connection.deserialize``: nothing is written to disk), and each package's
header blob decoded by our own parser (no permissively licensed, maintained parser of rpmdb header blobs
exists on PyPI). The Berkeley DB (``Packages``) and NDB (``Packages.db``) formats are reported as not read,
their package count unknown.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import sys
import tempfile
from dataclasses import dataclass

from imgscope.packages._text import ABSURD_SIZE, decode
from imgscope.packages.records import PackageRecord, ParsedDatabase

DIRS = ("/var/lib/rpm", "/usr/lib/sysimage/rpm")
SQLITE = "rpmdb.sqlite"
UNREAD = {"Packages": "rpm-bdb", "Packages.db": "rpm-ndb"}

# Header tags and types (rpm's lib/rpmtag.h).
_NAME, _VERSION, _RELEASE, _EPOCH, _SIZE, _LICENSE, _ARCH = 1000, 1001, 1002, 1003, 1009, 1014, 1022
_OLDFILENAMES, _SOURCERPM, _DIRINDEXES, _BASENAMES, _DIRNAMES, _LONGSIZE = 1027, 1044, 1116, 1117, 1118, 5009
_INT32, _INT64, _STRING, _STRING_ARRAY, _I18NSTRING = 4, 5, 6, 8, 9
#: More index entries than this in one header is not a package header.
_MAX_ENTRIES = 1 << 20


WAL = SQLITE + "-wal"


def wants(path: str) -> bool:
    """Whether ``path`` is an rpm database (read or not), or the write-ahead log of one."""
    head, _, name = path.rpartition("/")
    return head in DIRS and (name in (SQLITE, WAL) or name in UNREAD)


def apply_wal(db: bytes, wal: bytes) -> tuple[bytes, str | None]:
    """The database as SQLite would read it with its write-ahead log: each committed frame of ``wal``
    (salts matching the header, checksums chained as sqlite.org/fileformat2.html#walformat says) written
    over its page; frames after the last commit are left out. Returns (bytes, a note or None)."""
    if len(wal) < 32:
        return db, None
    magic, _version, page_size, _seq, salt1, salt2 = struct.unpack_from(">IIIIII", wal, 0)
    if magic not in (0x377F0682, 0x377F0683) or page_size < 512 or page_size & (page_size - 1):
        return db, "its write-ahead log has no valid header; ignored"
    order = ">" if magic & 1 else "<"

    def checksum(data: bytes, s0: int, s1: int) -> tuple[int, int]:
        words = struct.unpack(f"{order}{len(data) // 4}I", data)
        for i in range(0, len(words), 2):
            s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
            s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
        return s0, s1

    s0, s1 = checksum(wal[:24], 0, 0)
    if (s0, s1) != struct.unpack_from(">II", wal, 24):
        return db, "its write-ahead log header fails its checksum; ignored"
    pages: dict[int, bytes] = {}
    committed: dict[int, bytes] = {}
    size_pages = 0
    pos = 32
    frame = 24 + page_size
    while pos + frame <= len(wal):
        number, commit, f1, f2, c0, c1 = struct.unpack_from(">IIIIII", wal, pos)
        if (f1, f2) != (salt1, salt2) or number == 0:
            break
        s0, s1 = checksum(wal[pos : pos + 8], s0, s1)
        s0, s1 = checksum(wal[pos + 24 : pos + frame], s0, s1)
        if (s0, s1) != (c0, c1):
            break
        pages[number] = wal[pos + 24 : pos + frame]
        if commit:
            committed.update(pages)
            pages.clear()
            size_pages = commit
        pos += frame
    if not committed:
        return db, None
    out = bytearray(db)
    end = size_pages * page_size
    if len(out) < end:
        out.extend(bytes(end - len(out)))
    for number, page in committed.items():
        if number <= size_pages:
            out[(number - 1) * page_size : number * page_size] = page
    del out[end:]
    return bytes(out), None


class HeaderError(ValueError):
    """A header blob that cannot be decoded."""


@dataclass(frozen=True, slots=True)
class Header:
    """The few tags imgscope reads from one rpm header."""

    name: str
    version: str
    release: str
    epoch: int | None
    arch: str
    size: int | None
    license: str
    source: str
    files: tuple[str, ...]

    @property
    def evr(self) -> str:
        """``[epoch:]version-release``, as rpm prints it."""
        evr = f"{self.version}-{self.release}" if self.release else self.version
        return f"{self.epoch}:{evr}" if self.epoch else evr


def parse_header(blob: bytes) -> Header:
    """Decode an rpmdb header blob (the header without its 8-byte magic): raises ``HeaderError``."""
    if len(blob) < 8:
        raise HeaderError("shorter than a header's counts")
    count, data_len = struct.unpack_from(">II", blob, 0)
    if count > _MAX_ENTRIES or 8 + 16 * count + data_len > len(blob):
        raise HeaderError(f"{count} entries and {data_len} data bytes do not fit in {len(blob)} bytes")
    store = 8 + 16 * count
    data = bytes(blob[store : store + data_len])
    tags: dict[int, object] = {}
    for i in range(count):
        tag, kind, offset, n = struct.unpack_from(">IIiI", blob, 8 + 16 * i)
        if tag not in _WANTED or offset < 0 or offset >= data_len:
            continue
        tags[tag] = _value(data, kind, offset, n)
    name = tags.get(_NAME)
    if not isinstance(name, str) or not name:
        raise HeaderError("no name")
    files: tuple[str, ...] = ()
    base, dirs, index = tags.get(_BASENAMES), tags.get(_DIRNAMES), tags.get(_DIRINDEXES)
    if isinstance(base, list) and isinstance(dirs, list) and isinstance(index, list):
        if len(index) != len(base) or any(not 0 <= d < len(dirs) for d in index):
            raise HeaderError(f"{name}: file name tags do not agree")
        files = tuple(str(dirs[d]) + str(b) for d, b in zip(index, base, strict=True))
    else:
        old = tags.get(_OLDFILENAMES)
        files = tuple(str(f) for f in old) if isinstance(old, list) else ()
    size = tags.get(_LONGSIZE, tags.get(_SIZE))
    epoch = tags.get(_EPOCH)
    return Header(
        name=name,
        version=_str(tags.get(_VERSION)),
        release=_str(tags.get(_RELEASE)),
        epoch=epoch[0] if isinstance(epoch, list) and epoch else None,
        arch=_str(tags.get(_ARCH)),
        size=size[0] if isinstance(size, list) and size and 0 <= size[0] <= ABSURD_SIZE else None,
        license=_str(tags.get(_LICENSE)),
        source=_str(tags.get(_SOURCERPM)),
        files=files,
    )


_WANTED = frozenset(
    {_NAME, _VERSION, _RELEASE, _EPOCH, _SIZE, _LICENSE, _ARCH, _OLDFILENAMES, _SOURCERPM}
    | {_DIRINDEXES, _BASENAMES, _DIRNAMES, _LONGSIZE}
)


def _str(value: object) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return value if isinstance(value, str) else ""


def _value(data: bytes, kind: int, offset: int, n: int) -> object:
    if kind in (_STRING, _STRING_ARRAY, _I18NSTRING):
        count = 1 if kind == _STRING else n
        if count > len(data):
            raise HeaderError("more strings than data bytes")
        out: list[str] = []
        pos = offset
        for _ in range(count):
            end = data.find(b"\0", pos)
            if end < 0:
                raise HeaderError("a string runs past the data store")
            out.append(decode(data[pos:end]))
            pos = end + 1
        return out[0] if kind == _STRING and out else out
    width = {_INT32: 4, _INT64: 8}.get(kind)
    if width is None:
        return None
    if offset + width * n > len(data):
        raise HeaderError("numbers run past the data store")
    return list(struct.unpack_from(f">{n}{'I' if width == 4 else 'Q'}", data, offset))


def _rows(data: bytes) -> list[tuple[object, object]]:
    """The Packages table of a sqlite database given as bytes: opened in memory on Python 3.11+, else from a
    private temporary file (mode 0600 in a fresh 0700 directory) removed before returning; read only."""
    query = "SELECT hnum, blob FROM Packages ORDER BY hnum"
    if sys.version_info >= (3, 11):
        con = sqlite3.connect(":memory:")
        try:
            con.deserialize(data)
            con.execute("PRAGMA query_only = ON")
            return con.execute(query).fetchall()
        finally:
            con.close()
    with tempfile.TemporaryDirectory(prefix="imgscope-rpmdb-") as folder:  # pragma: no cover (Python 3.10)
        path = os.path.join(folder, "rpmdb.sqlite")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            return con.execute(query).fetchall()
        finally:
            con.close()


def parse_rpmdb_sqlite(data: bytes, path: str, wal: bytes | None = None) -> ParsedDatabase:
    """The packages of an ``rpmdb.sqlite`` file given as bytes (opened in memory, read only), with the
    committed frames of its write-ahead log ``wal`` applied first."""
    notes: list[str] = []
    packages: list[PackageRecord] = []
    if wal:
        data, note = apply_wal(data, wal)
        if note:
            notes.append(f"{path}: {note}")
    if len(data) >= 20 and data[18:20] == b"\x02\x02":
        data = data[:18] + b"\x01\x01" + data[20:]  # WAL mode -> rollback journal: readable from memory
    if len(data) < 100 or not data.startswith(b"SQLite format 3\0"):
        notes.append(f"{path}: not an SQLite database ({len(data)} bytes)")
        return ParsedDatabase("rpm", path, "rpm-sqlite", (), notes=tuple(notes))
    try:
        rows = _rows(data)
    except (sqlite3.Error, MemoryError, OverflowError) as exc:
        return ParsedDatabase(
            "rpm", path, "rpm-sqlite", (), notes=(f"{path}: not a readable rpm sqlite database ({exc})",)
        )
    for hnum, blob in rows:
        if not isinstance(blob, bytes):
            notes.append(f"{path}: package {hnum}: no header blob")
            continue
        try:
            header = parse_header(blob)
        except (HeaderError, struct.error) as exc:
            notes.append(f"{path}: package {hnum}: header not readable ({exc})")
            continue
        if header.name == "gpg-pubkey":
            continue  # imported signing keys, not packages (rpm -qa lists them; they own no files)
        packages.append(
            PackageRecord(
                ecosystem="rpm",
                name=header.name,
                version=header.evr,
                database=path,
                arch=header.arch,
                files=header.files,
                declared_size=header.size,
                license=header.license,
                source=header.source,
            )
        )
    return ParsedDatabase("rpm", path, "rpm-sqlite", tuple(packages), notes=tuple(notes))


def unread(path: str) -> ParsedDatabase:
    """A Berkeley DB or NDB rpm database: present, not read, package count unknown."""
    fmt = UNREAD[path.rpartition("/")[2]]
    return ParsedDatabase(
        "rpm", path, fmt, (), read=False, notes=(f"{path}: {fmt} databases are not read; package count unknown",)
    )
