"""The union filesystem: apply layers in order with the OCI whiteout rules, and record what each changed.

This module knows nothing of image formats: it takes each layer as a sequence of
``TarEntry`` in tar order. The rules (OCI image-spec, "Representing Changes"):

* ``DIR/.wh.NAME`` removes ``DIR/NAME`` and everything below it, from lower layers only.
* ``DIR/.wh..wh..opq`` hides every lower child of ``DIR``; it applies before the same
  layer's own entries, wherever it stands in the tar.
* A whiteout never hides what its own layer wrote, and markers never appear in the result.
* Other ``.wh..wh.*`` names are aufs bookkeeping and are ignored.

Content is tracked per *stored copy*: each regular file written by a layer is one
record holding its bytes. Hard links point at their target's record, so shared
bytes count once. A record nothing in the tree refers to any more is wasted.

The tree is stored by column, not as an object per path: each path is a *row* of machine arrays (parent row,
name as an index into one table of strings, type, size, layer, an index into the distinct mode/uid/gid triples,
link target, record), and a directory's children are found through one open-addressing hash table of
(parent row, name) in two arrays. Rows are only appended: a path written again gets a new row, a removed one is
marked dead, so a row's path never changes and the rows double as the path table the layers' ``ChangeList``s
read their paths from (``PathTable``). A path costs about 65 bytes in the tree, where a ``Node`` object, its
slot in a dict per directory and its path string cost about 210.
"""

from __future__ import annotations

import enum
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, MutableSequence, Sequence
from dataclasses import dataclass
from itertools import compress
from typing import Any, NamedTuple, overload

from imgscope.errors import CorruptLayerError
from imgscope.model import EntryType, MadeOnRead, TarEntries, TarEntry

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
AUFS_META_PREFIX = ".wh..wh."
MAX_SYMLINK_HOPS = 40  # as Linux's path resolution

_DIR = EntryType.DIR
_FILE = EntryType.FILE
_SYMLINK = EntryType.SYMLINK


class ChangeTotals(NamedTuple):
    """A layer's changes counted: paths and bytes per kind, and the metadata-only rewrites."""

    counts: dict[ChangeKind, int]
    sizes: dict[ChangeKind, int]
    metadata_only: int
    metadata_only_bytes: int


class ChangeKind(str, enum.Enum):
    """How a layer changed a path, compared with the filesystem below it."""

    ADDED = "added"
    MODIFIED = "modified"
    REMOVED = "removed"


class WasteReason(str, enum.Enum):
    """Why a stored copy of a file is not visible in the final filesystem."""

    OVERWRITTEN = "overwritten"  # replaced by other content (or its parent directory was)
    METADATA_ONLY = "metadata-only"  # replaced by the same bytes with another mode or owner
    IDENTICAL = "identical-copy"  # replaced by the same bytes with the same metadata
    DELETED = "deleted"  # removed by a whiteout (.wh.NAME)
    OPAQUE = "opaque"  # hidden by an opaque directory marker (.wh..wh..opq)


@dataclass(frozen=True, slots=True)
class FileChange:
    """One path a layer added, modified or removed. ``size`` is the regular file's bytes.

    Attributes:
        path: ``/``-rooted path
        kind: added, modified or removed
        type: the entry's type (for a removal: the type it had)
        size: bytes of a regular file (for a removal: the bytes it had)
        metadata_only: True for a file written again with the same content (mode or owner changed)
        mode: permission bits after the change (for a removal: the ones it had); None when not known
        uid: owner's user id, as ``mode``
        gid: owner's group id, as ``mode``
    """

    path: str
    kind: ChangeKind
    type: EntryType
    size: int
    metadata_only: bool = False
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None


_KINDS = tuple(ChangeKind)
_TYPES = tuple(EntryType)
_KIND_CODE = {k: i for i, k in enumerate(_KINDS)}
_TYPE_CODE = {t: i << 2 for i, t in enumerate(_TYPES)}
_META = 1 << 5


IntColumn = Sequence[int | None]


def int_column(values: list[int | None]) -> IntColumn:
    """``values`` as a machine array: 4 bytes a value (``I``), 8 when one needs it (``q``); a list only when one
    is unknown (None) or larger still (a PAX uid)."""
    for code in ("I", "q"):
        try:
            return array(code, values)  # type: ignore[type-var]
        except (OverflowError, TypeError):
            continue
    return values


class PathTable:
    """Paths as rows: each row its parent row and its name (an index into one table of strings); row 0 is the
    root. The union filesystem appends a row for every path it writes and never changes one, so a row names the
    same path for as long as the table lives; what a layer changed is kept as rows (``PathTable.Paths``)."""

    __slots__ = ("names", "parents", "strings")

    def __init__(self) -> None:
        self.parents: MutableSequence[int] = array("I", [0])
        self.names: MutableSequence[int] = array("I", [0])
        self.strings: list[str] = [""]

    def path_of(self, row: int) -> str:
        """The path of ``row``, without a leading ``/`` (the root: ``""``)."""
        parents, names, strings = self.parents, self.names, self.strings
        parts = []
        while row:
            parts.append(strings[names[row]])
            row = parents[row]
        parts.reverse()
        return "/".join(parts)

    class Paths(Sequence[str]):
        """The paths of some rows of a table (without a leading ``/``), each made when read."""

        __slots__ = ("_last", "_rows", "_table")

        def __init__(self, table: PathTable, rows: Sequence[int]) -> None:
            self._table = table
            self._rows = rows
            self._last: tuple[int, str] = (0, "")  # the last directory read, and its path

        def __len__(self) -> int:
            return len(self._rows)

        @overload
        def __getitem__(self, i: int) -> str: ...
        @overload
        def __getitem__(self, i: slice) -> Sequence[str]: ...
        def __getitem__(self, i: int | slice) -> str | Sequence[str]:
            if isinstance(i, slice):
                return [self[j] for j in range(*i.indices(len(self)))]
            table = self._table
            row = self._rows[i]
            parent = table.parents[row]
            name = table.strings[table.names[row]]
            if not parent:
                return name
            last, prefix = self._last
            if parent != last:  # a layer's changes come directory by directory: one walk up per directory
                prefix = table.path_of(parent)
                self._last = (parent, prefix)
            return f"{prefix}/{name}"

        def __eq__(self, other: object) -> bool:
            if isinstance(other, Sequence):
                return list(self) == list(other)
            return NotImplemented

        __hash__ = None  # type: ignore[assignment]

        def __reduce__(self) -> tuple[Any, ...]:
            return (PathTable.Paths, (self._table, self._rows))


class ChangeList(MadeOnRead[FileChange]):
    """A layer's changes, stored compactly; each ``FileChange`` is made when it is read.

    A large layer changes hundreds of thousands of paths, and one object per change plus its own ``/``-rooted
    path string cost about 190 bytes each. Here a change costs a byte of kind/type code, its path (from the
    union filesystem: the row of ``PathTable`` it names, 4 bytes; the path, without its leading ``/``, is made
    when read), its size (8 bytes) and 12 bytes of mode, uid and gid in machine arrays (``int_column``). Reads
    as an immutable sequence; compares equal to a tuple of the same changes.
    """

    _item_name = "change"

    __slots__ = ("_codes", "_gids", "_modes", "_paths", "_sizes", "_uids")

    def __init__(
        self,
        paths: Sequence[str],
        codes: bytes,
        sizes: Sequence[int],
        modes: IntColumn | None = None,
        uids: IntColumn | None = None,
        gids: IntColumn | None = None,
    ) -> None:
        """``paths``: without their leading ``/`` (a list, or a ``PathTable.Paths``); ``modes``, ``uids``,
        ``gids``: one per change (None: none known)."""
        self._paths = paths
        self._codes = codes
        self._sizes = sizes
        unknown: list[int | None] = [None] * len(codes)
        self._modes = unknown if modes is None else modes
        self._uids = unknown if uids is None else uids
        self._gids = unknown if gids is None else gids

    @classmethod
    def of(cls, changes: Sequence[FileChange]) -> ChangeList:
        """The compact form of ``changes`` (paths ``/``-rooted, as in ``FileChange``)."""
        return cls(
            [c.path[1:] if c.path.startswith("/") else c.path for c in changes],
            bytes(_code(c.kind, c.type, c.metadata_only) for c in changes),
            [c.size for c in changes],
            int_column([c.mode for c in changes]),
            int_column([c.uid for c in changes]),
            int_column([c.gid for c in changes]),
        )

    def __len__(self) -> int:
        return len(self._codes)

    def _make(self, i: int) -> FileChange:
        code = self._codes[i]
        return FileChange(
            "/" + self._paths[i],
            _KINDS[code & 3],
            _TYPES[(code >> 2) & 7],
            self._sizes[i],
            bool(code & _META),
            self._modes[i],
            self._uids[i],
            self._gids[i],
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ChangeList):
            return self._codes == other._codes and all(
                list(a) == list(b)
                for a, b in (
                    (self._paths, other._paths),
                    (self._sizes, other._sizes),
                    (self._modes, other._modes),
                    (self._uids, other._uids),
                    (self._gids, other._gids),
                )
            )
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"ChangeList({list(self)!r})"

    def totals(self) -> ChangeTotals:
        """Count and bytes per kind, and count and bytes of the metadata-only changes, without making objects."""
        counts = dict.fromkeys(_KINDS, 0)
        sizes = dict.fromkeys(_KINDS, 0)
        meta = meta_bytes = 0
        codes = bytes(self._codes)
        if len(self._sizes) != len(codes):
            raise ValueError("a change list's sizes and codes differ in length")
        for code in sorted(set(codes)):  # a few distinct codes: each counted and summed over the columns at once
            count = codes.count(code)
            size = sum(compress(self._sizes, codes.translate(_one_of(code))))
            kind = _KINDS[code & 3]
            counts[kind] += count
            sizes[kind] += size
            if code & _META:
                meta += count
                meta_bytes += size
        return ChangeTotals(counts, sizes, meta, meta_bytes)


def _one_of(code: int) -> bytes:
    """A ``bytes.translate`` table mapping ``code`` to 1 and every other byte to 0."""
    table = bytearray(256)
    table[code] = 1
    return bytes(table)


def _code(kind: ChangeKind, type: EntryType, metadata_only: bool = False) -> int:
    return _KIND_CODE[kind] | _TYPE_CODE[type] | (_META if metadata_only else 0)


@dataclass(frozen=True, slots=True)
class WastedFile:
    """A stored copy of a file that the final filesystem does not show.

    Attributes:
        path: the path of the hidden copy
        size: its bytes
        layer: the layer that stored it
        hidden_by: the layer that hid it
        reason: how it was hidden (removed, overwritten, metadata-only, identical)
    """

    path: str
    size: int
    layer: int
    hidden_by: int
    reason: WasteReason

    def to_dict(self) -> dict[str, Any]:
        """The copy as in the analysis JSON document (``wasted_files[]``)."""
        return {
            "path": self.path,
            "size": self.size,
            "layer": self.layer,
            "hidden_by": self.hidden_by,
            "reason": self.reason.value,
        }


@dataclass(frozen=True)
class LayerChanges:
    """What one layer did to the filesystem below it."""

    index: int
    changes: ChangeList
    whiteouts: int
    opaque_dirs: int
    stored_bytes: int  # regular-file bytes this layer stores (each copy, a path written twice included)


@dataclass(frozen=True, slots=True)
class Node:
    """A path of the tree as read (``FileSystem.lookup``, ``FileSystem.walk``): made when read, not stored.

    ``record`` is the stored copy a regular file (or a hard link to one) shows, -1 for other types.
    """

    type: EntryType
    size: int
    mode: int
    uid: int
    gid: int
    link_target: str
    digest: bytes | None
    layer: int
    record: int = -1


_TYPE_OF = tuple(EntryType)  # a row's type code is its type's position here (as ``model.TarEntries`` codes it)
_CODE_OF = {t: i for i, t in enumerate(_TYPE_OF)}
_C_FILE = _CODE_OF[_FILE]
_C_DIR = _CODE_OF[_DIR]
_C_SYMLINK = _CODE_OF[_SYMLINK]
_C_HARDLINK = _CODE_OF[EntryType.HARDLINK]

# A row's state: in the tree; removed (or replaced); made ahead for a path this layer is about to write.
_DEAD, _ALIVE, _PENDING = 0, 1, 2
# The ways ``FileSystem._write_all`` writes a member: ``_write``'s own; a path where the tree has none; a path
# the first pass made a row ahead for; a row in the tree (not a directory, nor a symlink) written again; a
# directory in the tree written again as a directory.
_GENERAL, _NEW, _MADE_AHEAD, _REPLACE, _DIR_AGAIN = 0, 1, 2, 3, 4
_NOT_NAMES = frozenset(("", ".", ".."))  # a member named so is no directory's own name: not cached as one
_MIX = 0x9E3779B97F4A7C15  # Fibonacci hashing: the high bits of key * _MIX spread (parent, name) pairs


class _Index:
    """(parent row, name) -> row: open addressing with linear probing in two machine arrays, about 25 bytes a
    path (a dict of int keys costs about 105). Entries are never deleted: a key's row is replaced when the path
    is written again, and a removed row stays as the key's (dead) row."""

    __slots__ = ("keys", "mask", "rows", "used")

    def __init__(self, capacity: int = 1024) -> None:
        self.keys: MutableSequence[int] = array("Q", bytes(8 * capacity))  # (parent << 32 | name) + 1; 0: empty
        self.rows: MutableSequence[int] = array("I", bytes(4 * capacity))
        self.mask = capacity - 1
        self.used = 0

    def get(self, parent: int, name: int) -> int:
        """The row of ``name`` in directory ``parent``, or -1."""
        key = (parent << 32 | name) + 1
        keys, mask = self.keys, self.mask
        h = ((key * _MIX) >> 32) & mask
        while True:
            k = keys[h]
            if k == key:
                return self.rows[h]
            if not k:
                return -1
            h = (h + 1) & mask

    def put(self, parent: int, name: int, row: int) -> None:
        """Make ``row`` the row of ``name`` in directory ``parent``."""
        key = (parent << 32 | name) + 1
        keys, mask = self.keys, self.mask
        h = ((key * _MIX) >> 32) & mask
        while True:
            k = keys[h]
            if k == key:
                self.rows[h] = row
                return
            if not k:
                break
            h = (h + 1) & mask
        keys[h] = key
        self.rows[h] = row
        self.used += 1
        if self.used * 3 > mask * 2:
            self._grow()

    def reserve(self, count: int) -> None:
        """Room for ``count`` more entries without growing on the way (one rehash instead of several)."""
        capacity = self.mask + 1
        while (self.used + count) * 3 > (capacity - 1) * 2:
            capacity *= 2
        if capacity > self.mask + 1:
            self._grow(capacity)

    def _grow(self, capacity: int = 0) -> None:
        old_keys, old_rows = self.keys, self.rows
        capacity = capacity or (self.mask + 1) * 2
        self.keys = keys = array("Q", bytes(8 * capacity))
        self.rows = rows = array("I", bytes(4 * capacity))
        self.mask = mask = capacity - 1
        for key, row in compress(zip(old_keys, old_rows, strict=True), old_keys):  # the used slots only
            h = ((key * _MIX) >> 32) & mask
            while keys[h]:
                h = (h + 1) & mask
            keys[h] = key
            rows[h] = row


class _LayerState:
    """Book-keeping while one layer is applied, by row and by *slot* (a path this layer wrote, or found below
    it while reading its members; numbered as first met, which is the order of its changes)."""

    def __init__(self, index: int, rows: int) -> None:
        self.index = index
        self.first_row = rows  # rows from here on are this layer's
        self.slot_of = array("i", [-1]) * rows  # row -> its path's slot (-1: none)
        self.removed = bytearray(rows)  # row -> 1 when this layer removed it
        self.lower: MutableSequence[int] = array("i")  # slot -> the row at that path below this layer (-1: none)
        self.now: MutableSequence[int] = array("i")  # slot -> the row this layer last put there
        self.old_meta: dict[int, int] = {}  # lower directories written again in place -> their mode/owner index
        self.removed_only: MutableSequence[int] = array("I")  # lower rows removed while no slot named them
        self.alias: dict[int, int] = {}  # a row made where this layer removed one -> the removed row
        # Records whose last reference went: (record, the row that held it, reason).
        self.pending: list[tuple[int, int, WasteReason]] = []
        self.stored = 0  # bytes of the regular files this layer stores

    def new_slot(self, lower: int, now: int) -> int:
        self.lower.append(lower)
        self.now.append(now)
        return len(self.now) - 1


class FileSystem:
    """The union filesystem, built layer by layer with ``apply_layer``."""

    def __init__(self) -> None:
        #: The paths of every row (the parent and name columns); the layers' ``ChangeList``s read theirs here.
        self.paths = PathTable()
        self._parent = self.paths.parents
        self._name = self.paths.names
        self._strings = self.paths.strings
        self._string_ix: dict[str, int] = {"": 0}
        self._metas: list[tuple[int, int, int]] = []  # distinct (mode, uid, gid)
        self._meta_ix: dict[tuple[int, int, int], int] = {}
        # The other columns of a row (row 0: the root).
        self._type = bytearray([_C_DIR])
        self._size: MutableSequence[int] = array("Q", [0])
        self._layer: MutableSequence[int] = array("i", [-1])
        self._meta: MutableSequence[int] = array("I", [self._meta_of(0o755, 0, 0)])
        self._link: MutableSequence[int] = array("I", [0])
        self._record: MutableSequence[int] = array("i", [-1])
        self._order: MutableSequence[int] = array("I", [0])  # when the name took its place in its directory
        # Each directory's rows, newest first (dead ones too): a directory's children are listed without a pass
        # over every row (a layer that replaces many directories would make that quadratic).
        self._first_child: MutableSequence[int] = array("i", [-1])
        self._next_sibling: MutableSequence[int] = array("i", [-1])
        self._state = bytearray([_ALIVE])
        self._next_order = 1
        self._index = _Index()
        # Stored copies of regular files: the row that wrote each, references left, where its digest is.
        self._rec_row: MutableSequence[int] = array("I")
        self._rec_refs: MutableSequence[int] = array("I")
        self._rec_digest: MutableSequence[int] = array("i")  # offset / 32 in _digests; -1: none
        self._digests = bytearray()
        self._empty_digest: tuple[bytes, int] | None = None  # empty files share one digest: stored once
        self.wasted: list[WastedFile] = []
        self.layers_applied = 0
        # Directory path as written -> its row; valid until a directory or symlink is removed.
        self._dir_cache: dict[str, int] = {}
        self._dir_hops: dict[str, int] = {}  # of those, the ones reached through symlinks: how many

    # -- rows ------------------------------------------------------------------

    def _meta_of(self, mode: int, uid: int, gid: int) -> int:
        key = (mode, uid, gid)
        found = self._meta_ix.get(key)
        if found is None:
            found = self._meta_ix[key] = len(self._metas)
            self._metas.append(key)
        return found

    def _string(self, text: str) -> int:
        found = self._string_ix.get(text)
        if found is None:
            found = self._string_ix[text] = len(self._strings)
            self._strings.append(text)
        return found

    def _new_row(self, parent: int, name: int, state: _LayerState) -> int:
        """A pending row for ``name`` in ``parent`` (its columns set by ``_set_row``)."""
        row = len(self._type)
        self._parent.append(parent)
        self._name.append(name)
        self._type.append(_C_FILE)
        self._size.append(0)
        self._layer.append(state.index)
        self._meta.append(0)
        self._link.append(0)
        self._record.append(-1)
        self._order.append(0)
        self._link_child(parent, row)
        self._state.append(_PENDING)
        state.slot_of.append(-1)
        state.removed.append(0)
        return row

    def _link_child(self, parent: int, row: int) -> None:
        self._next_sibling.append(self._first_child[parent])
        self._first_child.append(-1)
        self._first_child[parent] = row

    def _append_row(
        self, parent: int, name: int, code: int, size: int, meta: int, link: int, record: int, state: _LayerState
    ) -> int:
        """A new row in the tree for ``name`` in ``parent`` (its place in the directory is set by the caller)."""
        row = len(self._type)
        try:
            self._size.append(size)
        except OverflowError:  # a size no machine int holds: the column becomes a list
            self._size = [*self._size, size]
        self._parent.append(parent)
        self._name.append(name)
        self._type.append(code)
        self._layer.append(state.index)
        self._meta.append(meta)
        self._link.append(link)
        self._record.append(record)
        self._order.append(0)
        self._link_child(parent, row)
        self._state.append(_ALIVE)
        state.slot_of.append(-1)
        state.removed.append(0)
        return row

    def _set_row(self, row: int, code: int, size: int, meta: int, link: int, record: int, layer: int) -> None:
        self._type[row] = code
        try:
            self._size[row] = size
        except OverflowError:  # a size no machine int holds: the column becomes a list
            self._size = list(self._size)
            self._size[row] = size
        self._meta[row] = meta
        self._link[row] = link
        self._record[row] = record
        self._layer[row] = layer
        self._state[row] = _ALIVE

    def _digest(self, record: int) -> bytes | None:
        at = self._rec_digest[record] if record >= 0 else -1
        return None if at < 0 else bytes(self._digests[32 * at : 32 * at + 32])

    def _same_content(self, a: int, b: int) -> bool:
        """True when rows ``a`` and ``b`` have the same size and digest."""
        if self._size[a] != self._size[b]:
            return False
        ra, rb = self._record[a], self._record[b]
        return ra == rb or self._digest(ra) == self._digest(rb)

    def _node(self, row: int) -> Node:
        mode, uid, gid = self._metas[self._meta[row]]
        record = self._record[row]
        return Node(
            _TYPE_OF[self._type[row]],
            self._size[row],
            mode,
            uid,
            gid,
            self._strings[self._link[row]],
            self._digest(record),
            self._layer[row],
            record,
        )

    def _child(self, parent: int, name: str) -> int:
        """The row in the tree named ``name`` in directory ``parent``, or -1."""
        at = self._string_ix.get(name)
        if at is None:
            return -1
        row = self._index.get(parent, at)
        return row if row >= 0 and self._state[row] == _ALIVE else -1

    # -- lookups -------------------------------------------------------------

    def lookup(self, path: str) -> Node | None:
        """The node at ``path`` (relative, as in ``TarEntry.path``), following no symlink."""
        row = self._lookup_row(path)
        return None if row < 0 else self._node(row)

    def _lookup_row(self, path: str) -> int:
        row = 0
        if not path:
            return row
        for part in path.split("/"):
            if self._type[row] != _C_DIR:
                return -1
            row = self._child(row, part)
            if row < 0:
                return -1
        return row

    def _resolve_dir(self, dirpath: str, where: str, create: bool, state: _LayerState | None) -> int:
        """The row of the directory named by ``dirpath`` (as a member name gives it), or -1. Resolved from its
        parent's row when that is known (members come directory by directory), else from the root."""
        found = self._dir_cache.get(dirpath)
        if found is None:
            head, _, last = dirpath.rpartition("/")
            start = self._dir_cache.get(head) if head else None
            if start is None:
                found, hops = self._resolve_parts(
                    dirpath.split("/") if dirpath else [], 0, 0, dirpath, where, create, state
                )
            else:
                found, hops = self._resolve_parts(
                    [last], start, self._dir_hops.get(head, 0), dirpath, where, create, state
                )
            if found >= 0:
                self._dir_cache[dirpath] = found
                if hops:
                    self._dir_hops[dirpath] = hops
        return found

    def _forget_dirs(self) -> None:
        self._dir_cache.clear()
        self._dir_hops.clear()

    def _resolve_parts(
        self,
        parts: Sequence[str],
        node: int,
        hops: int,
        dirpath: str,
        where: str,
        create: bool,
        state: _LayerState | None,
    ) -> tuple[int, int]:
        """The row of the directory named by ``parts`` from directory ``node``, and the symlinks followed from the
        root (``hops`` of them before ``node``).

        Symlinks met on the way are followed *inside* the image (``..`` stops at the
        root, absolute targets start again from it), as an extracting runtime does;
        missing directories are created when ``create`` is set. A loop of symlinks,
        or a non-directory on the way, is an error when creating and -1 otherwise.
        """
        todo = list(reversed(parts))
        types, parents = self._type, self._parent
        while todo:
            name = todo.pop()
            if name in ("", "."):
                continue
            if name == "..":
                node = parents[node]  # a row's parent is its real directory; the root's is itself
                continue
            child = self._child(node, name)
            if child < 0:
                if not create:
                    return -1, hops
                assert state is not None
                child = self._put(node, self._string(name), _C_DIR, 0, self._meta_of(0o755, 0, 0), 0, -1, state)
            elif types[child] == _C_SYMLINK:
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    if not create:
                        return -1, hops
                    raise CorruptLayerError(where, f"too many levels of symbolic links resolving {dirpath!r}")
                target = self._strings[self._link[child]]
                if target.startswith("/"):
                    node = 0
                todo.extend(reversed(target.split("/")))
                continue
            elif types[child] != _C_DIR:
                if not create:
                    return -1, hops
                above = self.paths.path_of(node)
                raise CorruptLayerError(
                    where,
                    f"{_join(above, name)!r} is not a directory but the layer writes below it",
                )
            node = child
        return node, hops

    # -- applying a layer ----------------------------------------------------

    def _slot(self, hit: int, parent: int, name: int, state: _LayerState) -> tuple[int, int]:
        """The slot of the path ``name`` in ``parent`` (``hit``: its row in the index, or -1), made if this layer
        has none for it yet: then what was there below this layer is what this layer removed there, if anything
        (a path below a directory this layer removed and made again is found through ``alias``). With the row
        last at that path (-1: none)."""
        row = hit
        alias = state.alias
        while row < 0 and parent in alias:
            parent = alias[parent]
            row = self._index.get(parent, name)
        if row >= 0:
            slot = state.slot_of[row]
            if slot < 0:
                lower = row if row < state.first_row and state.removed[row] else -1
                slot = state.slot_of[row] = state.new_slot(lower, row if self._state[row] == _ALIVE else -1)
            return slot, row
        return state.new_slot(-1, -1), -1

    def _alias(self, row: int, previous: int, state: _LayerState) -> None:
        """``row`` takes the place of ``previous``: the paths below a directory this layer removed there are
        found through it (a chain kept through the rows between, not for every file written again)."""
        if previous >= 0 and (self._type[previous] == _C_DIR or previous in state.alias):
            state.alias[row] = previous

    def _put(
        self, parent: int, name: int, code: int, size: int, meta: int, link: int, record: int, state: _LayerState
    ) -> int:
        """Write a row for ``name`` in ``parent`` where the tree has none (a row made ahead for it is used)."""
        hit = self._index.get(parent, name)
        slot, previous = self._slot(hit, parent, name, state)
        if hit >= 0 and self._state[hit] == _PENDING and hit >= state.first_row:
            row = hit
            self._set_row(row, code, size, meta, link, record, state.index)
        else:
            row = self._append_row(parent, name, code, size, meta, link, record, state)
            if previous >= 0 and (state.removed[previous] or self._state[previous] == _PENDING):
                self._alias(row, previous, state)
            self._index.put(parent, name, row)
        self._order[row] = self._next_order
        self._next_order += 1
        state.slot_of[row] = slot
        state.now[slot] = row
        return row

    def apply_layer(self, entries: Sequence[TarEntry], where: str = "layer") -> LayerChanges:
        """Apply one layer's entries on top of the tree; return what it changed.

        ``where`` names the layer in error messages.
        """
        members = entries if isinstance(entries, TarEntries) else TarEntries(entries)
        strings, dirs, names, *_ = members.live_columns()
        state = _LayerState(self.layers_applied, len(self._type))
        opaque: list[str] = []
        whiteouts: list[tuple[str, str]] = []
        to_sort: Sequence[int] = names
        if "\0" + WHITEOUT_PREFIX not in "\0" + "\0".join(strings):  # no name starts with ".wh.": no marker
            writes = array("I", range(len(names)))
            to_sort = ()  # nothing for the loop below to sort out
        else:
            writes = array("I")
        for i, name_at in enumerate(to_sort):
            base = strings[name_at]
            parent = strings[dirs[i]]
            if (parent or base).startswith(AUFS_META_PREFIX) and (parent or base != OPAQUE_MARKER):
                continue  # aufs bookkeeping (.wh..wh.plnk/...), skipped as Docker skips it
            if base.startswith(WHITEOUT_PREFIX):
                if base == OPAQUE_MARKER:
                    opaque.append(parent)
                elif not base.startswith(AUFS_META_PREFIX):
                    whiteouts.append((parent, base[len(WHITEOUT_PREFIX) :]))
            else:
                writes.append(i)

        # The paths written, as they stand below this layer, before any of this layer's removals: each gets its
        # slot (the order of the changes), and a path not there yet a row made ahead.
        index, slot_of, state_of, cache = self._index, state.slot_of, self._state, self._dir_cache
        name_of = array("i", [-1]) * len(strings)  # the members' string -> the tree's (interned once)
        missing: set[str] = set()  # directories not there below this layer (nothing is removed in this pass)
        first_row, lower, now, alive = state.first_row, state.lower, state.now, _ALIVE
        row_type, dir_hops, types = self._type, self._dir_hops, members.live_columns()[4]
        for i in writes:
            dirpath = strings[dirs[i]]
            parent_row = cache.get(dirpath)
            if parent_row is None:
                if dirpath in missing:
                    continue
                # A directory below one that is not there is not there either (resolving it would walk from the
                # root again).
                head = dirpath.rpartition("/")[0]
                parent_row = -1 if head in missing else self._resolve_dir(dirpath, where, False, None)
                if parent_row < 0:
                    missing.add(dirpath)
                    continue
            at = names[i]
            name = name_of[at]
            if name < 0:
                name = name_of[at] = self._string(strings[at])
            hit = index.get(parent_row, name)
            if hit >= 0 and state_of[hit] == alive:
                if row_type[hit] == _C_DIR and types[i] == _C_DIR and strings[at] not in _NOT_NAMES:
                    path = f"{dirpath}/{strings[at]}" if dirpath else strings[at]  # resolved: cached
                    cache[path] = hit
                    if dirpath in dir_hops:
                        dir_hops[path] = dir_hops[dirpath]
                if slot_of[hit] < 0:
                    slot_of[hit] = len(now)
                    lower.append(hit)
                    now.append(hit)
            elif hit < 0 or hit < first_row:
                row = self._new_row(parent_row, name, state)
                index.put(parent_row, name, row)
                slot_of[row] = state.new_slot(-1, row)

        # Opaque markers first, then whiteouts: both act on lower layers only. The children of the directories
        # they may empty are listed in one pass over the rows, before any is removed.
        if opaque or whiteouts:
            emptied = [self._resolve_dir(dirpath, where, False, None) for dirpath in opaque]
            for parent, base in whiteouts:
                found = self._resolve_dir(parent, where, False, None)
                victim = self._child(found, base) if found >= 0 else -1
                if victim >= 0 and self._type[victim] == _C_DIR:
                    emptied.append(victim)
            kids = self._children_below([row for row in emptied if row >= 0])
            for dirpath in opaque:
                found = self._resolve_dir(dirpath, where, False, None)
                if found >= 0:
                    for child in self._kids(found, kids):
                        if state_of[child] == _ALIVE:
                            self._remove(child, WasteReason.OPAQUE, state, kids)
            for parent, base in whiteouts:
                found = self._resolve_dir(parent, where, False, None)
                victim = self._child(found, base) if found >= 0 else -1
                if victim >= 0:
                    self._remove(victim, WasteReason.DELETED, state, kids)

        del missing
        self._index.reserve(len(writes))  # at most one row a member: the index grows once, not by doubling
        self._write_all(members.live_columns(), writes, name_of, where, state)

        self.layers_applied += 1
        # The cache holds a string per directory the layer named; the next layer names others, mostly.
        self._forget_dirs()
        return self._finish_layer(state, len(whiteouts), len(opaque))

    def _write_all(
        self,
        columns: tuple[Any, ...],
        writes: Sequence[int],
        name_of: MutableSequence[int],
        where: str,
        state: _LayerState,
    ) -> None:
        """``_write`` each of the members ``writes``, in order. The four ways most members take are written out
        here, with every column and the index at hand, without a call per member: a path where the tree has
        none, in a directory no removed directory stands for (``_write``'s new slot, new row); a path the first
        pass made a row ahead for (``_put`` on that row); a file (not a directory, nor a symlink) written again
        (``_write``'s replacement: the old row removed, a new one in its place); a directory written again as a
        directory (its mode and owner changed in place). Any other member (a hard link, a symlink written again,
        a path below a directory this layer removed ...), or one whose size or digest is out of the ordinary,
        is ``_write``'s."""
        strings, dirs, names, links, types, sizes, modes, uids, gids, digests, ends = columns
        cache, alias, index, dir_hops = self._dir_cache, state.alias, self._index, self._dir_hops
        string_ix, meta_ix = self._string_ix, self._meta_ix
        keys, index_rows, mask = index.keys, index.rows, index.mask
        row_type, row_state, row_size, row_meta = self._type, self._state, self._size, self._meta
        row_link, row_record, row_layer, row_order = self._link, self._record, self._layer, self._order
        first_child, next_sibling = self._first_child, self._next_sibling
        parent_append, name_append, type_append = self._parent.append, self._name.append, self._type.append
        layer_append, meta_append, link_append = self._layer.append, self._meta.append, self._link.append
        record_append, order_append, state_append = self._record.append, self._order.append, self._state.append
        first_append, sibling_append = first_child.append, next_sibling.append
        slot_of, removed, lower, now = state.slot_of, state.removed, state.lower, state.now
        slot_append, removed_append, lower_append, now_append = slot_of.append, removed.append, lower.append, now.append
        rec_refs, rec_digest, rec_row, all_digests = self._rec_refs, self._rec_digest, self._rec_row, self._digests
        layer, first_row, stored = state.index, state.first_row, 0
        c_file, c_hardlink, c_dir, c_symlink = _C_FILE, _C_HARDLINK, _C_DIR, _C_SYMLINK
        mix, alive, pending, dead = _MIX, _ALIVE, _PENDING, _DEAD
        old_meta = state.old_meta
        overwritten = WasteReason.OVERWRITTEN
        for i in writes:
            code = types[i]
            end = ends[i]
            digest_len = end - ends[i - 1] if i else end
            dirpath = strings[dirs[i]]
            parent = cache.get(dirpath)
            if parent is None:
                parent = self._resolve_dir(dirpath, where, True, state)  # may make rows, grow the index
                keys, index_rows, mask, row_size = index.keys, index.rows, index.mask, self._size
            way = _GENERAL
            if code != c_hardlink and (digest_len == 0 or digest_len == 32):
                name_at = names[i]
                name = name_of[name_at]
                if name < 0:
                    name = name_of[name_at] = self._string(strings[name_at])
                key = (parent << 32 | name) + 1
                h = ((key * mix) >> 32) & mask
                while True:
                    k = keys[h]
                    if k == key or not k:
                        break
                    h = (h + 1) & mask
                if not k:
                    if parent not in alias:
                        way = _NEW
                else:
                    hit = index_rows[h]
                    hit_state = row_state[hit]
                    if hit_state == alive and slot_of[hit] >= 0:
                        if row_type[hit] == c_dir:
                            if code == c_dir:
                                way = _DIR_AGAIN
                        elif row_type[hit] != c_symlink and hit not in alias:
                            way = _REPLACE
                    elif hit_state == pending and hit >= first_row and slot_of[hit] >= 0:
                        way = _MADE_AHEAD
            size = sizes[i]
            if way == _MADE_AHEAD:  # the first pass gave it its slot
                if 0 <= size < 1 << 64:
                    row = hit
                    now[slot_of[row]] = row
                    row_size[row] = size
                else:
                    way = _GENERAL
            elif way in (_NEW, _REPLACE):
                try:
                    row_size.append(size)
                except OverflowError:  # _write makes the column a list
                    way = _GENERAL
                else:
                    row = len(row_type)
                    index_rows[h] = row
                    if way == _NEW:
                        keys[h] = key
                        index.used += 1
                        slot_append(len(now))
                        lower_append(-1)
                        now_append(row)
                    else:  # _REPLACE: the row written again (not a directory, nor a symlink) leaves the tree
                        slot = slot_of[hit]
                        row_state[hit] = dead
                        removed[hit] = 1
                        record = row_record[hit]
                        if record >= 0:
                            rec_refs[record] -= 1
                            if rec_refs[record] == 0:
                                state.pending.append((record, hit, overwritten))
                        slot_append(slot)
                        now[slot] = row
            if way == _GENERAL:
                state.stored += stored
                stored = 0
                self._write(columns, name_of, i, where, state)
                keys, index_rows, mask, row_size = index.keys, index.rows, index.mask, self._size
                continue
            meta = meta_ix.get((modes[i], uids[i], gids[i]), -1)
            if meta < 0:
                meta = self._meta_of(modes[i], uids[i], gids[i])
            if code == c_dir:  # its members' directory is this row: no resolving it when they come
                text = strings[names[i]]
                if text not in _NOT_NAMES:
                    path = f"{dirpath}/{text}" if dirpath else text
                    cache[path] = hit if way == _DIR_AGAIN else row
                    if dirpath in dir_hops:
                        dir_hops[path] = dir_hops[dirpath]
            if way == _DIR_AGAIN:  # a directory written again: its mode and owner, in place
                if hit < first_row and hit not in old_meta:
                    old_meta[hit] = row_meta[hit]
                row_meta[hit] = meta
                row_layer[hit] = layer
                now[slot_of[hit]] = hit
                continue
            link = links[i]
            if link:
                link = string_ix.get(strings[link], -1)
                if link < 0:
                    link = self._string(strings[links[i]])
            record = -1
            if code == c_file:
                record = len(rec_refs)
                rec_refs.append(1)
                if not digest_len:
                    rec_digest.append(-1)
                elif size:  # _keep_digest's own way for a file with content
                    rec_digest.append(len(all_digests) >> 5)
                    all_digests += digests[end - 32 : end]
                else:
                    rec_digest.append(self._keep_digest(digests, end - 32, end, 0))
                rec_row.append(row)
                stored += size
            if way == _MADE_AHEAD:
                row_type[row] = code
                row_meta[row] = meta
                row_link[row] = link
                row_record[row] = record
                row_layer[row] = layer
                row_state[row] = alive
                row_order[row] = self._next_order
                self._next_order += 1
                continue
            parent_append(parent)
            name_append(name)
            type_append(code)
            layer_append(layer)
            meta_append(meta)
            link_append(link)
            record_append(record)
            if way == _NEW:
                order_append(self._next_order)
                self._next_order += 1
            else:
                order_append(row_order[hit])  # in the place of the row it replaces
            sibling_append(first_child[parent])
            first_append(-1)
            first_child[parent] = row
            state_append(alive)
            removed_append(0)
            if index.used * 3 > mask * 2:
                index._grow()
                keys, index_rows, mask = index.keys, index.rows, index.mask
        state.stored += stored

    def _write(
        self, columns: tuple[Any, ...], name_of: MutableSequence[int], i: int, where: str, state: _LayerState
    ) -> None:
        strings, dirs, names, links, types, sizes, modes, uids, gids, digests, ends = columns
        dirpath = strings[dirs[i]]
        parent = self._dir_cache.get(dirpath)
        if parent is None:
            parent = self._resolve_dir(dirpath, where, True, state)
        at = names[i]
        name = name_of[at]
        if name < 0:
            name = name_of[at] = self._string(strings[at])
        hit = self._index.get(parent, name)
        existing = hit if hit >= 0 and self._state[hit] == _ALIVE else -1
        code = types[i]
        if code == _C_DIR and existing >= 0 and self._type[existing] == _C_DIR:
            slot = self._slot(hit, parent, name, state)[0]
            if existing < state.first_row and existing not in state.old_meta:
                state.old_meta[existing] = self._meta[existing]
            self._meta[existing] = self._meta_of(modes[i], uids[i], gids[i])
            self._layer[existing] = state.index
            state.now[slot] = existing
            return
        new_record = False
        if code == _C_HARDLINK:
            target = self._find_link_target(strings[links[i]], strings, dirs[i], names[i], where)
            if target == existing:
                self._slot(hit, parent, name, state)
                return  # a link to itself changes nothing
            code, size, meta = self._type[target], self._size[target], self._meta[target]
            link, record = self._link[target], self._record[target]
            if record >= 0:
                self._rec_refs[record] += 1
        else:
            size = sizes[i]
            meta = self._meta_of(modes[i], uids[i], gids[i])
            link = self._string(strings[links[i]]) if links[i] else 0
            record = -1
            if code == _C_FILE:
                new_record = True
                record = len(self._rec_refs)
                self._rec_refs.append(1)
                end = ends[i]
                start = ends[i - 1] if i else 0
                self._rec_digest.append(self._keep_digest(digests, start, end, size))
                state.stored += size
        if existing >= 0:
            # The new row takes the place of the one it replaces (as a dict keeps a key's place).
            slot = self._slot(hit, parent, name, state)[0]
            order = self._order[existing]
            self._remove(existing, WasteReason.OVERWRITTEN, state, {})
            row = self._append_row(parent, name, code, size, meta, link, record, state)
            self._alias(row, existing, state)
            self._index.put(parent, name, row)
            self._order[row] = order
            state.slot_of[row] = slot
            state.now[slot] = row
        elif hit < 0 and parent not in state.alias:  # a new path (most are): a new slot, a new row
            row = self._append_row(parent, name, code, size, meta, link, record, state)
            self._index.put(parent, name, row)
            self._order[row] = self._next_order
            self._next_order += 1
            state.lower.append(-1)
            state.now.append(row)
            state.slot_of[row] = len(state.now) - 1
        else:
            row = self._put(parent, name, code, size, meta, link, record, state)
        if new_record:
            self._rec_row.append(row)

    def _keep_digest(self, digests: bytearray, start: int, end: int, size: int) -> int:
        if end == start:
            return -1
        if end - start != 32:
            raise ValueError("a file's digest is its content's sha256: 32 bytes")
        digest = digests[start:end]
        if size == 0:  # empty files are many: their digest is kept once
            if self._empty_digest is None:
                self._empty_digest = (bytes(digest), len(self._digests) // 32)
            elif self._empty_digest[0] == digest:
                return self._empty_digest[1]
        self._digests += digest
        return len(self._digests) // 32 - 1

    def _find_link_target(self, link: str, strings: list[str], dir_at: int, name_at: int, where: str) -> int:
        parent, _, base = link.rpartition("/")
        found = self._resolve_dir(parent, where, False, None)
        target = self._child(found, base) if found >= 0 else -1
        if target < 0:
            path = _join(strings[dir_at], strings[name_at])
            raise CorruptLayerError(where, f"hard link {path!r} points to missing {link!r}")
        if self._type[target] == _C_DIR:
            path = _join(strings[dir_at], strings[name_at])
            raise CorruptLayerError(where, f"hard link {path!r} points to a directory ({link!r})")
        return target

    def _children_below(self, roots: Sequence[int]) -> dict[int, list[int]]:
        """Every directory at or below ``roots`` -> its children in the tree, in the order their names took
        their places (each directory's own rows only: the cost follows the rows ever made below ``roots``)."""
        kids: dict[int, list[int]] = {}
        state, types, order = self._state, self._type, self._order
        first, following = self._first_child, self._next_sibling
        stack = list(roots)
        while stack:
            directory = stack.pop()
            if directory in kids:
                continue
            found = []
            child = first[directory]
            while child >= 0:
                if state[child] == _ALIVE:
                    found.append(child)
                child = following[child]
            found.reverse()  # oldest row first, as the rows were made
            found.sort(key=order.__getitem__)
            kids[directory] = found
            stack.extend(child for child in found if types[child] == _C_DIR)
        return kids

    def _kids(self, row: int, kids: dict[int, list[int]]) -> list[int]:
        """The children of directory ``row`` as listed in ``kids`` (listed now if it is not there)."""
        found = kids.get(row)
        if found is None:
            kids.update(self._children_below([row]))
            found = kids[row]
        return found

    def _remove(self, row: int, reason: WasteReason, state: _LayerState, kids: dict[int, list[int]]) -> None:
        """Drop ``row`` and everything below it from the tree's accounting (``kids``: the children of the
        directories, as ``_children_below`` lists them; a directory not listed is listed when met)."""
        types = self._type
        if types[row] in (_C_DIR, _C_SYMLINK):
            self._forget_dirs()
        stack = [row]
        while stack:
            cur = stack.pop()
            if state.slot_of[cur] < 0:
                state.removed_only.append(cur)  # a lower path no slot names: listed as removed, in this order
            self._state[cur] = _DEAD
            state.removed[cur] = 1
            record = self._record[cur]
            if record >= 0:
                self._rec_refs[record] -= 1
                if self._rec_refs[record] == 0:
                    state.pending.append((record, cur, reason))
            if types[cur] == _C_DIR:
                stack.extend(child for child in self._kids(cur, kids) if self._state[child] == _ALIVE)

    def _row_now_at(self, row: int) -> int:
        """The row in the tree at the path of ``row`` (a removed row), or -1."""
        parent = self._parent[row]
        if self._state[parent] == _ALIVE:
            now = self._index.get(parent, self._name[row])
            return now if now >= 0 and self._state[now] == _ALIVE else -1
        return self._lookup_row(self.paths.path_of(row))

    def _finish_layer(self, state: _LayerState, whiteouts: int, opaque: int) -> LayerChanges:
        index = state.index
        types, sizes, metas, meta, layers = self._type, self._size, self._metas, self._meta, self._layer
        rec_row, parents, names, strings = self._rec_row, self._parent, self._name, self._strings
        prefixes: dict[int, str] = {0: ""}  # a directory row -> its "/"-rooted path (copies come by directory)
        for record, gone, reason in state.pending:
            now = self._row_now_at(gone)
            if now >= 0 and layers[now] == index:
                # The layer wrote this path again: say how the new copy differs.
                reason = WasteReason.OVERWRITTEN
                if types[now] == _C_FILE and types[gone] == _C_FILE and self._same_content(now, gone):
                    reason = WasteReason.IDENTICAL if meta[now] == meta[gone] else WasteReason.METADATA_ONLY
            at = rec_row[record]
            parent = parents[at]
            prefix = prefixes.get(parent)
            if prefix is None:
                prefix = prefixes[parent] = "/" + self.paths.path_of(parent)
            self.wasted.append(WastedFile(f"{prefix}/{strings[names[at]]}", sizes[at], layers[at], index, reason))
        del prefixes

        rows = array("I")
        codes = bytearray()
        metas_out = array("I")
        added, modified, removed = (
            _KIND_CODE[ChangeKind.ADDED],
            _KIND_CODE[ChangeKind.MODIFIED],
            _KIND_CODE[ChangeKind.REMOVED],
        )
        row_state, links, old_meta = self._state, self._link, state.old_meta
        slots: Iterable[tuple[int, int]] = zip(state.lower, state.now, strict=True)
        if not state.lower or max(state.lower) < 0:  # nothing was below any slot: every change is an addition
            rows.extend(now for now in state.now if now >= 0 and row_state[now] == _ALIVE)  # no list: 1M rows
            added_code = bytes(added | code << 2 for code in range(len(_TYPE_OF)))
            codes += bytes(map(added_code.__getitem__, map(types.__getitem__, rows)))
            metas_out.extend(map(meta.__getitem__, rows))
            slots = ()
        for lower, now in slots:
            if now >= 0 and row_state[now] != _ALIVE:
                now = -1
            if lower < 0:
                if now < 0:
                    continue
                code = added | types[now] << 2
                row, at = now, meta[now]
            elif now < 0:
                code = removed | types[lower] << 2
                row, at = lower, old_meta.get(lower, meta[lower])
            else:
                before_meta = old_meta.get(lower, meta[lower]) if old_meta else meta[lower]
                now_type, before_type, now_meta = types[now], types[lower], meta[now]
                if now == lower:
                    same_content = True
                elif now_type == before_type:
                    same_content = links[now] == links[lower] and self._same_content(now, lower)
                else:
                    same_content = False
                if now_meta == before_meta and (same_content or (now_type == _C_DIR and before_type == _C_DIR)):
                    continue
                metadata_only = False
                if now_type == _C_FILE and before_type == _C_FILE:  # a file's content compared once
                    metadata_only = same_content if links[now] == links[lower] else self._same_content(now, lower)
                code = modified | now_type << 2 | (_META if metadata_only else 0)
                row, at = now, now_meta
            rows.append(row)
            codes.append(code)
            metas_out.append(at)
        slot_of = state.slot_of
        for row in state.removed_only:
            if slot_of[row] >= 0:
                continue  # written again later: its change is the slot's
            rows.append(row)
            codes.append(removed | types[row] << 2)
            metas_out.append(meta[row])
        if row_state.find(_PENDING, state.first_row) >= 0:  # rows made ahead for a path not written after all
            for slot_row in state.now:
                if slot_row >= 0 and row_state[slot_row] == _PENDING:
                    row_state[slot_row] = _DEAD
        changes = ChangeList(
            PathTable.Paths(self.paths, rows),
            bytes(codes),
            _int_array("Q", lambda: map(sizes.__getitem__, rows)),
            _int_array("I", lambda: map([m[0] for m in metas].__getitem__, metas_out)),
            _int_array("I", lambda: map([m[1] for m in metas].__getitem__, metas_out)),
            _int_array("I", lambda: map([m[2] for m in metas].__getitem__, metas_out)),
        )
        return LayerChanges(index, changes, whiteouts, opaque, state.stored)

    # -- the result ------------------------------------------------------------

    def _sorted_children(self) -> tuple[MutableSequence[int], MutableSequence[int], MutableSequence[int]]:
        """The rows in the tree grouped by directory: (rows, each directory's first, each directory's count),
        each directory's children sorted by name. Counted, grouped and sorted by the interpreter's own loops
        (``Counter``, ``sorted`` with a column's ``__getitem__`` as key): Python work per directory, not per row."""
        n = len(self._type)
        parents, names, strings = self._parent, self._name, self._strings
        in_tree = memoryview(self._state.translate(_one_of(_ALIVE)))[1:]  # the root is no one's child
        alive = array("I", compress(range(1, n), in_tree))
        per_parent = Counter(map(parents.__getitem__, alive))
        # Grouped by directory in directory order; within one, in row order (the sort is stable).
        rows = array("I", sorted(alive, key=parents.__getitem__))
        del alive
        count = array("I", bytes(4 * n))
        first = array("I", bytes(4 * n))
        name_of = list(map(strings.__getitem__, names))  # by row: its name
        total = 0
        for parent in sorted(per_parent):
            c = count[parent] = per_parent[parent]
            first[parent] = total
            if c > 1:
                rows[total : total + c] = array("I", sorted(rows[total : total + c], key=name_of.__getitem__))
            total += c
        return rows, first, count

    def walk_order(self) -> MutableSequence[int]:
        """The rows of the tree in walk order: depth first, each directory's children sorted by name."""
        rows, first, count = self._sorted_children()
        order = array("I")
        stack = list(reversed(rows[first[0] : first[0] + count[0]]))
        while stack:
            row = stack.pop()
            order.append(row)
            c = count[row]
            if c:
                at = first[row]
                stack.extend(reversed(rows[at : at + c]))
        return order

    def file_columns(
        self,
    ) -> tuple[
        PathTable,
        MutableSequence[int],
        bytearray,
        Sequence[int],
        Sequence[int],
        list[tuple[int, int, int]],
        Sequence[int],
        Sequence[int],
        Sequence[int],
        MutableSequence[int],
        bytearray,
    ]:
        """The final tree as columns by row, for ``analysis.FileTable.of_rows``: the path table, the rows of the
        tree in walk order, then by row: type code, size, layer, the distinct (mode, uid, gid) and each row's
        index into them, link target (an index into the path table's strings), record, where its 32-byte digest
        starts in the digests (-1: none), and the digests. The columns are the filesystem's own, not copied; the
        filesystem is not to be used afterwards (its index and layer book-keeping are let go)."""
        order = self.walk_order()
        # By record, where its digest starts (-1: none); the last item is record -1's (not a regular file).
        start_of = [32 * at if at >= 0 else -1 for at in self._rec_digest]
        start_of.append(-1)
        digest_at = array("q", map(start_of.__getitem__, self._record))
        del start_of
        self._index = _Index(8)
        self._order = self._rec_refs = array("I")
        self._string_ix = {}
        self._forget_dirs()
        return (
            self.paths,
            order,
            self._type,
            self._size,
            self._layer,
            self._metas,
            self._meta,
            self._link,
            self._record,
            digest_at,
            self._digests,
        )

    def walk(self) -> Iterator[tuple[str, Node]]:
        """Every path of the tree (``/``-rooted) with its node, depth first, sorted by name."""
        for row in self.walk_order():
            yield "/" + self.paths.path_of(row), self._node(row)

    @property
    def record_count(self) -> int:
        """Stored copies of regular files so far (records are numbered 0 .. record_count - 1)."""
        return len(self._rec_refs)

    def visible_records(self) -> set[int]:
        """The stored copies the final tree still shows."""
        state = self._state
        return {r for row, r in enumerate(self._record) if r >= 0 and state[row] == _ALIVE}


def _int_array(code: str, values: Callable[[], Iterable[int]]) -> MutableSequence[int]:
    """The ints ``values()`` gives as a machine array of ``code``, or of 8 bytes a value, or a list when one is
    larger still (each try reads ``values()`` again: no list is made on the way)."""
    for c in (code, "q"):
        try:
            return array(c, values())
        except OverflowError:
            continue
    return list(values())


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name
