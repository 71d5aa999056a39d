"""The scan stage: one layer blob -> ``LayerScan`` (its tar entries and what its content observers saw).

``scan_layer`` is a pure function of one layer: it reads the blob once (decompressing, hashing, verifying its
digests), lists its members, and lets observers (the secret sniffer always; more on request, e.g. a
package-database reader) look at the content of regular files as it streams past. It knows nothing of other
layers, so scans may come from anywhere (a thread, a process, stdin) as long as ``merge.merge_scans`` gets them in
layer order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from imgscope.analysis.sniff import SniffedFile, Sniffer
from imgscope.errors import CorruptLayerError, MissingBlobError
from imgscope.model import Compression, Digest, Image, TarEntry
from imgscope.sources.blobs import LayerStream, Limits, detect_compression
from imgscope.sources.tar_stream import ESTARGZ_MEMBERS, ContentObserver, iter_entries

#: Progress callback: (layer index, layer count, stored bytes of that layer's blob read so far), called after each
#: chunk (a few MiB) is read, so a single large layer advances too; once more at the end with (count, count, 0).
Progress = Callable[[int, int, int], None]

#: Makes a fresh observer for the layer of the given index (one per scan, so scans share no state).
ObserverFactory = Callable[[int], ContentObserver]


class StreamFigures(NamedTuple):
    """What reading the blob measured."""

    compression: Compression
    compressed_size: int  # bytes of the blob as stored
    tar_size: int  # bytes of the uncompressed tar
    diff_id: str | None  # digest of the uncompressed tar, when it was hashed
    blob_digest: str | None  # digest of the blob as stored, when it was hashed
    gzip_size: int | None = None  # an uncompressed blob's gzip size, when asked for (``gzip_uncompressed``)


@dataclass(frozen=True)
class LayerScan:
    """One layer, read: its members in tar order and what the observers saw of their content.

    Attributes:
        index: the layer's position in the image (0 = bottom)
        entries: every member, in tar order (estargz bookkeeping dropped)
        stream: sizes, compression and digests measured while reading
        sniffed: files whose content looks like a secret (``analysis.sniff``)
        observers: the extra observers asked for, after the pass (their findings)
    """

    index: int
    entries: list[TarEntry] = field(repr=False)
    stream: StreamFigures
    sniffed: tuple[SniffedFile, ...] = ()
    observers: tuple[ContentObserver, ...] = ()


def layer_where(image: Image, index: int) -> str:
    """How messages name a layer: its member in the image and its index."""
    return f"{image.layers[index].member} (layer {index})"


def scan_layer(
    image: Image,
    index: int,
    *,
    limits: Limits | None = None,
    verify: bool = True,
    progress: Progress | None = None,
    observers: Sequence[ObserverFactory] = (),
    gzip_uncompressed: bool = False,
) -> LayerScan:
    """Read layer ``index`` of ``image`` once, front to back.

    ``verify`` checks the content against the layer's diff_id and blob digest while it streams (raising
    ``CorruptLayerError``); a layer whose blob is absent raises ``MissingBlobError``. ``observers`` make extra
    content observers for this layer (``sources.tar_stream.ContentObserver``); they come back in
    ``LayerScan.observers`` holding what they saw. ``gzip_uncompressed`` gzips a blob stored uncompressed as it
    streams, to measure the size a registry would serve (``StreamFigures.gzip_size``).
    """
    blob = image.layers[index]
    where = layer_where(image, index)
    if not blob.available:
        media = blob.media_type or ""
        if "foreign" in media or "nondistributable" in media:
            raise MissingBlobError(
                where, f"foreign (non-distributable) layer {blob.digest}: its blob is not in the image"
            )
        raise MissingBlobError(where, "the layer blob is not in the image")
    sniffer = Sniffer(layer=index)
    extra = tuple(make(index) for make in observers)
    count = len(image.layers)
    opened: list[LayerStream] = []  # the stream, once made (its chunks call on_chunk)

    def on_chunk() -> None:
        if progress is not None and opened:
            progress(index, count, opened[0].compressed_size)

    if progress is not None:
        progress(index, count, 0)
    with (
        blob.open() as raw,
        LayerStream(
            raw,
            where,
            limits=limits,
            hash_blob=verify and blob.digest is not None,
            hash_diff=verify or not blob.diff_id,
            blob_algorithm=_algorithm(blob.digest),
            diff_algorithm=_algorithm(blob.diff_id),
            threaded=True,
            on_chunk=on_chunk if progress is not None else None,
            gzip_plain=gzip_uncompressed,
        ) as stream,
    ):
        opened.append(stream)
        entries: list[TarEntry] = []
        append = entries.append
        for entry in iter_entries(stream, (sniffer, *extra)):
            append(entry)
        stream.finish()
    if any(e.path == "stargz.index.json" for e in entries):
        entries = [e for e in entries if e.path not in ESTARGZ_MEMBERS]
    if verify:
        if blob.diff_id and stream.diff_id != blob.diff_id:
            raise CorruptLayerError(
                where, f"content does not match its diff_id: expected {blob.diff_id}, got {stream.diff_id}"
            )
        if blob.digest and stream.blob_digest and stream.blob_digest != blob.digest:
            raise CorruptLayerError(
                where, f"blob does not match its digest: expected {blob.digest}, got {stream.blob_digest}"
            )
    figures = StreamFigures(
        stream.compression,
        stream.compressed_size,
        stream.uncompressed_size,
        stream.diff_id,
        stream.blob_digest,
        stream.gzip_size,
    )
    return LayerScan(index, entries, figures, tuple(sniffer.found), extra)


def rebase_scan(scan: LayerScan, image: Image, index: int) -> LayerScan:
    """``scan``, of a layer with the same diff_id as layer ``index`` of ``image``, as if that layer had been read.

    A layer's content is the same wherever it appears (that is what its diff_id names); only its position and how
    its blob is stored differ. Those come from ``image``'s descriptor, and the compression from the blob's first
    bytes where the format does not say. The other blob's own digest is not hashed (its content is not read).
    """
    blob = image.layers[index]
    if blob.diff_id != scan.stream.diff_id:
        raise ValueError(f"layer {index} has diff_id {blob.diff_id}, the scan is of {scan.stream.diff_id}")
    stream = scan.stream
    same_blob = blob.digest is not None and blob.digest == stream.blob_digest
    if not same_blob:
        where = layer_where(image, index)
        with blob.open() as raw:
            compression = detect_compression(raw.read(8), where)
        stream = StreamFigures(
            compression,
            blob.size if blob.size is not None else stream.compressed_size,
            stream.tar_size,
            stream.diff_id,
            blob.digest,
            stream.gzip_size if compression is Compression.NONE else None,
        )
    if same_blob and scan.index == index:
        return scan
    sniffed = tuple(replace(found, layer=index) for found in scan.sniffed)
    return replace(scan, index=index, stream=stream, sniffed=sniffed)


def _algorithm(digest: str | None) -> str:
    """The hash algorithm a digest names (``sha512:…`` -> sha512); sha256 when there is none."""
    return Digest.parse(digest).algorithm if digest and Digest.is_valid(digest) else "sha256"
