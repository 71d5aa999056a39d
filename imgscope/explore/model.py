"""What the explorer shows, computed from an ``Analysis`` only: no Textual here, so every piece is testable alone.

* ``ViewTree``: the file tree of one view (one layer's changes, the aggregated changes up to a layer, one layer
  against another, or one image against another), each path marked added/removed/modified/unmodified as dive
  marks them. Children are materialised only when a directory is opened (``children``), sorted by size
  (default) or name; ``visible`` answers a filter (regex or glob, size bounds, hidden kinds) in one pass.
* ``waste_rows``: the "why is this wasted?" lens: every wasted copy with the layer that wrote it and the layer
  that hid it, and dive's count and bytes for the same path.
* ``path_history``: what each layer did to one path.
* ``content_layer``: which layer's blob holds the bytes a path shows at a layer (for ``member.read_member``).
"""

from __future__ import annotations

import enum
import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from threading import Lock

import imgscope
from imgscope.globs import Glob
from imgscope.units import parse_size

_DIR = imgscope.EntryType.DIR
_ADDED = imgscope.ChangeKind.ADDED
_MODIFIED = imgscope.ChangeKind.MODIFIED
_REMOVED = imgscope.ChangeKind.REMOVED


class DiffKind(str, enum.Enum):
    """dive's four kinds: how the compared state differs from the state below it."""

    ADDED = "added"
    REMOVED = "removed"
    MODIFIED = "modified"
    UNMODIFIED = "unmodified"


class Mode(str, enum.Enum):
    """What the tree compares."""

    LAYER = "layer"  # layer N against layer N-1 (dive's "Show layer changes", Ctrl+L)
    AGGREGATED = "aggregated"  # layer N against layer 0 (dive's "Show aggregated changes", Ctrl+A)
    LAYERS = "layers"  # layer B against layer A (any two)
    IMAGES = "images"  # the final filesystem of image B against image A (``--against``)


@dataclass(frozen=True)
class ViewKey:
    """One view: ``top`` compared with ``base`` (None: nothing below, everything added)."""

    mode: Mode
    top: int
    base: int | None

    @classmethod
    def layer(cls, index: int) -> ViewKey:
        return cls(Mode.LAYER, index, index - 1 if index > 0 else None)

    @classmethod
    def aggregated(cls, index: int) -> ViewKey:
        # dive: at layer 0 both modes compare layer 0 with itself; here layer 0 shows what it added.
        return cls(Mode.AGGREGATED, index, 0 if index > 0 else None)

    @classmethod
    def layers(cls, a: int, b: int) -> ViewKey:
        return cls(Mode.LAYERS, max(a, b), min(a, b))

    @property
    def title(self) -> str:
        if self.mode is Mode.LAYER:
            return "Current Layer Contents"
        if self.mode is Mode.AGGREGATED:
            return "Aggregated Layer Contents"
        if self.mode is Mode.LAYERS:
            return f"Layer {self.top} against layer {self.base}"
        return "Image B against image A"


class ViewNode:
    """One row of the tree: a path, its attributes (None when the analysis does not know them) and its kind."""

    __slots__ = (
        "_children",
        "depth",
        "gid",
        "is_dir",
        "kind",
        "link_target",
        "mode",
        "name",
        "parent",
        "path",
        "size",
        "source",
        "type",
        "uid",
    )

    def __init__(self, source: imgscope.TreeNode, kind: DiffKind, parent: ViewNode | None) -> None:
        self.source = source
        self.name = source.name
        self.path = source.path
        self.type = source.type
        self.is_dir = source.type is _DIR or bool(source.children)  # has (or may have) rows below it
        # A removed directory shows the bytes it held; a removed file its own size.
        self.size = source.size if kind is not DiffKind.REMOVED else max(source.size, source.removed_size)
        self.mode = source.mode
        self.uid = source.uid
        self.gid = source.gid
        self.link_target = source.link_target
        self.kind = kind
        self.parent = parent
        self.depth: int = 0 if parent is None else parent.depth + 1
        self._children: dict[str, list[ViewNode]] = {}

    def __repr__(self) -> str:
        return f"ViewNode({self.path!r}, {self.kind.value}, {self.size})"


def _parent_path(path: str) -> str:
    head = path.rpartition("/")[0]
    return head or "/"


def _ancestors(path: str) -> Iterator[str]:
    while path != "/":
        path = _parent_path(path)
        yield path


@dataclass(frozen=True)
class Filter:
    """The filter line: a path pattern (a regex searched in the path, as dive does; a glob when the text is no
    valid regex or starts with ``glob:``, at any depth when it has no ``/``) and size bounds (``>1MB``,
    ``<=10KiB``) on everything but directories."""

    text: str = ""
    pattern: re.Pattern[str] | None = None
    glob: Glob | None = None
    min_size: int | None = None  # inclusive
    max_size: int | None = None  # inclusive

    @property
    def active(self) -> bool:
        return any(x is not None for x in (self.pattern, self.glob, self.min_size, self.max_size))

    @property
    def by_size(self) -> bool:
        return self.min_size is not None or self.max_size is not None

    def path_matches(self, path: str) -> bool:
        if self.pattern is not None:
            return self.pattern.search(path) is not None
        if self.glob is not None:
            return self.glob.matches(path)
        return True

    def size_matches(self, size: int) -> bool:
        return (self.min_size is None or size >= self.min_size) and (self.max_size is None or size <= self.max_size)


_SIZE_TERM = re.compile(r"^(>=|<=|>|<)\s*(\S+)$")


def parse_filter(text: str) -> Filter:
    """The filter for ``text``: words like ``>1MB`` are size bounds, the rest is the path pattern.
    ValueError (with a message for the user) on a bad size or pattern."""
    words: list[str] = []
    low: int | None = None
    high: int | None = None
    for word in text.split():
        term = _SIZE_TERM.match(word)
        if term is None:
            words.append(word)
            continue
        op, value = term.groups()
        size = parse_size(value)
        if op == ">":
            low = size + 1
        elif op == ">=":
            low = size
        elif op == "<":
            high = max(0, size - 1)
        else:
            high = size
    pattern_text = " ".join(words)
    pattern: re.Pattern[str] | None = None
    glob: Glob | None = None
    if pattern_text.startswith("glob:"):
        glob = _glob(pattern_text[5:])
    elif pattern_text.startswith("re:"):
        pattern = _regex(pattern_text[3:])
    elif pattern_text:
        try:
            pattern = re.compile(pattern_text)
        except re.error:
            glob = _glob(pattern_text)  # "*.so", "/usr/**/*.so": no regex, clearly globs
    return Filter(text, pattern, glob, low, high)


def _glob(text: str) -> Glob:
    """A glob; one without ``/`` names a file at any depth (``*.so`` is ``/**/*.so``)."""
    return Glob(text if "/" in text else "/**/" + text)


def _regex(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None


class ViewTree:
    """The tree of one view. ``root`` is ``/``; ``children(node, sort)`` materialises a directory's rows."""

    def __init__(
        self,
        key: ViewKey,
        top: imgscope.TreeNode,
        marks: dict[str, DiffKind],
        removed: dict[str, list[imgscope.TreeNode]],
    ) -> None:
        self.key = key
        self._marks = marks
        self._removed = removed  # parent path -> the topmost removed nodes below it (from the base tree)
        changed_dirs: set[str] = set()
        for path in (*marks, *(n.path for nodes in removed.values() for n in nodes)):
            for up in _ancestors(path):
                if up in changed_dirs:
                    break
                changed_dirs.add(up)
        self._changed_dirs = changed_dirs
        self.root = ViewNode(top, self.kind_of(top.path), None)
        self.counts = self._count()

    def kind_of(self, path: str) -> DiffKind:
        mark = self._marks.get(path)
        if mark is not None:
            return mark
        return DiffKind.MODIFIED if path in self._changed_dirs else DiffKind.UNMODIFIED

    def _count(self) -> dict[DiffKind, int]:
        counts = dict.fromkeys(DiffKind, 0)
        for kind in self._marks.values():
            counts[kind] += 1
        counts[DiffKind.REMOVED] += sum(sum(1 for _ in n.walk()) for nodes in self._removed.values() for n in nodes)
        return counts

    def children(self, node: ViewNode, sort: str = "size") -> list[ViewNode]:
        """The rows below ``node``, sorted (``size``: largest first, then name; ``name``), made once per sort."""
        made = node._children.get(sort)
        if made is not None:
            return made
        other = next(iter(node._children.values()), None)
        if other is None:
            if node.kind is DiffKind.REMOVED:
                other = [ViewNode(c, DiffKind.REMOVED, node) for c in node.source.children]
            else:
                other = [ViewNode(c, self.kind_of(c.path), node) for c in node.source.children]
                taken = {c.name for c in other}
                other.extend(
                    ViewNode(r, DiffKind.REMOVED, node) for r in self._removed.get(node.path, ()) if r.name not in taken
                )
                for child in other:
                    if child.path in self._removed:  # a directory replaced by a file: what it held, removed
                        child.is_dir = True
        made = sorted(other, key=(lambda c: (-c.size, c.name)) if sort == "size" else (lambda c: (0, c.name)))
        node._children[sort] = made
        return made

    def find(self, path: str) -> ViewNode | None:
        """The row of ``path``, materialising the directories on the way; None when the view has no such path."""
        node = self.root
        for part in (p for p in path.split("/") if p):
            node_next = next((c for c in self.children(node) if c.name == part), None)
            if node_next is None:
                return None
            node = node_next
        return node

    def walk_all(self) -> Iterator[tuple[imgscope.TreeNode, DiffKind]]:
        """Every path of the view with its kind, without materialising rows (for filters and counts)."""
        stack: list[tuple[imgscope.TreeNode, bool]] = [(self.root.source, False)]
        removed = self._removed
        while stack:
            node, gone = stack.pop()
            yield node, (DiffKind.REMOVED if gone else self.kind_of(node.path))
            stack.extend((c, gone) for c in node.children)
            if not gone:
                extra = removed.get(node.path)
                if extra:
                    taken = {c.name for c in node.children}
                    stack.extend((r, True) for r in extra if r.name not in taken)

    def openable(self) -> set[str]:
        """Every path with rows below it (for "open all")."""
        paths = {n.path for n, _ in self.walk_all() if n.type is _DIR or n.children}
        return paths | set(self._removed)

    def visible(self, flt: Filter | None, hidden: frozenset[DiffKind]) -> set[str] | None:
        """The paths to show under ``flt`` and with the ``hidden`` kinds left out (None: all): a file when it
        passes; a directory when something below it does, or when its own path matches the pattern."""
        if (flt is None or not flt.active) and not hidden:
            return None
        keep: set[str] = {"/"}
        for node, kind in self.walk_all():
            if kind in hidden:
                continue
            path = node.path
            is_dir = node.type is _DIR
            if flt is not None and flt.active:
                if is_dir and (flt.by_size or (flt.pattern is None and flt.glob is None)):
                    continue
                if not flt.path_matches(path):
                    continue
                if not is_dir and not flt.size_matches(node.size):
                    continue
            elif is_dir and node.children:
                continue  # shown through what is below it
            while path not in keep:
                keep.add(path)
                path = _parent_path(path)
        return keep


def _index(tree: imgscope.TreeNode) -> dict[str, imgscope.TreeNode]:
    return {n.path: n for n in tree.walk()}


class Trees:
    """``Analysis.tree`` results, a few kept (a tree of a 160,000-file image is about 100 MB)."""

    def __init__(self, analysis: imgscope.Analysis, keep: int = 3) -> None:
        self.analysis = analysis
        self._keep = keep
        self._cache: OrderedDict[tuple[int, bool], tuple[imgscope.TreeNode, dict[str, imgscope.TreeNode] | None]]
        self._cache = OrderedDict()
        self._lock = Lock()

    def get(self, layer: int, changes: bool = False) -> imgscope.TreeNode:
        return self._entry(layer, changes, False)[0]

    def index(self, layer: int) -> dict[str, imgscope.TreeNode]:
        found = self._entry(layer, False, True)[1]
        assert found is not None
        return found

    def _entry(
        self, layer: int, changes: bool, indexed: bool
    ) -> tuple[imgscope.TreeNode, dict[str, imgscope.TreeNode] | None]:
        key = (layer, changes)
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None:
                self._cache.move_to_end(key)
                if indexed and entry[1] is None:
                    entry = (entry[0], _index(entry[0]))
                    self._cache[key] = entry
                return entry
        tree = self.analysis.tree(layer, changes=changes)
        entry = (tree, _index(tree) if indexed else None)
        with self._lock:
            self._cache[key] = entry
            while len(self._cache) > self._keep:
                self._cache.popitem(last=False)
        return entry


def build_view(trees: Trees, key: ViewKey) -> ViewTree:
    """The view ``key`` of ``trees.analysis`` (layer modes; ``compare_images`` for two images)."""
    analysis = trees.analysis
    if key.mode is Mode.IMAGES:
        raise ValueError("an image comparison needs both analyses: use compare_images")
    if key.mode is Mode.LAYER:
        top = trees.get(key.top)
        changes = trees.get(key.top, changes=True)
        marks: dict[str, DiffKind] = {}
        removed: dict[str, list[imgscope.TreeNode]] = {}
        stack = list(changes.children)
        while stack:
            node = stack.pop()
            if node.change is _REMOVED:
                removed.setdefault(_parent_path(node.path), []).append(node)
                continue
            if node.change is _ADDED:
                marks[node.path] = DiffKind.ADDED
            elif node.change is _MODIFIED:
                marks[node.path] = DiffKind.MODIFIED
            stack.extend(node.children)
        # A path the layer removed and wrote again (a file replaced by a directory) shows as modified.
        for parent, nodes in removed.items():
            for node in nodes:
                if node.path in marks:
                    marks[node.path] = DiffKind.MODIFIED
            removed[parent] = [n for n in nodes if n.path not in marks]
        return ViewTree(key, top, marks, removed)
    top_index = trees.index(key.top)
    top = top_index["/"]
    if key.base is None:
        marks = {p: DiffKind.ADDED for p in top_index if p != "/"}
        return ViewTree(key, top, marks, {})
    base_index = trees.index(key.base)
    changed: set[str] = set()
    for report in analysis.layers[key.base + 1 : key.top + 1]:
        changed.update(c.path for c in report.changes)
    return _diff_view(key, top, top_index, base_index, changed)


def _diff_view(
    key: ViewKey,
    top: imgscope.TreeNode,
    top_index: dict[str, imgscope.TreeNode],
    base_index: dict[str, imgscope.TreeNode],
    changed: Iterable[str],
) -> ViewTree:
    marks: dict[str, DiffKind] = {}
    removed: dict[str, list[imgscope.TreeNode]] = {}
    for path in changed:
        if path == "/":
            continue
        in_top = path in top_index
        in_base = path in base_index
        if in_top:
            marks[path] = DiffKind.MODIFIED if in_base else DiffKind.ADDED
        elif in_base:
            parent = _parent_path(path)
            if parent in top_index:  # only the topmost removed path: what was below it comes with it
                removed.setdefault(parent, []).append(base_index[path])
    return ViewTree(key, top, marks, removed)


def compare_images(a: imgscope.Analysis, b: imgscope.Analysis) -> ViewTree:
    """Image B's final filesystem marked against image A's (``imgscope.diff``: added, removed, changed)."""
    top_index = _index(b.tree())
    base_index = _index(a.tree())
    result = imgscope.diff(a, b)
    marks: dict[str, DiffKind] = {}
    removed: dict[str, list[imgscope.TreeNode]] = {}
    for f in result.files:
        if f.kind == "added" and f.path in top_index:
            marks[f.path] = DiffKind.ADDED
        elif f.kind == "changed" and f.path in top_index:
            marks[f.path] = DiffKind.MODIFIED
        elif f.kind == "removed" and f.path in base_index:
            parent = _parent_path(f.path)
            if parent in top_index:
                removed.setdefault(parent, []).append(base_index[f.path])
    key = ViewKey(Mode.IMAGES, len(b.layers) - 1, len(a.layers) - 1)
    return ViewTree(key, top_index["/"], marks, removed)


# -- the waste lens, a path's history, where a file's bytes are ----------------------------------------------------


@dataclass(frozen=True)
class WasteRow:
    """One wasted copy: imgscope's attribution, and dive's figures for the same path (None: dive counts none)."""

    path: str
    size: int
    layer: int  # the layer that wrote the copy
    hidden_by: int  # the layer that hid it
    reason: imgscope.WasteReason
    dive_count: int | None = None  # copies dive counts for the path
    dive_bytes: int | None = None  # dive's cumulative size for the path

    @property
    def how(self) -> str:
        """The reason in words."""
        return _HOW[self.reason]


_HOW = {
    imgscope.WasteReason.OVERWRITTEN: "overwritten",
    imgscope.WasteReason.METADATA_ONLY: "copied again for a chmod/chown",
    imgscope.WasteReason.IDENTICAL: "copied again, same bytes",
    imgscope.WasteReason.DELETED: "deleted",
    imgscope.WasteReason.OPAQUE: "hidden by an opaque directory",
}


@dataclass(frozen=True)
class WasteLens:
    """Every wasted copy, largest first, and the totals both ways."""

    rows: tuple[WasteRow, ...]
    wasted_bytes: int
    dive_wasted_bytes: int
    dive_only: tuple[str, ...] = field(default=())  # paths dive counts as inefficient that hold no waste here


def waste_lens(analysis: imgscope.Analysis) -> WasteLens:
    """The "why is this wasted?" lens of ``analysis``."""
    dive = {i.path: i for i in analysis.dive.inefficiencies}
    rows = []
    ours: set[str] = set()
    for w in analysis.wasted_files:
        d = dive.get(w.path)
        ours.add(w.path)
        rows.append(
            WasteRow(
                w.path,
                w.size,
                w.layer,
                w.hidden_by,
                w.reason,
                d.count if d else None,
                d.cumulative_size if d else None,
            )
        )
    dive_only = tuple(sorted(p for p in dive if p not in ours))
    return WasteLens(tuple(rows), analysis.summary.wasted_bytes, analysis.dive.wasted_bytes, dive_only)


@dataclass(frozen=True)
class PathEvent:
    """What one layer did to one path."""

    layer: int
    kind: imgscope.ChangeKind
    type: imgscope.EntryType
    size: int
    metadata_only: bool
    command: str


def path_history(analysis: imgscope.Analysis, path: str) -> list[PathEvent]:
    """Each layer's change to ``path`` (``/etc/passwd``), bottom to top: written, overwritten, removed."""
    path = "/" + "/".join(p for p in path.split("/") if p)
    events = []
    for report in analysis.layers:
        for change in report.changes:
            if change.path == path:
                events.append(
                    PathEvent(report.index, change.kind, change.type, change.size, change.metadata_only, report.command)
                )
    return events


def content_layer(analysis: imgscope.Analysis, path: str, layer: int) -> int | None:
    """The layer whose blob holds the bytes ``path`` has at ``layer``: the last layer at or below it that wrote
    the path (for a path ``layer`` removed, the last one below it). None when no such layer wrote it."""
    found: int | None = None
    for event in path_history(analysis, path):
        if event.layer > layer:
            break
        if event.kind is _REMOVED:
            if event.layer == layer:
                break
            found = None
        else:
            found = event.layer
    return found
