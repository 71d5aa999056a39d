"""Scan one layer into a compact, columnar record, in this process or in worker processes (issue 11).

A layer's tar can be scanned without knowing any other layer: its entries, sizes, whiteout markers, content
hashes and its digests. ``scan_layer`` does that for one layer and returns a ``LayerScan``; ``scan_layers``
yields the scans of every layer *in order*, computed by ``jobs`` worker processes that each stream their own
blob (``jobs=1``: in this process, one layer after the other). Only the merge (the union filesystem) needs the
order, and it is done by the caller as the scans arrive.

A scan crosses the process boundary as compact bytes (``LayerScan.to_bytes``), not as a pickled object graph:
numeric columns as machine arrays, path components interned into one string table, content digests as one
byte string. ``LayerScan.from_bytes(scan.to_bytes()) == scan``, whichever process made it.
"""

from __future__ import annotations

import marshal
import multiprocessing
import os
from array import array
from collections.abc import Callable, Generator, Sequence
from typing import Any

from imgscope import errors
from imgscope.dive_compat import DiveLayer
from imgscope.errors import CorruptLayerError, ImgscopeError, MissingBlobError
from imgscope.model import EntryType, Image, TarEntry
from imgscope.sniff import SniffedFile, Sniffer
from imgscope.sources.blobs import LayerStream, Limits
from imgscope.tar_stream import ESTARGZ_MEMBERS, iter_entries

#: Progress of one layer: (layer index, uncompressed bytes read so far in it).
LayerProgress = Callable[[int, int], None]

_MAGIC = b"imgscope-layerscan-1\n"
_TYPES = tuple(EntryType)
_TYPE_CODE = {t: i for i, t in enumerate(_TYPES)}
_FILE_CODE = _TYPE_CODE[EntryType.FILE]


def _pack_ints(values: Sequence[int], code: str) -> tuple[str, bytes]:
    """A column of ints as a machine array (``code``), or marshalled when a value does not fit (a PAX uid)."""
    try:
        return code, array(code, values).tobytes()
    except OverflowError:
        return "m", marshal.dumps(list(values))


def _unpack_ints(packed: tuple[str, bytes]) -> Sequence[int]:
    code, data = packed
    if code == "m":
        values: list[int] = marshal.loads(data)
        return values
    column = array(code)
    column.frombytes(data)
    return column


class LayerScan:
    """One layer, scanned: what its stream was (sizes, digests, compression) and its tar members in order.

    The members are kept either as ``TarEntry`` objects (a scan made in this process) or as the compact columns
    they travel in (a scan made by a worker); ``entries()`` gives the objects either way, and two scans of the
    same layer compare equal whichever form they hold.
    """

    __slots__ = (
        "_columns",
        "_dive",
        "_entries",
        "blob_digest",
        "compressed_size",
        "compression",
        "diff_id",
        "index",
        "sniffed",
        "tar_size",
    )

    def __init__(
        self,
        index: int,
        compression: str,
        compressed_size: int,
        tar_size: int,
        diff_id: str | None,
        blob_digest: str | None,
        sniffed: tuple[SniffedFile, ...],
        entries: list[TarEntry] | None = None,
        dive: DiveLayer | None = None,
        columns: bytes | None = None,
    ) -> None:
        assert (entries is None) == (dive is None) != (columns is None)
        self.index = index
        self.compression = compression
        self.compressed_size = compressed_size
        self.tar_size = tar_size  # the uncompressed tar, headers and padding included
        self.diff_id = diff_id  # sha256 of the tar as read, when it was hashed
        self.blob_digest = blob_digest  # sha256 of the blob as stored, when it was hashed
        self.sniffed = sniffed
        self._entries = entries
        self._dive = dive
        self._columns = columns

    def __len__(self) -> int:
        if self._entries is not None:
            return len(self._entries)
        return int(marshal.loads(self._columns or b"")[0])

    def _meta(self) -> tuple[Any, ...]:
        return (
            self.index,
            self.compression,
            self.compressed_size,
            self.tar_size,
            self.diff_id,
            self.blob_digest,
            tuple((s.path, s.layer, s.kind) for s in self.sniffed),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LayerScan):
            return NotImplemented
        return self._meta() == other._meta() and self.entries() == other.entries() and self.dive() == other.dive()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LayerScan(index={self.index}, entries={len(self)}, tar_size={self.tar_size})"

    def entries(self) -> list[TarEntry]:
        """The layer's tar members in tar order (estargz's own members dropped), as ``TarEntry`` objects."""
        if self._entries is None:
            self._unpack()
        assert self._entries is not None
        return self._entries

    def dive(self) -> DiveLayer:
        """dive's view of the layer (``dive_compat.DiveLayer``), made from its members by the scan."""
        if self._dive is None:
            self._unpack()
        assert self._dive is not None
        return self._dive

    def _unpack(self) -> None:
        assert self._columns is not None
        self._entries, self._dive = _decode(self._columns)
        self._columns = None  # one form at a time

    def release(self, *, keep_dive: bool = False) -> None:
        """Drop the members (the figures above stay): the merge has taken what it needs. ``keep_dive``: drop
        only the members, not dive's view of the layer."""
        if keep_dive:
            self.dive()  # unpacked from the columns, if need be, before they go
        self._entries, self._columns = [], None
        if not keep_dive:
            self._dive = DiveLayer.of([])

    # -- the wire form ---------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The compact form: a header, the figures, then the member columns."""
        if self._columns is not None:
            columns = self._columns
        else:
            assert self._entries is not None and self._dive is not None
            columns = _encode(self._entries, self._dive)
        return _MAGIC + marshal.dumps((self._meta(), columns))

    @classmethod
    def from_bytes(cls, data: bytes) -> LayerScan:
        """The scan ``to_bytes`` wrote (in this process or another)."""
        if not data.startswith(_MAGIC):
            raise ValueError("not a layer scan")
        meta, columns = marshal.loads(memoryview(data)[len(_MAGIC) :])
        index, compression, compressed, tar_size, diff_id, blob_digest, sniffed = meta
        return cls(
            index,
            compression,
            compressed,
            tar_size,
            diff_id,
            blob_digest,
            tuple(SniffedFile(p, layer, kind) for p, layer, kind in sniffed),
            columns=columns,
        )


def _encode(entries: Sequence[TarEntry], dive: DiveLayer) -> bytes:
    """Members as columns: a string table (directory prefixes, base names, link targets, each once) and, per
    member, indexes into it, a type code, size, mode, uid, gid; the regular files' digests concatenated.
    dive's view of the layer likewise: per node, its path (as indexes into the same table), size and flags."""
    table: dict[str, int] = {"": 0}
    intern = table.setdefault
    dirs: list[int] = []
    names: list[int] = []
    links: list[int] = []
    types = bytearray()
    sizes: list[int] = []
    modes: list[int] = []
    uids: list[int] = []
    gids: list[int] = []
    digests: list[bytes] = []
    codes = _TYPE_CODE
    for e in entries:
        parent, _, name = e.path.rpartition("/")
        dirs.append(intern(parent, len(table)))
        names.append(intern(name, len(table)))
        links.append(intern(e.link_target, len(table)))
        code = codes[e.type]
        types.append(code)
        sizes.append(e.size)
        modes.append(e.mode)
        uids.append(e.uid)
        gids.append(e.gid)
        if code == _FILE_CODE:
            assert e.digest is not None
            digests.append(e.digest)
    dive_dirs: list[int] = []
    dive_names: list[int] = []
    for full in dive.full:
        parent, _, name = full[1:].rpartition("/")
        dive_dirs.append(intern(parent, len(table)))
        dive_names.append(intern(name, len(table)))
    return marshal.dumps(
        (
            len(entries),
            list(table),
            array("I", dirs).tobytes(),
            array("I", names).tobytes(),
            array("I", links).tobytes(),
            bytes(types),
            _pack_ints(sizes, "Q"),
            _pack_ints(modes, "I"),
            _pack_ints(uids, "Q"),
            _pack_ints(gids, "Q"),
            b"".join(digests),
            array("I", dive_dirs).tobytes(),
            array("I", dive_names).tobytes(),
            _pack_ints(dive.sizes, "Q"),
            bytes(dive.flags),
            (dive.layer_size, dive.opaque, dive.repeated),
        )
    )


def _decode(columns: bytes) -> tuple[list[TarEntry], DiveLayer]:
    (
        count,
        strings,
        dirs_b,
        names_b,
        links_b,
        types,
        sizes_p,
        modes_p,
        uids_p,
        gids_p,
        digests,
        dive_dirs_b,
        dive_names_b,
        dive_sizes_p,
        dive_flags,
        (layer_size, opaque, repeated),
    ) = marshal.loads(columns)
    dirs, names, links = array("I"), array("I"), array("I")
    dirs.frombytes(dirs_b)
    names.frombytes(names_b)
    links.frombytes(links_b)
    sizes = _unpack_ints(sizes_p)
    modes = _unpack_ints(modes_p)
    uids = _unpack_ints(uids_p)
    gids = _unpack_ints(gids_p)
    # One int object per distinct mode/owner, as the tar reader keeps them (they live as long as the tree).
    ints: dict[int, int] = {}
    shared = ints.setdefault
    types_of = _TYPES
    file_code = _FILE_CODE
    out: list[TarEntry] = []
    append = out.append
    pos = 0
    for i in range(count):
        parent = strings[dirs[i]]
        name = strings[names[i]]
        code = types[i]
        if code == file_code:
            digest: bytes | None = digests[pos : pos + 32]
            pos += 32
        else:
            digest = None
        mode, uid, gid = modes[i], uids[i], gids[i]
        append(
            TarEntry(
                f"{parent}/{name}" if parent else name,
                types_of[code],
                sizes[i],
                shared(mode, mode),
                shared(uid, uid),
                shared(gid, gid),
                strings[links[i]],
                digest,
            )
        )
    dive_dirs, dive_names = array("I"), array("I")
    dive_dirs.frombytes(dive_dirs_b)
    dive_names.frombytes(dive_names_b)
    full = [
        f"/{strings[d]}/{strings[n]}" if d else "/" + strings[n] for d, n in zip(dive_dirs, dive_names, strict=True)
    ]
    dive = DiveLayer(full, list(_unpack_ints(dive_sizes_p)), dive_flags, layer_size, opaque, repeated)
    return out, dive


# -- scanning -------------------------------------------------------------------------------------------


def layer_where(image: Image, index: int) -> str:
    """How messages name layer ``index``."""
    return f"{image.layers[index].member} (layer {index})"


def scan_layer(
    image: Image,
    index: int,
    *,
    limits: Limits | None = None,
    verify: bool = True,
    progress: LayerProgress | None = None,
) -> LayerScan:
    """Read layer ``index`` of ``image`` once: decompress, check its digests (``verify``), decode every tar
    header, hash every regular file, sniff small files for secrets. ``progress`` is told the bytes read."""
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
    with (
        blob.open() as raw,
        LayerStream(
            raw,
            where,
            limits=limits or Limits(),
            hash_blob=verify and blob.digest is not None,
            hash_diff=verify or not blob.diff_id,
            threaded=True,
            on_chunk=None if progress is None else lambda done: progress(index, done),
        ) as stream,
    ):
        entries = list(iter_entries(stream, sniffer))
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
    return LayerScan(
        index,
        stream.compression,
        stream.compressed_size,
        stream.uncompressed_size,
        stream.diff_id,
        stream.blob_digest,
        tuple(sniffer.found),
        entries=entries,
        dive=DiveLayer.of(entries),
    )


#: Below this many stored bytes, ``scan_layers`` scans in this process unless told a number of jobs.
PARALLEL_MIN_BYTES = 32 << 20


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


# What the forked workers scan: set before the pool forks, so that no image is ever pickled; and a shared
# array where each worker writes the bytes it has read of its layer (for the parent's progress display).
_WORKER: tuple[Image, Limits, bool, Any] | None = None


def _worker_scan(index: int) -> bytes:
    assert _WORKER is not None
    image, limits, verify, done = _WORKER

    def tell(layer: int, read: int) -> None:
        done[layer] = read

    try:
        return scan_layer(image, index, limits=limits, verify=verify, progress=tell).to_bytes()
    except ImgscopeError as exc:  # our errors cross as (class name, where, problem): one line in the parent
        return b"E" + marshal.dumps((type(exc).__name__, exc.where, exc.problem))


def _result(data: bytes) -> LayerScan:
    if data[:1] == b"E":
        name, where, problem = marshal.loads(data[1:])
        cls = getattr(errors, name, None)
        if not (isinstance(cls, type) and issubclass(cls, ImgscopeError)):
            cls = CorruptLayerError
        raise cls(where, problem)
    return LayerScan.from_bytes(data)


def scan_layers(
    image: Image,
    *,
    limits: Limits | None = None,
    verify: bool = True,
    jobs: int | None = None,
    progress: LayerProgress | None = None,
) -> Generator[LayerScan, None, None]:
    """Every layer's scan, in layer order. ``jobs`` worker processes (default: the cores available, or this
    process alone for an image under ``PARALLEL_MIN_BYTES``, where starting workers costs more than it saves)
    scan ahead while the caller merges; ``jobs=1``, a single layer, or a platform without ``fork``: this process.

    The first error (in layer order) is raised here and the remaining workers are stopped.
    """
    global _WORKER
    limits = limits or Limits()
    count = len(image.layers)
    if jobs is None:
        stored = sum(blob.size or 0 for blob in image.layers)
        jobs = default_jobs() if stored >= PARALLEL_MIN_BYTES else 1
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    jobs = min(jobs, count)
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for index in range(count):
            yield scan_layer(image, index, limits=limits, verify=verify, progress=progress)
        return
    context = multiprocessing.get_context("fork")
    done = context.RawArray("q", count)
    _WORKER = (image, limits, verify, done)
    try:
        pool = context.Pool(jobs)
    finally:
        _WORKER = None
    try:
        pending = [pool.apply_async(_worker_scan, (index,)) for index in range(count)]
        pool.close()
        for index, result in enumerate(pending):
            while not result.ready():
                result.wait(0.1)
                if progress is not None:
                    progress(index, done[index])
            scan = _result(result.get())
            pending[index] = None  # type: ignore[call-overload]  # the bytes are freed once decoded
            yield scan
    finally:
        pool.terminate()
        pool.join()
