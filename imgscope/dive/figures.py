"""Reproduce dive 0.13.1's efficiency figures exactly, quirks included.

dive (github.com/wagoodman/dive, v0.13.1, built with Go 1.24.1) reports three
figures for an image: ``efficiency``, ``wastedBytes`` (``inefficientBytes`` in its
``--json`` export) and ``userWastedPercent``, plus a list of "inefficient files".
This module recomputes them from tar metadata alone by emulating dive's data
structures literally, in their behaviour, not their shape: dive's trees are held by
column (``DiveLayer``: a layer's tree, flattened; ``DiveCompat``: one trie of path
ids with the stacked tree and the efficiency data as columns), so memory follows
the paths with no object or path string per node (tests/test_dive_lean.py checks
them against the node-by-node emulation this module used to be). Each emulated
behaviour, and where dive does it:

Tree building (``dive/image/docker/image_archive.go``: ``getFileList``,
``processLayerTar``; ``dive/filetree/file_tree.go``: ``AddPath``;
``dive/filetree/file_node.go``: ``AddChild``; ``dive/filetree/file_info.go``):

* Every tar header becomes a node through ``AddPath``; a path seen twice in one
  layer keeps one node whose payload is the *last* header (children are kept).
* Parent directories without their own header are created with an empty payload
  (size 0, ``IsDir`` false).
* ``IsDir`` comes from Go's ``tar.Header.FileInfo()``: type DIR, or mode bits
  ``S_IFDIR`` (0o040000) set in the header mode.
* Node size is the header size (0 for hard links, symlinks, directories).
* A path component starting with ``.wh..wh..`` (the opaque marker
  ``.wh..wh..opq``) is never added: ``AddPath`` returns early, so opaque markers
  are ignored entirely (they neither count nor hide anything), although parent
  directories created before the marker component remain.
* A layer's size is the sum of the sizes of *all* its headers (duplicates and
  whiteouts included): ``tree.FileSize``, used as ``Layer.Size``.

Efficiency (``dive/filetree/efficiency.go``: ``Efficiency``):

* Each layer tree is walked depth-first, children sorted bytewise
  (``VisitDepthChildFirst``), visiting leaves only (``IsLeaf``). Non-empty
  directories never count; an empty directory counts as a 0-byte path, so an
  empty directory present in two layers is listed as a 0-byte inefficiency.
* The key is ``FileNode.Path()``: ``/`` + names, the ``.wh.`` prefix trimmed from
  the node's own name, so a whiteout shares its key with the path it hides.
* Size of a non-whiteout leaf: its header size. Size of a whiteout: looked up
  in ``StackTreeRange(trees, 0, current-1)``, i.e. a copy of layer 0 with layers
  0..current-1 stacked on it (layer 0 twice; for layer 0 itself just layer 0).
  If that node is a directory (``IsDir``) the sizes of all nodes of its subtree
  are summed, else the whiteout counts 0.
* A whiteout's size goes to its own key: a whiteout of a directory ``/d`` is
  waste only if ``/d`` itself was a leaf (an empty directory) in another layer;
  the files that were under it are never matched with it.
* If the whiteout's target is missing from that stack, ``GetNode`` fails and
  the visitor's error aborts the *rest of that layer's walk* (dive only logs it).
  The path's ``EfficiencyData`` was already created with ``minDiscoveredSize``
  -1 and no node, and that -1 is still summed: each such abort lowers the
  efficiency numerator by one (efficiency can even go negative).
* ``Stack`` (``file_tree.go``) grafts an upper layer child-first in sorted
  order: whiteouts call ``RemovePath`` (a missing target is ignored), other nodes
  ``AddPath`` and overwrite the payload. So a directory whose upper-layer node
  was only implied (no header) loses ``IsDir`` in the stack, and a later
  whiteout of it counts 0. Whiteout nodes of layer 0 stay in the stack as
  ordinary nodes (they come from the copy of layer 0). Sorted order also means
  that a layer holding both ``+x/...`` and ``.wh.+x`` (names sorting before
  ``.``) re-adds ``+x`` and then removes it again.
* A path becomes an inefficiency when it gets its second node; the list is
  sorted by cumulative size with Go's ``sort.Sort`` (pdqsort, *not stable*) and
  shown reversed (``runtime/ci/evaluator.go`` and the JSON export). The sort is
  ported below so ties come out in dive's order.
* ``efficiency = float64(sum min sizes) / float64(sum cumulative sizes)`` over all
  paths, or 1.0 when the cumulative sum is 0 (including an image with no files).

Image figures (``dive/image/analysis.go``: ``Analyze``):

* ``wastedBytes`` = sum of the cumulative sizes of the inefficiencies.
* ``userWastedPercent = float64(wasted) / float64(sum of sizes of layers 1..)``:
  layer 0 is the "base"; 0/0 gives NaN, x/0 gives +Inf (Go float division).

CI text (``runtime/run.go``, ``runtime/ci/evaluator.go``): see
:func:`format_ci_figures`; ``%2.4f`` of the ratio times 100, so four decimals.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, MutableSequence, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from typing import Any

from imgscope.dive.golang import go_f4, go_sort, humanize_bytes
from imgscope.model import EntryType, TarEntries, TarEntry
from imgscope.text import plural
from imgscope.units import json_number

__all__ = [
    "DiveCompat",
    "DiveFigures",
    "DiveInefficiency",
    "format_ci_figures",
]

_WHITEOUT = ".wh."
_OPAQUE_PREFIX = ".wh..wh.."


@dataclass(frozen=True)
class DiveInefficiency:
    """One row of dive's inefficiency list.

    Attributes:
        path: the path as dive keys it
        count: how many layers hold a node for it
        cumulative_size: the bytes of all those nodes
    """

    path: str
    count: int
    cumulative_size: int


@dataclass(frozen=True)
class DiveFigures:
    """dive's figures for an image; floats are the exact float64 values dive computes.

    Attributes:
        efficiency: dive's efficiency (a float64 ratio; NaN as dive computes it)
        wasted_bytes: dive's wasted bytes
        user_wasted_percent: a fraction (0.69 is 69 %), despite the name, which mirrors dive's
            ``userWastedPercent`` key (dive shows it times 100): wasted_bytes over the bytes of layers 1..n; as
            dive counts wasted bytes in every layer that holds them, it can pass 1, or be NaN or infinity
        inefficiencies: dive's inefficient files, in dive's order
        quirks: the dive quirks this image triggered, one line each
    """

    efficiency: float
    wasted_bytes: int
    user_wasted_percent: float
    inefficiencies: tuple[DiveInefficiency, ...]
    quirks: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The figures as in the analysis JSON document (``dive``); NaN and infinity as null."""
        return {
            "efficiency": json_number(self.efficiency),
            "wasted_bytes": self.wasted_bytes,
            "user_wasted_percent": json_number(self.user_wasted_percent),
            "inefficient_files": [
                {"path": i.path, "count": i.count, "cumulative_size": i.cumulative_size} for i in self.inefficiencies
            ],
        }


_IS_DIR, _IS_LEAF, _IS_WHITEOUT = 1, 2, 4
_TYPE_CODES = tuple(EntryType)  # TarEntries' type codes are positions in this tuple
_DIR_CODE = _TYPE_CODES.index(EntryType.DIR)


_WHITEOUT_MARKS = bytes(1 if flag & _IS_WHITEOUT else 0 for flag in range(256))
_WHITEOUT_LEAF_MARKS = bytes(1 if flag & _IS_WHITEOUT and flag & _IS_LEAF else 0 for flag in range(256))


_LEAF_MARKS = bytes(1 if flag & _IS_LEAF else 0 for flag in range(256))
_INNER_MARKS = bytes(0 if flag & _IS_LEAF else 1 for flag in range(256))


def _positions(flags: bytes, marks: bytes) -> list[int]:
    """The positions of the flags ``marks`` maps to 1, found without a Python step per flag."""
    return list(compress(range(len(flags)), flags.translate(marks)))


def _int_column(values: Iterable[int]) -> MutableSequence[int]:
    """Sizes as a machine array, or a list when one does not fit in 64 bits (a PAX size)."""
    values = list(values) if not isinstance(values, (list, array)) else values
    try:
        return array("Q", values)
    except OverflowError:
        return list(values)


class DiveLayer:
    """One layer as dive sees it, from that layer's tar members alone: dive's tree of the layer, flattened in
    ``VisitDepthChildFirst`` order (children sorted, a parent after its children).

    It needs no other layer, so the layer scan computes it (``analysis.scan.scan_layer``, in a worker process when
    there are several); ``DiveCompat.add_layer`` then only walks and stacks it, in layer order. Per node, by
    column (no object and no path string per node): ``names`` (its own name, the string objects of the members'
    string table), ``parents`` (the position of its parent, -1 under the root), ``sizes`` and ``flags``
    (``_IS_DIR``, ``_IS_LEAF``, ``_IS_WHITEOUT``); and the layer's byte count and quirk counts. A node's path is
    made only when it is asked for (``paths``, ``full_paths``).
    """

    __slots__ = ("flags", "layer_size", "names", "opaque", "parents", "repeated", "sizes")

    def __init__(
        self,
        names: list[str],
        parents: MutableSequence[int],
        sizes: MutableSequence[int],
        flags: bytes,
        layer_size: int,
        opaque: int,
        repeated: int,
    ) -> None:
        if not len(names) == len(parents) == len(sizes) == len(flags):
            raise ValueError("dive's layer tree: its columns disagree")
        self.names = names
        self.parents = parents
        self.sizes = sizes
        self.flags = flags
        self.layer_size = layer_size
        self.opaque = opaque
        self.repeated = repeated

    def __len__(self) -> int:
        return len(self.flags)

    @classmethod
    def of(cls, entries: Iterable[TarEntry]) -> DiveLayer:
        """dive's tree of one layer (``FileTree.AddPath`` per member, in tar order), flattened.

        Built by directory, not by node: the directories the members' paths pass through first (from the distinct
        directory prefixes, few), then each directory's other members sorted by name, a repeated path's last
        header kept; no object is made per member, only machine ints while a directory's members are sorted."""
        members = entries if isinstance(entries, TarEntries) else TarEntries(entries)
        strings, dirs, names, types, sizes, _modes = members.tree_columns()
        if members.declared_sizes:  # dive takes every header's size field, a directory's or a link's too
            sizes = list(sizes)
            for m, declared in members.declared_sizes.items():
                sizes[m] = declared
        count = len(types)
        layer_size = sum(sizes)
        dir_modes = members.directory_modes  # not of type directory, but Go's FileInfo().IsDir() says so

        # The directory nodes: every node some member's path passes through. Node 0 is the root.
        d_name: list[str] = [""]
        d_parent: list[int] = [-1]
        d_kids: list[dict[str, int] | None] = [None]
        d_size: list[int] = [0]
        d_isdir = bytearray(1)
        of_prefix: dict[int, int] = {}  # directory prefix (string index) -> its node; -1: cut by an opaque marker
        opaque = 0
        for sid in set(dirs):
            node = 0
            cut = False
            for comp in strings[sid].split("/"):
                if not comp:
                    continue
                kids = d_kids[node]
                child = kids.get(comp) if kids is not None else None
                if child is None:
                    if comp.startswith(_OPAQUE_PREFIX):  # AddPath returns: nothing under it is added
                        cut = True
                        break
                    child = len(d_name)
                    d_name.append(comp)
                    d_parent.append(node)
                    d_kids.append(None)
                    d_size.append(0)
                    d_isdir.append(0)
                    if kids is None:
                        kids = d_kids[node] = {}
                    kids[comp] = child
                node = child
            of_prefix[sid] = -1 if cut else node

        # Each member: the directory node it names (its payload set, the last header kept), or a leaf candidate
        # filed under its directory, or nothing (under an opaque marker, or the root itself).
        filed: dict[int, MutableSequence[int]] = {}  # directory node -> its other members, in tar order
        seen_raw: set[tuple[str, str]] = set()  # the raw paths of the members not filed (to count repeats)
        repeated = 0
        dir_code = _DIR_CODE
        for m in range(count):
            sid = dirs[m]
            name = strings[names[m]]
            node = of_prefix[sid]
            target = -1
            marker = name.startswith(_OPAQUE_PREFIX)
            if node < 0 or marker:
                opaque += 1  # a component of its path is an opaque marker
            elif name:
                kids = d_kids[node]
                target = kids.get(name, -1) if kids is not None else -1
                if target < 0:
                    column = filed.get(node)
                    if column is None:
                        column = filed[node] = array("I")
                    column.append(m)
                    continue
            elif node > 0:  # "a/b/": the directory node itself
                target = node
            raw = (strings[sid], name)
            if raw in seen_raw:
                repeated += 1
            else:
                seen_raw.add(raw)
            if target > 0:
                d_size[target] = sizes[m]
                d_isdir[target] = types[m] == dir_code or m in dir_modes
        del seen_raw

        # Flatten: depth first, children in Go order, a directory after its children.
        out_names: list[str] = []
        out_parent: list[int] = []  # the directory *node* for now, made a position at the end
        out_sizes: list[int] = []
        out_flags = bytearray()
        position = [-1] * len(d_name)

        def children(node: int) -> list[tuple[str, int, int]]:
            """(name, directory node or -1, member) of ``node``'s children, in Go order; of a repeated path, the
            member whose header is last."""
            out: list[tuple[str, int, int]] = []
            column = filed.pop(node, None)
            nonlocal repeated
            if column is not None:
                ms = sorted(column, key=lambda m: strings[names[m]])  # stable: a name's members in tar order
                del column
                prev = ""
                run: list[int] = []
                for m in ms:
                    name = strings[names[m]]
                    if name != prev and run:
                        out.append((prev, -1, run[-1]))
                        if len(run) > 1:
                            repeated += len(run) - len({strings[dirs[r]] for r in run})
                        run = []
                    prev = name
                    run.append(m)
                if run:
                    out.append((prev, -1, run[-1]))
                    if len(run) > 1:
                        repeated += len(run) - len({strings[dirs[r]] for r in run})
            kids = d_kids[node]
            if kids is not None:
                out.extend((name, child, -1) for name, child in kids.items())
                out.sort(key=lambda item: item[0])
            if not all(item[0].isascii() for item in out):
                out.sort(key=lambda item: item[0].encode("utf-8", "surrogateescape"))
            return out

        stack: list[tuple[int, Iterator[tuple[str, int, int]], bool]] = []
        top = children(0)
        stack.append((0, iter(top), bool(top)))
        while stack:
            node, it, has_kids = stack[-1]
            for name, child, m in it:
                if child >= 0:
                    kids_of = children(child)
                    stack.append((child, iter(kids_of), bool(kids_of)))
                    break
                out_names.append(name)
                out_parent.append(node)
                out_sizes.append(sizes[m])
                out_flags.append(
                    _IS_LEAF
                    | (_IS_DIR if types[m] == dir_code or m in dir_modes else 0)
                    | (_IS_WHITEOUT if name.startswith(_WHITEOUT) else 0)
                )
            else:
                stack.pop()
                if node:
                    name = d_name[node]
                    position[node] = len(out_names)
                    out_names.append(name)
                    out_parent.append(d_parent[node])
                    out_sizes.append(d_size[node])
                    out_flags.append(
                        (_IS_DIR if d_isdir[node] else 0)
                        | (0 if has_kids else _IS_LEAF)
                        | (_IS_WHITEOUT if name.startswith(_WHITEOUT) else 0)
                    )
        parents = array("i", [position[p] if p else -1 for p in out_parent])
        return cls(out_names, parents, _int_column(out_sizes), bytes(out_flags), layer_size, opaque, repeated)

    def check(self) -> None:
        """Raise ValueError unless every node's parent is a node with children after it (or -1, the root)."""
        flags, count = self.flags, len(self.flags)
        if not all(
            p == -1 or (i < p < count and not flags[p] & _IS_LEAF) for i, p in enumerate(self.parents)
        ) or not all(isinstance(n, str) and n for n in self.names):
            raise ValueError("dive's layer tree: a node's parent or name is out of place")

    def _dir_paths(self) -> dict[int, str]:
        """The ``/``-rooted path of every node that has children, by position (a parent comes after its
        children, so they are made from the last node back); -1: the root."""
        names, parents = self.names, self.parents
        out: dict[int, str] = {-1: ""}
        for i in reversed(_positions(self.flags, _INNER_MARKS)):
            out[i] = f"{out[parents[i]]}/{names[i]}"
        return out

    def full_paths(self) -> list[str]:
        """Each node's path in the tree (``/``-rooted, a whiteout's name as it is), in order."""
        dirs = self._dir_paths()
        return [f"{dirs[parent]}/{name}" for name, parent in zip(self.names, self.parents, strict=True)]

    def whiteouts(self, *, leaves: bool = False) -> list[int]:
        """The positions of the whiteout nodes (``leaves``: of those without children)."""
        return _positions(self.flags, _WHITEOUT_LEAF_MARKS if leaves else _WHITEOUT_MARKS)

    def paths(self) -> list[str]:
        """``FileNode.Path()`` of each node, in order: the whiteout prefix trimmed from a whiteout's own name."""
        out = self.full_paths()
        found = self.whiteouts()
        for i, path in zip(found, self.paths_of(found), strict=True):
            out[i] = path
        return out

    def paths_of(self, nodes: Iterable[int]) -> list[str]:
        """``FileNode.Path()`` of the nodes at these positions."""
        names, parents, flags = self.names, self.parents, self.flags
        dirs = self._dir_paths()
        cut = len(_WHITEOUT)
        return [f"{dirs[parents[i]]}/{names[i][cut:] if flags[i] & _IS_WHITEOUT else names[i]}" for i in nodes]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DiveLayer):
            return NotImplemented
        return (
            self.names == other.names
            and list(self.parents) == list(other.parents)
            and list(self.sizes) == list(other.sizes)
            and self.flags == other.flags
            and (self.layer_size, self.opaque, self.repeated) == (other.layer_size, other.opaque, other.repeated)
        )

    __hash__ = None  # type: ignore[assignment]


class _PathData:
    """dive's ``EfficiencyData`` for one path (its id in ``DiveCompat``), once a second layer holds it."""

    __slots__ = ("count", "cumulative", "key", "minimum")

    def __init__(self, key: int) -> None:
        self.key = key
        self.count = 0
        self.cumulative = 0
        self.minimum = -1

    @classmethod
    def once(cls, key: int, size: int) -> _PathData:
        """The data of a path one layer held, with ``size``."""
        data = cls(key)
        data.count, data.cumulative, data.minimum = 1, size, size
        return data


#: Multiplies a parent's id in the hash of (parent id, name): Fibonacci hashing spreads the ids of siblings.
_MIX = 0x9E3779B1


class DiveCompat:
    """Incremental: feed layers in order, then read the figures.

    Every path a layer's tree holds, and every whiteout's target, gets an id in one trie of names: per id its
    parent and name, found by (parent id, name) in one open-addressing table of ids (a machine array, not a dict
    per directory: a third of the memory of dive's emulation went to those), and a directory's children
    listed by a first-child and next-sibling link. dive's stacked tree and its efficiency data are columns
    indexed by those ids, not objects: a path string is made only for an inefficient file or a quirk. The last
    layer adds no id for a path no earlier layer holds: its size is only summed.
    """

    def __init__(self) -> None:
        self._layers = 0
        self._parent = array("i", [-1])
        self._name: list[str] = [""]
        # (parent id, name) -> id: slots of ids (-1: empty), probed from the pair's hash; the root (0) is in none.
        self._slots = array("i", [-1]) * 1024
        self._mask = 1023
        self._first_kid = array("i", [-1])  # id -> its last-added child (-1: none)
        self._next_sib = array("i", [-1])  # id -> the child its parent had before it (-1: none)
        # dive's stacked tree, StackTreeRange(trees, 0, layers-1) for the next layer's whiteouts, per id: held,
        # size, IsDir. A held node's ancestors are held, so an unheld node has no held descendant.
        self._held = bytearray(b"\1")
        self._size: MutableSequence[int] = array("Q", [0])
        self._is_dir = bytearray(1)
        # The efficiency data per id: 0 none, 1 one layer held it (size in _once), 2 in _multi (a _PathData).
        self._state = bytearray(1)
        self._once: MutableSequence[int] = array("Q", [0])
        self._multi: dict[int, _PathData] = {}
        self._once_bytes = 0  # the sizes of the paths held once (state 1, and the last layer's new paths)
        self._inefficient: list[_PathData] = []
        self._layer_sizes: list[int] = []
        self._quirks: list[str] = []
        self._closed = False

    # -- the trie of ids ---------------------------------------------------------------------------

    def _find(self, parent: int, name: str) -> int:
        """The id of ``parent``'s child ``name``; -1 when it has none."""
        slots, mask, parents, names = self._slots, self._mask, self._parent, self._name
        h = (hash(name) ^ parent * _MIX) & mask
        while True:
            node = slots[h]
            if node < 0 or (parents[node] == parent and names[node] == name):
                return node
            h = (h + 1) & mask

    def _new(self, parent: int, name: str) -> int:
        node = len(self._name)
        if (node + 1) * 2 > self._mask:
            self._grow(1)
        slots, mask = self._slots, self._mask
        h = (hash(name) ^ parent * _MIX) & mask
        while slots[h] >= 0:
            h = (h + 1) & mask
        slots[h] = node
        self._name.append(name)
        self._parent.append(parent)
        self._next_sib.append(self._first_kid[parent])
        self._first_kid.append(-1)
        self._first_kid[parent] = node
        self._held.append(0)
        self._size.append(0)
        self._is_dir.append(0)
        self._state.append(0)
        self._once.append(0)
        return node

    def _grow(self, more: int) -> None:
        """Slots for ``more`` ids besides those there (the table at most half full), every id placed again."""
        names, parents = self._name, self._parent
        size = (self._mask + 1) * 2
        while (len(names) + more) * 2 > size - 1:
            size *= 2
        slots, mask = array("i", [-1]) * size, size - 1
        for node in range(1, len(names)):
            h = (hash(names[node]) ^ parents[node] * _MIX) & mask
            while slots[h] >= 0:
                h = (h + 1) & mask
            slots[h] = node
        self._slots, self._mask = slots, mask

    def _child(self, parent: int, name: str) -> int:
        node = self._find(parent, name)
        return self._new(parent, name) if node < 0 else node

    def _kids(self, node: int) -> Iterator[int]:
        """The ids of ``node``'s children (the last added first)."""
        kid, next_sib = self._first_kid[node], self._next_sib
        while kid >= 0:
            yield kid
            kid = next_sib[kid]

    def _ids(self, layer: DiveLayer, create: bool) -> MutableSequence[int]:
        """The id of each node of ``layer`` (-1 where ``create`` is false and the trie has none): parents first,
        so from the last node back."""
        names, parents = layer.names, layer.parents
        ids = array("i", [0]) * len(names)
        # ``_find`` and ``_new`` written out: a layer's new nodes are most of its nodes.
        id_names, id_parents, held, sizes, is_dir, state, once = (
            self._name,
            self._parent,
            self._held,
            self._size,
            self._is_dir,
            self._state,
            self._once,
        )
        if create and (len(id_names) + len(names)) * 2 > self._mask:  # room for every node to be new
            self._grow(len(names))
        slots, mask, mix, start = self._slots, self._mask, _MIX, len(id_names)
        for i in range(len(names) - 1, -1, -1):
            p = parents[i]
            parent = ids[p] if p >= 0 else 0
            if parent < 0:
                ids[i] = -1
                continue
            name = names[i]
            h = (hash(name) ^ parent * mix) & mask
            node = slots[h]
            while node >= 0 and (id_parents[node] != parent or id_names[node] != name):
                h = (h + 1) & mask
                node = slots[h]
            if node < 0:
                if not create:
                    ids[i] = -1
                    continue
                node = len(id_names)
                slots[h] = node
                id_names.append(name)
                id_parents.append(parent)
            ids[i] = node
        new = len(id_names) - start
        if new:  # the new ids' other columns, in one go; then each is linked as its parent's first child
            zeros = bytes(new)
            held += zeros
            is_dir += zeros
            state += zeros
            sizes.extend(repeat(0, new))
            once.extend(repeat(0, new))
            first_kid, next_sib = self._first_kid, self._next_sib
            first_kid.extend(repeat(-1, new))
            next_sib.extend(repeat(-1, new))
            for node in range(start, start + new):
                parent = id_parents[node]
                next_sib[node] = first_kid[parent]
                first_kid[parent] = node
        return ids

    def _id_of(self, layer: DiveLayer, i: int) -> int:
        """The id of node ``i`` of ``layer`` (-1: the root), made with its ancestors' where missing."""
        chain = []
        while i >= 0:
            chain.append(layer.names[i])
            i = layer.parents[i]
        node = 0
        for name in reversed(chain):
            node = self._child(node, name)
        return node

    def _paths_of(self, data: Iterable[_PathData]) -> Iterator[str]:
        """``_path_of`` each one's key, each directory's path made once."""
        names, parents = self._name, self._parent
        prefixes: dict[int, str] = {0: ""}
        for d in data:
            node = d.key
            if node <= 0:
                yield self._path_of(node)
                continue
            parent = parents[node]
            prefix = prefixes.get(parent)
            if prefix is None:
                prefix = prefixes[parent] = self._path_of(parent)
            yield f"{prefix}/{names[node]}"

    def _path_of(self, node: int) -> str:
        names, parents = self._name, self._parent
        parts = []
        while node > 0:
            parts.append(names[node])
            node = parents[node]
        return "/" + "/".join(reversed(parts))

    # -- the stacked tree --------------------------------------------------------------------------

    def _release(self, node: int) -> None:
        """``FileTree.RemovePath`` of a held node: it and its held descendants."""
        held = self._held
        todo = [node]
        while todo:
            cur = todo.pop()
            if held[cur]:
                held[cur] = 0
                todo.extend(self._kids(cur))

    def _held_kids(self, node: int) -> list[int]:
        held = self._held
        return [k for k in self._kids(node) if held[k]]

    def _subtree_size(self, node: int) -> int:
        """Sum of sizes of ``node`` (unless it is the root) and all its held descendants."""
        sizes = self._size
        total = sizes[node] if node else 0
        todo = self._held_kids(node)
        while todo:
            cur = todo.pop()
            total += sizes[cur]
            todo.extend(self._held_kids(cur))
        return total

    def _target(self, parent: int, trimmed: str) -> int:
        """``GetNode`` in the stacked tree of the path a whiteout names (-1: missing); ``parent``: the id of the
        whiteout's directory (-1: none)."""
        if parent < 0 or not self._held[parent]:
            return -1
        if not trimmed:  # ".wh." alone names its directory ("/d/")
            return parent
        node = self._find(parent, trimmed)
        return node if node >= 0 and self._held[node] else -1

    # -- layers ------------------------------------------------------------------------------------

    def add_layer(self, entries: Iterable[TarEntry] | DiveLayer, *, last: bool = False) -> None:
        """Add the next layer: its tar members in tar order, or its ``DiveLayer`` made from them already.

        ``last``: no layer comes after it, so its tree is not stacked (only a later layer's whiteouts look there)
        and the paths no earlier layer held get no id; the figures are the same, and no layer may be added
        after it."""
        if self._closed:
            raise ValueError("a layer added after the last one")
        self._closed = last
        layer = entries if isinstance(entries, DiveLayer) else DiveLayer.of(entries)
        index = self._layers
        self._layers += 1
        self._layer_sizes.append(layer.layer_size)
        if layer.opaque:
            self._quirks.append(f"layer {index}: {plural(layer.opaque, 'opaque marker')} ignored")
        if layer.repeated:
            self._quirks.append(f"layer {index}: {plural(layer.repeated, 'repeated path')}, last header kept")
        sizes, flags = layer.sizes, layer.flags
        whiteouts = layer.whiteouts(leaves=True)
        if last and not whiteouts and len(self._name) == 1:
            # No earlier path to meet and no whiteout: every leaf is a path held once; no id is made.
            self._once_bytes += sum(sizes[i] for i in _positions(flags, _LEAF_MARKS))
            return
        copy = index == 0 and (not last or bool(whiteouts))
        if last and not copy:
            for i in whiteouts:  # their targets' keys first: a path of this layer may share one
                parent = self._id_of(layer, layer.parents[i])
                self._child(parent, layer.names[i][len(_WHITEOUT) :])
        ids = self._ids(layer, create=not last or copy)
        if copy:
            # A copy of layer 0's own tree (whiteout nodes included, as they are): the post-order adds every
            # node after its children, which creates the parents on the way; the parent's payload comes last.
            self._hold_all(ids, sizes, flags, None)
        # Leaves come in the same order in dive's depth-first walk and in the post-order: one traversal serves both.
        self._walk(index, layer, ids)
        if last:  # only the paths of the inefficient files are made from here on: names and parents suffice
            self._slots, self._first_kid, self._next_sib = array("i"), array("i"), array("i")
            self._held, self._is_dir, self._state = bytearray(), bytearray(), bytearray()
            self._size, self._once = array("Q"), array("Q")
            return
        # The next layer's whiteouts look into layers 0..index stacked on the copy of layer 0 (so
        # layer 0 twice); stacking now, not when that layer comes, frees this layer at once.
        self._hold_all(ids, sizes, flags, layer)

    def _hold_all(
        self, ids: Sequence[int], sizes: Sequence[int], flags: bytes | bytearray, layer: DiveLayer | None
    ) -> None:
        """``FileTree.AddPath`` of every node of a layer in order (its ``ids``, ``sizes``, ``flags``): the node held
        with its payload, its missing ancestors with an empty one; with ``layer``, its whiteout nodes ``_release``
        their targets instead (without, they are held as nodes)."""
        held, parents = self._held, self._parent
        dirs, sizes_now = self._is_dir, self._size
        whiteout, is_dir = (_IS_WHITEOUT if layer is not None else 0), _IS_DIR
        cut = len(_WHITEOUT)
        for i, flag in enumerate(flags):
            if flag & whiteout:
                assert layer is not None
                p = layer.parents[i]
                target = self._target(ids[p] if p >= 0 else 0, layer.names[i][cut:])
                if target > 0:
                    self._release(target)
                continue
            node = ids[i]
            held[node] = 1
            try:
                sizes_now[node] = sizes[i]
            except OverflowError:  # a size no machine int holds (a PAX size): the column becomes a list
                sizes_now = self._size = list(sizes_now)
                sizes_now[node] = sizes[i]
            dirs[node] = 1 if flag & is_dir else 0
            node = parents[node]
            while node > 0 and not held[node]:
                held[node] = 1
                sizes_now[node] = 0
                dirs[node] = 0
                node = parents[node]

    def _walk(self, index: int, layer: DiveLayer, ids: MutableSequence[int]) -> None:
        """Add one layer's leaves (in dive's walk order) to the efficiency data."""
        sizes, flags, names, parents = layer.sizes, layer.flags, layer.names, layer.parents
        state, multi, once = self._state, self._multi, self._once
        added = 0  # to _once_bytes, kept here between whiteouts
        cut = len(_WHITEOUT)
        for i in _positions(flags, _LEAF_MARKS):
            if flags[i] & _IS_WHITEOUT:
                self._once_bytes += added
                added = 0
                p = parents[i]
                parent = ids[p] if p >= 0 else 0
                if parent < 0:
                    parent = self._id_of(layer, p)
                trimmed = names[i][cut:]
                key = self._child(parent, trimmed)
                target = self._target(parent, trimmed)
                if target < 0:
                    if state[key] == 0:
                        multi[key] = _PathData(key)
                    elif state[key] == 1:
                        multi[key] = _PathData.once(key, self._once[key])
                        self._once_bytes -= self._once[key]
                    state[key] = 2
                    self._quirks.append(
                        f"layer {index}: walk stopped at whiteout of missing {self._path_of(key)}"
                        " (rest of the layer uncounted, -1 added to the efficiency numerator)"
                    )
                    return
                if self._is_dir[target]:
                    size = self._subtree_size(target)
                else:
                    size = 0
                    if self._held_kids(target):
                        self._quirks.append(
                            f"layer {index}: whiteout of {self._path_of(key)} counted 0 (directory"
                            " without a directory header in the lower stack)"
                        )
                once = self._once  # a whiteout's target may be a new id
            else:
                key = ids[i]
                size = sizes[i]
                if key < 0:  # the last layer's path that no earlier layer held
                    added += size
                    continue
            seen = state[key]
            if seen == 0:  # the first time: count 1, minimum = cumulative = size
                state[key] = 1
                try:
                    once[key] = size
                except OverflowError:
                    once = self._once = list(once)
                    once[key] = size
                added += size
                continue
            if seen == 1:
                state[key] = 2
                data = multi[key] = _PathData.once(key, once[key])
                added -= once[key]
            else:
                data = multi[key]
            data.cumulative += size
            if data.minimum < 0 or size < data.minimum:
                data.minimum = size
            data.count += 1
            if data.count == 2:
                self._inefficient.append(data)
        self._once_bytes += added

    def figures(self) -> DiveFigures:
        """Compute dive's figures for the layers added so far."""
        minimum = cumulative = self._once_bytes
        for d in self._multi.values():
            minimum += d.minimum
            cumulative += d.cumulative
        efficiency = 1.0 if cumulative == 0 else float(minimum) / float(cumulative)

        ordered = list(self._inefficient)
        go_sort(ordered, lambda d: d.cumulative)
        ordered.reverse()
        paths = self._paths_of(ordered)
        rows = tuple(DiveInefficiency(path, d.count, d.cumulative) for d, path in zip(ordered, paths, strict=True))
        wasted = sum(r.cumulative_size for r in rows)

        user_size = sum(self._layer_sizes[1:])
        quirks = list(self._quirks)
        if user_size == 0:
            user_pct = math.nan if wasted == 0 else math.inf
            quirks.append(f"userWastedPercent is {wasted}/0 ({user_pct})")
        else:
            user_pct = float(wasted) / float(user_size)
        if cumulative == 0:
            quirks.append("no file bytes: efficiency defaults to 1.0")
        empty_dirs = sum(1 for r in rows if r.cumulative_size == 0)
        if empty_dirs:
            quirks.append(f"{plural(empty_dirs, 'zero-byte path')} listed as inefficient")
        return DiveFigures(efficiency, wasted, user_pct, rows, tuple(quirks))


def format_ci_figures(figures: DiveFigures) -> tuple[str, str, str]:
    """The three "Analyzing image..." lines dive 0.13.1 prints in CI mode (``runtime/run.go``).

    ``efficiency`` and ``userWastedPercent`` are ``%2.4f`` of the ratio times 100
    (``NaN``/``+Inf`` spelled as Go does); the size in parentheses is
    ``humanize.Bytes`` (SI units, github.com/dustin/go-humanize).
    """
    wasted = figures.wasted_bytes
    return (
        f"  efficiency: {go_f4(figures.efficiency * 100)} %",
        f"  wastedBytes: {wasted} bytes ({humanize_bytes(wasted)})",
        f"  userWastedPercent: {go_f4(figures.user_wasted_percent * 100)} %",
    )
