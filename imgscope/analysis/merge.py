"""The merge stage: ``LayerScan``s, in layer order -> ``Analysis``; and ``analyze``, which scans and merges.

The union filesystem (``union.filesystem``) applies each scan's entries on top of the ones before, dive's
emulation (``dive.figures``) walks and stacks the tree of the layer the scan made (``DiveLayer``), and at the end
the image-wide figures are computed here and only here (``docs/metrics.md``). The scans are consumed one at a
time, as they arrive (from worker processes, ``scan.scan_layers``), so an iterator of scans keeps one layer's
entries in memory, not all of them; a layer's entries are dropped once merged, before dive's tree grows.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from typing import IO

from imgscope._gc import collector_paused
from imgscope.analysis.result import Analysis, DuplicateGroup, FileRecord, FileTable, LayerReport, Summary
from imgscope.analysis.scan import (
    LayerScan,
    ObserverFactory,
    Progress,
    check_digests,
    layer_where,
    scan_blob,
    scan_layers,
    with_index,
)
from imgscope.analysis.sniff import SniffedFile
from imgscope.dive.figures import DiveCompat, DiveFigures
from imgscope.errors import UsageError, option_given
from imgscope.model import HistoryEntry, Image, TarEntries, TarEntry, entry_names
from imgscope.sources.blobs import Limits
from imgscope.sources.detect import check_chosen, open_image, open_stream_image, source_path
from imgscope.sources.local import StreamSource, stream_source
from imgscope.sources.resolve import library_source
from imgscope.union.filesystem import ChangeKind, FileSystem, LayerChanges


def analyze(
    source: str | os.PathLike[str] | IO[bytes] | Image | Analysis,
    *,
    image: str | None = None,
    platform: str | None = None,
    verify: bool = True,
    limits: Limits | None = None,
    top: int = 50,
    progress: Progress | None = None,
    observers: Sequence[ObserverFactory] = (),
    gzip_uncompressed: bool = False,
    jobs: int | None = None,
) -> Analysis:
    """Analyze an image: a path or any source name (``oci:DIR:REF``, ``PATH:IMAGE``, ``docker://...``; a path is
    opened with ``open_image``), an ``Image`` already opened, or an ``Analysis`` (returned as it is). An open file
    is taken by its name and opened again from the start (``source_path``): a stream with no file behind it
    (``io.BytesIO``, ``sys.stdin.buffer``) is not taken; ``"-"`` reads standard input.

    Each layer is read once, front to back (``scan_layer``), and merged in order (``merge_scans``); ``verify``
    checks every layer against its diff_id (and blob digest) while it streams. ``top`` bounds the largest-files
    list. ``observers`` add content observers to every layer's scan (``analysis.scan``). ``gzip_uncompressed``
    gzips each layer stored uncompressed (a ``docker save``) as it streams, so its ``compressed_size`` (what a
    registry would serve) is known; it costs CPU (zlib level 6), so it is off by default and ``compressed_size``
    is None for such layers. ``jobs`` worker processes scan layers ahead of the merge (default: the cores
    available, for an image of ``scan.PARALLEL_MIN_BYTES`` (32 MiB) stored or more, else 1; 1: this process only;
    ``scan.scan_layers``); the result is the same whatever ``jobs`` is.
    """
    if isinstance(source, Analysis):
        check_chosen(source.image, image, platform)
        return source
    if isinstance(source, (str, os.PathLike)):  # a path, or any source name (oci:DIR:REF, PATH:IMAGE, ...)
        source = library_source(os.fspath(source), image=image, platform=platform)
    if isinstance(source, Image):
        check_chosen(source, image, platform)
        again = stream_source(source.source)
        if again is not None:  # opened from a stream, whose layers went by unread: read it again, for this image
            if again.kind == "stdin" or (again.kind == "path" and not os.path.isfile(again.value)):
                raise UsageError(
                    source.source,
                    "a pipe is read once, and this image was opened from it already: choose the image with "
                    f"{option_given('image')} when the name is analyzed, not an Image opened from it",
                )
            image = source.config_digest or source.digest
            platform = str(source.platform) if source.platform is not None else None
            source = again.label
    src = None if isinstance(source, Image) else stream_source(source_path(source))
    if src is not None:  # stdin, a FIFO, a compressed save, an engine: read once, each layer scanned as it passes
        return analyze_stream(
            src,
            image=image,
            platform=platform,
            verify=verify,
            limits=limits,
            top=top,
            observers=observers,
            gzip_uncompressed=gzip_uncompressed,
            progress=progress,
        )
    img = source if isinstance(source, Image) else open_image(source, image=image, platform=platform)
    lim = limits or Limits()
    scans = scan_layers(
        img,
        limits=lim,
        verify=verify,
        jobs=jobs,
        progress=progress,
        observers=observers,
        gzip_uncompressed=gzip_uncompressed,
    )
    with collector_paused(), closing(scans):  # closed on an error too: the workers stop at once
        result = merge_scans(img, scans, top=top, verify=verify, release=True)
    if progress is not None:
        progress(len(img.layers), len(img.layers), 0)
    return result


def analyze_stream(
    src: StreamSource,
    *,
    image: str | None = None,
    platform: str | None = None,
    verify: bool = True,
    limits: Limits | None = None,
    top: int = 50,
    observers: Sequence[ObserverFactory] = (),
    gzip_uncompressed: bool = False,
    progress: Progress | None = None,
) -> Analysis:
    """Analyze the image a stream source delivers (``sources.local``): one pass over the stream, in which each
    layer blob is scanned as it goes by (``scan_blob``), whatever its position; once the manifest has been read,
    the chosen image's scans are checked against its digests and merged in layer order (``merge_scans``).

    Observers are made with index -1 (the layer's position is not known while it streams). ``progress`` is
    called with ``(0, 0, bytes of the stream read)`` while it is read (a count of 0: the layers are not known
    yet), then once with ``(count, count, 0)`` at the end, as for a file.
    """
    lim = limits or Limits()

    def scanner(raw: IO[bytes], where: str) -> LayerScan:
        return scan_blob(raw, where, -1, limits=lim, observers=observers, gzip_uncompressed=gzip_uncompressed)

    with collector_paused():
        on_read = None if progress is None else (lambda done: progress(0, 0, done))
        img, scans = open_stream_image(src, scanner, image=image, platform=platform, on_read=on_read)
        ordered = []
        for index, scan in enumerate(scans):
            if verify:
                check_digests(scan, img.layers[index], layer_where(img, index))
            ordered.append(with_index(scan, index))
        del scans
        ordered.reverse()

        def one_at_a_time() -> Iterator[LayerScan]:  # each scan dropped once merged, as with files
            while ordered:
                yield ordered.pop()

        result = merge_scans(img, one_at_a_time(), top=top, verify=verify, release=True)
    if progress is not None:
        progress(len(img.layers), len(img.layers), 0)
    return result


def merge_scans(
    image: Image, scans: Iterable[LayerScan], *, top: int = 50, verify: bool = True, release: bool = False
) -> Analysis:
    """The ``Analysis`` of ``image`` from the scans of its layers, given in layer order (0 first).

    ``verify`` says whether the scans checked their digests (it is reported, not done here). Raises
    ``ValueError`` when a scan comes out of order. ``release``: drop each scan's members once merged (less memory
    at the peak); by default the scans, which are the caller's, are left whole.
    """
    fs = FileSystem()
    dive = DiveCompat()
    by_layer = {h.layer_index: h for h in image.history if h.layer_index is not None}
    reports: list[LayerReport] = []
    sniffed: list[SniffedFile] = []
    for expected, scan in enumerate(scans):
        if scan.index != expected:
            raise ValueError(f"layer scans out of order: got layer {scan.index} where layer {expected} was due")
        changes = fs.apply_layer(scan.entries, layer_where(image, scan.index))
        reports.append(_layer_report(image, scan, changes, by_layer.get(scan.index)))
        sniffed.extend(scan.sniffed)
        if release:
            scan.release(keep_dive=True)  # the members are merged: free them before dive's tree grows
        dive.add_layer(scan.dive, last=scan.index == len(image.layers) - 1)
        if release:
            scan.release()
        del scan
    figures = dive.figures()
    del dive  # dive's trees are not needed for the result: free them before the file list is built
    return _finish(image, fs, figures, reports, top, verify, tuple(sniffed))


def _layer_report(image: Image, scan: LayerScan, changes: LayerChanges, history: HistoryEntry | None) -> LayerReport:
    blob = image.layers[scan.index]
    stream = scan.stream
    totals = changes.changes.totals()
    counts, sizes = totals.counts, totals.sizes
    markers = _markers(scan.entries)
    return LayerReport(
        index=scan.index,
        digest=blob.digest or stream.blob_digest or (stream.diff_id if stream.compression == "none" else None),
        diff_id=blob.diff_id or stream.diff_id,
        media_type=blob.media_type,
        compression=stream.compression,
        stored_size=stream.compressed_size,
        compressed_size=stream.compressed_size if stream.compression != "none" else stream.gzip_size,
        size=changes.stored_bytes,
        tar_size=stream.tar_size,
        entries=len(scan.entries) - markers,
        added=counts[ChangeKind.ADDED],
        modified=counts[ChangeKind.MODIFIED],
        removed=counts[ChangeKind.REMOVED],
        added_bytes=sizes[ChangeKind.ADDED],
        modified_bytes=sizes[ChangeKind.MODIFIED],
        removed_bytes=sizes[ChangeKind.REMOVED],
        metadata_only=totals.metadata_only,
        metadata_only_bytes=totals.metadata_only_bytes,
        whiteouts=changes.whiteouts,
        opaque_dirs=changes.opaque_dirs,
        history=history,
        changes=changes.changes,
    )


def _markers(entries: Sequence[TarEntry]) -> int:
    """How many members are whiteout markers (their own name starts with ``.wh.``)."""
    if not isinstance(entries, TarEntries):
        return sum(1 for name in entry_names(entries) if name.startswith(".wh."))
    strings, _, names, *_ = entries.live_columns()
    marked = [at for at, text in enumerate(strings) if text.startswith(".wh.")]  # few: counted by string
    if not marked:
        return 0
    is_marker = bytearray(len(strings))
    for at in marked:
        is_marker[at] = 1
    return sum(map(is_marker.__getitem__, names))


def _finish(
    img: Image,
    fs: FileSystem,
    dive: DiveFigures,
    reports: list[LayerReport],
    top: int,
    verify: bool,
    sniffed: tuple[SniffedFile, ...],
) -> Analysis:
    seen_records = bytearray(fs.record_count)  # one byte per stored copy, not a set of ints
    columns = fs.file_columns()  # the union's rows, in walk order, are the table: nothing copied
    files = FileTable.of_rows(*columns)
    _, order, _, sizes, _, _, _, _, records, digest_at, digests = columns
    final_size = 0
    first_of: dict[bytes, int] = {}  # digest -> the first index; a list only for the digests seen twice
    by_digest: dict[bytes, list[int]] = {}
    for index, row in enumerate(order):
        record = records[row]
        if record >= 0 and not seen_records[record]:
            seen_records[record] = 1
            size = sizes[row]
            final_size += size
            at = digest_at[row]
            if size and at >= 0:
                digest = bytes(digests[at : at + 32])
                first = first_of.setdefault(digest, index)
                if first != index:
                    by_digest.setdefault(digest, [first]).append(index)
    del first_of, seen_records, columns, order, sizes, records, digest_at, digests
    duplicates = sorted(
        (
            DuplicateGroup(digest.hex(), files.size_of(found[0]), tuple(files.path_of(i) for i in found))
            for digest, found in by_digest.items()
        ),
        key=lambda g: (-g.wasted_bytes, g.paths),
    )
    size = sum(r.size for r in reports)
    wasted = sorted(fs.wasted, key=lambda w: (-w.size, w.path, w.layer))
    wasted_bytes = sum(w.size for w in wasted)
    assert wasted_bytes == size - final_size, "every stored byte is either visible or wasted"
    summary = Summary(
        size=size,
        stored_size=sum(r.stored_size for r in reports),
        compressed_size=None
        if any(r.compressed_size is None for r in reports)
        else sum(r.compressed_size or 0 for r in reports),
        final_size=final_size,
        file_count=len(files),
        layer_count=len(reports),
        wasted_bytes=wasted_bytes,
        wasted_fraction=wasted_bytes / size if size else 0.0,
        efficiency=final_size / size if size else 1.0,
        duplicate_bytes=sum(g.wasted_bytes for g in duplicates),
    )
    largest = _largest(files, top)
    return Analysis(
        image=img,
        layers=tuple(reports),
        summary=summary,
        wasted_files=tuple(wasted),
        largest_files=tuple(largest),
        duplicates=tuple(duplicates),
        dive=dive,
        files=files,
        verified=verify,
        sniffed=sniffed,
    )


def _largest(files: FileTable, top: int) -> list[FileRecord]:
    """The ``top`` largest regular files, largest first, then by path (the records of the others never made)."""
    if top <= 0:
        return []
    regular, sizes = files.regular_files()
    if len(regular) > top:  # every file larger than the top-th size is in; of those as large, the first by path
        cut = heapq.nlargest(top, sizes)[-1]
        regular = [i for i, size in zip(regular, sizes, strict=True) if size >= cut]
    del sizes
    size, path = files.size_of, files.path_of
    chosen = heapq.nsmallest(top, regular, key=lambda i: (-size(i), path(i)))
    return [files[i] for i in chosen]
