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
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import add, and_, invert, itemgetter, mul, sub
from threading import Lock
from typing import Any

from imgscope._gc import collector_paused
from imgscope.analysis.result import Analysis, FileRecord, FileTable
from imgscope.compare import diff
from imgscope.globs import Glob
from imgscope.model import EntryType, MadeOnRead
from imgscope.union.filesystem import ChangeKind, WasteReason
from imgscope.union.tree import TreeNode
from imgscope.units import parse_size

_DIR = EntryType.DIR
_ADDED = ChangeKind.ADDED
_MODIFIED = ChangeKind.MODIFIED
_REMOVED = ChangeKind.REMOVED


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

    def __init__(
        self,
        path: str,
        type: EntryType,
        size: int,
        kind: DiffKind,
        parent: ViewNode | None,
        *,
        is_dir: bool = False,
        record: FileRecord | TreeNode | None = None,
        source: TreeNode | None = None,
    ) -> None:
        self.path = path
        self.name = path.rpartition("/")[2]
        self.type = type
        self.is_dir = is_dir or type is _DIR  # has (or may have) rows below it
        self.size = size
        self.kind = kind
        self.parent = parent
        self.depth: int = 0 if parent is None else parent.depth + 1
        self.mode = record.mode if record is not None else None
        self.uid = record.uid if record is not None else None
        self.gid = record.gid if record is not None else None
        self.link_target = record.link_target or None if record is not None else None
        self.source = source
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

    key: ViewKey
    root: ViewNode

    def _make_children(self, node: ViewNode, only: set[str] | None = None) -> list[ViewNode]:
        """The rows below ``node`` (those whose path is in ``only``, when given), unsorted."""
        raise NotImplementedError

    def walk_all(self) -> Iterator[tuple[str, bool, bool, int, DiffKind]]:
        """Every path of the view (path, is a directory, has nothing below it, size, kind), without materialising
        rows."""
        raise NotImplementedError

    def counts(self) -> dict[DiffKind, int]:
        """Paths added, modified, removed (directories included)."""
        raise NotImplementedError

    def candidates(
        self, flt: Filter | None, hidden: frozenset[DiffKind]
    ) -> Iterator[tuple[str, bool, bool, int, DiffKind]]:
        """The paths ``visible`` looks at, as ``walk_all`` gives them: a view may leave out paths that cannot
        pass ``flt`` and ``hidden``."""
        return self.walk_all()

    def matched(self, flt: Filter | None) -> bool:
        """True when ``candidates(flt, ...)`` gives only paths the pattern of ``flt`` matches (``visible`` need
        not try it again)."""
        return False

    def openable(self) -> set[str]:
        """Every path with rows below it (for "open all")."""
        return {path for path, is_dir, _, _, _ in self.walk_all() if is_dir}

    def children(self, node: ViewNode, sort: str = "size") -> list[ViewNode]:
        """The rows below ``node``, sorted (``size``: largest first, then name; ``name``), made once per sort."""
        made = node._children.get(sort)
        if made is not None:
            return made
        other = next(iter(node._children.values()), None)
        if other is None:
            other = self._make_children(node)
        made = sorted(other, key=_SORT_KEYS[sort])
        node._children[sort] = made
        return made

    def shown_children(self, node: ViewNode, sort: str, shown: set[str] | None) -> list[ViewNode]:
        """``children(node, sort)`` that are in ``shown`` (None: all). Rows already made are filtered; else only
        the shown ones are made (a filter shows a few paths of large directories), and not kept."""
        if shown is None or node._children:
            kids = self.children(node, sort)
            return kids if shown is None else [c for c in kids if c.path in shown]
        return sorted(self._make_children(node, shown), key=_SORT_KEYS[sort])

    def find(self, path: str) -> ViewNode | None:
        """The row of ``path``, materialising the directories on the way; None when the view has no such path."""
        node = self.root
        for part in (p for p in path.split("/") if p):
            node_next = next((c for c in self.children(node) if c.name == part), None)
            if node_next is None:
                return None
            node = node_next
        return node

    def visible(self, flt: Filter | None, hidden: frozenset[DiffKind]) -> set[str] | None:
        """The paths to show under ``flt`` and with the ``hidden`` kinds left out (None: all): a file when it
        passes; a directory when something below it does, or when its own path matches the pattern."""
        if (flt is None or not flt.active) and not hidden:
            return None
        keep: set[str] = {"/"}
        active = flt is not None and flt.active
        dirs_by_pattern = active and flt is not None and not flt.by_size and (flt.pattern or flt.glob) is not None
        matched = self.matched(flt)  # the candidates are the pattern's matches: not tried twice
        for path, is_dir, leaf, size, kind in self.candidates(flt, hidden):
            if kind in hidden:
                continue
            if active:
                assert flt is not None
                if is_dir and not dirs_by_pattern:
                    continue
                if not matched and not flt.path_matches(path):
                    continue
                if not is_dir and not flt.size_matches(size):
                    continue
            elif not leaf:
                continue  # shown through what is below it
            while path not in keep:
                keep.add(path)
                path = _parent_path(path)
        return keep


@dataclass
class Row:
    """One line of the file tree: a row of the view, the guides of its ancestors, last of its siblings."""

    node: ViewNode
    prefix: str  # the guides of the ancestors
    last: bool


#: a set of shown paths up to this size has its lines with every directory open found where they are asked
#: (``TreeRows``); a larger one only when a worker found them (``LayerView.full_lines``)
KNOWN_HERE = 20000


class TreeRows(MadeOnRead[Row]):
    """The lines of a view's tree, depth first (an open directory's rows below it, sorted), made only when read.

    Each open directory's rows below it are counted (for a ``LayerView`` from the timeline, making no
    ``ViewNode``); a line ``i`` is then found by going down from the root, each directory's shown children made
    (once) on the way: the tree of the whole image, every directory open, costs only the lines on the screen.

    Counted as needed (``lazy``): finding line ``i`` counts the directories above it only as far as it needs
    (the directories before it whole; the one it is in up to ``i``), so the first lines of the whole image,
    every directory open, cost a few directories. ``at_least(n)`` answers "are there ``n`` lines?" the same
    way; ``len``, ``width`` and ``count_all`` count everything (once). Counting from another thread while this
    one reads lines is safe: both store the same counts. Not lazy: everything is counted when made.

    ``width``: the widest line's tree part (guides, name, link), as the screen needs it. ``force_open``: every
    directory open (a filter's matches; "open all") but those in ``closed``; ``expanded``: open anyway."""

    _item_name = "row"

    def __init__(
        self,
        view: ViewTree,
        sort: str,
        shown: set[str] | None,
        expanded: set[str] | frozenset[str],
        force_open: bool,
        *,
        closed: set[str] | frozenset[str] = frozenset(),
        previous: TreeRows | None = None,
        lazy: bool = False,
        known: bool = True,
    ) -> None:
        """The lines of ``view``; ``previous``: the lines before (its counts are kept when only the sort
        changed: the same view, shown paths and open directories). ``known``: with every directory open, take
        the number of lines and the width from the view when it knows them (``LayerView.full_lines``: no
        count); False: count them (the tests compare both)."""
        self.view = view
        self.sort = sort
        self.shown = shown
        self.expanded = frozenset(expanded)
        self.force_open = force_open
        self.closed = frozenset(closed) if force_open else frozenset()
        self._blocks: dict[str, tuple[list[ViewNode], list[int]]] = {}
        self._below: dict[str, int] = {}  # open directory -> the rows below it (those counted so far)
        self._total: int | None = None
        self._width: int | None = None
        if (
            previous is not None
            and previous.view is view
            and previous.shown is shown
            and previous.force_open == force_open
            and previous.expanded == self.expanded
            and previous.closed == self.closed
        ):
            self._below = previous._below
            self._total, self._width = previous._total, previous._width
        if known and self._total is None and force_open and not self.closed and isinstance(view, LayerView):
            # every directory open: the lines known without counting them (those of a large set of shown paths
            # when a worker found them already)
            full = view.full_lines(shown, make=shown is None or len(shown) <= KNOWN_HERE)
            if full is not None:
                self._total, self._width = full.count, full.width
                if full.below is not None:
                    self._below = full.below
        if not lazy:
            self.count_all()

    def _open(self, path: str, is_dir: bool) -> bool:
        return is_dir and ((self.force_open and path not in self.closed) or path in self.expanded)

    @property
    def complete(self) -> bool:
        """True when every line is counted (``len`` and ``width`` cost nothing)."""
        return self._total is not None

    @property
    def width(self) -> int:
        self.count_all()
        assert self._width is not None
        return self._width

    @property
    def counted(self) -> bool:
        """True when the rows below every open directory are counted (reading a line counts nothing); the
        number of lines may be known without them (``LayerView.full_lines``)."""
        return self.view.root.path in self._below

    def count_directories(self) -> None:
        """Count the rows below every open directory (once)."""
        self._count_below(self.view.root, None)

    def count_all(self) -> None:
        """Count the rows below every open directory, and the widest line (once)."""
        if self._total is None:
            below: dict[str, int] = {}
            count, widest, _ = self._count(self.view.root, None, below)
            self._below.update(below)
            self._width = widest or 1
            self._total = count

    def at_least(self, n: int) -> int:
        """``min(n, len(self))``, counting only as far as needed."""
        if self._total is not None:
            return min(n, self._total)
        count, _, exact = self._count_below(self.view.root, n)
        return min(n, count) if exact else n

    def _count_below(self, node: ViewNode, cap: int | None) -> tuple[int, int, bool]:
        """The rows below the open directory ``node``: (count, widest, exact); with ``cap``, counting stops once
        ``cap`` rows are found (then ``exact`` is False and count >= cap). Exact counts are kept."""
        known = self._below.get(node.path)
        if known is not None:
            return known, 0, True
        below: dict[str, int] = {}
        count, widest, exact = self._count(node, cap, below)
        if exact:
            self._below.update(below)
            if node is self.view.root:
                self._width = widest or 1
                self._total = count
        return count, widest, exact

    def _count(self, node: ViewNode, cap: int | None, below: dict[str, int]) -> tuple[int, int, bool]:
        """Count below ``node`` into ``below`` (every open directory of its subtree, when exact)."""
        view = self.view
        order: list[tuple[str, int, list[str]]]  # open directories, parents first: rows, open children
        if isinstance(view, LayerView):
            order, widest, exact = view.count_rows(
                self.shown, self.expanded, self.force_open, self.closed, start=node, cap=cap
            )
        else:
            order = []
            widest = 0
            total = 0
            exact = True
            nodes: list[ViewNode] = [node]
            while nodes:
                parent = nodes.pop()
                kids = view.shown_children(parent, self.sort, self.shown)
                subs = []
                guides = 4 * parent.depth + 7
                for kid in kids:
                    width = guides + len(kid.name) + len(kid.link_target or "")
                    widest = max(widest, width)
                    if self._open(kid.path, kid.is_dir):
                        subs.append(kid.path)
                        nodes.append(kid)
                order.append((parent.path, len(kids), subs))
                total += len(kids)
                if cap is not None and total >= cap and nodes:
                    exact = False
                    break
        if not exact:
            return sum(count for _, count, _ in order), widest, False
        for path, count, subs in reversed(order):
            below[path] = count + sum(below[s] for s in subs)
        return below[node.path], widest, True

    def _block(self, node: ViewNode) -> tuple[list[ViewNode], list[int]]:
        """The shown children of the open directory ``node``, and the line (below it) each starts at, as far as
        they are known (``_locate`` adds more)."""
        made = self._blocks.get(node.path)
        if made is None:
            made = self._blocks[node.path] = (self.view.shown_children(node, self.sort, self.shown), [0])
        return made

    def _locate(self, kids: list[ViewNode], starts: list[int], index: int) -> int:
        """Which of ``kids`` line ``index`` (counted from the first of them) is, or is below; IndexError when
        beyond the last. ``starts`` grows as far as needed: a directory before the line is counted whole, the
        one the line is in only up to it."""
        if index < starts[-1]:
            return bisect_right(starts, index) - 1
        while len(starts) <= len(kids):
            j = len(starts) - 1
            if j == len(kids):
                break
            kid = kids[j]
            at = starts[j]
            if index == at:
                return j
            if self._open(kid.path, kid.is_dir):
                count, _, exact = self._count_below(kid, index - at)
                if not exact:
                    return j  # at least index - at rows below it: the line is one of them
                starts.append(at + 1 + count)
            else:
                starts.append(at + 1)
            if index < starts[-1]:
                return j
        raise IndexError(f"{self._item_name} index out of range")

    def __len__(self) -> int:
        self.count_all()
        assert self._total is not None
        return self._total

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, int) and i >= 0:
            return self._make(i)  # counts only what line i needs (IndexError beyond the last)
        return super().__getitem__(i)

    def _many(self, items: Iterator[Row]) -> list[Row]:
        return list(items)

    def _make(self, index: int) -> Row:
        node = self.view.root
        prefix = ""
        while True:
            kids, starts = self._block(node)
            j = self._locate(kids, starts, index)
            kid = kids[j]
            last = j == len(kids) - 1
            if index == starts[j]:
                return Row(kid, prefix, last)
            index -= starts[j] + 1
            prefix += "    " if last else "│   "
            node = kid

    def __iter__(self) -> Iterator[Row]:
        stack: list[tuple[ViewNode, str, bool]] = []
        kids = self._block(self.view.root)[0]
        for i in range(len(kids) - 1, -1, -1):
            stack.append((kids[i], "", i == len(kids) - 1))
        while stack:
            child, pre, last = stack.pop()
            yield Row(child, pre, last)
            if self._open(child.path, child.is_dir):
                sub_pre = pre + ("    " if last else "│   ")
                grand = self._block(child)[0]
                for i in range(len(grand) - 1, -1, -1):
                    stack.append((grand[i], sub_pre, i == len(grand) - 1))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, TreeRows)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def index_of(self, path: str) -> int | None:
        """The line of ``path``; None when it is not shown (filtered out, or below a closed directory)."""
        node = self.view.root
        at = 0
        while True:
            kids, starts = self._block(node)
            for j, kid in enumerate(kids):
                inside = path.startswith(kid.path.rstrip("/") + "/")
                if kid.path != path and not inside:
                    continue
                while len(starts) <= j:  # the lines before it: the directories before it counted whole
                    prev = kids[len(starts) - 1]
                    count = self._count_below(prev, None)[0] if self._open(prev.path, prev.is_dir) else 0
                    starts.append(starts[-1] + 1 + count)
                if kid.path == path:
                    return at + starts[j]
                if not self._open(kid.path, kid.is_dir):
                    return None
                at += starts[j] + 1
                node = kid
                break
            else:
                return None


_ABSENT = -1
_GONE = DiffKind.REMOVED
#: A row as ``LayerView._child_rows`` gives it: path, type, size, kind, is a directory, record, (mode, uid, gid).
_Owner = tuple["int | None", "int | None", "int | None"]
_ChildRow = tuple[str, EntryType, int, DiffKind, bool, "FileRecord | None", "_Owner | None"]
_SORT_KEYS: dict[str, Callable[[ViewNode], tuple[int, str]]] = {
    "size": lambda c: (-c.size, c.name),
    "name": lambda c: (0, c.name),
}

#: One layer's change to a path in a ``Timeline``: layer, kind code (0 added, 1 modified, 2 removed), type, size,
#: metadata only, mode, uid, gid.
Event = tuple[int, int, EntryType, int, bool, "int | None", "int | None", "int | None"]


class Records:
    """The final filesystem's records by path, each made when read: a ``FileTable`` makes a ``FileRecord`` per
    read, and making all of them (160,000) was half a second before the first screen. ``links``: path ->
    (link target, layer) of the records with a link target (the tree's width counts them)."""

    def __init__(self, files: Sequence[FileRecord]) -> None:
        self._files = files
        links: dict[str, tuple[str, int]] = {}
        if isinstance(files, FileTable):
            path_of = files.path_of
            self._index = {path_of(i): i for i in range(len(files))}
            type_of = files.type_of
            linked = (EntryType.SYMLINK, EntryType.HARDLINK)
            for i in range(len(files)):
                if type_of(i) in linked:
                    record = files[i]
                    if record.link_target:
                        links[record.path] = (record.link_target, record.layer)
        else:
            self._index = {f.path: i for i, f in enumerate(files)}
            links = {f.path: (f.link_target, f.layer) for f in files if f.link_target}
        self.links = links

    def get(self, path: str) -> FileRecord | None:
        """The record of ``path``; None when the final filesystem has no such path."""
        i = self._index.get(path)
        return None if i is None else self._files[i]


class Timeline:
    """Every path's changes across the layers, and each directory's size after each layer, from
    ``LayerReport.changes`` in one pass: any layer's tree is then read without replaying the layers.

    A directory's size is the sum of the regular files at or below it (a hard-linked name counts each time),
    as ``Analysis.tree`` counts it; ``count`` is how many paths are below it, so a directory that no layer
    recorded (made implicitly for what is below it) exists while something is below it.
    """

    def __init__(
        self,
        analysis: Analysis,
        *,
        layers: int | None = None,
        own_process: bool = False,
        records: Records | None = None,
    ) -> None:
        """The timeline of ``analysis`` (of its first ``layers`` layers only: enough for their views, and quicker
        to build for the first screen); ``records``: the analysis's ``Records``, when another timeline of it has
        them already."""
        self.analysis = analysis
        reports = analysis.layers if layers is None else analysis.layers[: max(0, layers)]
        layers = len(reports)
        self.layers = layers
        # path -> [(layer, kind code, type, size, metadata only, mode, uid, gid)] in layer order; kind 0 added,
        # 1 modified, 2 removed; a removal's mode and owner are the ones the path had
        events: dict[str, list[Event]] = {}
        names: dict[str, dict[str, None]] = {"/": {}}  # directory -> child names ever seen (an ordered set)
        size_delta: dict[str, list[int]] = {}
        count_delta: dict[str, list[int]] = {}
        self.layer_paths: list[list[str]] = []
        codes = {_ADDED: 0, _MODIFIED: 1, _REMOVED: 2}
        file_type = EntryType.FILE
        get_events = events.get
        get_delta = size_delta.get
        # many small acyclic objects: the collector would walk them over and over (``own_process``: see _gc)
        with collector_paused(own_process=own_process):
            for index, report in enumerate(reports):
                paths: list[str] = []
                append_path = paths.append
                for change in report.changes:
                    path = change.path
                    code = codes[change.kind]
                    kind_type = change.type
                    size = change.size
                    history = get_events(path)
                    if history is None:
                        history = events[path] = []
                        old_size = 0
                        existed = False
                        up = path
                        while up != "/":  # register the name with its parent, and the parents', once
                            head, _, name = up.rpartition("/")
                            parent = head or "/"
                            siblings = names.get(parent)
                            if siblings is None:
                                names[parent] = {name: None}
                                up = parent
                                continue
                            siblings[name] = None
                            break
                    else:
                        last = history[-1]
                        existed = last[1] != 2
                        old_size = last[3] if existed and last[2] is file_type else 0
                    history.append(
                        (index, code, kind_type, size, change.metadata_only, change.mode, change.uid, change.gid)
                    )
                    append_path(path)
                    d_size = (size if code != 2 and kind_type is file_type else 0) - old_size
                    d_count = (code != 2) - existed
                    if d_size or d_count:
                        parent = path.rpartition("/")[0] or "/"
                        sizes = get_delta(parent)
                        if sizes is None:
                            sizes = size_delta[parent] = [0] * layers
                            count_delta[parent] = [0] * layers
                        sizes[index] += d_size
                        count_delta[parent][index] += d_count
                self.layer_paths.append(paths)
        # Roll the deltas up, deepest directories first, then sum over the layers.
        for directory in sorted(names, key=lambda d: d.count("/") if d != "/" else 0, reverse=True):
            if directory == "/":
                continue
            sizes = size_delta.get(directory)
            if sizes is None:
                continue
            parent = _parent_path(directory)
            up_sizes = size_delta.get(parent)
            if up_sizes is None:
                up_sizes = size_delta[parent] = [0] * layers
                count_delta[parent] = [0] * layers
            counts = count_delta[directory]
            up_counts = count_delta[parent]
            for i in range(layers):
                up_sizes[i] += sizes[i]
                up_counts[i] += counts[i]
        for table in (size_delta, count_delta):
            for values in table.values():
                total = 0
                for i in range(layers):
                    total += values[i]
                    values[i] = total
        self.events = events
        self.names = names
        self.dir_size = size_delta  # after each layer
        self.dir_count = count_delta
        self.records = records if records is not None else Records(analysis.files)
        # directory -> the layers that changed something below it, as the bits of an int (bit L: layer L)
        dir_layers: dict[str, int] = {}
        get_mask = dir_layers.get
        with collector_paused(own_process=own_process):
            for index, paths in enumerate(self.layer_paths):
                bit = 1 << index
                for path in paths:
                    up = path
                    while up != "/":
                        up = up.rpartition("/")[0] or "/"
                        mask = get_mask(up, 0)
                        if mask & bit:
                            break  # this layer marked it, and every directory above it, already
                        dir_layers[up] = mask | bit
        self.dir_layers = dir_layers
        #: every path that is a directory after some layer (a change made it one, or something was below it)
        self.dir_paths = [p for p, h in events.items() if p not in names and any(e[2] is _DIR for e in h)]
        self.dir_paths.extend(names)
        self._counts: dict[int, list[dict[DiffKind, int]]] = {}
        self._matches: dict[tuple[str, str], list[str]] = {}
        self._presence: Presence | None = None
        self._unrecorded: list[str] | None = None
        self._presence_lock = Lock()
        if layers > 1:
            # the aggregated views' counts, while building (layer 0's aggregated view compares with nothing: -1)
            self.counts(0, layers - 1)
            self.counts(-1, layers - 1)

    def state(self, path: str, layer: int | None) -> tuple[EntryType, int] | None:
        """(type, size) of ``path`` after ``layer`` (None: before the first), or None when it is absent."""
        if layer is None:
            return None
        history = self.events.get(path)
        if history is None:  # an implicit directory (or the root): there while something is below it
            counts = self.dir_count.get(path)
            if path == "/" or (counts is not None and counts[layer] > 0):
                return _DIR, self.dir_size[path][layer] if path in self.dir_size else 0
            return None
        for event in reversed(history):
            if event[0] <= layer:
                if event[1] == 2:
                    return None
                if event[2] is _DIR:
                    sizes = self.dir_size.get(path)
                    return _DIR, sizes[layer] if sizes is not None else 0
                return event[2], event[3]
        return None

    def changed(self, path: str, base: int, top: int) -> bool:
        """True when a layer in (base, top] changed ``path``."""
        for event in self.events.get(path, ()):  # noqa: SIM110 (a loop: any() over a generator is slower here)
            if base < event[0] <= top:
                return True
        return False

    def changed_below(self, path: str, base: int, top: int) -> bool:
        """True when a layer in (base, top] changed something below ``path`` (-1 for base: from the first)."""
        return bool((self.dir_layers.get(path, 0) >> (base + 1)) & ((1 << (top - base)) - 1))

    def changed_dirs(self, base: int, top: int) -> list[str]:
        """The directories with a change below them in layers (base, top]."""
        window = ((1 << (top - base)) - 1) << (base + 1)
        return [path for path, mask in self.dir_layers.items() if mask & window]

    def counts(self, base: int, top: int) -> dict[DiffKind, int]:
        """Paths added, modified, removed (directories included) by the layers (base, top] (-1 for base: from the
        first): there after ``top`` and not after ``base``, there after both, there after ``base`` only.

        Made for every ``top`` at once, once per ``base``: each path's changes after ``base`` say at which layer
        its kind starts and ends; the counts are the sums of those steps up to ``top``."""
        made = self._counts.get(base)
        if made is None:
            layers = self.layers
            steps = [[0, 0, 0] for _ in range(layers + 1)]  # per layer: +1/-1 per kind (added, modified, removed)
            for history in self.events.values():
                before = False
                if base >= 0:
                    for event in history:
                        if event[0] > base:
                            break
                        before = event[1] != 2
                current = -1
                for event in history:
                    layer = event[0]
                    if layer <= base:
                        continue
                    # present after it: modified when present after base, else added; removed: when it was there
                    kind = (1 if before else 0) if event[1] != 2 else (2 if before else -1)
                    if kind != current:
                        if current >= 0:
                            steps[layer][current] -= 1
                        if kind >= 0:
                            steps[layer][kind] += 1
                        current = kind
            made = []
            running = [0, 0, 0]
            for layer in range(layers):
                for k in range(3):
                    running[k] += steps[layer][k]
                made.append(
                    {
                        DiffKind.ADDED: running[0],
                        DiffKind.MODIFIED: running[1],
                        DiffKind.REMOVED: running[2],
                        DiffKind.UNMODIFIED: 0,
                    }
                )
            self._counts[base] = made
        return dict(made[top])

    def has_counts(self, base: int) -> bool:
        """True when ``counts(base, ...)`` is made already (an answer without a pass over the paths)."""
        return base in self._counts

    @staticmethod
    def _match_key(flt: Filter) -> tuple[str, str]:
        return (flt.pattern.pattern, "re") if flt.pattern is not None else (flt.text, "glob")

    def matching(self, flt: Filter) -> list[str]:
        """Every path of the timeline (of any layer) that the pattern of ``flt`` matches, found once per pattern:
        another view with the same pattern reads the list again."""
        key = self._match_key(flt)
        found = self._matches.get(key)
        if found is None:
            events = self.events
            # ``filter`` calls the test from C, with no bytecode per path: twice as quick on 200,000 paths
            test: Callable[[str], object] = flt.pattern.search if flt.pattern is not None else flt.path_matches
            found = list(filter(test, events))
            if self._unrecorded is None:  # the directories no layer recorded (few): the other paths to try
                self._unrecorded = [p for p in self.names if p not in events]
            found.extend(filter(test, self._unrecorded))
            if len(self._matches) > 8:
                self._matches.clear()
            self._matches[key] = found
        return found

    def owner_mode(self, path: str, layer: int) -> tuple[int | None, int | None, int | None]:
        """Mode, uid and gid of ``path`` after ``layer``, from the last change at or below it (Nones when no
        layer recorded one, or the path is absent)."""
        for event in reversed(self.events.get(path, ())):
            if event[0] <= layer:
                if event[1] != 2:
                    return event[5], event[6], event[7]
                break
        return None, None, None

    def record(self, path: str, layer: int) -> FileRecord | None:
        """The final filesystem's metadata of ``path`` when it holds after ``layer`` too (no later layer wrote
        the path), else None: the analysis keeps only the final metadata."""
        record = self.records.get(path)
        return record if record is not None and record.layer <= layer else None

    def presence(self) -> Presence:
        """Which layers each path is there after, grouped so that the lines of any view with every directory open
        are counted without walking it (``LayerView.full_lines``); made once (thread-safe)."""
        with self._presence_lock:
            if self._presence is None:
                self._presence = Presence.of(self)
                if self._unrecorded is None:  # for ``matching``, made here too (in the worker that builds)
                    self._unrecorded = [p for p in self.names if p not in self.events]
            return self._presence


@dataclass(frozen=True)
class FullLines:
    """The lines of a view with every directory open (``LayerView.full_lines``): how many, the widest tree part
    of a line (``TreeRows.width``), and, for a set of shown paths, the rows below each open directory (None:
    counted as they are read)."""

    count: int
    width: int
    below: dict[str, int] | None


def _tree_widths(paths: Sequence[str]) -> Iterator[int]:
    """The width of each path's tree part of a line, in C (``map``): 4 cells of guides per level above it, 3 more,
    the name (2 + length - last ``/``)."""
    slash = repeat("/")
    return map(
        add,
        map(mul, map(str.count, paths, slash), repeat(4)),
        map(sub, map(len, paths), map(str.rfind, paths, slash)),
    )


class Presence:
    """A ``Timeline``'s paths as masks of the layers they are there after (bit L: after layer L), so that the
    lines of a view with every directory open are counted in O(masks) (``LayerView.full_lines``).

    ``present``: path -> mask, for every path but ``/`` (a directory no layer recorded, ``implicit``: there while
    something is below it). Of the paths with changes, by mask: how many (``counts``), the widest tree part of
    their line (``widest``: guides and name), and of those with a link target, by mask and the layer from which
    the target is shown (the final record's), the widest with it (``linked``). ``consistent``: every path is
    there only after layers its parent is there as a directory after (else nothing here is used)."""

    __slots__ = (
        "_having",
        "consistent",
        "counts",
        "implicit",
        "implicit_set",
        "linked",
        "masks",
        "paths",
        "present",
        "widest",
    )

    def __init__(
        self,
        present: dict[str, int],
        counts: dict[int, int],
        widest: dict[int, int],
        linked: dict[tuple[int, int], int],
        implicit: list[str],
        consistent: bool,
        paths: list[str] | None = None,
        masks: list[int] | None = None,
    ) -> None:
        self.paths = list(present) if paths is None else paths  # every path but /, and its mask
        self.masks = list(present.values()) if masks is None else masks
        self._having: dict[int, list[str]] = {}
        self.present = present
        self.counts = counts
        self.widest = widest
        self.linked = linked
        self.implicit = implicit
        self.implicit_set = set(implicit)
        self.consistent = consistent

    @classmethod
    def of(cls, timeline: Timeline) -> Presence:
        """The masks of ``timeline``: one pass over its paths' changes."""
        layers = timeline.layers
        full = (1 << layers) - 1
        present: dict[str, int] = {}
        dirs: dict[str, int] = {"": full}  # directory (``""``: the root) -> the layers it is a directory after
        after = [full ^ ((1 << layer) - 1) for layer in range(layers)]  # one change: there from its layer on
        spans = [[(1 << end) - (1 << start) for end in range(layers + 1)] for start in range(layers)]
        for path, history in timeline.events.items():
            if len(history) == 1:
                event = history[0]
                if event[1] == 2:
                    mask = 0
                else:
                    mask = after[event[0]]
                    if event[2] is _DIR:
                        dirs[path] = mask
            else:
                mask = dir_mask = 0
                end = layers
                for event in reversed(history):  # each change holds until the next one
                    if event[1] != 2:
                        bits = spans[event[0]][end]
                        mask |= bits
                        if event[2] is _DIR:
                            dir_mask |= bits
                    end = event[0]
                if dir_mask:
                    dirs[path] = dir_mask
            present[path] = mask
        present.pop("/", None)
        # From here on, loops in C (``map``) over the paths but for the maxima by mask.
        paths = list(present)
        masks = list(present.values())
        slash = repeat("/")
        widths = list(_tree_widths(paths))
        widest: dict[int, int] = {}
        for mask, width in zip(masks, widths, strict=True):
            if width > widest.get(mask, -1):
                widest[mask] = width
        widest = {mask: width + 2 for mask, width in widest.items()}
        linked: dict[tuple[int, int], int] = {}
        for path, (target, layer) in timeline.records.links.items():
            link_mask = present.get(path)
            if link_mask is not None:
                width = 4 * path.count("/") + 2 + len(path) - path.rfind("/") + len(target)
                key = (link_mask, layer)
                if width > linked.get(key, -1):
                    linked[key] = width
        implicit = [p for p in timeline.names if p != "/" and p not in present]
        dir_count = timeline.dir_count
        for path in implicit:
            counts = dir_count.get(path)
            mask = 0
            if counts is not None:
                for layer in range(layers):
                    if counts[layer] > 0:
                        mask |= 1 << layer
            present[path] = dirs[path] = mask
            paths.append(path)
            masks.append(mask)
        # every path there only after layers its parent is a directory after
        parents = map(itemgetter(0), map(str.rpartition, paths, slash))
        consistent = not any(map(and_, masks, map(invert, map(dirs.get, parents, repeat(0)))))
        return cls(present, dict(Counter(masks[: len(widths)])), widest, linked, implicit, consistent, paths, masks)

    def having(self, bits: int) -> list[str]:
        """The paths there after one of the layers of ``bits`` (a view's rows are among those there after its
        top or its base), found in C; the last few kept."""
        found = self._having.get(bits)
        if found is None:
            found = list(compress(self.paths, map(and_, self.masks, repeat(bits))))
            if len(self._having) >= 4:
                self._having.clear()
            self._having[bits] = found
        return found


class LayerView(ViewTree):
    """A view of one image's layers (``Mode.LAYER``, ``AGGREGATED``, ``LAYERS``) read from a ``Timeline``."""

    def __init__(self, timeline: Timeline, key: ViewKey) -> None:
        self.timeline = timeline
        self.key = key
        self.top = key.top
        self.base = key.base
        self._low = -1 if key.base is None else key.base  # the view shows the changes of layers (low, top]
        root_size = timeline.state("/", key.top)
        self.root = ViewNode("/", _DIR, root_size[1] if root_size else 0, self.kind_of("/"), None)
        self.root.name = ""
        self._full_all: tuple[FullLines | None] | None = None
        self._pattern_rows: tuple[tuple[tuple[str, str], int], list[str]] | None = None
        self._full_shown: tuple[set[str], FullLines | None] | None = None

    def full_lines(self, shown: set[str] | None, *, make: bool = True) -> FullLines | None:
        """The lines of this view with every directory open and the paths ``shown`` (None: all; else a set
        ``visible`` gave), as ``count_rows`` would count them, without walking the view: O(masks) for all,
        O(shown paths x depth) for a set (``make``: False, only an answer made already; a worker makes it).
        None when that cannot be known so (the timeline is not one consistent tree, or a directory no layer
        recorded went away with all below it: those rows are not shown, and ``visible`` may keep paths below
        it). Kept: for all, and for the last set asked."""
        if shown is None:
            if self._full_all is None:
                self._full_all = (self._full_lines(None),)
            return self._full_all[0]
        cached = self._full_shown
        if cached is not None and cached[0] is shown:
            return cached[1]
        if not make:
            return None
        found = self._full_lines(shown)
        self._full_shown = (shown, found)
        return found

    def visible(self, flt: Filter | None, hidden: frozenset[DiffKind]) -> set[str] | None:
        if hidden or flt is None or flt.by_size or not self.matched(flt):
            return super().visible(flt, hidden)
        rows = self.pattern_rows(flt)
        keep: set[str] = set(rows)
        keep.discard("/")
        # the directories above them: from each distinct parent up, until one is kept already
        parents = set(map(itemgetter(0), map(str.rpartition, rows, repeat("/"))))
        parents.discard("")
        for path in parents:
            while path not in keep:
                keep.add(path)
                path = path[: path.rfind("/")]
                if not path:
                    break
        keep.add("/")
        return keep

    def _bits(self) -> int:
        """The layers whose paths can be rows: top, and base."""
        return 1 << self.top if self.base is None else 1 << self.top | 1 << self.base

    def candidate_count(self) -> int:
        """How many paths a pattern is tried on (``pattern_rows``)."""
        return len(self.timeline.presence().having(self._bits()))

    def pattern_rows(self, flt: Filter) -> list[str]:
        """The paths the pattern of ``flt`` matches that are rows of the view: there after top, or after base and
        changed since (removed; a directory no layer recorded is not), read from the presence masks
        (``state``'s answers). The pattern is tried only on the paths there after top or base; kept for the
        last pattern."""
        key = (Timeline._match_key(flt), self._bits())
        cached = self._pattern_rows
        if cached is not None and cached[0] == key:
            return cached[1]
        presence = self.timeline.presence()
        test: Callable[[str], object] = flt.pattern.search if flt.pattern is not None else flt.path_matches
        rows = list(filter(test, presence.having(self._bits())))
        if presence.implicit_set:  # a directory no layer recorded is a row when there after top only
            top_bit = 1 << self.top
            implicit = presence.implicit_set
            present = presence.present
            rows = [p for p in rows if present[p] & top_bit or p not in implicit]
        self._pattern_rows = (key, rows)
        return rows

    def _full_lines(self, shown: set[str] | None) -> FullLines | None:
        presence = self.timeline.presence()
        if not presence.consistent:
            return None
        top, base = self.top, self.base
        present = presence.present
        timeline = self.timeline
        top_bit = 1 << top
        base_bit = 0 if base is None else 1 << base
        implicit_rows: dict[str, int] = {}  # the directories no layer recorded that are rows -> their width
        for path in presence.implicit:
            mask = present[path]
            width = 4 * path.count("/") + 3 + len(path) - path.rfind("/") - 1
            if mask & top_bit:
                record = timeline.record(path, top)
                implicit_rows[path] = width + (len(record.link_target) if record is not None else 0)
            elif mask & base_bit:
                # removed: a row when the topmost of it and its parents that went away is a recorded path
                up = path
                while True:
                    parent = up[: up.rfind("/")] or "/"
                    if parent == "/" or present[parent] & top_bit:
                        break
                    up = parent
                if up in presence.implicit_set:
                    return None
                implicit_rows[path] = width
        if shown is not None:
            paths = list(shown - {"/"})
            slash = repeat("/")
            # each line's tree part (guides and name); those of the directories no layer recorded, and the link
            # targets shown (a path there after top whose final record is from top or below), on top of them
            widest = max(
                _tree_widths(paths),
                default=-2,
            )
            widest += 2
            for path in implicit_rows.keys() & shown:
                widest = max(widest, implicit_rows[path])
            for path in timeline.records.links.keys() & shown:
                target, layer = timeline.records.links[path]
                if layer <= top and present.get(path, 0) & top_bit and path not in implicit_rows:
                    widest = max(widest, 4 * path.count("/") + 2 + len(path) - path.rfind("/") + len(target))
            # every open directory -> the rows below it: the shown paths right below it, then (deepest first)
            # those below each of them (each shown, as its parent is)
            below: dict[str, int] = Counter(map(itemgetter(0), map(str.rpartition, paths, slash)))
            below["/"] = below.pop("", 0)
            for directory in sorted(below, key=lambda d: d.count("/"), reverse=True):
                if directory != "/":
                    parent = directory[: directory.rfind("/")] or "/"
                    below[parent] = below.get(parent, 0) + below[directory]
            return FullLines(len(paths), max(widest, 0) or 1, dict(below))
        count = len(implicit_rows)
        widest = max(implicit_rows.values(), default=0)
        for mask, many in presence.counts.items():
            if mask & top_bit or mask & base_bit:
                count += many
                widest = max(widest, presence.widest[mask])
        for (mask, link_from), width in presence.linked.items():
            if mask & top_bit and link_from <= top:
                widest = max(widest, width)
        return FullLines(count, widest or 1, None)

    def kind_of(self, path: str) -> DiffKind:
        """The kind of a path present after ``top``."""
        base = self.base
        if base is None or self.timeline.state(path, base) is None:
            return DiffKind.ADDED if path != "/" else DiffKind.MODIFIED
        if self.timeline.changed(path, base, self.top) or self.timeline.changed_below(path, base, self.top):
            return DiffKind.MODIFIED
        return DiffKind.UNMODIFIED

    def _make_children(self, node: ViewNode, only: set[str] | None = None) -> list[ViewNode]:
        out: list[ViewNode] = []
        for path, type_, size, kind, is_dir, record, owner in self._child_rows(node.path, node.kind is _GONE, only):
            row = ViewNode(path, type_, size, kind, node, is_dir=is_dir, record=record)
            if owner is not None:
                row.mode, row.uid, row.gid = owner
            out.append(row)
        return out

    def _child_rows(self, parent: str, gone: bool, only: set[str] | None = None) -> Iterator[_ChildRow]:
        """The rows below ``parent`` (``gone``: a removed directory), unsorted, as the fields of their ``ViewNode``
        (``owner``: the mode, uid and gid to set, when the record does not give them); no objects are made, so
        counting the rows of a view (``TreeRows``) costs no ``ViewNode``."""
        timeline = self.timeline
        names = timeline.names.get(parent)
        if not names:
            return
        prefix = parent.rstrip("/")
        top, base = self.top, self.base
        low = self._low
        events = timeline.events
        dir_size = timeline.dir_size
        records = timeline.records
        dir_layers = timeline.dir_layers
        window = ((1 << (top - low)) - 1) << (low + 1)  # the layers (low, top], as dir_layers' bits
        added, modified, unmodified, removed = DiffKind.ADDED, DiffKind.MODIFIED, DiffKind.UNMODIFIED, DiffKind.REMOVED
        for name in names:
            path = f"{prefix}/{name}"
            if only is not None and path not in only:
                continue
            history = events.get(path)
            if history is None:  # an implicit directory: read as ``state`` reads it
                yield from self._slow_child(path, gone)
                continue
            # one pass over the path's few changes: the last at or below top, and at or below base; any between
            now_e = before_e = None
            changed = False
            for event in history:
                layer = event[0]
                if layer > top:
                    break
                now_e = event
                if base is not None:
                    if layer <= base:
                        before_e = event
                    else:
                        changed = True
            if before_e is not None and before_e[1] == 2:
                before_e = None
            if not gone and now_e is not None and now_e[1] != 2:
                type_ = now_e[2]
                if type_ is _DIR:
                    sizes = dir_size.get(path)
                    size = sizes[top] if sizes is not None else 0
                else:
                    size = now_e[3]
                if before_e is None:
                    kind = added
                elif changed or dir_layers.get(path, 0) & window:
                    kind = modified
                else:
                    kind = unmodified
                below = type_ is _DIR or (kind is modified and base is not None and self._held_below(path, base))
                record = records.get(path)
                if record is not None and record.layer > top:
                    record = None
                # with no record (a later layer wrote the path again): its mode and owner at ``top``
                yield path, type_, size, kind, below, record, (now_e[5], now_e[6], now_e[7]) if record is None else None
            elif before_e is not None and (gone or changed):
                type_ = before_e[2]
                if type_ is _DIR:
                    sizes = dir_size.get(path)
                    size = sizes[base] if sizes is not None and base is not None else 0
                else:
                    size = before_e[3]
                yield path, type_, size, removed, False, None, (before_e[5], before_e[6], before_e[7])

    def count_rows(
        self,
        shown: set[str] | None,
        expanded: frozenset[str],
        force_open: bool,
        closed: frozenset[str] = frozenset(),
        *,
        start: ViewNode | None = None,
        cap: int | None = None,
    ) -> tuple[list[tuple[str, int, list[str]]], int, bool]:
        """``_child_rows`` below every open directory (``start`` and below; the root when None), counted (the
        same rows, but no size, no tuple per row): each open directory (parents first) with its rows and its
        open children; the widest line (guides, name, link target: ``TreeRows.width``); True when complete.
        ``cap``: stop once that many rows are counted (then the list is partial and the flag False). Open: in
        ``expanded``, or every directory (``force_open``) but those in ``closed``."""
        timeline = self.timeline
        names_of = timeline.names
        events = timeline.events
        dir_layers = timeline.dir_layers
        links = timeline.records.links
        top, base = self.top, self.base
        window = ((1 << (top - self._low)) - 1) << (self._low + 1)
        held_below = self._held_below
        order: list[tuple[str, int, list[str]]] = []
        widest = 0
        node = self.root if start is None else start
        stack: list[tuple[str, bool, int]] = [(node.path, node.kind is _GONE, node.depth)]
        total = 0
        while stack:
            if cap is not None and total >= cap:
                return order, widest, False
            parent, gone, depth = stack.pop()
            count = 0
            subs: list[str] = []
            names = names_of.get(parent)
            if names:
                prefix = parent.rstrip("/")
                guides = 4 * depth + 7
                for name in names:
                    path = f"{prefix}/{name}"
                    if shown is not None and path not in shown:
                        continue
                    history = events.get(path)
                    if history is None:  # an implicit directory
                        for child, type_, _, kind, is_dir, record, _ in self._slow_child(path, gone):
                            count += 1
                            width = guides + len(name) + (len(record.link_target) if record is not None else 0)
                            widest = max(widest, width)
                            if (is_dir or type_ is _DIR) and (
                                (force_open and child not in closed) or child in expanded
                            ):
                                subs.append(child)
                                stack.append((child, kind is _GONE, depth + 1))
                        continue
                    # as in LayerView._child_rows, inlined on purpose: a call per path costs about 9 % of counting
                    # the rows of a large view (173,000 rows, every directory open)
                    now_e = before_e = None
                    changed = False
                    for event in history:
                        layer = event[0]
                        if layer > top:
                            break
                        now_e = event
                        if base is not None:
                            if layer <= base:
                                before_e = event
                            else:
                                changed = True
                    if before_e is not None and before_e[1] == 2:
                        before_e = None
                    if not gone and now_e is not None and now_e[1] != 2:
                        is_dir = now_e[2] is _DIR or (
                            before_e is not None
                            and (changed or dir_layers.get(path, 0) & window != 0)
                            and base is not None
                            and path in names_of
                            and held_below(path, base)
                        )
                        child_gone = False
                        width = guides + len(name)
                        link = links.get(path)
                        if link is not None and link[1] <= top:
                            width += len(link[0])
                    elif before_e is not None and (gone or changed):
                        is_dir = before_e[2] is _DIR
                        child_gone = True
                        width = guides + len(name)
                    else:
                        continue
                    count += 1
                    if width > widest:
                        widest = width
                    if is_dir and ((force_open and path not in closed) or path in expanded):
                        subs.append(path)
                        stack.append((path, child_gone, depth + 1))
            order.append((parent, count, subs))
            total += count
        return order, widest, True

    def _slow_child(self, path: str, gone: bool) -> list[_ChildRow]:
        """The row of ``path`` (none or one), from ``Timeline.state``."""
        timeline = self.timeline
        top, base = self.top, self.base
        now = None if gone else timeline.state(path, top)
        if now is not None:
            kind = self.kind_of(path)
            below = now[0] is _DIR or (kind is DiffKind.MODIFIED and base is not None and self._held_below(path, base))
            record = timeline.record(path, top)
            owner = timeline.owner_mode(path, top) if record is None or record.mode is None else None
            return [(path, now[0], now[1], kind, below, record, owner)]
        if base is not None:
            before = timeline.state(path, base)
            if before is not None and (gone or timeline.changed(path, base, top)):
                return [(path, before[0], before[1], DiffKind.REMOVED, False, None, timeline.owner_mode(path, base))]
        return []

    def _held_below(self, path: str, layer: int) -> bool:
        """True when something was below ``path`` after ``layer`` (a directory a later layer made a file)."""
        prefix = path.rstrip("/")
        return any(self.timeline.state(f"{prefix}/{n}", layer) is not None for n in self.timeline.names.get(path, ()))

    def _entry(self, path: str) -> tuple[str, bool, bool, int, DiffKind] | None:
        """``path`` as ``walk_all`` gives it; None when the view has no such row."""
        timeline = self.timeline
        top, base = self.top, self.base
        now = timeline.state(path, top)
        if now is not None:
            if base is None:
                kind = DiffKind.ADDED
            else:
                before = timeline.state(path, base)
                if before is None:
                    kind = DiffKind.ADDED
                elif timeline.changed(path, base, top) or timeline.changed_below(path, base, top):
                    kind = DiffKind.MODIFIED
                else:
                    kind = DiffKind.UNMODIFIED
            counts = timeline.dir_count.get(path)
            return path, now[0] is _DIR, counts is None or counts[top] == 0, now[1], kind
        if base is not None:
            before = timeline.state(path, base)
            if before is not None and timeline.changed(path, base, top):
                counts = timeline.dir_count.get(path)
                return path, before[0] is _DIR, counts is None or counts[base] == 0, before[1], DiffKind.REMOVED
        return None

    def _all_paths(self) -> Iterator[str]:
        timeline = self.timeline
        events = timeline.events
        yield from events
        yield from (p for p in timeline.names if p not in events)

    def walk_all(self) -> Iterator[tuple[str, bool, bool, int, DiffKind]]:
        entry = self._entry
        for path in self._all_paths():
            if path != "/":
                found = entry(path)
                if found is not None:
                    yield found

    def matched(self, flt: Filter | None) -> bool:
        return flt is not None and flt.active and (flt.pattern is not None or flt.glob is not None)

    def candidates(
        self, flt: Filter | None, hidden: frozenset[DiffKind]
    ) -> Iterator[tuple[str, bool, bool, int, DiffKind]]:
        """The paths that can pass: those the pattern matches (found once per pattern, ``Timeline.matching``);
        with the unmodified paths hidden and no filter, the paths the layers (low, top] changed and the
        directories above them (nothing else can be added, modified or removed); else every path."""
        timeline = self.timeline
        paths: Iterable[str]
        if self.matched(flt):
            assert flt is not None
            paths = timeline.matching(flt)
        elif (flt is None or not flt.active) and DiffKind.UNMODIFIED in hidden:
            changed: list[str] = timeline.changed_dirs(self._low, self.top)
            for layer_paths in timeline.layer_paths[self._low + 1 : self.top + 1]:
                changed.extend(layer_paths)
            paths = changed
        else:
            paths = self._all_paths()
        entry = self._entry
        for path in paths:
            if path != "/":
                found = entry(path)
                if found is not None:
                    yield found

    def openable(self) -> set[str]:
        out = {"/"}
        timeline = self.timeline
        names = timeline.names
        state = timeline.state
        top, base = self.top, self.base
        for path in timeline.dir_paths:  # every path that is a directory in some layer, no other
            if path == "/":
                continue
            now = state(path, top)
            if path in names:
                # a directory, or a file that was one (it holds the removed paths below it): there after top or base
                if now is not None or (base is not None and state(path, base) is not None):
                    out.add(path)
            elif now is not None:
                if now[0] is _DIR:
                    out.add(path)
            elif base is not None:  # a removed row that is a directory
                before = state(path, base)
                if before is not None and before[0] is _DIR and timeline.changed(path, base, top):
                    out.add(path)
        return out

    def counts(self) -> dict[DiffKind, int]:
        if self.key.mode is Mode.LAYER:
            counts = dict.fromkeys(DiffKind, 0)
            report = self.timeline.analysis.layers[self.top]
            counts[DiffKind.ADDED] = report.added
            counts[DiffKind.MODIFIED] = report.modified
            counts[DiffKind.REMOVED] = report.removed
            return counts
        return self.timeline.counts(self._low, self.top)


def build_view(timeline: Timeline, key: ViewKey) -> ViewTree:
    """The view ``key`` (a layer mode) of ``timeline.analysis``."""
    if key.mode is Mode.IMAGES:
        raise ValueError("an image comparison needs both analyses: use compare_images")
    return LayerView(timeline, key)


class TreeView(ViewTree):
    """A view made of two ``Analysis.tree`` results: the top tree, with marks, and removed nodes grafted."""

    def __init__(
        self,
        key: ViewKey,
        top: TreeNode,
        marks: dict[str, DiffKind],
        removed: dict[str, list[TreeNode]],
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
        self.root = self._node(top, self.kind_of(top.path), None)

    def _node(self, source: TreeNode, kind: DiffKind, parent: ViewNode | None) -> ViewNode:
        size = source.size if kind is not DiffKind.REMOVED else max(source.size, source.removed_size)
        node = ViewNode(
            source.path,
            source.type,
            size,
            kind,
            parent,
            is_dir=bool(source.children) or source.path in self._removed,
            record=source if source.mode is not None else None,
            source=source,
        )
        node.name = source.name
        return node

    def kind_of(self, path: str) -> DiffKind:
        mark = self._marks.get(path)
        if mark is not None:
            return mark
        return DiffKind.MODIFIED if path in self._changed_dirs else DiffKind.UNMODIFIED

    def counts(self) -> dict[DiffKind, int]:
        counts = dict.fromkeys(DiffKind, 0)
        for kind in self._marks.values():
            counts[kind] += 1
        counts[DiffKind.REMOVED] += sum(sum(1 for _ in n.walk()) for nodes in self._removed.values() for n in nodes)
        return counts

    def _make_children(self, node: ViewNode, only: set[str] | None = None) -> list[ViewNode]:
        out = self._tree_children(node)
        return out if only is None else [c for c in out if c.path in only]

    def _tree_children(self, node: ViewNode) -> list[ViewNode]:
        source = node.source
        assert source is not None
        if node.kind is DiffKind.REMOVED:
            return [self._node(c, DiffKind.REMOVED, node) for c in source.children]
        out = [self._node(c, self.kind_of(c.path), node) for c in source.children]
        taken = {c.name for c in out}
        out.extend(
            self._node(r, DiffKind.REMOVED, node) for r in self._removed.get(node.path, ()) if r.name not in taken
        )
        return out

    def walk_all(self) -> Iterator[tuple[str, bool, bool, int, DiffKind]]:
        assert self.root.source is not None
        stack: list[tuple[TreeNode, bool]] = [(self.root.source, False)]
        removed = self._removed
        while stack:
            node, gone = stack.pop()
            if node.path != "/":
                kind = DiffKind.REMOVED if gone else self.kind_of(node.path)
                size = node.size if not gone else max(node.size, node.removed_size)
                has = bool(node.children) or (not gone and node.path in removed)
                yield node.path, node.type is _DIR or has, not has, size, kind
            stack.extend((c, gone) for c in node.children)
            if not gone:
                extra = removed.get(node.path)
                if extra:
                    taken = {c.name for c in node.children}
                    stack.extend((r, True) for r in extra if r.name not in taken)

    def openable(self) -> set[str]:
        return super().openable() | set(self._removed) | {"/"}


def _index(tree: TreeNode) -> dict[str, TreeNode]:
    return {n.path: n for n in tree.walk()}


def compare_images(a: Analysis, b: Analysis) -> ViewTree:
    """Image B's final filesystem marked against image A's (``imgscope.diff``: added, removed, changed)."""
    top_index = _index(b.tree())
    base_index = _index(a.tree())
    result = diff(a, b)
    marks: dict[str, DiffKind] = {}
    removed: dict[str, list[TreeNode]] = {}
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
    return TreeView(key, top_index["/"], marks, removed)


# -- the waste lens, a path's history, where a file's bytes are ----------------------------------------------------


@dataclass(frozen=True)
class WasteRow:
    """One wasted copy: imgscope's attribution, and dive's figures for the same path (None: dive counts none)."""

    path: str
    size: int
    layer: int  # the layer that wrote the copy
    hidden_by: int  # the layer that hid it
    reason: WasteReason
    dive_count: int | None = None  # copies dive counts for the path
    dive_bytes: int | None = None  # dive's cumulative size for the path

    @property
    def how(self) -> str:
        """The reason in words."""
        return _HOW[self.reason]


_HOW = {
    WasteReason.OVERWRITTEN: "overwritten",
    WasteReason.METADATA_ONLY: "copied again for a chmod/chown",
    WasteReason.IDENTICAL: "copied again, same bytes",
    WasteReason.DELETED: "deleted",
    WasteReason.OPAQUE: "hidden by an opaque directory",
}


@dataclass(frozen=True)
class WasteLens:
    """Every wasted copy, largest first, and the totals both ways."""

    rows: tuple[WasteRow, ...]
    wasted_bytes: int
    dive_wasted_bytes: int
    dive_only: tuple[str, ...] = field(default=())  # paths dive counts as inefficient that hold no waste here


def waste_lens(analysis: Analysis) -> WasteLens:
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
    kind: ChangeKind
    type: EntryType
    size: int
    metadata_only: bool
    command: str


_KINDS = (_ADDED, _MODIFIED, _REMOVED)


def path_history(analysis: Analysis, path: str, timeline: Timeline | None = None) -> list[PathEvent]:
    """Each layer's change to ``path`` (``/etc/passwd``), bottom to top: written, overwritten, removed. With a
    ``timeline`` of the whole analysis, read from it; else every layer's changes are read."""
    path = "/" + "/".join(p for p in path.split("/") if p)
    if timeline is not None and timeline.analysis is analysis and timeline.layers == len(analysis.layers):
        return [
            PathEvent(layer, _KINDS[code], type_, size, meta, analysis.layers[layer].command)
            for layer, code, type_, size, meta, *_ in timeline.events.get(path, ())
        ]
    events = []
    for report in analysis.layers:
        for change in report.changes:
            if change.path == path:
                events.append(
                    PathEvent(report.index, change.kind, change.type, change.size, change.metadata_only, report.command)
                )
    return events


def content_layer(analysis: Analysis, path: str, layer: int, timeline: Timeline | None = None) -> int | None:
    """The layer whose blob holds the bytes ``path`` has at ``layer``: the last layer at or below it that wrote
    the path (for a path ``layer`` removed, the last one below it). None when no such layer wrote it."""
    found: int | None = None
    for event in path_history(analysis, path, timeline):
        if event.layer > layer:
            break
        if event.kind is _REMOVED:
            if event.layer == layer:
                break
            found = None
        else:
            found = event.layer
    return found
