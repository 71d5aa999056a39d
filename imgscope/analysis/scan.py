"""The scan stage: one layer blob -> ``LayerScan`` (its tar entries and what its content observers saw).

``scan_layer`` is a pure function of one layer: it reads the blob once (decompressing, hashing, verifying its
digests), lists its members, and lets observers (the secret sniffer always; more on request, e.g. a
package-database reader) look at the content of regular files as it streams past. It knows nothing of other
layers, so scans may come from anywhere (a thread, a process, stdin) as long as ``merge.merge_scans`` gets them in
layer order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from imgscope.analysis.sniff import SniffedFile, Sniffer
from imgscope.errors import CorruptLayerError, MissingBlobError
from imgscope.model import Compression, Digest, Image, TarEntry
from imgscope.sources.blobs import LayerStream, Limits
from imgscope.sources.tar_stream import ESTARGZ_MEMBERS, ContentObserver, iter_entries

#: Progress callback: (layer index, layer count, uncompressed bytes read so far in that layer).
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


@dataclass(frozen=True)
class LayerScan:
    """One layer, read: its members in tar order and what the observers saw of their content."""

    index: int  #: the layer's position in the image (0 = bottom)
    entries: list[TarEntry] = field(repr=False)  #: every member, in tar order (estargz bookkeeping dropped)
    stream: StreamFigures  #: sizes, compression and digests measured while reading
    sniffed: tuple[SniffedFile, ...] = ()  #: files whose content looks like a secret (``analysis.sniff``)
    observers: tuple[ContentObserver, ...] = ()  #: the extra observers asked for, after the pass (their findings)


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
) -> LayerScan:
    """Read layer ``index`` of ``image`` once, front to back.

    ``verify`` checks the content against the layer's diff_id and blob digest while it streams (raising
    ``CorruptLayerError``); a layer whose blob is absent raises ``MissingBlobError``. ``observers`` make extra
    content observers for this layer (``sources.tar_stream.ContentObserver``); they come back in
    ``LayerScan.observers`` holding what they saw.
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
        ) as stream,
    ):
        entries: list[TarEntry] = []
        append = entries.append
        count = len(image.layers)
        for n, entry in enumerate(iter_entries(stream, (sniffer, *extra))):
            append(entry)
            if progress is not None and n % 512 == 0:
                progress(index, count, stream.uncompressed_size)
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
        stream.compression, stream.compressed_size, stream.uncompressed_size, stream.diff_id, stream.blob_digest
    )
    return LayerScan(index, entries, figures, tuple(sniffer.found), extra)


def _algorithm(digest: str | None) -> str:
    """The hash algorithm a digest names (``sha512:…`` -> sha512); sha256 when there is none."""
    return Digest.parse(digest).algorithm if digest and Digest.is_valid(digest) else "sha256"
