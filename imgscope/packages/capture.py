"""Package-database files captured from the layers as they stream past, and the databases after each layer.

``DatabaseCapture`` is the observer the layer reader feeds: ``wants(path, size)`` is asked for each regular
file member (a predicate on the path, and a size cap), the whole content of a wanted member is handed to
``add(layer, path, data)``. Only the bytes of database files are kept, reduced where the parser needs less
(a ``package.json``'s name and version, not the whole file). Removals are not seen by the capture: they come
afterwards from each layer's recorded changes (``history``), which already apply whiteouts and opaque
directories the way the union filesystem does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from imgscope.packages import apk, dpkg, npm, python, rpm
from imgscope.packages.records import ParsedDatabase

#: Database files larger than this are not kept (noted instead): a dpkg status of 10,000 packages is ~10 MB.
MAX_FILE_SIZE = 128 * 1024 * 1024
#: All the database files kept from one image, together (past it, each further file is noted, not read).
MAX_TOTAL_SIZE = 256 * 1024 * 1024
#: rpm's Berkeley DB and NDB files are only noted as present; their content is never kept.
_PRESENCE_ONLY = frozenset(f"{d}/{n}" for d in rpm.DIRS for n in rpm.UNREAD)


#: Read for the distribution's ID (package URLs' namespace); not a database.
OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")


#: Base names of every wanted file (and suffixes below), so that most members are rejected by one lookup.
_NAMES = frozenset(
    {"status", "installed", "METADATA", "RECORD", "PKG-INFO", "installed-files.txt", "package.json"}
    | {"package-lock.json", npm.HIDDEN_LOCK, "os-release", rpm.SQLITE, rpm.WAL, *rpm.UNREAD}
)
_SUFFIXES = (".list", ".md5sums", ".egg-info")


def maybe_wanted(name: str) -> bool:
    """A cheap first test on a member name (as the tar writes it): False means ``wanted`` is False too."""
    base = name.rstrip("/").rpartition("/")[2]
    return base in _NAMES or base.endswith(_SUFFIXES) or "/status.d/" in name


def wanted(path: str) -> bool:
    """Whether ``path`` (``/``-rooted) is a package-database file imgscope reads (or the os-release file)."""
    return (
        path in OS_RELEASE
        or dpkg.wants(path)
        or apk.wants(path)
        or rpm.wants(path)
        or python.wants(path)
        or npm.wants(path)
    )


def _reduce(path: str, data: bytes) -> bytes:
    if path in _PRESENCE_ONLY:
        return b""
    if npm.wants(path):
        return npm.reduce(path, data)
    if python.wants(path):
        return python.reduce(path, data)
    return data


@dataclass
class DatabaseCapture:
    """Collects package-database files from one image's layers; see the module docstring."""

    max_file_size: int = MAX_FILE_SIZE
    max_total_size: int = MAX_TOTAL_SIZE
    #: layer -> path -> the (reduced) bytes that layer wrote there
    written: dict[int, dict[str, bytes]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    kept: int = 0  # bytes kept in ``written``

    def wants(self, path: str, size: int) -> int:
        """How many bytes of ``path`` to hand to ``add``: 0 for a file that is not wanted.

        A wanted file above the cap is noted (and then handed with its first byte only, which ``add``
        ignores): it is never half-read as if it were whole.
        """
        if not wanted(path):
            return 0
        if path in _PRESENCE_ONLY:
            return max(size, 1) if size <= self.max_file_size else 1
        if size > self.max_file_size:
            self.notes.append(f"{path}: {size} bytes, above the {self.max_file_size}-byte cap; not read")
            return 0
        if self.kept + size > self.max_total_size:
            self.notes.append(
                f"{path}: not read, the package databases read so far hold {self.kept} bytes"
                f" (the cap is {self.max_total_size})"
            )
            return 0
        return max(size, 1)

    def add(self, layer: int, path: str, data: bytes, size: int | None = None) -> None:
        """``layer`` wrote ``data`` (the whole content; ``size`` the member's size if it is known) at ``path``."""
        if size is not None and size != len(data) and path not in _PRESENCE_ONLY:
            self.notes.append(f"{path} (layer {layer}): {len(data)} of {size} bytes seen; not read")
            return
        reduced = self.written.setdefault(layer, {})[path] = _reduce(path, data)
        self.kept += len(reduced)

    def feed(self, layer: int, members: Iterable[tuple[str, bytes]]) -> None:
        """Hand a layer's members (path, content) through ``wants``/``add``: for tests and simple readers."""
        for path, data in members:
            if self.wants(path, len(data)):
                self.add(layer, path, data)


def parse_state(files: Mapping[str, bytes]) -> list[ParsedDatabase]:
    """Every database among ``files`` (the database files present after one layer), in precedence order."""
    out: list[ParsedDatabase] = []
    out += dpkg.parse_dpkg(dpkg.ADMINDIR, files)
    for path in sorted(files):
        if path in _PRESENCE_ONLY:
            out.append(rpm.unread(path))
        elif rpm.wants(path) and path.endswith("/" + rpm.SQLITE):
            out.append(rpm.parse_rpmdb_sqlite(files[path], path, files.get(path + "-wal")))
    for path in apk.PATHS:
        if path in files:
            out.append(apk.parse_apk(files[path], path))
    out += python.parse_python(files)
    out += npm.parse_npm(files)
    return out


@dataclass(frozen=True)
class DatabaseHistory:
    """The databases after each layer: ``states[i]`` is the parse after layer ``i`` (shared when unchanged)."""

    states: tuple[tuple[ParsedDatabase, ...], ...]
    changed: tuple[bool, ...]  # whether layer i touched a database file


def history(
    capture: DatabaseCapture,
    removed_by_layer: Iterable[Iterable[str]],
    parse: Callable[[Mapping[str, bytes]], list[ParsedDatabase]] = parse_state,
) -> DatabaseHistory:
    """Replay the captured writes and each layer's removed paths; parse the databases where they changed.

    ``removed_by_layer`` gives, for each layer in order, the paths it removed (or replaced by something that
    is not a regular file); only those that are database files matter.
    """
    current: dict[str, bytes] = {}
    states: list[tuple[ParsedDatabase, ...]] = []
    changed: list[bool] = []
    last: tuple[ParsedDatabase, ...] = ()
    for index, removed in enumerate(removed_by_layer):
        touched = False
        for path in removed:
            if path in current:
                del current[path]
                touched = True
        writes = capture.written.get(index, {})
        if writes:
            current.update(writes)
            touched = True
        if touched:
            last = tuple(parse(current))
        states.append(last)
        changed.append(touched)
    return DatabaseHistory(tuple(states), tuple(changed))
