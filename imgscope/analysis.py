"""``analyze(image) -> Analysis``: read every layer once, rebuild the filesystem, compute the figures.

Every figure is defined in ``docs/metrics.md``; each is computed here and only here.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from imgscope.dive_compat import DiveCompat, DiveFigures
from imgscope.fstree import ChangeKind, FileChange, FileSystem, LayerChanges, WastedFile
from imgscope.layerscan import LayerScan, layer_where, scan_layers
from imgscope.model import EntryType, HistoryEntry, Image, TarEntry
from imgscope.sniff import SniffedFile
from imgscope.sources.blobs import Limits
from imgscope.sources.detect import open_image

if TYPE_CHECKING:
    from imgscope.filetree import TreeNode

#: Progress callback: (layer index, layer count, uncompressed bytes read so far in that layer).
Progress = Callable[[int, int, int], None]


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A path of the final filesystem."""

    path: str
    type: EntryType
    size: int
    mode: int
    uid: int
    gid: int
    link_target: str
    layer: int  # the layer that last wrote it
    record: int = field(default=-1, compare=False)  # the stored copy it shows (hard links share one); -1: none
    digest: str | None = None  # sha256 of a regular file's content, hex


@dataclass(frozen=True)
class DuplicateGroup:
    """The same bytes stored under several paths of the final filesystem."""

    digest: str
    size: int  # of one copy
    paths: tuple[str, ...]

    @property
    def wasted_bytes(self) -> int:
        """Bytes all copies but one take."""
        return self.size * (len(self.paths) - 1)


@dataclass(frozen=True)
class LayerReport:
    """One layer: what it stores, what it changed, and the history entry that made it."""

    index: int
    digest: str | None
    diff_id: str | None
    media_type: str | None
    compression: str
    compressed_size: int
    size: int  # content size: regular-file bytes the layer writes
    tar_size: int  # the uncompressed tar, headers and padding included
    entries: int  # tar members, whiteout markers excluded
    added: int
    modified: int
    removed: int
    added_bytes: int
    modified_bytes: int
    removed_bytes: int
    metadata_only: int  # files copied again only to change mode/owner
    metadata_only_bytes: int
    whiteouts: int
    opaque_dirs: int
    history: HistoryEntry | None
    changes: Sequence[FileChange] = field(repr=False, compare=False)  # a compact ChangeList from analyze()

    @property
    def command(self) -> str:
        return self.history.command if self.history else ""

    def changes_of(self, kind: ChangeKind) -> list[FileChange]:
        """The paths this layer added, modified or removed."""
        return [c for c in self.changes if c.kind is kind]


@dataclass(frozen=True)
class Summary:
    """Image-wide figures (``docs/metrics.md``)."""

    size: int  # content bytes stored in all layers
    compressed_size: int
    final_size: int  # regular-file bytes visible in the final filesystem (hard links once)
    file_count: int  # paths in the final filesystem, directories included
    layer_count: int
    wasted_bytes: int  # size - final_size: stored but not visible
    wasted_percent: float  # wasted_bytes / size (0 when size is 0)
    efficiency: float  # final_size / size (1 when size is 0)
    duplicate_bytes: int  # bytes of same-content copies in the final filesystem


@dataclass(frozen=True)
class Analysis:
    """Everything imgscope knows about one image. ``to_dict()`` gives the JSON document."""

    image: Image
    layers: tuple[LayerReport, ...]
    summary: Summary
    wasted_files: tuple[WastedFile, ...]
    largest_files: tuple[FileRecord, ...]
    duplicates: tuple[DuplicateGroup, ...]
    dive: DiveFigures
    files: tuple[FileRecord, ...] = field(repr=False)
    verified: bool = True
    sniffed: tuple[SniffedFile, ...] = ()  # files whose first bytes look like a secret (imgscope.sniff)

    @property
    def history(self) -> tuple[HistoryEntry, ...]:
        return self.image.history

    def to_dict(self) -> dict[str, Any]:
        """The JSON document described in ``docs/json.md``."""
        from imgscope.render.json_report import analysis_to_dict

        return analysis_to_dict(self)

    def layer_records(self) -> list[dict[str, Any]]:
        """One plain dict per layer, ready for ``pandas.DataFrame``."""
        from imgscope.render.json_report import layer_to_dict

        return [layer_to_dict(r) for r in self.layers]

    def file_records(self) -> list[dict[str, Any]]:
        """One plain dict per path of the final filesystem."""
        from imgscope.render.json_report import file_to_dict

        return [file_to_dict(f) for f in self.files]

    def tree(self, layer: int | None = None, *, changes: bool = False) -> TreeNode:
        """The file tree after ``layer`` (default: the last; negative counts from the end), or with ``changes``
        only what that layer added, modified and removed (``imgscope.filetree``)."""
        from imgscope.filetree import layer_changes_tree, tree_after

        return layer_changes_tree(self, layer) if changes else tree_after(self, layer)

    def __rich__(self) -> Any:
        from imgscope.render.terminal import render_analysis

        return render_analysis(self)

    def _repr_html_(self) -> str:
        from imgscope.render.terminal import to_html

        return to_html(self)


def analyze(
    source: str | os.PathLike[str] | Image,
    *,
    image: str | None = None,
    platform: str | None = None,
    verify: bool = True,
    limits: Limits | None = None,
    top: int = 50,
    progress: Progress | None = None,
    jobs: int | None = None,
) -> Analysis:
    """Analyze an image: a path (opened with ``open_image``) or an ``Image`` already opened.

    Each layer is read once, front to back; ``verify`` checks every layer against its
    diff_id (and blob digest) while it streams. ``top`` bounds the largest-files list.
    ``jobs`` worker processes scan layers in parallel (default: the cores available; 1: this
    process only); the result is the same whatever ``jobs`` is.
    """
    if isinstance(source, (str, os.PathLike)):
        img = open_image(os.fspath(source), image=image, platform=platform)
    else:
        img = source
    # The pass allocates millions of small acyclic objects; the cyclic collector would walk them over and over
    # for nothing (measured: a third of the CPU time on a 160,000-file image).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _analyze(img, limits or Limits(), verify, top, progress, jobs)
    finally:
        if collecting:
            gc.enable()


def _analyze(
    img: Image, limits: Limits, verify: bool, top: int, progress: Progress | None, jobs: int | None
) -> Analysis:
    fs = FileSystem()
    dive = DiveCompat()
    by_layer = {h.layer_index: h for h in img.history if h.layer_index is not None}
    reports: list[LayerReport] = []
    sniffed: list[SniffedFile] = []
    count = len(img.layers)
    on_layer = None if progress is None else lambda index, done: progress(index, count, done)
    # Layers are scanned ahead (in workers when jobs > 1) and merged here in order, as their scans arrive.
    scans = scan_layers(img, limits=limits, verify=verify, jobs=jobs, progress=on_layer)
    with closing(scans):  # closed on an error too: the workers stop at once
        for scan in scans:
            index = scan.index
            entries = scan.entries()
            changes = fs.apply_layer(entries, layer_where(img, index))
            reports.append(_layer_report(img, index, entries, scan, changes, by_layer.get(index)))
            sniffed.extend(scan.sniffed)
            del entries
            scan.release(keep_dive=True)  # the members are merged: free them before dive's tree grows
            dive.add_layer(scan.dive())
            scan.release()
    if progress is not None:
        progress(count, count, 0)
    figures = dive.figures()
    del dive  # dive's trees are not needed for the result: free them before the file list is built
    return replace(_finish(img, fs, figures, reports, top, verify), sniffed=tuple(sniffed))


def _layer_report(
    img: Image,
    index: int,
    entries: list[TarEntry],
    stream: LayerScan,
    changes: LayerChanges,
    history: HistoryEntry | None,
) -> LayerReport:
    blob = img.layers[index]
    counts, sizes, meta, meta_bytes = changes.changes.totals()
    markers = sum(1 for e in entries if e.path.rpartition("/")[2].startswith(".wh."))
    return LayerReport(
        index=index,
        digest=blob.digest or stream.blob_digest or (stream.diff_id if stream.compression == "none" else None),
        diff_id=blob.diff_id or stream.diff_id,
        media_type=blob.media_type,
        compression=stream.compression,
        compressed_size=stream.compressed_size,
        size=changes.stored_bytes,
        tar_size=stream.tar_size,
        entries=len(entries) - markers,
        added=counts[ChangeKind.ADDED],
        modified=counts[ChangeKind.MODIFIED],
        removed=counts[ChangeKind.REMOVED],
        added_bytes=sizes[ChangeKind.ADDED],
        modified_bytes=sizes[ChangeKind.MODIFIED],
        removed_bytes=sizes[ChangeKind.REMOVED],
        metadata_only=meta,
        metadata_only_bytes=meta_bytes,
        whiteouts=changes.whiteouts,
        opaque_dirs=changes.opaque_dirs,
        history=history,
        changes=changes.changes,
    )


def _finish(
    img: Image, fs: FileSystem, dive: DiveFigures, reports: list[LayerReport], top: int, verify: bool
) -> Analysis:
    files: list[FileRecord] = []
    seen_records = bytearray(fs.record_count)  # one byte per stored copy, not a set of ints
    final_size = 0
    first_of: dict[bytes, str] = {}  # digest -> first path; a list only for the digests seen twice
    by_digest: dict[bytes, list[str]] = {}
    for path, node in fs.walk():
        files.append(
            FileRecord(
                path,
                node.type,
                node.size,
                node.mode,
                node.uid,
                node.gid,
                node.link_target,
                node.layer,
                node.record,
                node.digest.hex() if node.digest is not None else None,
            )
        )
        if node.record >= 0 and not seen_records[node.record]:
            seen_records[node.record] = 1
            final_size += node.size
            if node.size and node.digest is not None:
                first = first_of.setdefault(node.digest, path)
                if first != path:
                    by_digest.setdefault(node.digest, [first]).append(path)
    duplicates = sorted(
        (DuplicateGroup(digest.hex(), _size_of(fs, paths[0]), tuple(paths)) for digest, paths in by_digest.items()),
        key=lambda g: (-g.wasted_bytes, g.paths),
    )
    size = sum(r.size for r in reports)
    wasted = sorted(fs.wasted, key=lambda w: (-w.size, w.path, w.layer))
    wasted_bytes = sum(w.size for w in wasted)
    assert wasted_bytes == size - final_size, "every stored byte is either visible or wasted"
    summary = Summary(
        size=size,
        compressed_size=sum(r.compressed_size for r in reports),
        final_size=final_size,
        file_count=len(files),
        layer_count=len(reports),
        wasted_bytes=wasted_bytes,
        wasted_percent=wasted_bytes / size if size else 0.0,
        efficiency=final_size / size if size else 1.0,
        duplicate_bytes=sum(g.wasted_bytes for g in duplicates),
    )
    regular = [f for f in files if f.type is EntryType.FILE]
    largest = sorted(regular, key=lambda f: (-f.size, f.path))[:top]
    return Analysis(
        image=img,
        layers=tuple(reports),
        summary=summary,
        wasted_files=tuple(wasted),
        largest_files=tuple(largest),
        duplicates=tuple(duplicates),
        dive=dive,
        files=tuple(files),
        verified=verify,
    )


def _size_of(fs: FileSystem, path: str) -> int:
    node = fs.lookup(path.lstrip("/"))
    return node.size if node is not None else 0
