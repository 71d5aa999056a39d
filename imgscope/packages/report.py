"""Bytes attributed to packages: ``PackageReport`` from an ``Analysis`` and the databases after each layer.

Ownership. Each path belongs to at most one package: the first in the precedence ``deb, rpm, apk, pypi, npm``
(OS package managers first, then language packages; within one ecosystem, database order) that lists it. A
listed path is resolved through the image's symlinked directories (``/bin`` -> ``usr/bin``). An npm package
owns its whole directory except the packages nested below it. Directories own no bytes.

Bytes. A package's ``size`` is the union filesystem's bytes of the regular files it owns (a stored copy shown
under several hard-linked paths counted once). Per layer, the bytes each package's files added, modified
and removed there: a written path is attributed with the databases after that layer, a removed path with the
databases before it. A stored copy the final filesystem does not show is wasted; its bytes are charged to
the package that owned the path when the copy was stored (installed in layer 3 and purged in layer 5: its
bytes are stored in layer 3 and wasted, so the image carries them for nothing).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from imgscope._display import Displayable
from imgscope.packages._text import decode
from imgscope.packages.capture import OS_RELEASE, DatabaseCapture, DatabaseHistory, history
from imgscope.packages.npm import NM
from imgscope.packages.records import ECOSYSTEMS, OS_ECOSYSTEMS, PackageKey, PackageRecord, ParsedDatabase
from imgscope.packages.versions import compare
from imgscope.text import plural
from imgscope.union.tree import LayerIndexError

if TYPE_CHECKING:
    from imgscope.analysis import Analysis, FileRecord

SCHEMA_VERSION = 1
_MAX_HOPS = 40

Key = PackageKey


@dataclass(frozen=True, slots=True)
class PackageLayer:
    """What one layer did to one package's files (bytes)."""

    layer: int
    added_bytes: int = 0
    modified_bytes: int = 0
    removed_bytes: int = 0
    wasted_bytes: int = 0  # bytes this layer stored for the package that are not visible (in the report's layer)


@dataclass(frozen=True)
class Package:
    """One package, its bytes in the filesystem, and where it came from.

    Attributes:
        ecosystem: deb | rpm | apk | pypi | npm
        name: the package's name
        version: its version, as the database writes it
        arch: its architecture, when the database says
        location: the installation: OS database, site-packages directory or npm package directory
        database: the database file it was read from
        purl: its package URL (purl)
        license: its license, when the database says
        dev: npm: a dev dependency per the lockfile
        present: in the databases of the report's layer (False: installed once, removed since)
        size: bytes of the visible regular files it owns (0 when not present)
        files: visible non-directory paths it owns
        listed_files: paths its database lists
        missing_files: listed paths that are not in the filesystem
        declared_size: what the database claims (dpkg Installed-Size, rpm SIZE, apk I); comparison only
        layer: the layer that installed this version (None: unknown)
        removed_in: not present: the layer whose databases no longer list it
        wasted_bytes: stored for it in some layer, not visible
        layers: what each layer did to its files
    """

    ecosystem: str
    name: str
    version: str
    arch: str
    location: str
    database: str
    purl: str
    license: str
    dev: bool
    present: bool
    size: int
    files: int
    listed_files: int
    missing_files: int
    declared_size: int | None
    layer: int | None
    removed_in: int | None
    wasted_bytes: int
    layers: tuple[PackageLayer, ...] = field(default=(), repr=False)

    @property
    def is_os(self) -> bool:
        return self.ecosystem in OS_ECOSYSTEMS

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (``docs/json.md``, "packages")."""
        out = asdict(self)
        out["layers"] = [asdict(pl) for pl in self.layers]
        return out


@dataclass(frozen=True, slots=True)
class PackageEvent:
    """A change of the package set in one layer."""

    layer: int
    change: str  # installed | removed | upgraded | downgraded | changed (same order, other spelling)
    ecosystem: str
    name: str
    location: str
    old_version: str | None
    new_version: str | None
    arch: str = ""  # when the database says: one database may hold a package for two architectures


@dataclass(frozen=True, slots=True)
class DatabaseInfo:
    """One package database found in the report's layer."""

    ecosystem: str
    path: str
    format: str
    read: bool  # False: a format imgscope does not read
    packages: int | None  # None: unknown (not read)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UnownedBytes:
    """Bytes no package owns, under one top-level directory."""

    directory: str
    size: int
    files: int


@dataclass(frozen=True, repr=False)  # repr: one line, from the display registry
class PackageReport(Displayable):
    """Which packages the image holds after ``layer`` and what they weigh. ``to_dict()`` gives the JSON.

    Attributes:
        image: the image's name, or its path
        layer: the layer the report stands after
        layer_count: the image's layers
        os: os-release "ID VERSION_ID", "" if none
        packages: present after ``layer``, largest first
        removed: installed in an earlier layer and gone by ``layer``
        events: layer by layer, up to ``layer``
        unowned: bytes no package owns, per top-level directory
        databases: the package databases found
        notes: what was chosen or could not be read, and why
        total_bytes: visible regular-file bytes after ``layer`` (hard links once)
        owned_bytes: of those, bytes some package owns
        unowned_bytes: of those, bytes no package owns
        wasted_bytes: package bytes stored but not visible after ``layer``
        schema_version: the version of its JSON document
    """

    image: str
    layer: int
    layer_count: int
    os: str
    packages: tuple[Package, ...]
    removed: tuple[Package, ...]
    events: tuple[PackageEvent, ...]
    unowned: tuple[UnownedBytes, ...]
    databases: tuple[DatabaseInfo, ...]
    notes: tuple[str, ...]
    total_bytes: int
    owned_bytes: int
    unowned_bytes: int
    wasted_bytes: int
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The JSON document described in ``docs/json.md`` ("imgscope packages --json")."""
        return {
            "schema_version": self.schema_version,
            "image": self.image,
            "layer": self.layer,
            "layer_count": self.layer_count,
            "os": self.os,
            "total_bytes": self.total_bytes,
            "owned_bytes": self.owned_bytes,
            "unowned_bytes": self.unowned_bytes,
            "wasted_bytes": self.wasted_bytes,
            "packages": [p.to_dict() for p in self.packages],
            "removed": [p.to_dict() for p in self.removed],
            "events": [asdict(e) for e in self.events],
            "unowned": [asdict(u) for u in self.unowned],
            "databases": [{**asdict(d), "notes": list(d.notes)} for d in self.databases],
            "notes": list(self.notes),
        }

    def records(self) -> list[dict[str, Any]]:
        """One flat dict per package (present and removed), ready for ``pandas.DataFrame``."""
        out = []
        for p in (*self.packages, *self.removed):
            row = p.to_dict()
            del row["layers"]
            out.append(row)
        return out

    def find(self, name: str, ecosystem: str | None = None) -> list[Package]:
        """The present packages called ``name`` (in ``ecosystem`` if given)."""
        return [p for p in self.packages if p.name == name and (ecosystem is None or p.ecosystem == ecosystem)]


class _Resolver:
    """Listed paths resolved through the image's symlinked directories (inside the image only)."""

    def __init__(self, links: Mapping[str, str]) -> None:
        self.links = links
        self.cache: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        if not self.links:
            return path
        head, _, name = path.rpartition("/")
        real = self.directory(head or "/")
        return f"{real.rstrip('/')}/{name}" if name else real

    def directory(self, path: str) -> str:
        hit = self.cache.get(path)
        if hit is not None:
            return hit
        pending = list(reversed(path.split("/")))
        cur = ""
        hops = 0
        while pending:
            name = pending.pop()
            if name in ("", "."):
                continue
            if name == "..":
                cur = cur.rpartition("/")[0]
                continue
            cand = f"{cur}/{name}"
            target = self.links.get(cand)
            if target is not None and hops < _MAX_HOPS:
                hops += 1
                if target.startswith("/"):
                    cur = ""
                pending.extend(reversed(target.split("/")))
                continue
            cur = cand
        out = cur or "/"
        self.cache[path] = out
        return out


class _Owners:
    """Path -> owning package, for the databases of one layer."""

    def __init__(self, dbs: Sequence[ParsedDatabase], resolve: Callable[[str], str]) -> None:
        self.packages: list[PackageRecord] = []
        self.paths: dict[str, int] = {}
        self.trees: dict[str, int] = {}
        self.listed: list[tuple[str, ...]] = []
        for eco in ECOSYSTEMS:
            for db in dbs:
                if db.ecosystem != eco:
                    continue
                for pkg in db.packages:
                    index = len(self.packages)
                    self.packages.append(pkg)
                    if pkg.tree:
                        self.trees.setdefault(pkg.tree, index)
                        self.listed.append(())
                        continue
                    resolved = tuple(resolve(f) for f in pkg.files)
                    self.listed.append(resolved)
                    setdefault = self.paths.setdefault
                    for f in resolved:
                        setdefault(f, index)

    def owner(self, path: str) -> int | None:
        hit = self.paths.get(path)
        if hit is not None or not self.trees:
            return hit
        i = path.rfind(NM)
        while i >= 0:
            start = i + len(NM)
            rest = path[start:].split("/", 2)
            name = f"{rest[0]}/{rest[1]}" if rest[0].startswith("@") and len(rest) > 1 else rest[0]
            hit = self.trees.get(path[:start] + name)
            if hit is not None:
                return hit
            i = path.rfind(NM, 0, i)
        return None


def _os_release(capture: DatabaseCapture, last: int) -> str:
    data = None
    for layer in range(last + 1):
        for path in OS_RELEASE:
            got = capture.written.get(layer, {}).get(path)
            if got is not None:
                data = got
    if data is None:
        return ""
    fields = {}
    for line in decode(data).splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip("\"'")
    return " ".join(v for v in (fields.get("ID", ""), fields.get("VERSION_ID", "")) if v)


def purl(pkg: PackageRecord, os_id: str) -> str:
    """The package URL of ``pkg`` (https://github.com/package-url/purl-spec); ``os_id`` the os-release ID."""
    from packageurl import PackageURL

    quals = {"arch": pkg.arch} if pkg.arch and pkg.ecosystem in OS_ECOSYSTEMS else {}
    version = pkg.version or None
    if pkg.ecosystem in OS_ECOSYSTEMS:
        os_name, _, os_version = os_id.partition(" ")
        if os_name and os_version:  # the purl types' distro qualifier, as scanners pick an advisory feed by it
            quals["distro"] = f"{os_name}-{os_version}"
        if pkg.ecosystem == "rpm" and version is not None:
            epoch, sep, rest = version.partition(":")
            if sep and epoch.isdigit():  # purl-spec rpm: the epoch is a qualifier, not part of the version
                quals["epoch"], version = epoch, rest
    if pkg.ecosystem == "npm" and pkg.name.startswith("@") and "/" in pkg.name:
        scope, _, name = pkg.name.partition("/")
        return str(PackageURL("npm", scope, name, pkg.version or None))
    if pkg.ecosystem == "pypi":
        name = pkg.name.lower().replace("_", "-").replace(".", "-")
        return str(PackageURL("pypi", None, name, pkg.version or None))
    if pkg.ecosystem in OS_ECOSYSTEMS:
        default = {"deb": "debian", "rpm": "", "apk": "alpine"}[pkg.ecosystem]
        ns: str | None = (os_id.split(" ")[0] if os_id else default) or None
        return str(PackageURL(pkg.ecosystem, ns, pkg.name, version, quals or None))
    return str(PackageURL(pkg.ecosystem, None, pkg.name, pkg.version or None))


def database_history(analysis: Analysis, capture: DatabaseCapture) -> DatabaseHistory:
    """The databases after each layer of ``analysis`` from what ``capture`` kept of that image's layers."""
    removed = [
        [c.path for c in layer.changes if c.kind.value == "removed" or c.type.value != "file"]
        for layer in analysis.layers
    ]
    return history(capture, removed)


def package_report(
    analysis: Analysis,
    capture: DatabaseCapture,
    layer: int | None = None,
    dbs: DatabaseHistory | None = None,
) -> PackageReport:
    """Attribute the bytes of ``analysis`` (after ``layer``, default the last) to the packages ``capture`` saw."""
    count = len(analysis.layers)
    if count == 0:
        return PackageReport(_image_name(analysis), 0, 0, "", (), (), (), (), (), (), 0, 0, 0, 0)
    last = count - 1 if layer is None else (layer + count if layer < 0 else layer)
    if not 0 <= last < count:
        raise LayerIndexError(f"layer {layer}", f"out of range: the image has {plural(count, 'layer')} (0-{count - 1})")
    hist = dbs if dbs is not None else database_history(analysis, capture)
    visible, links = _visible_after(analysis, last)
    resolve = _Resolver(links)
    owners_cache: dict[int, _Owners] = {}

    def owners(i: int) -> _Owners | None:
        if i < 0:
            return None
        state = hist.states[i]
        got = owners_cache.get(id(state))
        if got is None:
            got = owners_cache[id(state)] = _Owners(state, resolve)
        return got

    os_id = _os_release(capture, last)

    # Package identity over the layers: versions, installing layer, events.
    events: list[PackageEvent] = []
    version_of: dict[Key, str] = {}
    record_of: dict[Key, PackageRecord] = {}
    since: dict[Key, int] = {}
    gone_at: dict[Key, int] = {}
    for i in range(last + 1):
        if not hist.changed[i]:
            continue
        now: dict[Key, PackageRecord] = {}
        for db in hist.states[i]:
            for pkg in db.packages:
                now.setdefault(pkg.key, pkg)
        for key, pkg in now.items():
            old = version_of.get(key)
            if old is None:
                events.append(PackageEvent(i, "installed", key[0], key[1], key[2], None, pkg.version, key[3]))
                since[key] = i
                gone_at.pop(key, None)
            elif old != pkg.version:
                order = compare(key[0], pkg.version, old)
                change = "upgraded" if order > 0 else "downgraded" if order < 0 else "changed"
                events.append(PackageEvent(i, change, key[0], key[1], key[2], old, pkg.version, key[3]))
                since[key] = i
            version_of[key] = pkg.version
            record_of[key] = pkg
        for key in [k for k in version_of if k not in now]:
            events.append(PackageEvent(i, "removed", key[0], key[1], key[2], version_of[key], None, key[3]))
            del version_of[key]
            gone_at[key] = i

    # Bytes per package and layer.
    per_layer: dict[Key, dict[int, list[int]]] = defaultdict(dict)
    for i in range(last + 1):
        after, before = owners(i), owners(i - 1)
        for c in analysis.layers[i].changes:
            if not c.size:
                continue
            kind = c.kind.value
            own = before if kind == "removed" else after
            if own is None:
                continue
            idx = own.owner(c.path)
            if idx is None:
                continue
            row = per_layer[own.packages[idx].key].setdefault(i, [0, 0, 0, 0])
            row[0 if kind == "added" else 1 if kind == "modified" else 2] += c.size
    wasted: dict[Key, int] = defaultdict(int)
    for w in analysis.wasted_files:
        if w.hidden_by > last:
            continue
        own = owners(w.layer)
        idx = own.owner(w.path) if own is not None else None
        if idx is None:
            continue
        key = own.packages[idx].key  # type: ignore[union-attr]
        wasted[key] += w.size
        per_layer[key].setdefault(w.layer, [0, 0, 0, 0])[3] += w.size

    # The visible filesystem after `last`, attributed.
    final = owners(last)
    size: dict[int, int] = defaultdict(int)
    nfiles: dict[int, int] = defaultdict(int)
    unowned: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    # A stored copy's bytes count once, at one of its names (hard links): the first a package owns, else the first.
    owner_of: dict[str, int | None] = {}
    charged: dict[int, tuple[str, int | None]] = {}  # record -> the name its bytes count at, and its owner
    for path, (ftype, _fsize, record) in visible.items():
        if ftype == "dir":
            continue
        idx = owner_of[path] = final.owner(path) if final is not None else None
        if (
            ftype == "file"
            and record >= 0
            and (record not in charged or (charged[record][1] is None and idx is not None))
        ):
            charged[record] = (path, idx)
    total = 0
    for path, (ftype, fsize, record) in visible.items():
        if ftype == "dir":
            continue
        counted = fsize if ftype == "file" and (record < 0 or charged[record][0] == path) else 0
        total += counted
        idx = owner_of[path]
        if idx is None:
            if ftype == "file":
                top = "/" + path.lstrip("/").split("/", 1)[0] if path.count("/") > 1 else "/"
                cell = unowned[top]
                cell[0] += counted
                cell[1] += 1
            continue
        size[idx] += counted
        nfiles[idx] += 1

    packages: list[Package] = []
    notes: list[str] = list(capture.notes)
    databases: list[DatabaseInfo] = []
    if final is not None:
        for db in hist.states[last]:
            databases.append(
                DatabaseInfo(db.ecosystem, db.path, db.format, db.read, len(db.packages) if db.read else None, db.notes)
            )
            notes.extend(db.notes)
        for idx, pkg in enumerate(final.packages):
            listed = final.listed[idx]
            missing = sum(1 for f in listed if f not in visible)
            packages.append(
                _package(
                    pkg,
                    os_id,
                    True,
                    size.get(idx, 0),
                    nfiles.get(idx, 0),
                    len(listed) if not pkg.tree else nfiles.get(idx, 0),
                    missing,
                    since.get(pkg.key),
                    None,
                    wasted.get(pkg.key, 0),
                    per_layer.get(pkg.key, {}),
                )
            )
    present = {p.key for p in final.packages} if final is not None else set()
    removed = [
        _package(
            record_of[key], os_id, False, 0, 0, 0, 0, since.get(key), at, wasted.get(key, 0), per_layer.get(key, {})
        )
        for key, at in gone_at.items()
        if key not in present
    ]
    packages.sort(key=lambda p: (-p.size, p.ecosystem, p.name, p.location))
    removed.sort(key=lambda p: (-p.wasted_bytes, p.ecosystem, p.name))
    owned = sum(p.size for p in packages)
    return PackageReport(
        image=_image_name(analysis),
        layer=last,
        layer_count=count,
        os=os_id,
        packages=tuple(packages),
        removed=tuple(removed),
        events=tuple(events),
        unowned=tuple(
            sorted((UnownedBytes(d, s, n) for d, (s, n) in unowned.items()), key=lambda u: (-u.size, u.directory))
        ),
        databases=tuple(databases),
        notes=tuple(notes),
        total_bytes=total,
        owned_bytes=owned,
        unowned_bytes=total - owned,
        wasted_bytes=sum(wasted.values()),
    )


def owned_files(
    analysis: Analysis, dbs: DatabaseHistory, packages: Iterable[Package]
) -> dict[PackageKey, list[FileRecord]]:
    """The final filesystem's non-directory paths each of ``packages`` owns, by (ecosystem, name, location, arch)."""
    wanted = {(p.ecosystem, p.name, p.location, p.arch) for p in packages}
    out: dict[PackageKey, list[FileRecord]] = {k: [] for k in wanted}
    if not analysis.layers or not wanted:
        return out
    links = {f.path: f.link_target for f in analysis.files if f.type.value == "symlink"}
    owners = _Owners(dbs.states[len(analysis.layers) - 1], _Resolver(links))
    for f in analysis.files:
        if f.type.value == "dir":
            continue
        idx = owners.owner(f.path)
        if idx is not None:
            key = owners.packages[idx].key
            if key in wanted:
                out[key].append(f)
    return out


def _image_name(analysis: Analysis) -> str:
    image = analysis.image
    return image.name or (image.tags[0] if image.tags else "") or image.source


def _package(
    pkg: PackageRecord,
    os_id: str,
    present: bool,
    size: int,
    files: int,
    listed: int,
    missing: int,
    since: int | None,
    removed_in: int | None,
    wasted: int,
    layers: Mapping[int, list[int]],
) -> Package:
    return Package(
        ecosystem=pkg.ecosystem,
        name=pkg.name,
        version=pkg.version,
        arch=pkg.arch,
        location=pkg.where,
        database=pkg.database,
        purl=purl(pkg, os_id),
        license=pkg.license,
        dev=pkg.dev,
        present=present,
        size=size,
        files=files,
        listed_files=listed,
        missing_files=missing,
        declared_size=pkg.declared_size,
        layer=since,
        removed_in=removed_in,
        wasted_bytes=wasted,
        layers=tuple(PackageLayer(i, *row) for i, row in sorted(layers.items())),
    )


def _visible_after(analysis: Analysis, last: int) -> tuple[dict[str, tuple[str, int, int]], dict[str, str]]:
    """Path -> (type, size, stored copy) after layer ``last``, and the symlinks (path -> target)."""
    visible: dict[str, tuple[str, int, int]] = {}
    links: dict[str, str] = {}
    if last == len(analysis.layers) - 1:
        for f in analysis.files:
            visible[f.path] = (f.type.value, f.size, f.record)
            if f.type.value == "symlink":
                links[f.path] = f.link_target
        return visible, links
    # An earlier layer: replay the recorded changes (hard links are not known here: each path counted).
    for layer in analysis.layers[: last + 1]:
        for c in layer.changes:
            if c.kind.value == "removed":
                visible.pop(c.path, None)
                links.pop(c.path, None)
            else:
                visible[c.path] = (c.type.value if c.type.value != "hardlink" else "file", c.size, -1)
    symlinks = {p for p, v in visible.items() if v[0] == "symlink"}
    if symlinks:
        for f in analysis.files:
            if f.path in symlinks:
                links[f.path] = f.link_target
    return visible, links


def report_from_members(
    analysis: Analysis, members: Iterable[Iterable[tuple[str, bytes]]], layer: int | None = None
) -> PackageReport:
    """A report from each layer's (path, content) members: for tests and readers without a capture hook."""
    capture = DatabaseCapture()
    for i, layer_members in enumerate(members):
        capture.feed(i, layer_members)
    return package_report(analysis, capture, layer)


__all__ = [
    "SCHEMA_VERSION",
    "DatabaseInfo",
    "Package",
    "PackageEvent",
    "PackageLayer",
    "PackageReport",
    "UnownedBytes",
    "package_report",
    "purl",
]
