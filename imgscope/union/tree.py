"""The file tree of an image as it stands after any layer, or the changes one layer made, as plain dataclasses.

``Analysis`` keeps no tree per layer: each layer's ``LayerReport.changes`` records every path it added,
modified or removed (each removed descendant of a removed directory included, type and size of each), so the
tree after layer N is the replay of the changes of layers 0..N. The replay is checked against umoci's unpacked
root filesystem after every layer of the samples (``samples/truth/*.per-layer.tsv``).

Symlink targets, modes and owners are not among the recorded changes; ``_known`` recovers them from the final
filesystem where that is exact (every path of the last layer's tree; in an earlier tree, each path no later layer
wrote again), and leaves them unknown (None) otherwise.

Sizes: a file's size is its bytes; a directory's is the sum of the regular files below it (a hard-linked name
counts each time, as ``du --count-links``). In a changes tree, a directory counts what stays below it (added and
modified files): its size is what the layer wrote there; removed entries keep the size they had.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from operator import attrgetter
from typing import Any, Protocol

from imgscope._display import Displayable
from imgscope._gc import collector_paused
from imgscope.errors import UsageError
from imgscope.model import EntryType
from imgscope.union.filesystem import ChangeKind, FileChange


class KnownFile(Protocol):
    """What the final filesystem tells of a path (``analysis.FileRecord`` is one)."""

    @property
    def path(self) -> str: ...
    @property
    def layer(self) -> int: ...
    @property
    def mode(self) -> int: ...
    @property
    def uid(self) -> int: ...
    @property
    def gid(self) -> int: ...
    @property
    def link_target(self) -> str: ...


class LayerIndexError(UsageError, IndexError):
    """A layer number the image does not have (also an ``IndexError``)."""


_DIR = EntryType.DIR


@dataclass(frozen=True)
class Collapsed:
    """Entries of a directory left out of a trimmed tree, summed up.

    Attributes:
        entries: direct children left out
        files: non-directory paths at or below them (in a changes tree: those the layer kept)
        size: their bytes (in a changes tree: those the layer kept)
        removed_files: in a changes tree: removed paths at or below them
        removed_size: bytes of the removed entries among them
    """

    entries: int
    files: int
    size: int
    removed_files: int = 0
    removed_size: int = 0


@dataclass(frozen=True, eq=False, repr=False)  # repr: one line, from the display registry
class TreeNode(Displayable):
    """One path of a file tree. ``size`` and ``files`` are aggregated for directories.

    Attributes:
        name: "" for the root
        path: "/" for the root, else "/usr/lib"
        type: the entry's type
        size: bytes of the regular files at or below this path
        files: non-directory paths at or below this path
        change: in a changes tree: what the layer did to this path (None: an ancestor only)
        children: the entries below it, by name
        link_target: a symlink's target, when known (see ``_known``)
        mode: permission bits, when known
        uid: owner's user id, when known
        gid: owner's group id, when known
        removed_size: in a changes tree: bytes of the removed files at or below this path
        removed_files: in a changes tree: removed non-directory paths at or below this path
        collapsed: set by ``trim`` when children were left out
        depth_cut: set by ``trim`` when the children lie below the depth limit
    """

    name: str
    path: str
    type: EntryType
    size: int
    files: int
    change: ChangeKind | None = None
    children: tuple[TreeNode, ...] = field(default=(), repr=False)
    link_target: str | None = None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    removed_size: int = 0
    removed_files: int = 0
    collapsed: Collapsed | None = None
    depth_cut: bool = field(default=False)

    def _own(self) -> tuple[Any, ...]:
        """Every field but ``children``, and how many children."""
        own = (getattr(self, f.name) for f in fields(self) if f.name != "children")
        return (*own, len(self.children))

    def __eq__(self, other: object) -> bool:
        """Field by field, the whole tree, without recursion (a path may be 2,000 levels deep)."""
        if not isinstance(other, TreeNode):
            return NotImplemented
        pairs = [(self, other)]
        while pairs:
            a, b = pairs.pop()
            if a is not b:
                if a._own() != b._own():
                    return False
                pairs.extend(zip(a.children, b.children, strict=True))
        return True

    def __hash__(self) -> int:
        return hash(self._own())

    @property
    def weight(self) -> int:
        """Bytes this path stands for: its size, plus in a changes tree what the layer removed below it."""
        return self.size if self.change is ChangeKind.REMOVED else self.size + self.removed_size

    def find(self, path: str) -> TreeNode | None:
        """The node at ``path`` (``/usr/lib``, ``usr/lib``), or None. No symlink is followed."""
        node: TreeNode | None = self
        for part in (p for p in path.split("/") if p):
            if node is None:
                return None
            node = next((c for c in node.children if c.name == part), None)
        return node

    def walk(self) -> Iterator[TreeNode]:
        """This node and every node below it, depth first."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``docs/json.md``, tree document). Built without recursion: a path may be 2,000 levels deep."""
        top: dict[str, Any] = {}
        stack: list[tuple[TreeNode, dict[str, Any]]] = [(self, top)]
        while stack:
            node, doc = stack.pop()
            doc.update(node._own_dict())
            if "children" in doc:
                docs: list[dict[str, Any]] = [{} for _ in node.children]
                doc["children"] = docs
                stack.extend(reversed(list(zip(node.children, docs, strict=True))))
        return top

    def _own_dict(self) -> dict[str, Any]:
        """This node's keys, ``children`` an empty list to fill (for a directory or a node with children)."""
        doc: dict[str, Any] = {
            "name": self.name,
            "path": self.path,
            "type": self.type.value,
            "size": self.size,
            "files": self.files,
            "removed_size": self.removed_size,
            "removed_files": self.removed_files,
        }
        if self.change is not None:
            doc["change"] = self.change.value
        if self.type is EntryType.SYMLINK:
            doc["link_target"] = self.link_target
        if self.path != "/":
            doc["mode"] = None if self.mode is None else f"{self.mode:04o}"
            doc["uid"], doc["gid"] = self.uid, self.gid
        if self.type is _DIR or self.children:
            doc["children"] = []
            if self.collapsed is not None:
                doc["collapsed"] = {
                    "entries": self.collapsed.entries,
                    "files": self.collapsed.files,
                    "size": self.collapsed.size,
                    "removed_files": self.collapsed.removed_files,
                    "removed_size": self.collapsed.removed_size,
                }
            if self.depth_cut:
                doc["depth_cut"] = True
        return doc


class _Build:
    """A mutable node while a tree is replayed."""

    __slots__ = ("change", "children", "size", "type")

    def __init__(self, type: EntryType, size: int, change: ChangeKind | None = None) -> None:
        self.type = type
        self.size = size
        self.change = change
        self.children: dict[str, _Build] | None = {} if type is _DIR else None


_by_path = attrgetter("path")


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


def _dir_at(root: _Build, parts: list[str], keep: bool = False) -> _Build:
    """The directory at ``parts``, created on the way where missing (a change always follows its parents).

    With ``keep``, a non-directory on the way keeps its type and takes children: in a changes tree, a directory
    the layer replaced by a file holds the removed entries that were below it."""
    node = root
    for part in parts:
        assert node.children is not None
        child = node.children.get(part)
        if child is None:
            child = _Build(_DIR, 0)
            node.children[part] = child
        elif child.children is None:
            if keep:
                child.children = {}
            else:
                child = node.children[part] = _Build(_DIR, 0)
        node = child
    return node


def _apply(root: _Build, changes: Iterable[FileChange]) -> None:
    # By path, so a directory comes before what is below it. At the end of a layer a removed path is absent and
    # an added or modified one present, so no removal concerns an ancestor of another change: the order of the
    # kinds does not matter.
    last_dir, last_parent = None, root
    for change in sorted(changes, key=_by_path):
        parent_path, _, name = change.path.rpartition("/")
        if not name:
            continue
        removed = change.kind is ChangeKind.REMOVED
        if parent_path == last_dir and not removed:
            parent: _Build | None = last_parent
        else:
            parts = _parts(parent_path)
            parent = _find_build(root, parts) if removed else _dir_at(root, parts)
            if parent is not None and not removed:
                last_dir, last_parent = parent_path, parent
        if parent is None or parent.children is None:
            continue
        if removed:
            parent.children.pop(name, None)
            continue
        existing = parent.children.get(name)
        if existing is not None and existing.type is _DIR and change.type is _DIR:
            continue  # metadata of a directory: its children stay
        parent.children[name] = _Build(change.type, change.size if change.type is not _DIR else 0)


def _find_build(root: _Build, parts: list[str]) -> _Build | None:
    node: _Build | None = root
    for part in parts:
        if node is None or node.children is None:
            return None
        node = node.children.get(part)
    return node


def _freeze(root: _Build, changes_view: bool, known: dict[str, KnownFile]) -> TreeNode:
    """The frozen tree of ``root``, built bottom-up without recursion (a path may be 2,000 levels deep)."""
    order: list[tuple[str, str, _Build, int]] = [("", "/", root, -1)]  # parents before their children
    i = 0
    while i < len(order):
        _, path, node, _ = order[i]
        if node.children:
            prefix = path.rstrip("/")
            order.extend((n, f"{prefix}/{n}", child, i) for n, child in sorted(node.children.items()))
        i += 1
    frozen: dict[int, list[TreeNode]] = {}
    top: TreeNode | None = None
    for i in range(len(order) - 1, -1, -1):  # children, in reverse name order, before their parent
        name, path, node, parent = order[i]
        below = frozen.pop(i, [])
        below.reverse()
        top = _freeze_one(name, path, node, tuple(below), changes_view, known)
        if parent >= 0:
            frozen.setdefault(parent, []).append(top)
    assert top is not None
    return top


def _freeze_one(
    name: str,
    path: str,
    node: _Build,
    children: tuple[TreeNode, ...],
    changes_view: bool,
    known: dict[str, KnownFile],
) -> TreeNode:
    own_size = node.size if node.type is EntryType.FILE else 0
    own_files = 0 if node.type is _DIR else 1
    gone = node.change is ChangeKind.REMOVED
    record = None if gone else known.get(path)
    meta: dict[str, Any] = {}
    if record is not None:
        meta = {"mode": record.mode, "uid": record.uid, "gid": record.gid}
        if node.type is EntryType.SYMLINK:
            meta["link_target"] = record.link_target
    if node.children is None:
        return TreeNode(
            name,
            path,
            node.type,
            own_size,
            own_files,
            node.change,
            removed_size=own_size if gone else 0,
            removed_files=own_files if gone else 0,
            **meta,
        )
    counted = [c for c in children if not changes_view or gone or c.change is not ChangeKind.REMOVED]
    return TreeNode(
        name,
        path,
        node.type,
        own_size + sum(c.size for c in counted),
        own_files + sum(c.files for c in counted),
        node.change,
        children,
        removed_size=(own_size if gone else 0) + sum(c.removed_size for c in children),
        removed_files=(own_files if gone else 0) + sum(c.removed_files for c in children),
        **meta,
    )


#: The changes of each layer, in order (``LayerReport.changes`` of every layer).
Steps = Sequence[Sequence[FileChange]]


def tree_after(steps: Steps, files: Iterable[KnownFile], layer: int | None = None) -> TreeNode:
    """The filesystem as it stands after ``layer`` (default: the last), as a tree rooted at ``/``: the replay of
    ``steps`` 0..layer, with modes, owners and link targets from the final filesystem's ``files`` where exact."""
    last = _check_layer(len(steps), layer)
    with collector_paused():
        root = _Build(_DIR, 0)
        for changes in steps[: last + 1]:
            _apply(root, changes)
        return _freeze(root, False, _known(files, last))


def layer_changes_tree(steps: Steps, files: Iterable[KnownFile], layer: int | None = None) -> TreeNode:
    """Only what ``layer`` (default: the last) added, modified and removed, with the directories leading there."""
    index = _check_layer(len(steps), layer)
    if index < 0:
        raise LayerIndexError("layer", "the image has no layers, so no layer changed anything")
    with collector_paused():
        return _changes_tree(steps[index], _known(files, index))


def _known(files: Iterable[KnownFile], layer: int) -> dict[str, KnownFile]:
    """The paths whose every attribute after ``layer`` the final filesystem tells.

    A path of the final filesystem last written by a layer at or before ``layer`` is, after ``layer``, exactly as
    it is at the end: a later change to it would have written it again (a newer layer) or removed it (then it
    would be absent, or written again later). Other paths show no mode, owner or link target.
    """
    return {f.path: f for f in files if f.layer <= layer}


def _changes_tree(changes: Sequence[FileChange], known: dict[str, KnownFile]) -> TreeNode:
    root = _Build(_DIR, 0)
    for change in sorted(changes, key=_by_path):
        parts = _parts(change.path)
        if not parts:
            continue
        parent = _dir_at(root, parts[:-1], keep=True)  # sorted by path: a changed directory came first
        assert parent.children is not None
        parent.children[parts[-1]] = _Build(change.type, change.size if change.type is not _DIR else 0, change.kind)
    return _freeze(root, True, known)


def _check_layer(count: int, layer: int | None) -> int:
    if count == 0:
        if layer is None:
            return -1
        raise LayerIndexError(f"layer {layer}", "the image has no layers")
    if layer is None:
        return count - 1
    index = layer + count if layer < 0 else layer
    if not 0 <= index < count:
        raise LayerIndexError(f"layer {layer}", f"the image has layers 0 to {count - 1}")
    return index


def trim(
    node: TreeNode,
    *,
    depth: int | None = None,
    min_size: int = 0,
    limit: int | None = None,
    sort: str = "size",
) -> TreeNode:
    """A tree fit to show: children sorted (``size``: largest ``weight`` first; ``name``), those whose weight is
    below ``min_size`` and those beyond the ``limit`` first ones collapsed into a ``Collapsed`` summary, nothing
    below ``depth`` levels (depth 1: the node's children only)."""
    if sort not in ("size", "name"):
        raise ValueError(f"sort must be 'size' or 'name', not {sort!r}")
    return _trim(node, depth, min_size, limit, sort)


def _trim(node: TreeNode, depth: int | None, min_size: int, limit: int | None, sort: str) -> TreeNode:
    # Without recursion (a path may be 2,000 levels deep): first each node's kept children and summary, parents
    # before children; then the new nodes, children before parents.
    order: list[tuple[TreeNode, int, Collapsed | None, bool]] = []  # node, parent's position, summary, cut
    pending: list[tuple[TreeNode, int | None, int]] = [(node, depth, -1)]
    while pending:
        current, levels, parent = pending.pop()
        position = len(order)
        if not current.children:
            order.append((current, parent, None, False))
            continue
        if levels is not None and levels <= 0:
            order.append((current, parent, None, True))
            continue
        kept, collapsed = _split(current.children, min_size, limit, sort)
        order.append((current, parent, collapsed, False))
        below = None if levels is None else levels - 1
        pending.extend((c, below, position) for c in reversed(kept))
    built: dict[int, list[TreeNode]] = {}
    top = node
    for position in range(len(order) - 1, -1, -1):
        current, parent, collapsed, cut = order[position]
        if cut:
            top = replace(current, children=(), depth_cut=True)
        elif not current.children:
            top = current
        else:
            children = built.pop(position, [])
            children.reverse()
            top = replace(current, children=tuple(children), collapsed=collapsed)
        if parent >= 0:
            built.setdefault(parent, []).append(top)
    return top


def _split(
    children: tuple[TreeNode, ...], min_size: int, limit: int | None, sort: str
) -> tuple[list[TreeNode], Collapsed | None]:
    """The children to show, in order, and a summary of the others (None when all are shown)."""
    if sort == "size":
        ordered = sorted(children, key=lambda c: (-c.weight, c.name))
    else:
        ordered = sorted(children, key=lambda c: c.name)
    kept: list[TreeNode] = []
    left: list[TreeNode] = []
    for child in ordered:
        small = child.weight < min_size
        if small or (limit is not None and len(kept) >= limit):
            left.append(child)
        else:
            kept.append(child)
    if not left:
        return kept, None
    return kept, Collapsed(
        len(left),
        sum(c.files for c in left if c.change is not ChangeKind.REMOVED),
        sum(c.size for c in left if c.change is not ChangeKind.REMOVED),
        sum(c.removed_files for c in left),
        sum(c.removed_size for c in left),
    )
