"""Analysis of an image read as one stream (``-``, a daemon's export, a compressed save): each layer is scanned
as it streams by, and the scans are merged in the image's layer order once the manifest has been read.

Interim home until the scan/merge split of ``analysis`` lands; see ``sources/stream_archive.py``.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field, replace
from typing import IO, TYPE_CHECKING, Any, cast

from imgscope.model import TarEntry
from imgscope.sniff import SniffedFile, Sniffer
from imgscope.sources.blobs import LayerStream, Limits
from imgscope.sources.detect import open_stream_image
from imgscope.sources.local import StreamSource
from imgscope.tar_stream import ESTARGZ_MEMBERS, iter_entries

if TYPE_CHECKING:
    from imgscope.analysis import Analysis, Progress


@dataclass
class LayerScan:
    """One layer read to its end: its members (metadata) and the figures of its stream."""

    entries: list[TarEntry]
    compression: str
    compressed_size: int
    uncompressed_size: int
    blob_digest: str | None
    diff_id: str | None
    sniffed: list[SniffedFile] = field(default_factory=list)


def scan_layer(raw: IO[bytes], where: str, limits: Limits | None = None) -> LayerScan:
    """Read one layer blob (as stored) to its end: entries, digests, sizes, secret verdicts."""
    sniffer = Sniffer(layer=-1)
    with LayerStream(raw, where, limits=limits, threaded=True) as stream:
        entries = list(iter_entries(stream, sniffer))
        stream.finish()
    if any(e.path == "stargz.index.json" for e in entries):
        entries = [e for e in entries if e.path not in ESTARGZ_MEMBERS]
    return LayerScan(
        entries,
        stream.compression,
        stream.compressed_size,
        stream.uncompressed_size,
        stream.blob_digest,
        stream.diff_id,
        sniffer.found,
    )


def analyze_stream(
    src: StreamSource,
    *,
    image: str | None = None,
    platform: str | None = None,
    verify: bool = True,
    limits: Limits | None = None,
    top: int = 50,
    progress: Progress | None = None,
) -> Analysis:
    """Analyze the image a stream source delivers: one pass over the stream, then the merge in layer order."""
    from imgscope import analysis as an
    from imgscope.dive_compat import DiveCompat
    from imgscope.fstree import FileSystem

    collecting = gc.isenabled()
    gc.disable()
    try:
        img, scans = open_stream_image(
            src, lambda raw, where: scan_layer(raw, where, limits), image=image, platform=platform, verify=verify
        )
        fs = FileSystem()
        dive = DiveCompat()
        by_layer = {h.layer_index: h for h in img.history if h.layer_index is not None}
        reports = []
        sniffed: list[SniffedFile] = []
        for index, (blob, scan) in enumerate(zip(img.layers, scans, strict=True)):
            changes = fs.apply_layer(scan.entries, f"{blob.member} (layer {index})")
            dive.add_layer(scan.entries)
            reports.append(an._layer_report(img, index, scan.entries, cast(Any, scan), changes, by_layer.get(index)))
            sniffed.extend(replace(s, layer=index) for s in scan.sniffed)
            if progress is not None:
                progress(index + 1, len(img.layers), 0)
        figures = dive.figures()
        del dive
        return replace(an._finish(img, fs, figures, reports, top, verify), sniffed=tuple(sniffed))
    finally:
        if collecting:
            gc.enable()
