"""``diff(a, b) -> ImageDiff``: what differs between two images — layers, files, sizes, run-time config.

Layers are matched by diff_id (the digest of the uncompressed tar: the same content is the same layer whatever
its compression). Files are compared between the two final filesystems: a path is *changed* when its type,
size, content digest, mode, owner, link target or hard-link partners differ. Everything here reads two
``Analysis`` objects.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imgscope._display import Displayable
from imgscope.analysis import Analysis, FileRecord
from imgscope.model import Image
from imgscope.packages import ImagePackages, scan_packages
from imgscope.packages.judge import PackageChange, diff_packages

#: The version of the diff JSON document (``docs/json.md``); bump it on any breaking change.
DIFF_SCHEMA_VERSION = 1

# hard_links: the other paths of the same file (one stored copy under several names)
FILE_ATTRIBUTES = ("type", "size", "digest", "mode", "uid", "gid", "link_target", "hard_links")


def split_image_arg(arg: str) -> tuple[str, str | None]:
    """``app.tar:app:2`` -> (``app.tar``, ``app:2``): PATH[:IMAGE], where IMAGE is a tag or digest as ``--image``
    takes it. A path that exists as given wins (so paths may contain ``:``); otherwise the longest prefix ending
    before a ``:`` that exists is the path."""
    if os.path.exists(arg):
        return arg, None
    position = len(arg)
    while True:
        position = arg.rfind(":", 0, position)
        if position <= 0:
            return arg, None
        if os.path.exists(arg[:position]):
            ref = arg[position + 1 :]
            return arg[:position], ref or None


@dataclass(frozen=True)
class ImageSide:
    """One of the two images compared."""

    source: str
    name: str | None
    config_digest: str | None
    platform: str | None
    created: str | None
    layer_count: int
    notes: tuple[str, ...] = ()  # what was chosen for the user (the first image of several, a platform), and why


@dataclass(frozen=True)
class LayerSide:
    """A layer of one image, and whether the other image has the same one (same diff_id)."""

    index: int
    diff_id: str | None
    size: int
    stored_size: int  # bytes of the blob as stored
    command: str
    shared: bool


@dataclass(frozen=True)
class FileDiff:
    """A path that differs between the two final filesystems.

    Attributes:
        path: the path
        kind: added (only in B) | removed (only in A) | changed
        type_a: its type in A (None when absent)
        type_b: its type in B (None when absent)
        size_a: 0 when absent
        size_b: its size in B (0 when absent)
        layer_a: the layer that wrote it
        layer_b: the layer of B that last wrote it
        changed: which of FILE_ATTRIBUTES differ, for a changed path
        linked_a: in A, a hard link whose stored copy a path sorted before it also shows: its bytes are that
            path's, so the sums (``DirectoryDelta``, like ``final_size``) count them once
        linked_b: the same in B
    """

    path: str
    kind: str
    type_a: str | None
    type_b: str | None
    size_a: int
    size_b: int
    layer_a: int | None
    layer_b: int | None
    changed: tuple[str, ...] = ()
    linked_a: bool = False
    linked_b: bool = False

    @property
    def delta(self) -> int:
        """Its size in B minus its size in A."""
        return self.size_b - self.size_a

    @property
    def counted_a(self) -> int:
        """The bytes it adds to A's visible filesystem: its size, or 0 when ``linked_a``."""
        return 0 if self.linked_a else self.size_a

    @property
    def counted_b(self) -> int:
        """The bytes it adds to B's visible filesystem: its size, or 0 when ``linked_b``."""
        return 0 if self.linked_b else self.size_b


@dataclass(frozen=True)
class DirectoryDelta:
    """The differing paths below one top directory, counted and summed.

    Attributes:
        path: "/usr"; "/" for paths right under the root
        added: paths added below it
        removed: paths removed below it
        changed: paths changed below it
        added_bytes: bytes of the added files
        removed_bytes: bytes of the removed files
        delta: bytes in B minus bytes in A, over the differing paths
        (each stored copy counted once, however many hard-linked names show it: ``FileDiff.linked_a``)
    """

    path: str
    added: int
    removed: int
    changed: int
    added_bytes: int
    removed_bytes: int
    delta: int


@dataclass(frozen=True)
class SizeDelta:
    a: int
    b: int

    @property
    def delta(self) -> int:
        return self.b - self.a


@dataclass(frozen=True)
class ConfigChange:
    """A run-time setting that differs.

    Attributes:
        key: ``cmd``, ``env.PATH``, ``labels.version``, ``platform``…
        a: its value in A (None when absent)
        b: its value in B (None when absent)
    """

    key: str
    a: Any
    b: Any


@dataclass(frozen=True, repr=False)  # repr: one line, from the display registry
class ImageDiff(Displayable):
    """Everything that differs between image A and image B.

    Attributes:
        a: image A
        b: image B
        common_layers: layers equal by diff_id from the bottom up: B diverges from A after them
        layers_a: A's layers, each saying whether B has it
        layers_b: B's layers, each saying whether A has it
        files: the paths that differ, sorted by path
        directories: the differences summed per directory, largest change first
        size: content bytes stored in all layers
        stored_size: bytes of the layer blobs as stored in each file
        final_size: bytes visible in the final filesystem
        file_count: paths in the final filesystem
        config: run-time settings that differ
        packages: packages added, removed, up- or downgraded (or resized), largest byte change first; None when
            there is no package database to compare (neither image has one, or a side was an ``Analysis``)
    """

    a: ImageSide
    b: ImageSide
    common_layers: int
    layers_a: tuple[LayerSide, ...]
    layers_b: tuple[LayerSide, ...]
    files: tuple[FileDiff, ...]
    directories: tuple[DirectoryDelta, ...]
    size: SizeDelta
    stored_size: SizeDelta
    final_size: SizeDelta
    file_count: SizeDelta
    config: tuple[ConfigChange, ...]
    #: packages added, removed, up-/downgraded or resized, largest byte change first (``imgscope.packages``);
    #: None when there is no package database to compare: neither image has one, or a side was given as an
    #: ``Analysis`` (whose pass kept no database)
    packages: tuple[PackageChange, ...] | None = None

    @property
    def identical(self) -> bool:
        """Same layers, same files, same run-time config."""
        same_layers = [x.diff_id for x in self.layers_a] == [x.diff_id for x in self.layers_b]
        return same_layers and not self.files and not self.config

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (``docs/json.md``, diff document)."""

        def side(s: ImageSide) -> dict[str, Any]:
            return {
                "source": s.source,
                "name": s.name,
                "config_digest": s.config_digest,
                "platform": s.platform,
                "created": s.created,
                "layer_count": s.layer_count,
                "notes": list(s.notes),
            }

        def layer(x: LayerSide) -> dict[str, Any]:
            return {
                "index": x.index,
                "diff_id": x.diff_id,
                "size": x.size,
                "stored_size": x.stored_size,
                "command": x.command,
                "shared": x.shared,
            }

        def sizes(d: SizeDelta) -> dict[str, int]:
            return {"a": d.a, "b": d.b, "delta": d.delta}

        return {
            "schema_version": DIFF_SCHEMA_VERSION,
            "a": side(self.a),
            "b": side(self.b),
            "identical": self.identical,
            "common_layers": self.common_layers,
            "layers_a": [layer(x) for x in self.layers_a],
            "layers_b": [layer(x) for x in self.layers_b],
            "size": sizes(self.size),
            "stored_size": sizes(self.stored_size),
            "final_size": sizes(self.final_size),
            "file_count": sizes(self.file_count),
            "packages": None if self.packages is None else [c.to_dict() for c in self.packages],
            "directories": [
                {
                    "path": d.path,
                    "added": d.added,
                    "removed": d.removed,
                    "changed": d.changed,
                    "added_bytes": d.added_bytes,
                    "removed_bytes": d.removed_bytes,
                    "delta": d.delta,
                }
                for d in self.directories
            ],
            "files": [
                {
                    "path": f.path,
                    "kind": f.kind,
                    "type_a": f.type_a,
                    "type_b": f.type_b,
                    "size_a": f.size_a,
                    "size_b": f.size_b,
                    "delta": f.delta,
                    "layer_a": f.layer_a,
                    "layer_b": f.layer_b,
                    "changed": list(f.changed),
                    "linked_a": f.linked_a,
                    "linked_b": f.linked_b,
                }
                for f in self.files
            ],
            "config": [{"key": c.key, "a": c.a, "b": c.b} for c in self.config],
        }


Side = Analysis | Image | ImagePackages | str | os.PathLike[str]


def _scan(x: Side, platform: str | None) -> tuple[Analysis, ImagePackages | None]:
    """The analysis of one side, with its package databases unless an ``Analysis`` was given."""
    if isinstance(x, ImagePackages):
        return x.analysis, x
    if isinstance(x, Analysis):
        return x, None
    if isinstance(x, Image):
        scanned = scan_packages(x, top=0)
        return scanned.analysis, scanned
    path, ref = split_image_arg(os.fspath(x))
    scanned = scan_packages(path, image=ref, platform=platform, top=0)
    return scanned.analysis, scanned


def _package_delta(a: ImagePackages | None, b: ImagePackages | None) -> tuple[PackageChange, ...] | None:
    """The package delta; None when a side's databases were not read or neither image has any database."""
    if a is None or b is None:
        return None
    ra, rb = a.report(), b.report()
    if not ra.databases and not rb.databases:
        return None
    return tuple(diff_packages(ra, rb))


def diff(
    a: Side,
    b: Side,
    *,
    platform: str | None = None,
    group_depth: int = 1,
) -> ImageDiff:
    """Compare image A with image B. Each is an ``Analysis``, an ``ImagePackages``, an ``Image`` or a path
    (``PATH[:IMAGE]``, see ``split_image_arg``; ``platform`` picks in an index). ``group_depth`` sets how many
    path components name the directories the differing files are summed under. Paths and images are read once,
    their package databases with them; the package delta needs them on both sides (else ``packages`` is None)."""
    (left, pkgs_a), (right, pkgs_b) = _scan(a, platform), _scan(b, platform)
    ids_a = [r.diff_id for r in left.layers]
    ids_b = [r.diff_id for r in right.layers]
    common = 0
    while common < min(len(ids_a), len(ids_b)) and ids_a[common] is not None and ids_a[common] == ids_b[common]:
        common += 1
    files = _file_diffs(left.files, right.files)
    return ImageDiff(
        a=_side(left),
        b=_side(right),
        common_layers=common,
        layers_a=_layers(left, set(ids_b)),
        layers_b=_layers(right, set(ids_a)),
        files=files,
        directories=_directories(files, group_depth),
        size=SizeDelta(left.summary.size, right.summary.size),
        stored_size=SizeDelta(left.summary.stored_size, right.summary.stored_size),
        final_size=SizeDelta(left.summary.final_size, right.summary.final_size),
        file_count=SizeDelta(left.summary.file_count, right.summary.file_count),
        config=_config_changes(left, right),
        packages=_package_delta(pkgs_a, pkgs_b),
    )


def _side(a: Analysis) -> ImageSide:
    img = a.image
    return ImageSide(
        img.source,
        img.name,
        img.config_digest,
        str(img.platform) if img.platform else None,
        img.created,
        len(a.layers),
        img.notes,
    )


def _layers(a: Analysis, other: set[str | None]) -> tuple[LayerSide, ...]:
    return tuple(
        LayerSide(r.index, r.diff_id, r.size, r.stored_size, r.command, r.diff_id is not None and r.diff_id in other)
        for r in a.layers
    )


def _attributes(f: FileRecord, partners: dict[int, list[str]]) -> tuple[Any, ...]:
    links = tuple(p for p in partners.get(f.record, ()) if p != f.path)
    return (f.type.value, f.size, f.digest, f.mode, f.uid, f.gid, f.link_target, links)


def _hard_links(files: Sequence[FileRecord]) -> dict[int, list[str]]:
    """The paths of each stored copy that more than one path shows."""
    by_record: dict[int, list[str]] = {}
    for f in files:
        if f.record >= 0:
            by_record.setdefault(f.record, []).append(f.path)
    return {record: paths for record, paths in by_record.items() if len(paths) > 1}


def _linked(partners: dict[int, list[str]]) -> set[str]:
    """The hard-linked paths whose stored copy a path sorted before them also shows."""
    return {path for paths in partners.values() for path in sorted(paths)[1:]}


def _content_size(f: FileRecord | None) -> int:
    return f.size if f is not None and f.type.value in ("file", "hardlink") else 0


def _file_diffs(files_a: Sequence[FileRecord], files_b: Sequence[FileRecord]) -> tuple[FileDiff, ...]:
    by_a = {f.path: f for f in files_a}
    by_b = {f.path: f for f in files_b}
    links_a, links_b = _hard_links(files_a), _hard_links(files_b)
    linked_a, linked_b = _linked(links_a), _linked(links_b)
    out: list[FileDiff] = []
    for path in sorted(by_a.keys() | by_b.keys()):
        fa, fb = by_a.get(path), by_b.get(path)
        if fa is not None and fb is not None:
            attrs_a, attrs_b = _attributes(fa, links_a), _attributes(fb, links_b)
            changed = tuple(name for name, x, y in zip(FILE_ATTRIBUTES, attrs_a, attrs_b, strict=True) if x != y)
            if not changed:
                continue
            kind = "changed"
        else:
            changed = ()
            kind = "added" if fa is None else "removed"
        out.append(
            FileDiff(
                path,
                kind,
                fa.type.value if fa else None,
                fb.type.value if fb else None,
                _content_size(fa),
                _content_size(fb),
                fa.layer if fa else None,
                fb.layer if fb else None,
                changed,
                path in linked_a,
                path in linked_b,
            )
        )
    return tuple(out)


def _top(path: str, depth: int, is_dir: bool = False) -> str:
    """The group of ``path``: its first ``depth`` components; a directory may be its own group (``/var`` added
    is counted under ``/var`` with what it holds), a file only under one of its parents."""
    parts = path.strip("/").split("/")
    return "/" + "/".join(parts[: min(depth, len(parts) - (0 if is_dir else 1))])


def _directories(files: tuple[FileDiff, ...], depth: int) -> tuple[DirectoryDelta, ...]:
    groups: dict[str, list[FileDiff]] = {}
    for f in files:
        is_dir = "dir" in (f.type_a, f.type_b)
        groups.setdefault(_top(f.path, max(depth, 1), is_dir), []).append(f)
    out = [
        DirectoryDelta(
            path,
            sum(1 for f in fs if f.kind == "added"),
            sum(1 for f in fs if f.kind == "removed"),
            sum(1 for f in fs if f.kind == "changed"),
            sum(f.counted_b for f in fs if f.kind == "added"),
            sum(f.counted_a for f in fs if f.kind == "removed"),
            sum(f.counted_b - f.counted_a for f in fs),
        )
        for path, fs in groups.items()
    ]
    return tuple(sorted(out, key=lambda d: (-abs(d.delta), d.path)))


def _config_changes(a: Analysis, b: Analysis) -> tuple[ConfigChange, ...]:
    ca, cb = a.image.runtime, b.image.runtime
    out: list[ConfigChange] = []
    pa, pb = a.image.platform, b.image.platform
    if pa != pb:
        out.append(ConfigChange("platform", str(pa) if pa else None, str(pb) if pb else None))
    da, db = ca.to_dict(), cb.to_dict()
    for key in da:
        if key in ("env", "labels"):
            continue
        if da[key] != db[key]:
            out.append(ConfigChange(key, da[key], db[key]))
    for prefix, ma, mb in (("env", ca.env_dict(), cb.env_dict()), ("labels", ca.labels, cb.labels)):
        for name in sorted(ma.keys() | mb.keys()):
            if ma.get(name) != mb.get(name):
                out.append(ConfigChange(f"{prefix}.{name}", ma.get(name), mb.get(name)))
    return tuple(out)
