"""Debian/Ubuntu: ``var/lib/dpkg/status`` (or distroless ``status.d/*``) and ``info/<pkg>[:arch].list``.

Read by our own parser (python-debian, the usual library, is GPL). File lists come from
``info/<pkg>:<arch>.list`` or ``info/<pkg>.list``, else from ``info/<pkg>[:arch].md5sums`` (distroless:
``status.d/<pkg>.md5sums``), which lists regular files only. ``Installed-Size`` is kept for comparison only.
"""

from __future__ import annotations

from collections.abc import Mapping

from imgscope.packages._text import ABSURD_SIZE, LineBudget, decode, lines, paragraphs, rooted
from imgscope.packages.records import PackageRecord, ParsedDatabase

#: dpkg states in which the package's files are on disk.
_ON_DISK = frozenset(
    {"installed", "half-installed", "unpacked", "half-configured", "triggers-awaited", "triggers-pending"}
)


def _file_list(data: bytes, path: str, notes: list[str], budget: LineBudget) -> tuple[str, ...]:
    out = []
    for line in lines(decode(data), path, notes, budget):
        line = line.rstrip("\r")
        if not line or line == "/.":
            continue
        out.append(rooted(line))
    return tuple(out)


def _md5sums(data: bytes, path: str, notes: list[str], budget: LineBudget) -> tuple[str, ...]:
    out = []
    for line in lines(decode(data), path, notes, budget):
        _digest, sep, listed = line.rstrip("\r").partition("  ")
        if sep and listed:
            out.append(rooted(listed))
    return tuple(out)


def _installed_size(value: str, name: str, notes: list[str]) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        notes.append(f"{name}: Installed-Size {value[:40]!r} is not a number")
        return None
    size = int(value) * 1024
    if size > ABSURD_SIZE:
        notes.append(f"{name}: Installed-Size {value[:40]} KiB is absurd, ignored")
        return None
    return size


def parse_dpkg(admindir: str, files: Mapping[str, bytes]) -> list[ParsedDatabase]:
    """The databases under ``admindir`` (``/var/lib/dpkg``): ``files`` maps ``/``-rooted paths to their bytes."""
    admindir = admindir.rstrip("/")
    out = []
    status = files.get(f"{admindir}/status")
    if status is not None:
        out.append(_parse(admindir, f"{admindir}/status", [(f"{admindir}/status", status)], files, distroless=False))
    prefix = f"{admindir}/status.d/"
    entries = sorted((p, d) for p, d in files.items() if p.startswith(prefix) and "/" not in p[len(prefix) :])
    paragraphs_files = [(p, d) for p, d in entries if not p.endswith(".md5sums")]
    if paragraphs_files:
        out.append(_parse(admindir, prefix.rstrip("/"), paragraphs_files, files, distroless=True))
    return out


def _parse(
    admindir: str, db: str, sources: list[tuple[str, bytes]], files: Mapping[str, bytes], *, distroless: bool
) -> ParsedDatabase:
    notes: list[str] = []
    packages: list[PackageRecord] = []
    seen: set[tuple[str, str]] = set()
    budget = LineBudget()
    for path, data in sources:
        text = decode(data)
        if data and not data.endswith(b"\n"):
            notes.append(f"{path}: does not end with a newline (truncated?); its last paragraph was read as is")
        for fields, line in paragraphs(text, path, notes):  # its own budget: the file lists share theirs
            name = fields.get("package", "")
            if not name:
                notes.append(f"{path}:{line}: a paragraph without a Package field, skipped")
                continue
            status = fields.get("status", "" if distroless else "?").split()
            if status and status[-1] not in _ON_DISK:
                continue  # not installed, or config-files only
            arch = fields.get("architecture", "")
            if (name, arch) in seen:
                notes.append(f"{path}:{line}: {name}:{arch} listed twice; the first kept")
                continue
            seen.add((name, arch))
            version = fields.get("version", "")
            if not version:
                notes.append(f"{path}:{line}: {name} has no Version")
            listed = _listed_files(admindir, name, arch, files, distroless, notes, budget)
            if listed is None:
                notes.append(f"{name}: no file list (info/{name}.list or .md5sums) found")
                listed = ()
            packages.append(
                PackageRecord(
                    ecosystem="deb",
                    name=name,
                    version=version,
                    database=db,
                    arch=arch,
                    files=listed,
                    declared_size=_installed_size(fields.get("installed-size", ""), name, notes),
                    source=fields.get("source", "").split(" ")[0],
                )
            )
    fmt = "dpkg-status.d" if distroless else "dpkg-status"
    return ParsedDatabase("deb", db, fmt, tuple(packages), notes=tuple(notes))


def _listed_files(
    admindir: str,
    name: str,
    arch: str,
    files: Mapping[str, bytes],
    distroless: bool,
    notes: list[str],
    budget: LineBudget,
) -> tuple[str, ...] | None:
    stems = [f"{name}:{arch}", name] if arch else [name]
    dirs = [f"{admindir}/status.d/", f"{admindir}/info/"] if distroless else [f"{admindir}/info/"]
    for stem in stems:
        path = f"{admindir}/info/{stem}.list"
        data = files.get(path)
        if data is not None:
            return _file_list(data, path, notes, budget)
    for folder in dirs:
        for stem in stems:
            path = f"{folder}{stem}.md5sums"
            data = files.get(path)
            if data is not None:
                return _md5sums(data, path, notes, budget)
    return None


#: Where dpkg keeps its database in an image.
ADMINDIR = "/var/lib/dpkg"


def wants(path: str) -> bool:
    """Whether ``path`` (``/``-rooted) is a dpkg database file the parser reads."""
    head, _, name = path.rpartition("/")
    if head == ADMINDIR:
        return name == "status"
    if head == f"{ADMINDIR}/info":
        return name.endswith((".list", ".md5sums"))
    return head == f"{ADMINDIR}/status.d"
