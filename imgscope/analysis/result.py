"""What ``analyze`` finds: ``Analysis`` and its parts (layers, summary, files), each owning its JSON form.

The figures are defined in ``docs/metrics.md`` and computed in ``analysis.merge`` (dive's in ``dive.figures``).
"""

from __future__ import annotations

import functools
import warnings
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from imgscope._display import Displayable
from imgscope.analysis.sniff import SniffedFile
from imgscope.dive.figures import DiveFigures
from imgscope.model import Compression, EntryType, HistoryEntry, Image, MadeOnRead
from imgscope.union.filesystem import ChangeKind, FileChange, PathTable, WastedFile
from imgscope.union.tree import TreeNode, layer_changes_tree, tree_after

#: The version of the analysis JSON document (``docs/json.md``); bump it on any breaking change.
SCHEMA_VERSION = 2  # 2: summary.wasted_percent renamed wasted_fraction (it holds a fraction)


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A path of the final filesystem.

    Attributes:
        path: ``/``-rooted path
        type: file, dir, symlink, hardlink, char, block or fifo
        size: bytes of a regular file (0 for other types)
        mode: permission bits (and setuid/setgid/sticky)
        uid: owner's user id
        gid: owner's group id
        link_target: a symlink's target, or a hard link's target path
        layer: the layer that last wrote it
        record: the stored copy it shows (hard links share one); -1: none
        digest: sha256 of a regular file's content, hex
    """

    path: str
    type: EntryType
    size: int
    mode: int
    uid: int
    gid: int
    link_target: str
    layer: int
    record: int = field(default=-1, compare=False)
    digest: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The file as in the JSON documents (``largest_files[]``, ``Analysis.file_records()``)."""
        return {
            "path": self.path,
            "type": self.type.value,
            "size": self.size,
            "mode": f"{self.mode:04o}",
            "uid": self.uid,
            "gid": self.gid,
            "link_target": self.link_target or None,
            "layer": self.layer,
        }


_TYPES = tuple(EntryType)
_TYPE_CODE = {t: i for i, t in enumerate(_TYPES)}


def _column(values: list[int], code: str) -> Sequence[int]:
    """A column of ints as a machine array, or the list itself when a value does not fit (a PAX uid)."""
    try:
        return array(code, values)
    except OverflowError:
        return values


class FileTable(MadeOnRead[FileRecord]):
    """Every path of the final filesystem, stored by column; each ``FileRecord`` is made when it is read.

    An object per path (a ``FileRecord``, its ``/``-rooted path, its hex digest) costs about 300 bytes. From
    ``analyze`` the table is the union filesystem's own rows (``union.filesystem.PathTable`` for the paths, the
    shared by the layers' changes, and the filesystem's columns: type, size, layer, mode/owner index, link
    target, record, digest offset), read through the rows of the final tree in walk order: a path costs the 4
    bytes of its place in that order beyond what the filesystem already held. Reads as an immutable sequence in
    the filesystem's walk order (depth first, names sorted); compares equal to a tuple of the same records.
    """

    _item_name = "file"

    __slots__ = (
        "_digest_at",
        "_digest_len",
        "_digests",
        "_dirs",
        "_layers",
        "_links",
        "_meta_of",
        "_metas",
        "_paths",
        "_records",
        "_rows",
        "_sizes",
        "_types",
    )

    _digest_at: Sequence[int]  # by row: where its digest starts in _digests, -1: none
    _digest_len: int | bytes  # the digests' length, or each row's
    _digests: bytes | bytearray
    _dirs: dict[int, str]  # a directory row -> its "/"-rooted path, as read (not kept when pickled)
    _layers: Sequence[int]
    _links: Sequence[int]  # by row: an index into the path table's strings
    _meta_of: Sequence[int]
    _metas: Sequence[tuple[int, int, int]]
    _paths: PathTable
    _records: Sequence[int]
    _rows: Sequence[int]  # the table's order -> a row
    _sizes: Sequence[int]
    _types: bytes | bytearray  # by row: the type's position in ``tuple(EntryType)``

    @classmethod
    def of_rows(
        cls,
        paths: PathTable,
        rows: Sequence[int],
        types: bytes | bytearray,
        sizes: Sequence[int],
        layers: Sequence[int],
        metas: Sequence[tuple[int, int, int]],
        meta_of: Sequence[int],
        links: Sequence[int],
        records: Sequence[int],
        digest_at: Sequence[int],
        digests: bytes | bytearray,
        digest_len: int | bytes = 32,
    ) -> FileTable:
        """The table of ``rows`` (in that order) of columns kept by row (``FileSystem.file_columns``): not
        copied."""
        table = cls.__new__(cls)
        table._paths, table._rows, table._types, table._sizes, table._layers = paths, rows, types, sizes, layers
        table._metas, table._meta_of, table._links, table._records = metas, meta_of, links, records
        table._digest_at, table._digests, table._digest_len = digest_at, digests, digest_len
        table._dirs = {0: ""}
        return table

    def __init__(self, records: Sequence[FileRecord] = ()) -> None:
        """A table of ``records`` (in the order given; their paths ``/``-rooted)."""
        paths = PathTable()
        strings: dict[str, int] = {"": 0}
        dirs: dict[str, int] = {"": 0}
        types = bytearray([_TYPE_CODE[EntryType.DIR]])
        sizes: list[int] = [0]
        layers: list[int] = [-1]
        metas: dict[tuple[int, int, int], int] = {}
        meta_of: list[int] = [0]
        links: list[int] = [0]
        numbers: list[int] = [-1]
        digest_at: list[int] = [-1]
        lengths = bytearray(1)
        digests = bytearray()

        def string(text: str) -> int:
            found = strings.get(text)
            if found is None:
                found = strings[text] = len(paths.strings)
                paths.strings.append(text)
            return found

        def row(parent: int, name: str) -> int:
            paths.parents.append(parent)
            paths.names.append(string(name))
            for column, value in ((sizes, 0), (layers, -1), (meta_of, 0), (links, 0), (numbers, -1), (digest_at, -1)):
                column.append(value)
            types.append(_TYPE_CODE[EntryType.DIR])
            lengths.append(0)
            return len(types) - 1

        def directory(path: str) -> int:
            found = dirs.get(path)
            if found is None:
                head, _, name = path.rpartition("/")
                found = dirs[path] = row(directory(head), name)
            return found

        order: list[int] = []
        for f in records:
            parent_path, _, name = f.path.rpartition("/")
            at = row(directory(parent_path), name)
            order.append(at)
            types[at] = _TYPE_CODE[f.type]
            sizes[at], layers[at], numbers[at] = f.size, f.layer, f.record
            meta_of[at] = metas.setdefault((f.mode, f.uid, f.gid), len(metas))
            links[at] = string(f.link_target)
            if f.digest is not None:
                digest = bytes.fromhex(f.digest)
                digest_at[at], lengths[at] = len(digests), len(digest)
                digests += digest
        other = FileTable.of_rows(
            paths,
            _column(order, "I"),
            types,
            _column(sizes, "Q"),
            _column(layers, "i"),
            tuple(metas),
            _column(meta_of, "I"),
            _column(links, "I"),
            _column(numbers, "q"),
            _column(digest_at, "q"),
            digests,
            bytes(lengths),
        )
        for slot in FileTable.__slots__:
            setattr(self, slot, getattr(other, slot))

    def __len__(self) -> int:
        return len(self._rows)

    def path_of(self, i: int) -> str:
        """The ``/``-rooted path of record ``i``, without making the record."""
        paths = self._paths
        row = self._rows[i]
        parent = paths.parents[row]
        prefix = self._dirs.get(parent)
        if prefix is None:
            prefix = self._dirs[parent] = "/" + paths.path_of(parent)
        return f"{prefix}/{paths.strings[paths.names[row]]}"

    def size_of(self, i: int) -> int:
        """The size of record ``i``."""
        return self._sizes[self._rows[i]]

    def regular_files(self) -> tuple[list[int], list[int]]:
        """The indexes of the regular files, in order, and their sizes (read from the columns, no record made)."""
        rows, types = self._rows, self._types
        file_code = _TYPE_CODE[EntryType.FILE]
        regular = [i for i, row in enumerate(rows) if types[row] == file_code]
        return regular, list(map(self._sizes.__getitem__, map(rows.__getitem__, regular)))

    def type_of(self, i: int) -> EntryType:
        """The type of record ``i``."""
        return _TYPES[self._types[self._rows[i]]]

    def _make(self, i: int) -> FileRecord:
        row = self._rows[i]
        mode, uid, gid = self._metas[self._meta_of[row]]
        digest = None
        at = self._digest_at[row]
        if at >= 0:
            length = self._digest_len
            end = at + (length if isinstance(length, int) else length[row])
            digest = self._digests[at:end].hex()
        return FileRecord(
            self.path_of(i),
            _TYPES[self._types[row]],
            self._sizes[row],
            mode,
            uid,
            gid,
            self._paths.strings[self._links[row]],
            self._layers[row],
            self._records[row],
            digest,
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FileTable):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"FileTable(<{len(self)} files>)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore_table, (tuple(getattr(self, slot) for slot in _KEPT),))


_KEPT = tuple(slot for slot in FileTable.__slots__ if slot != "_dirs")  # what a pickle holds


def _restore_table(state: tuple[Any, ...]) -> FileTable:
    table = FileTable.__new__(FileTable)
    for slot, value in zip(_KEPT, state, strict=True):
        setattr(table, slot, value)
    table._dirs = {0: ""}
    return table


@dataclass(frozen=True)
class DuplicateGroup:
    """The same bytes stored under several paths of the final filesystem.

    Attributes:
        digest: sha256 of the content, hex
        size: of one copy
        paths: the paths holding that content
    """

    digest: str
    size: int
    paths: tuple[str, ...]

    @property
    def wasted_bytes(self) -> int:
        """Bytes all copies but one take."""
        return self.size * (len(self.paths) - 1)

    def to_dict(self) -> dict[str, Any]:
        """The group as in the JSON document (``duplicates[]``)."""
        return {
            "digest": "sha256:" + self.digest,
            "size": self.size,
            "paths": list(self.paths),
            "wasted_bytes": self.wasted_bytes,
        }


@dataclass(frozen=True)
class LayerReport:
    """One layer: what it stores, what it changed, and the history entry that made it.

    Attributes:
        index: its position, bottom first
        digest: digest of the blob as stored (compressed)
        diff_id: digest of the uncompressed tar
        media_type: the layer's media type, when the format says
        compression: of the blob as stored: none, gzip or zstd, from its first bytes
        stored_size: bytes of the blob as stored in this file
        compressed_size: what a pull downloads: the blob when compressed, else its gzip size when computed
        size: content size: regular-file bytes the layer writes
        tar_size: the uncompressed tar, headers and padding included
        entries: tar members, whiteout markers excluded
        added: paths added
        modified: paths modified
        removed: paths removed (every path below a removed directory included)
        added_bytes: bytes of the added files
        modified_bytes: bytes of the modified files (new sizes)
        removed_bytes: bytes the removed files had
        metadata_only: files copied again only to change mode/owner
        metadata_only_bytes: bytes of those files
        whiteouts: ``.wh.NAME`` markers
        opaque_dirs: ``.wh..wh..opq`` markers
        history: the history entry that made the layer, when the history names one
        changes: a compact ChangeList from analyze()
    """

    index: int
    digest: str | None
    diff_id: str | None
    media_type: str | None
    compression: Compression
    stored_size: int
    compressed_size: int | None
    size: int
    tar_size: int
    entries: int
    added: int
    modified: int
    removed: int
    added_bytes: int
    modified_bytes: int
    removed_bytes: int
    metadata_only: int
    metadata_only_bytes: int
    whiteouts: int
    opaque_dirs: int
    history: HistoryEntry | None
    changes: Sequence[FileChange] = field(repr=False, compare=False)

    @property
    def command(self) -> str:
        return self.history.command if self.history else ""

    def changes_of(self, kind: ChangeKind) -> list[FileChange]:
        """The paths this layer added, modified or removed."""
        return [c for c in self.changes if c.kind is kind]

    def to_dict(self) -> dict[str, Any]:
        """The layer as in the JSON document (``layers[]``)."""
        h = self.history
        return {
            "index": self.index,
            "digest": self.digest,
            "diff_id": self.diff_id,
            "media_type": self.media_type,
            "compression": str(self.compression),
            "size": self.size,
            "stored_size": self.stored_size,
            "compressed_size": self.compressed_size,
            "tar_size": self.tar_size,
            "entries": self.entries,
            "added": self.added,
            "modified": self.modified,
            "removed": self.removed,
            "added_bytes": self.added_bytes,
            "modified_bytes": self.modified_bytes,
            "removed_bytes": self.removed_bytes,
            "metadata_only": self.metadata_only,
            "metadata_only_bytes": self.metadata_only_bytes,
            "whiteouts": self.whiteouts,
            "opaque_dirs": self.opaque_dirs,
            "created_by": h.created_by if h else None,
            "command": self.command,
            "created": h.created if h else None,
            "comment": h.comment if h else None,
        }


@dataclass(frozen=True)
class Summary:
    """Image-wide figures (``docs/metrics.md``).

    Attributes:
        size: content bytes stored in all layers
        stored_size: bytes of the layer blobs as stored in this file (uncompressed tars in a docker save)
        compressed_size: what a pull downloads (docs/metrics.md); None when a layer's is not known
        final_size: regular-file bytes visible in the final filesystem (hard links once)
        file_count: paths in the final filesystem, directories included
        layer_count: layers
        wasted_bytes: size - final_size: stored but not visible
        wasted_fraction: wasted_bytes / size, a fraction from 0 to 1 (0.0447 is 4.47 %; 0 when size is 0).
            ``wasted_percent``, its old name, still reads and is still taken as a keyword (deprecated). Every
            ratio of imgscope is a fraction, and so is dive's ``user_wasted_percent`` (named after dive's
            ``userWastedPercent``), in the library and in the JSON alike
        efficiency: final_size / size, a fraction (1 when size is 0)
        duplicate_bytes: bytes of same-content copies in the final filesystem
    """

    size: int
    stored_size: int
    compressed_size: int | None
    final_size: int
    file_count: int
    layer_count: int
    wasted_bytes: int
    wasted_fraction: float
    efficiency: float
    duplicate_bytes: int

    @property
    def wasted_percent(self) -> float:
        """Deprecated: the same fraction as ``wasted_fraction`` (0.0447 is 4.47 %), under its old, misleading name."""
        warnings.warn(
            "Summary.wasted_percent is deprecated: it holds a fraction, now named Summary.wasted_fraction",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.wasted_fraction

    def to_dict(self) -> dict[str, Any]:
        """The figures as in the JSON document (``summary``)."""
        return {
            "size": self.size,
            "stored_size": self.stored_size,
            "compressed_size": self.compressed_size,
            "final_size": self.final_size,
            "file_count": self.file_count,
            "layer_count": self.layer_count,
            "wasted_bytes": self.wasted_bytes,
            "wasted_fraction": self.wasted_fraction,
            "efficiency": self.efficiency,
            "duplicate_bytes": self.duplicate_bytes,
        }


_summary_fields_init = Summary.__init__


@functools.wraps(_summary_fields_init)  # its signature and help stay the dataclass's own
def _summary_init(self: Summary, *args: Any, **kwargs: Any) -> None:
    """``Summary``'s own ``__init__``, which also takes the old keyword ``wasted_percent`` (deprecated) for
    ``wasted_fraction``, as the attribute still reads under it."""
    if "wasted_percent" in kwargs:
        if "wasted_fraction" in kwargs:
            raise TypeError("Summary() got both wasted_fraction and wasted_percent, its deprecated name")
        warnings.warn(
            "Summary(wasted_percent=...) is deprecated: it holds a fraction, now named wasted_fraction",
            DeprecationWarning,
            stacklevel=2,
        )
        kwargs["wasted_fraction"] = kwargs.pop("wasted_percent")
    _summary_fields_init(self, *args, **kwargs)


Summary.__init__ = _summary_init  # type: ignore[method-assign]


@dataclass(frozen=True, repr=False)  # repr: one line, from the display registry
class Analysis(Displayable):
    """Everything imgscope knows about one image. ``to_dict()`` gives the JSON document.

    Attributes:
        image: the image analysed
        layers: one report per layer, bottom first
        summary: the image-wide figures
        wasted_files: every stored copy the final filesystem does not show, largest first
        largest_files: the largest regular files of the final filesystem (``top`` of them)
        duplicates: same-content files of the final filesystem, most wasted bytes first
        dive: dive 0.13.1's figures for the image
        files: every path of the final filesystem, in walk order (depth first, names sorted); from ``analyze`` a
            compact ``FileTable`` (each ``FileRecord`` made when read)
        verified: True when every layer was checked against its digests
        sniffed: files whose first bytes look like a secret (imgscope.analysis.sniff)
    """

    image: Image
    layers: tuple[LayerReport, ...]
    summary: Summary
    wasted_files: tuple[WastedFile, ...]
    largest_files: tuple[FileRecord, ...]
    duplicates: tuple[DuplicateGroup, ...]
    dive: DiveFigures
    files: Sequence[FileRecord] = field(repr=False)
    verified: bool = True
    sniffed: tuple[SniffedFile, ...] = ()

    @property
    def history(self) -> tuple[HistoryEntry, ...]:
        return self.image.history

    def to_dict(self) -> dict[str, Any]:
        """The JSON document described in ``docs/json.md`` (``schema_version`` ``SCHEMA_VERSION``)."""
        img = self.image
        return {
            "schema_version": SCHEMA_VERSION,
            "image": {
                "source": img.source,
                "format": str(img.format),
                "name": img.name,
                "tags": list(img.tags),
                "digest": img.digest,
                "config_digest": img.config_digest,
                "platform": str(img.platform) if img.platform else None,
                "created": img.created,
                "notes": list(img.notes),
                "verified": self.verified,
            },
            "layers": [r.to_dict() for r in self.layers],
            "history": [h.to_dict() for h in img.history],
            "summary": self.summary.to_dict(),
            "dive": self.dive.to_dict(),
            "wasted_files": [w.to_dict() for w in self.wasted_files],
            "largest_files": [f.to_dict() for f in self.largest_files],
            "duplicates": [g.to_dict() for g in self.duplicates],
        }

    def layer_records(self) -> list[dict[str, Any]]:
        """One plain dict per layer, ready for ``pandas.DataFrame``."""
        return [r.to_dict() for r in self.layers]

    def file_records(self) -> list[dict[str, Any]]:
        """One plain dict per path of the final filesystem (for ``pandas.DataFrame``): the ``largest_files[]``
        fields and ``digest``, ``sha256:`` and the hex of a regular file's content (None for other types)."""
        return [{**f.to_dict(), "digest": f"sha256:{f.digest}" if f.digest else None} for f in self.files]

    def tree(self, layer: int | None = None, *, changes: bool = False) -> TreeNode:
        """The file tree after ``layer`` (default: the last; negative counts from the end), or with ``changes``
        only what that layer added, modified and removed (``imgscope.union.tree``)."""
        steps = [r.changes for r in self.layers]
        if changes:
            return layer_changes_tree(steps, self.files, layer)
        return tree_after(steps, self.files, layer)
