"""The scan stage: one layer blob -> ``LayerScan`` (its tar entries and what its content observers saw).

``scan_layer`` is a pure function of one layer: it reads the blob once (decompressing, hashing, verifying its
digests), lists its members, lets observers (the secret sniffer always; more on request, e.g. a package-database
reader) look at the content of regular files as it streams past, and builds dive's tree of the layer
(``dive.figures.DiveLayer``). It knows nothing of other layers, so scans may come from anywhere (a thread, a
process, stdin) as long as ``merge.merge_scans`` gets them in layer order. ``scan_layers`` yields every layer's
scan in order, made by ``jobs`` processes (this one and ``jobs - 1`` forked workers) that each stream their own
blob (issue 11).

A scan crosses the process boundary as compact bytes (``LayerScan.to_bytes``), not as a pickled object graph:
numeric columns as machine arrays, directory prefixes, names and link targets interned into one string table,
content digests as one byte string. ``LayerScan.from_bytes(scan.to_bytes()) == scan``, whichever process made it.
"""

from __future__ import annotations

import marshal
import multiprocessing
import os
import pickle
import threading
from array import array
from collections.abc import Callable, Generator, MutableSequence, Sequence
from dataclasses import replace
from typing import IO, Any, NamedTuple

from imgscope import errors
from imgscope._heap import own_heap, trimmer
from imgscope.analysis.sniff import SniffedFile, Sniffer
from imgscope.dive.figures import DiveLayer
from imgscope.errors import CorruptLayerError, ImgscopeError, MissingBlobError, UsageError
from imgscope.model import Compression, Digest, EntryType, Image, LayerBlob, TarEntries, TarEntry
from imgscope.sources.blobs import LayerStream, Limits, detect_compression
from imgscope.sources.tar_stream import ESTARGZ_MEMBERS, ContentObserver, read_members

#: Progress callback: (layer index, layer count, stored bytes of that layer's blob read so far), called after each
#: chunk (a few MiB) is read, so a single large layer advances too; once more at the end with (count, count, 0).
#: A stream source (stdin, a FIFO, a compressed save, an engine), whose layers are known only once it has been
#: read, reports (0, 0, bytes of the stream read) every MiB instead; then (count, count, 0) at the end.
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


# 2: dive's layer tree by parent position, not by path; 3: the columns after the head, not marshalled inside it
_MAGIC = b"imgscope-layerscan-3\n"
_TYPES = tuple(EntryType)
_TYPE_CODE = {t: i for i, t in enumerate(_TYPES)}
_FILE_CODE = _TYPE_CODE[EntryType.FILE]


class LayerScan:
    """One layer, read: its members in tar order, what the observers saw of their content, and dive's tree of it.

    The members are held by column (``model.TarEntries``, a ``TarEntry`` made when read), or as the bytes they
    travel in between processes (a scan made by a worker), unpacked into columns when first read; a list of
    ``TarEntry`` is taken too. Two scans of the same layer compare equal whichever form they hold. ``dive`` is
    made from ``entries`` when not given.
    """

    __slots__ = ("_columns", "_dive", "_entries", "index", "observers", "sniffed", "stream")

    def __init__(
        self,
        index: int,
        entries: Sequence[TarEntry] | None,
        stream: StreamFigures,
        sniffed: tuple[SniffedFile, ...] = (),
        observers: tuple[ContentObserver, ...] = (),
        *,
        dive: DiveLayer | None = None,
        columns: bytes | memoryview | None = None,
    ) -> None:
        if (entries is None) == (columns is None):
            raise ValueError("a LayerScan holds its members either as entries or as columns")
        self.index = index  #: the layer's position in the image (0 = bottom)
        self.stream = stream  #: sizes, compression and digests measured while reading
        self.sniffed = sniffed  #: files whose content looks like a secret (``analysis.sniff``)
        self.observers = observers  #: the extra observers asked for, after the pass (their findings)
        self._entries = entries
        self._dive = dive
        self._columns: bytes | memoryview | None = columns

    @property
    def entries(self) -> Sequence[TarEntry]:
        """Every member, in tar order (estargz bookkeeping dropped)."""
        if self._entries is None:
            self._unpack()
        assert self._entries is not None
        return self._entries

    @property
    def dive(self) -> DiveLayer:
        """dive's tree of this layer (``dive.figures.DiveLayer``), made from its members alone."""
        if self._dive is None:
            if self._columns is not None:
                self._unpack()
            else:
                self._dive = DiveLayer.of(self.entries)
        assert self._dive is not None
        return self._dive

    def _unpack(self) -> None:
        assert self._columns is not None
        self._entries, self._dive = _decode(self._columns)
        self._columns = None  # one form at a time

    def release(self, *, keep_dive: bool = False) -> None:
        """Drop the members (the figures stay): the merge has taken what it needs of them. ``keep_dive``: keep
        dive's tree of the layer."""
        if keep_dive:
            self.dive  # noqa: B018  # made (or unpacked) before the members go
        else:
            self._dive = DiveLayer.of([])
        self._entries, self._columns = [], None

    def moved(self, index: int, stream: StreamFigures, sniffed: tuple[SniffedFile, ...]) -> LayerScan:
        """The same members (shared, not copied) at another position, with other stream figures (``rebase_scan``)."""
        return LayerScan(index, self._entries, stream, sniffed, self.observers, dive=self._dive, columns=self._columns)

    def _meta(self) -> tuple[Any, ...]:
        s = self.stream
        return (
            self.index,
            (s.compression.value, s.compressed_size, s.tar_size, s.diff_id, s.blob_digest, s.gzip_size),
            tuple((f.path, f.layer, f.kind) for f in self.sniffed),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LayerScan):
            return NotImplemented
        return (
            self._meta() == other._meta()
            and self.entries == other.entries
            and self.dive == other.dive
            and len(self.observers) == len(other.observers)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LayerScan(index={self.index}, stream={self.stream!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its wire form (a scan read back holds a view of its bytes, which pickle cannot take)."""
        return LayerScan.from_bytes, (self.to_bytes(),)

    # -- the wire form ---------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The compact form: a header, the figures (and the extra observers, pickled: they are few and hold only
        what they found), then the member columns."""
        return b"".join(self.wire_parts())

    def wire_parts(self) -> tuple[bytes, bytes | memoryview]:
        """``to_bytes`` in its two parts, not yet joined: the header and figures, and the columns (so that a worker
        can let the scan go before it joins them: the columns are a fifth of the scan's memory)."""
        columns = self._columns if self._columns is not None else _encode(self.entries, self.dive)
        observers = pickle.dumps(self.observers) if self.observers else b""
        head = marshal.dumps((self._meta(), observers))
        return _MAGIC + len(head).to_bytes(4, "little") + head, columns

    @classmethod
    def from_bytes(cls, data: bytes, *, observers: bool = True) -> LayerScan:
        """The scan ``to_bytes`` wrote (in this process or another). With ``observers=False`` bytes that carry
        observers are refused: they are pickled, and unpickling runs code, so bytes read back from a file that
        someone else could have written (``imgscope batch``'s scan cache) must not carry any."""
        if not data.startswith(_MAGIC):
            raise ValueError("not a layer scan")
        view = memoryview(data)
        start = len(_MAGIC) + 4
        end = start + int.from_bytes(view[start - 4 : start], "little")
        if end > len(view):
            raise ValueError("not a layer scan: cut short")
        (index, stream, sniffed), pickled = marshal.loads(view[start:end])
        columns = view[end:]  # a view of ``data``, not a copy: unpacked when the merge first reads it
        if pickled and not observers:
            raise ValueError("a layer scan carrying observers where none may be")
        observers_ = pickled
        compression, compressed, tar_size, diff_id, blob_digest, gzip_size = stream
        return cls(
            index,
            None,
            StreamFigures(Compression(compression), compressed, tar_size, diff_id, blob_digest, gzip_size),
            tuple(SniffedFile(p, layer, kind) for p, layer, kind in sniffed),
            pickle.loads(observers_) if observers_ else (),
            columns=columns,
        )


def _pack_ints(values: Sequence[int], code: str) -> tuple[str, bytes | array[int]]:
    """A column of ints as a machine array (``code``), or marshalled when a value does not fit (a PAX uid).

    An array already of that type is given as it is: ``marshal`` writes any buffer as the bytes it holds."""
    if isinstance(values, array) and values.typecode == code:
        return code, values
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


def _column(packed: tuple[str, bytes]) -> MutableSequence[int]:
    values = _unpack_ints(packed)
    return values if isinstance(values, (array, list)) else list(values)


def _encode(entries: Sequence[TarEntry], dive: DiveLayer) -> bytes:
    """Members as columns: a string table (directory prefixes, base names, link targets, each once) and, per
    member, indexes into it, a type code, size, mode, uid, gid; the regular files' digests concatenated.
    dive's view of the layer likewise: per node, its name (an index into the same table), its parent's position,
    size and flags."""
    if isinstance(entries, TarEntries):
        return _encode_columns(entries, dive)
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
    dive_names = [intern(name, len(table)) for name in dive.names]
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
            _ints_bytes(dive.parents, "i"),
            _ints_bytes(dive_names, "I"),
            _pack_ints(dive.sizes, "Q"),
            bytes(dive.flags),
            (dive.layer_size, dive.opaque, dive.repeated),
        )
    )


def _ints_bytes(values: Sequence[int], code: str) -> bytes | array[int]:
    """``values`` as machine ints of type ``code``: the array itself when it is one (``marshal`` writes its bytes)."""
    return values if isinstance(values, array) and values.typecode == code else array(code, values).tobytes()


def _encode_columns(entries: TarEntries, dive: DiveLayer) -> bytes:
    """``_encode`` of members already stored by column: the same form, without making an entry, and without a
    copy of any column (``marshal`` writes the arrays and byte arrays as the bytes they hold)."""
    strings, dirs, names, links, types, sizes, modes, uids, gids, digests, _ends = entries.live_columns()
    table = entries.string_index()
    more: dict[str, int] = {}  # dive's names not in the members' table (rare): numbered after it
    dive_names = array("I")
    for name in dive.names:  # the table's own strings (``DiveLayer.of``): found, rarely added
        found = table.get(name)
        if found is None:
            found = more.get(name)
            if found is None:
                found = more[name] = len(strings) + len(more)
        dive_names.append(found)
    return marshal.dumps(
        (
            len(entries),
            [*strings, *more] if more else strings,
            _ints_bytes(dirs, "I"),
            _ints_bytes(names, "I"),
            _ints_bytes(links, "I"),
            types,
            _pack_ints(sizes, "Q"),
            _pack_ints(modes, "I"),
            _pack_ints(uids, "Q"),
            _pack_ints(gids, "Q"),
            digests,
            _ints_bytes(dive.parents, "i"),
            _ints_bytes(dive_names, "I"),
            _pack_ints(dive.sizes, "Q"),
            bytes(dive.flags),
            (dive.layer_size, dive.opaque, dive.repeated),
        ),
        2,  # version 2 keeps no table of the objects written: the same bytes whoever else holds a column
    )


def _decode(columns: bytes | memoryview) -> tuple[TarEntries, DiveLayer]:
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
        dive_parents_b,
        dive_names_b,
        dive_sizes_p,
        dive_flags,
        (layer_size, opaque, repeated),
    ) = marshal.loads(columns)
    dirs, names, links = array("I"), array("I"), array("I")
    dirs.frombytes(dirs_b)
    names.frombytes(names_b)
    links.frombytes(links_b)
    sizes, modes, uids, gids = _column(sizes_p), _column(modes_p), _column(uids_p), _column(gids_p)
    dive_parents, dive_names = array("i"), array("I")
    dive_parents.frombytes(dive_parents_b)
    dive_names.frombytes(dive_names_b)
    dive_sizes = _column(dive_sizes_p)
    # The bytes may come from a cache directory others can write to: a damaged record is refused here, as a
    # ValueError, not met later as an IndexError deep in the merge (``from_columns`` checks the members' columns).
    if not (
        isinstance(strings, list)
        and all(isinstance(t, str) for t in strings)
        and isinstance(dive_flags, bytes)
        and len(dive_parents) == len(dive_names) == len(dive_sizes) == len(dive_flags)
        and max(dive_names, default=0) < len(strings)
        and all(isinstance(v, int) for c in (sizes, modes, uids, gids, dive_sizes) if isinstance(c, list) for v in c)
        and isinstance(count, int)
        and len(dirs) == count
    ):
        raise ValueError("not a layer scan: its columns disagree")
    entries = TarEntries.from_columns(strings, dirs, names, links, types, sizes, modes, uids, gids, digests)
    dive = DiveLayer(
        [strings[n] for n in dive_names], dive_parents, dive_sizes, dive_flags, layer_size, opaque, repeated
    )
    dive.check()
    return entries, dive


# -- scanning -------------------------------------------------------------------------------------------


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
    with blob.open() as raw:
        scan = scan_blob(
            raw,
            where,
            index,
            limits=limits,
            hash_blob=verify and blob.digest is not None,
            hash_diff=verify or not blob.diff_id,
            blob_algorithm=_algorithm(blob.digest),
            diff_algorithm=_algorithm(blob.diff_id),
            progress=progress,
            count=len(image.layers),
            observers=observers,
            gzip_uncompressed=gzip_uncompressed,
        )
    if verify:
        check_digests(scan, blob, where)
    return scan


def scan_blob(
    raw: IO[bytes],
    where: str,
    index: int,
    *,
    limits: Limits | None = None,
    hash_blob: bool = True,
    hash_diff: bool = True,
    blob_algorithm: str = "sha256",
    diff_algorithm: str = "sha256",
    progress: Progress | None = None,
    count: int = 0,
    observers: Sequence[ObserverFactory] = (),
    gzip_uncompressed: bool = False,
) -> LayerScan:
    """Read one layer blob (as stored: plain, gzip or zstd) from ``raw`` to its end, as layer ``index``.

    Also the scan of a blob not yet known to be any image's layer: a stream source (stdin, a daemon's export)
    scans each layer as it goes by, before the manifest says which layer it is (``sources.stream_archive``);
    it passes ``index=-1`` and ``with_index`` places the scan once the order is known. ``where`` names the blob in
    messages. No digest is checked here (``check_digests``).
    """
    sniffer = Sniffer(layer=index)
    extra = tuple(make(index) for make in observers)
    opened: list[LayerStream] = []  # the stream, once made (its chunks call on_chunk)

    def on_chunk() -> None:
        if progress is not None and opened:
            progress(index, count, opened[0].compressed_size)

    if progress is not None:
        progress(index, count, 0)
    with LayerStream(
        raw,
        where,
        limits=limits,
        hash_blob=hash_blob,
        hash_diff=hash_diff,
        blob_algorithm=blob_algorithm,
        diff_algorithm=diff_algorithm,
        threaded=True,
        on_chunk=on_chunk if progress is not None else None,
        gzip_plain=gzip_uncompressed,
    ) as stream:
        opened.append(stream)
        entries = read_members(stream, (sniffer, *extra))  # by column: no object per member
        stream.finish()
    if entries.has_path("stargz.index.json"):
        entries = TarEntries(e for e in entries if e.path not in ESTARGZ_MEMBERS)
    figures = StreamFigures(
        stream.compression,
        stream.compressed_size,
        stream.uncompressed_size,
        stream.diff_id,
        stream.blob_digest,
        stream.gzip_size,
    )
    return LayerScan(index, entries, figures, tuple(sniffer.found), extra, dive=DiveLayer.of(entries))


def check_digests(scan: LayerScan, blob: LayerBlob, where: str) -> None:
    """Raise ``CorruptLayerError`` when what the scan measured differs from the layer's diff_id or blob digest."""
    stream = scan.stream
    if blob.diff_id and stream.diff_id and not _same_algorithm(blob.diff_id, stream.diff_id):
        return  # a stream scan hashes with sha256 before it knows the image asks for another algorithm
    if blob.diff_id and stream.diff_id != blob.diff_id:
        raise CorruptLayerError(
            where, f"content does not match its diff_id: expected {blob.diff_id}, got {stream.diff_id}"
        )
    if (
        blob.digest
        and stream.blob_digest
        and _same_algorithm(blob.digest, stream.blob_digest)
        and stream.blob_digest != blob.digest
    ):
        raise CorruptLayerError(
            where, f"blob does not match its digest: expected {blob.digest}, got {stream.blob_digest}"
        )


def _same_algorithm(a: str, b: str) -> bool:
    return a.partition(":")[0] == b.partition(":")[0]


def with_index(scan: LayerScan, index: int) -> LayerScan:
    """The scan placed as layer ``index`` (its sniffed files too); the entries are shared, not copied."""
    if scan.index == index:
        return scan
    return scan.moved(index, scan.stream, tuple(replace(s, layer=index) for s in scan.sniffed))


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
    return scan.moved(index, stream, sniffed)


def _algorithm(digest: str | None) -> str:
    """The hash algorithm a digest names (``sha512:…`` -> sha512); sha256 when there is none."""
    return Digest.parse(digest).algorithm if digest and Digest.is_valid(digest) else "sha256"


#: Below this many stored bytes, ``scan_layers`` scans in this process unless told a number of jobs.
PARALLEL_MIN_BYTES = 32 << 20


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


# -- scheduling: this process and ``jobs - 1`` forked workers share the layers -----------------------------

#: A mark in ``_Shared.claims``: the layer is this (the parent) process's; a worker's mark is its number + 1
#: (a 32-bit column, so that any number of workers has a mark of its own).
_PARENT = -1


class _Shared(NamedTuple):
    """What the parent and its forked workers share: who scans each layer (0: nobody yet) and the stored bytes read
    of each layer so far (the progress display)."""

    claims: Any  # RawArray("i", count)
    lock: Any  # multiprocessing Lock, held to claim a layer
    done: Any  # RawArray("q", count)

    @classmethod
    def make(cls, context: Any, count: int) -> _Shared:
        """Shared columns for ``count`` layers, from a multiprocessing ``context``; nothing claimed yet."""
        return cls(context.RawArray("i", count), context.Lock(), context.RawArray("q", count))


# What the forked workers scan: set before they are forked, so that no image is ever pickled.
_WORKER: tuple[Image, Limits, bool, bool, Sequence[ObserverFactory], _Shared] | None = None


def _claim(shared: _Shared, order: Sequence[int], start: int, mark: int) -> tuple[int | None, int]:
    """The first layer of ``order`` (from ``start``) nobody has claimed, now claimed with ``mark``; and where the
    next search may start (a claim is never undone, except by the parent for a worker that died)."""
    with shared.lock:
        claims = shared.claims
        while start < len(order) and claims[order[start]]:
            start += 1
        if start == len(order):
            return None, start
        claims[order[start]] = mark
        return order[start], start + 1


def _worker_scan(index: int) -> bytes:
    """Layer ``index`` scanned in a worker, as the bytes that carry it to the parent: the scan (``to_bytes``), or
    ``E`` and one of our errors (class name, where, problem), or ``X`` and any other exception, pickled."""
    assert _WORKER is not None
    image, limits, verify, gzip_uncompressed, observers, shared = _WORKER
    done = shared.done

    def tell(layer: int, _count: int, read: int) -> None:
        done[layer] = read

    try:
        scan = scan_layer(
            image,
            index,
            limits=limits,
            verify=verify,
            progress=tell,
            gzip_uncompressed=gzip_uncompressed,
            observers=observers,
        )
    except ImgscopeError as exc:  # our errors cross as (class name, where, problem): one line in the parent
        return b"E" + marshal.dumps((type(exc).__name__, exc.where, exc.problem))
    except Exception as exc:  # a defect: the parent raises it as it was (or as a RuntimeError naming it)
        try:
            return b"X" + pickle.dumps(exc)
        except Exception:
            return b"X" + pickle.dumps(RuntimeError(f"scan of layer {index} failed in a worker: {exc!r}"))
    head, columns = scan.wire_parts()
    del scan  # before the parts are joined: the scan's columns and its bytes are not held all at once
    return head + columns


def _worker_main(number: int, conn: Any, order: Sequence[int]) -> None:
    """A forked worker: claim the next layer of ``order`` nobody has, scan it, send it, until none is left; then
    exit, so that its memory goes as soon as there is nothing left for it to scan.

    It leaves with ``os._exit``, whatever happens: no exit handler of the parent's runs here, and no output the
    parent had buffered when it forked is written a second time."""
    import signal

    status = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # how the parent stops a worker, whatever it does itself
        assert _WORKER is not None
        shared = _WORKER[-1]
        own_heap()  # inherited from the command line; set here for a library caller's workers too
        trim = trimmer()
        start = 0
        while True:
            index, start = _claim(shared, order, start, number + 1)
            if index is None:
                break
            data = _worker_scan(index)
            try:
                conn.send_bytes(index.to_bytes(4, "little"))
                conn.send_bytes(data)
            except OSError:  # the parent has gone
                break
            del data
            trim()  # the layer's columns are freed: give their pages back while the next layer is read
        status = 0
    finally:
        os._exit(status)  # a layer claimed and not sent (an exception here): the parent scans it itself


#: The pipe a worker sends its scans through holds this much (Linux; at most ``/proc/sys/fs/pipe-max-size``).
#: The thread that receives them needs the GIL back after each read, which the merge gives up every 5 ms
#: (``sys.getswitchinterval``): through the default 64 KiB pipe a scan of 8 MiB took a third of a second to
#: arrive, while its worker waited instead of scanning.
PIPE_BYTES = 1 << 20


def _widen_pipe(conn: Any) -> None:
    """Make ``conn``'s pipe hold ``PIPE_BYTES`` (or as much as the system lets it); nothing where it cannot."""
    try:
        import fcntl

        setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
        if setsize is None:
            return
        try:
            with open("/proc/sys/fs/pipe-max-size") as f:
                most = int(f.read())
        except (OSError, ValueError):
            most = PIPE_BYTES
        fcntl.fcntl(conn.fileno(), setsize, min(PIPE_BYTES, most))
    except (ImportError, OSError):
        pass


def _result(data: bytes) -> LayerScan:
    if data[:1] == b"E":
        name, where, problem = marshal.loads(data[1:])
        cls = getattr(errors, name, None)
        if not (isinstance(cls, type) and issubclass(cls, ImgscopeError)):
            cls = CorruptLayerError
        raise cls(where, problem)
    if data[:1] == b"X":
        raise pickle.loads(data[1:])
    return LayerScan.from_bytes(data)


class _Inbox:
    """The workers' scans, received by a thread as they come (a worker never waits for the parent to read), kept
    by layer until the merge takes them; and the workers whose pipe has closed (done, or dead)."""

    def __init__(self, conns: Sequence[Any]) -> None:
        self.results: dict[int, bytes] = {}
        self.gone: set[int] = set()  # numbers of the workers whose pipe has closed: nothing more comes from them
        self.changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, args=(conns,), name="imgscope scan results", daemon=True)
        self._thread.start()

    def _run(self, conns: Sequence[Any]) -> None:
        from multiprocessing.connection import wait

        live: dict[Any, int] = {conn: number for number, conn in enumerate(conns)}
        try:
            while live:
                ready: list[Any] = wait(list(live))
                for conn in ready:
                    try:
                        index = int.from_bytes(conn.recv_bytes(), "little")
                        data = conn.recv_bytes()
                    except (EOFError, OSError):  # the worker has exited (or was stopped, or died)
                        with self.changed:
                            self.gone.add(live.pop(conn))
                            self.changed.notify_all()
                        continue
                    with self.changed:
                        self.results[index] = data
                        self.changed.notify_all()
        except BaseException:
            # e.g. a MemoryError receiving a scan: nothing more will be received, so every worker still running
            # counts as gone, and the merge scans its layers itself
            with self.changed:
                self.gone.update(live.values())
                self.changed.notify_all()

    def join(self) -> None:
        """Wait for the thread: once every worker has exited, every pipe is at its end."""
        self._thread.join()


def scan_layers(
    image: Image,
    *,
    limits: Limits | None = None,
    verify: bool = True,
    jobs: int | None = None,
    progress: Progress | None = None,
    observers: Sequence[ObserverFactory] = (),
    gzip_uncompressed: bool = False,
) -> Generator[LayerScan, None, None]:
    """Every layer's scan (``scan_layer``, same options), in layer order, made by ``jobs`` processes: this one
    and ``jobs - 1`` forked workers, each streaming its own blob.

    This process scans the layer it must merge next whenever no worker has started it (layer 0 first, then any
    layer the workers have not reached: scanned and merged in one pass, with no wire cost); the workers take the
    other layers in order, each sending its scan back as bytes as soon as it is made. While the layer due next is
    still in a worker, this process scans the next layer nobody has started (and keeps it for its turn) rather
    than wait; not when ``observers`` are given, whose effects must come in layer order. A worker exits as soon as
    no layer is left for it; the scans it made wait here, as bytes, for their turn.

    ``jobs``: default, the cores available (this process alone for an image under ``PARALLEL_MIN_BYTES``, where
    starting workers costs more than it saves); 1, a single layer, a platform without ``fork``, or ``observers``
    (they are the caller's objects, and may share state with it) unless every factory says ``parallel = True``
    (its observers are made in the workers, pickled back with the scan, and hand what they saw to the caller's
    state when unpickled, as ``imgscope.packages``' do): this process, one layer after the other. The scans are
    the same either way. The first error, in layer order, is raised here (the same error ``scan_layer`` raises)
    and the workers are stopped; closing the generator early stops them too. A worker that dies has its layer
    scanned here.
    """
    limits = limits or Limits()
    count = len(image.layers)
    if jobs is None:
        stored = sum(blob.size or 0 for blob in image.layers)
        jobs = default_jobs() if stored >= PARALLEL_MIN_BYTES else 1
    if jobs < 1:
        raise UsageError("jobs", f"{jobs} processes: at least 1 (1: this process alone)")
    jobs = min(jobs, count)
    detachable = all(getattr(make, "parallel", False) for make in observers)
    if (
        jobs <= 1
        or not detachable
        or "fork" not in multiprocessing.get_all_start_methods()
        or multiprocessing.current_process().daemon  # a daemonic process may not start processes
    ):
        for index in range(count):
            yield scan_layer(
                image,
                index,
                limits=limits,
                verify=verify,
                progress=progress,
                observers=observers,
                gzip_uncompressed=gzip_uncompressed,
            )
        return
    yield from _scan_shared(image, jobs, limits, verify, progress, observers, gzip_uncompressed)


def _scan_shared(
    image: Image,
    jobs: int,
    limits: Limits,
    verify: bool,
    progress: Progress | None,
    observers: Sequence[ObserverFactory],
    gzip_uncompressed: bool,
) -> Generator[LayerScan, None, None]:
    """``scan_layers`` with ``jobs - 1`` workers beside this process (``jobs`` at least 2)."""
    global _WORKER
    count = len(image.layers)
    context = multiprocessing.get_context("fork")
    workers = jobs - 1
    shared = _Shared.make(context, count)
    shared.claims[0] = _PARENT  # this process starts with the layer it merges first
    order = list(range(1, count))  # the workers' order: the merge's
    steal = not observers
    processes: list[Any] = []
    conns: list[Any] = []
    inbox: _Inbox | None = None
    due = 0  # the layer the merge waits for: the one the progress display shows

    def tell(layer: int, _count: int, read: int) -> None:
        shared.done[layer] = read
        if progress is not None:
            progress(due, count, shared.done[due])

    def here(index: int) -> LayerScan:
        return scan_layer(
            image,
            index,
            limits=limits,
            verify=verify,
            progress=tell,
            observers=observers,
            gzip_uncompressed=gzip_uncompressed,
        )

    try:
        _WORKER = (image, limits, verify, gzip_uncompressed, tuple(observers), shared)
        try:
            for number in range(workers):
                reader, writer = context.Pipe(duplex=False)
                _widen_pipe(writer)
                conns.append(reader)
                process = context.Process(
                    target=_worker_main, args=(number, writer, order), name=f"imgscope scan {number + 1}", daemon=True
                )
                process.start()  # forked now: it sees _WORKER as it is
                processes.append(process)
                writer.close()  # the worker's end: closed here, so its pipe ends when the worker does
        finally:
            _WORKER = None
        inbox = _Inbox(conns)
        held: dict[int, LayerScan | ImgscopeError] = {}  # layers this process scanned ahead of their turn
        ahead = 1  # where to look for a layer nobody has started
        for due in range(count):
            while True:
                found = held.pop(due, None)
                if found is not None:
                    break
                with shared.lock:
                    mark = shared.claims[due]
                    if not mark:
                        shared.claims[due] = mark = _PARENT
                if mark == _PARENT:
                    found = here(due)  # its error, if any, is the first in layer order
                    break
                with inbox.changed:
                    data = inbox.results.pop(due, None)
                    dead = data is None and mark - 1 in inbox.gone
                if data is not None:
                    found = _result(data)
                    del data
                    break
                if dead:  # the worker died with this layer (killed, out of memory): scan it here
                    with shared.lock:
                        shared.claims[due] = _PARENT
                    continue
                if steal:
                    index, ahead = _claim(shared, range(count), max(ahead, due + 1), _PARENT)
                    if index is not None:
                        try:  # kept as the bytes a worker would have sent: a fifth of the memory of the columns
                            held[index] = LayerScan.from_bytes(here(index).to_bytes())
                        except ImgscopeError as exc:  # raised in its turn: an earlier layer's error comes first
                            held[index] = exc
                        continue
                if progress is not None:
                    progress(due, count, shared.done[due])
                with inbox.changed:
                    if due not in inbox.results and mark - 1 not in inbox.gone:
                        inbox.changed.wait(0.1)
            if isinstance(found, ImgscopeError):
                raise found
            if progress is not None:  # read to its end, here, in a worker or ahead of its turn
                progress(due, count, shared.done[due])
            yield found
            del found
    finally:
        for process in processes:
            process.terminate()  # those still scanning (an error, or the caller stopped early); the rest have exited
        for process in processes:
            process.join()
        if inbox is not None:
            inbox.join()
        for conn in conns:
            conn.close()
