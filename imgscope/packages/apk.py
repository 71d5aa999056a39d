"""Alpine: ``lib/apk/db/installed``, one paragraph of ``X:value`` lines per package (our own parser).

``P`` name, ``V`` version, ``A`` arch, ``I`` installed size (bytes), ``L`` license, ``o`` origin; each ``F``
line names a directory (relative to the root) and the ``R`` lines after it the files in it.
"""

from __future__ import annotations

from imgscope.packages._text import ABSURD_SIZE, decode, lines, rooted
from imgscope.packages.records import PackageRecord, ParsedDatabase

PATH = "/lib/apk/db/installed"
#: Where apk keeps it: /lib/apk/db (and /usr/lib/apk/db where /lib is usr-merged, or with apk-tools 3).
PATHS = (PATH, "/usr" + PATH)


def wants(path: str) -> bool:
    """Whether ``path`` is the apk database."""
    return path in PATHS


def parse_apk(data: bytes, path: str = PATH) -> ParsedDatabase:
    """The packages of an apk ``installed`` database."""
    notes: list[str] = []
    packages: list[PackageRecord] = []
    if data and not data.endswith(b"\n"):
        notes.append(f"{path}: does not end with a newline (truncated?); its last record was read as is")
    fields: dict[str, str] = {}
    files: list[str] = []
    folder = "/"
    start = 1

    def flush() -> None:
        name = fields.get("P", "")
        if not name:
            if fields or files:
                notes.append(f"{path}:{start}: a record without a P: line, skipped")
            return
        size: int | None = None
        raw = fields.get("I", "")
        if raw.isdigit() and int(raw) <= ABSURD_SIZE:
            size = int(raw)
        elif raw:
            notes.append(f"{name}: installed size {raw[:40]!r} is not a plausible number, ignored")
        if not fields.get("V"):
            notes.append(f"{path}:{start}: {name} has no V: line")
        packages.append(
            PackageRecord(
                ecosystem="apk",
                name=name,
                version=fields.get("V", ""),
                database=path,
                arch=fields.get("A", ""),
                files=tuple(files),
                declared_size=size,
                license=fields.get("L", ""),
                source=fields.get("o", ""),
            )
        )

    for number, line in enumerate(lines(decode(data), path, notes), 1):
        line = line.rstrip("\r")
        if not line:
            flush()
            fields, files, folder, start = {}, [], "/", number + 1
            continue
        key, sep, value = line.partition(":")
        if not sep or len(key) != 1:
            notes.append(f"{path}:{number}: not a 'X:value' line, skipped")
            continue
        if key == "F":
            folder = rooted(value)
            files.append(folder)
        elif key == "R":
            files.append(rooted(value, folder))
        elif key not in fields:
            fields[key] = value
    flush()
    return ParsedDatabase("apk", path, "apk-installed", tuple(packages), notes=tuple(notes))
