"""dive's emulation as it was before its layer tree and efficiency data went by column (issue 11): a node object
and a path string per node. Kept only as the reference the lean emulation (``imgscope.dive.figures``) is compared
with on generated layers (tests/test_dive_lean.py); this code is what tests/test_dive_compat.py checked against
dive 0.13.1 itself. Not imported by imgscope.
"""

# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

import math
from collections.abc import Iterable
from sys import intern

from imgscope.dive.figures import DiveFigures, DiveInefficiency
from imgscope.dive.golang import go_sort
from imgscope.model import EntryType, TarEntries, TarEntry
from imgscope.text import plural


_WHITEOUT = ".wh."
_OPAQUE_PREFIX = ".wh..wh.."
_S_IFMT = 0o170000
_S_IFDIR = 0o040000


_NO_CHILDREN: dict[str, _Node] = {}  # shared by every leaf; never written to


class _Node:
    """A dive ``FileNode``: name, payload (size, is_dir), children and full path (``""`` for the root).

    No parent pointer: the parent is found by its full path in the tree's index. A pointer both ways would make
    every tree a reference cycle, which stays in memory until the cyclic collector runs (``analyze`` turns it off
    during the pass); without it a tree is freed the moment it is dropped.
    """

    __slots__ = ("children", "full", "is_dir", "name", "size")

    def __init__(self, name: str, full: str, size: int = 0, is_dir: bool = False) -> None:
        self.name = name
        self.full = full  # one string shared by the trees and the efficiency data
        self.size = size
        self.is_dir = is_dir
        self.children: dict[str, _Node] = _NO_CHILDREN  # a leaf until add_child gives it a dict of its own

    def add_child(self, name: str, child: _Node) -> None:
        kids = self.children
        if kids is _NO_CHILDREN:
            kids = self.children = {}
        kids[name] = child

    def path(self) -> str:
        """``FileNode.Path()``: the whiteout prefix is trimmed from the node's own name."""
        full = self.full
        if not full:
            return "/"
        name = self.name
        path = full[: len(full) - len(name)] + name[len(_WHITEOUT) :] if name.startswith(_WHITEOUT) else full
        return path.replace("//", "/") if "//" in path else path


def _well_formed(path: str) -> bool:
    """True for ``/a/b`` (no empty component), the form the path index is keyed by."""
    return path.startswith("/") and not path.endswith("/") and "//" not in path


class _Tree:
    """A dive ``FileTree`` with a full-path index of its nodes."""

    __slots__ = ("index", "root")

    def __init__(self) -> None:
        self.root = _Node("", "")
        self.index: dict[str, _Node] = {}

    def copy(self) -> _Tree:
        """Deep copy (``FileTree.Copy``)."""
        new = _Tree()
        index = new.index
        todo = [(self.root, new.root)]
        while todo:
            src, dst = todo.pop()
            for name, child in src.children.items():
                node = _Node(name, child.full, child.size, child.is_dir)
                dst.add_child(name, node)
                index[node.full] = node
                if child.children:
                    todo.append((child, node))
        return new

    def get_node(self, path: str) -> _Node | None:
        """``FileTree.GetNode``; None where dive returns "path does not exist"."""
        if _well_formed(path):
            return self.index.get(path)
        node = self.root
        for name in path.strip("/").split("/"):
            if not name:
                continue
            child = node.children.get(name)
            if child is None:
                return None
            node = child
        return node

    def add_path(self, path: str, size: int, is_dir: bool) -> None:
        """``FileTree.AddPath`` with the payload (size, is_dir); ``path`` starts with ``/``."""
        index = self.index
        if path[:1] == "/" and path[-1:] != "/" and "//" not in path:  # _well_formed
            node = index.get(path)
            if node is not None:
                node.size = size
                node.is_dir = is_dir
                return
            parent_path, _, name = path.rpartition("/")
            parent = index.get(parent_path) if parent_path else self.root
            if parent is not None:
                if name.startswith(_OPAQUE_PREFIX):
                    return
                name = intern(name)  # names repeat across directories and trees: keep one copy
                node = _Node(name, path, size, is_dir)
                parent.add_child(name, node)
                index[node.full] = node
                return
        names = path.strip("/").split("/")
        node = self.root
        last = len(names) - 1
        for idx, name in enumerate(names):
            if not name:
                continue
            child = node.children.get(name)
            if child is None:
                if name.startswith(_OPAQUE_PREFIX):
                    return
                name = intern(name)
                child = _Node(name, node.full + "/" + name)
                node.add_child(name, child)
                index[child.full] = child
            node = child
            if idx == last:
                node.size = size
                node.is_dir = is_dir

    def remove_path(self, path: str) -> None:
        """``FileTree.RemovePath``; a missing path or the root is ignored (dive logs it)."""
        node = self.get_node(path)
        if node is None or not node.full:
            return
        index = self.index
        parent_path = node.full.rpartition("/")[0]
        parent = index[parent_path] if parent_path else self.root
        del parent.children[node.name]
        stack = [node]
        while stack:
            cur = stack.pop()
            index.pop(cur.full, None)
            stack.extend(cur.children.values())

    def stack(self, upper: _Tree, order: list[_Node] | None = None) -> None:
        """``FileTree.Stack``: graft ``upper`` onto this tree, child-first in sorted order.

        ``order``: ``_post_order(upper.root)`` when the caller has it already.
        """
        for node in _post_order(upper.root) if order is None else order:
            if node.name.startswith(_WHITEOUT):
                self.remove_path(node.path())
            else:
                self.add_path(node.path(), node.size, node.is_dir)


def _go_order(names: Iterable[str]) -> list[str]:
    """Names as Go sorts strings: bytewise. Code-point order is the same for UTF-8, so plain sorting serves unless
    a name carries surrogate escapes; then every key is the bytes (keys must be of one type)."""
    names = list(names)
    if all(name.isascii() for name in names):
        return sorted(names)
    return sorted(names, key=lambda name: name.encode("utf-8", "surrogateescape"))


def _sorted_children(node: _Node) -> list[_Node]:
    children = node.children
    if len(children) == 1:
        return list(children.values())
    return [children[k] for k in _go_order(children)]


def _post_order(root: _Node) -> list[_Node]:
    """All nodes but the root in ``VisitDepthChildFirst`` order (children sorted, parent last)."""
    out: list[_Node] = []
    stack: list[tuple[_Node, list[_Node], int]] = [(root, _sorted_children(root), 0)]
    while stack:
        node, kids, i = stack[-1]
        if i < len(kids):
            stack[-1] = (node, kids, i + 1)
            child = kids[i]
            if child.children:
                stack.append((child, _sorted_children(child), 0))
            else:
                out.append(child)
        else:
            stack.pop()
            if node is not root:
                out.append(node)
    return out


def _subtree_size(node: _Node) -> int:
    """Sum of sizes of ``node`` (unless it is the root) and all its descendants."""
    total = node.size if node.full else 0
    stack = list(node.children.values())
    while stack:
        cur = stack.pop()
        total += cur.size
        stack.extend(cur.children.values())
    return total


class _PathData:
    """dive's ``EfficiencyData`` for one path."""

    __slots__ = ("count", "cumulative", "minimum", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.count = 0
        self.cumulative = 0
        self.minimum = -1

    @classmethod
    def once(cls, path: str, size: int) -> _PathData:
        """The data of a path one layer held, with ``size``."""
        data = cls(path)
        data.count, data.cumulative, data.minimum = 1, size, size
        return data


_IS_DIR, _IS_LEAF, _IS_WHITEOUT = 1, 2, 4


class DiveLayer:
    """One layer as dive sees it, from that layer's tar members alone: dive's tree of the layer, flattened in
    ``VisitDepthChildFirst`` order (children sorted, a parent after its children).

    It needs no other layer, so the layer scan computes it (``analysis.scan.scan_layer``, in a worker process when
    there are several); ``DiveCompat.add_layer`` then only walks and stacks it, in layer order. Per node:
    ``full`` (its path in the tree, ``/``-rooted), ``sizes`` and ``flags`` (``_IS_DIR``, ``_IS_LEAF``,
    ``_IS_WHITEOUT``); and the layer's byte count and quirk counts.
    """

    __slots__ = ("flags", "full", "layer_size", "opaque", "repeated", "sizes")

    def __init__(
        self, full: list[str], sizes: list[int], flags: bytes, layer_size: int, opaque: int, repeated: int
    ) -> None:
        self.full = full
        self.sizes = sizes
        self.flags = flags
        self.layer_size = layer_size
        self.opaque = opaque
        self.repeated = repeated

    @classmethod
    def of(cls, entries: Iterable[TarEntry]) -> DiveLayer:
        """dive's tree of one layer (``FileTree.AddPath`` per member, in tar order), flattened."""
        tree = _Tree()
        layer_size = 0
        opaque = 0
        seen: set[str] = set()
        dup = 0
        rows = (
            entries.rows() if isinstance(entries, TarEntries) else ((e.path, e.size, e.type, e.mode) for e in entries)
        )
        dir_type = EntryType.DIR
        for path, size, type_, mode in rows:
            layer_size += size
            full = "/" + path  # the string the tree keeps: the set of paths seen holds no string of its own
            if full in seen:
                dup += 1
            else:
                seen.add(full)
            if _OPAQUE_PREFIX in path and any(c.startswith(_OPAQUE_PREFIX) for c in path.split("/")):
                opaque += 1
            is_dir = type_ is dir_type or (mode & _S_IFMT) == _S_IFDIR
            tree.add_path(full, size, is_dir)
        del seen
        order = _post_order(tree.root)
        flags = bytes(
            (_IS_DIR if n.is_dir else 0)
            | (0 if n.children else _IS_LEAF)
            | (_IS_WHITEOUT if n.name.startswith(_WHITEOUT) else 0)
            for n in order
        )
        return cls([n.full for n in order], [n.size for n in order], flags, layer_size, opaque, dup)

    def paths(self) -> list[str]:
        """``FileNode.Path()`` of each node: the whiteout prefix trimmed from a whiteout's own name."""
        full, flags = self.full, self.flags
        out = list(full)
        for i, flag in enumerate(flags):
            if flag & _IS_WHITEOUT:
                parent, _, name = full[i].rpartition("/")
                path = f"{parent}/{name[len(_WHITEOUT) :]}"
                out[i] = path.replace("//", "/") if "//" in path else path
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DiveLayer):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]


class DiveCompat:
    """Incremental: feed layers in order, then read the figures."""

    def __init__(self) -> None:
        self._layers = 0
        self._stacked: _Tree | None = None  # StackTreeRange(trees, 0, layers-1) for the next layer
        # Per path: its one size while one layer holds it (count 1, minimum = cumulative = size), its _PathData
        # from the second (or from a walk stopped at it): most paths appear once, and an int costs no object.
        self._data: dict[str, int | _PathData] = {}
        self._inefficient: list[_PathData] = []
        self._layer_sizes: list[int] = []
        self._quirks: list[str] = []
        self._closed = False

    def add_layer(self, entries: Iterable[TarEntry] | DiveLayer, *, last: bool = False) -> None:
        """Add the next layer: its tar members in tar order, or its ``DiveLayer`` made from them already.

        ``last``: no layer comes after it, so its tree is not stacked (only a later layer's whiteouts look there);
        the figures are the same, and no layer may be added after it."""
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
        full, sizes, flags = layer.full, layer.sizes, layer.flags
        whiteouts = any(flag & _IS_WHITEOUT for flag in flags) if last else True
        if index == 0 and whiteouts:
            # A copy of layer 0's own tree (whiteout nodes included, as they are): the post-order adds every
            # node after its children, which creates the parents on the way; the parent's payload comes last.
            self._stacked = _Tree()
            for i in range(len(full)):
                self._stacked.add_path(full[i], sizes[i], bool(flags[i] & _IS_DIR))
        paths = layer.paths()
        # Leaves come in the same order in dive's depth-first walk and in the post-order: one traversal serves both.
        self._walk(index, layer, paths, self._stacked)
        if last:
            self._stacked = None
            return
        # The next layer's whiteouts look into layers 0..index stacked on the copy of layer 0 (so
        # layer 0 twice); stacking now, not when that layer comes, frees this layer at once.
        stacked = self._stacked
        assert stacked is not None
        for i, path in enumerate(paths):
            if flags[i] & _IS_WHITEOUT:
                stacked.remove_path(path)
            else:
                stacked.add_path(path, sizes[i], bool(flags[i] & _IS_DIR))

    def _walk(self, index: int, layer: DiveLayer, paths: list[str], stacked: _Tree | None) -> None:
        """Add one layer's leaves (in dive's walk order) to the efficiency data."""
        data_map = self._data
        sizes, flags = layer.sizes, layer.flags
        for i, path in enumerate(paths):
            flag = flags[i]
            if not flag & _IS_LEAF:
                continue
            data = data_map.get(path)
            if flag & _IS_WHITEOUT:
                assert stacked is not None  # a layer with whiteouts is always given the stack below it
                target = stacked.get_node(path)
                if target is None:
                    if data is None:
                        data_map[path] = _PathData(path)
                    elif isinstance(data, int):
                        data_map[path] = _PathData.once(path, data)
                    self._quirks.append(
                        f"layer {index}: walk stopped at whiteout of missing {path}"
                        " (rest of the layer uncounted, -1 added to the efficiency numerator)"
                    )
                    return
                if target.is_dir:
                    size = _subtree_size(target)
                else:
                    size = 0
                    if target.children:
                        self._quirks.append(
                            f"layer {index}: whiteout of {path} counted 0 (directory"
                            " without a directory header in the lower stack)"
                        )
            else:
                size = sizes[i]
            if data is None:
                data_map[path] = size  # the first time: count 1, minimum = cumulative = size
                continue
            if isinstance(data, int):
                data = data_map[path] = _PathData.once(path, data)
            data.cumulative += size
            if data.minimum < 0 or size < data.minimum:
                data.minimum = size
            data.count += 1
            if data.count == 2:
                self._inefficient.append(data)

    def figures(self) -> DiveFigures:
        """Compute dive's figures for the layers added so far."""
        minimum = 0
        cumulative = 0
        for d in self._data.values():
            if isinstance(d, int):
                minimum += d
                cumulative += d
            else:
                minimum += d.minimum
                cumulative += d.cumulative
        efficiency = 1.0 if cumulative == 0 else float(minimum) / float(cumulative)

        ordered = list(self._inefficient)
        go_sort(ordered, lambda d: d.cumulative)
        ordered.reverse()
        rows = tuple(DiveInefficiency(d.path, d.count, d.cumulative) for d in ordered)
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
