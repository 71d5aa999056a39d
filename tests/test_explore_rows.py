"""The file tree's lines made lazily (``TreeRows``: counted per open directory, each line made when read) are the
lines of the whole tree made at once, depth first, as the pane made them before: same rows, same order, same
guides, same width, for views of the samples (one layer, aggregated, two layers, two images), with filters,
hidden kinds, sorts, every directory open, none, and some."""

from __future__ import annotations

import pytest

from imgscope.explore.model import (
    DiffKind,
    Filter,
    LayerView,
    Row,
    Timeline,
    TreeRows,
    ViewKey,
    ViewNode,
    ViewTree,
    build_view,
    compare_images,
    parse_filter,
)
from tests.conftest import analysis_of


def eager_rows(
    view: ViewTree,
    sort: str,
    shown: set[str] | None,
    expanded: set[str],
    force_open: bool,
    closed: frozenset[str] = frozenset(),
) -> list[Row]:
    """Every line of the tree, made at once (the pane's rows before they were made lazily)."""
    out: list[Row] = []
    stack: list[tuple[ViewNode, str, bool]] = []
    kids = view.shown_children(view.root, sort, shown)
    for i in range(len(kids) - 1, -1, -1):
        stack.append((kids[i], "", i == len(kids) - 1))
    while stack:
        child, pre, last = stack.pop()
        out.append(Row(child, pre, last))
        if child.is_dir and ((force_open and child.path not in closed) or child.path in expanded):
            sub_pre = pre + ("    " if last else "│   ")
            grand = view.shown_children(child, sort, shown)
            for i in range(len(grand) - 1, -1, -1):
                stack.append((grand[i], sub_pre, i == len(grand) - 1))
    return out


def key_of(row: Row) -> tuple[object, ...]:
    n = row.node
    return (n.path, n.kind, n.size, n.type, n.is_dir, n.mode, n.uid, n.gid, n.link_target, row.prefix, row.last)


def check(view: ViewTree, flt: Filter | None, hidden: frozenset[DiffKind], expanded: set[str], sort: str) -> int:
    shown = view.visible(flt, hidden)
    force_open = flt is not None and flt.active
    want = eager_rows(view, sort, shown, expanded, force_open)
    if isinstance(view, LayerView) and force_open:
        view.full_lines(shown)  # as the app's worker does: TreeRows then takes the lines from it
    rows = TreeRows(view, sort, shown, expanded, force_open)
    assert len(rows) == len(want)
    walked = TreeRows(view, sort, shown, expanded, force_open, known=False)  # counted by walking the view
    assert (len(walked), walked.width) == (len(rows), rows.width)
    assert [key_of(r) for r in rows] == [key_of(r) for r in want]  # iterated
    assert [key_of(rows[i]) for i in range(len(rows))] == [key_of(r) for r in want]  # read one by one
    assert [key_of(rows[i]) for i in range(len(rows) - 1, -1, -1)] == [key_of(r) for r in reversed(want)]
    if want:
        assert key_of(rows[-1]) == key_of(want[-1])
    with pytest.raises(IndexError):
        rows[len(rows)]
    for i, row in enumerate(want):
        assert rows.index_of(row.node.path) == i
    listed = {r.node.path for r in want}
    for path in expanded | {"/nowhere", "/app/nowhere/deeper"}:  # closed, filtered out or absent: no line
        if path not in listed:
            assert rows.index_of(path) is None
    width = max((len(r.prefix) + len(r.node.name) + len(r.node.link_target or "") + 7 for r in want), default=1)
    assert rows.width == width
    check_lazy(view, sort, shown, expanded, force_open, frozenset(), want)
    check_lazy(view, sort, shown, expanded, force_open, frozenset(), want, known=True)
    return len(want)


def check_lazy(
    view: ViewTree,
    sort: str,
    shown: set[str] | None,
    expanded: set[str],
    force_open: bool,
    closed: frozenset[str],
    want: list[Row],
    known: bool = False,
) -> None:
    """Counted only as far as each read needs: the same lines, read from the last to the first, from the first
    to the last, each path's line, ``at_least``; then ``len`` and ``width``. ``known``: with the line count and
    width the view knows without counting (every directory open), for all but the first read."""
    backwards = TreeRows(view, sort, shown, expanded, force_open, closed=closed, lazy=True, known=False)
    assert not backwards.complete or not want
    assert [key_of(backwards[i]) for i in range(len(want) - 1, -1, -1)] == [key_of(r) for r in reversed(want)]
    with pytest.raises(IndexError):
        backwards[len(want)]
    forwards = TreeRows(view, sort, shown, expanded, force_open, closed=closed, lazy=True, known=known)
    assert [key_of(forwards[i]) for i in range(len(want))] == [key_of(r) for r in want]
    by_path = TreeRows(view, sort, shown, expanded, force_open, closed=closed, lazy=True, known=known)
    for i in range(len(want) - 1, -1, -1):
        assert by_path.index_of(want[i].node.path) == i
    bounded = TreeRows(view, sort, shown, expanded, force_open, closed=closed, lazy=True, known=known)
    for n in (0, 1, 2, 5, len(want) - 1, len(want), len(want) + 1, 10 * len(want) + 3):
        assert bounded.at_least(n) == min(n, len(want))
    assert len(bounded) == len(want) and bounded.complete
    width = max((len(r.prefix) + len(r.node.name) + len(r.node.link_target or "") + 7 for r in want), default=1)
    assert bounded.width == width


FILTERS = [None, parse_filter("txt"), parse_filter("*.so"), parse_filter(">1KB"), parse_filter("app/ <=12KB")]
HIDDEN = [
    frozenset(),
    frozenset({DiffKind.UNMODIFIED}),
    frozenset({DiffKind.REMOVED, DiffKind.ADDED}),
    frozenset({DiffKind.MODIFIED}),
]


def expansions(view: ViewTree) -> list[set[str]]:
    every = view.openable()
    ordered = sorted(every)
    return [set(), every, set(ordered[::2]), set(ordered[1::3]) | {"/app"}]


@pytest.mark.parametrize("sample", ["cases/docker-archive.tar", "advise.tar"])
def test_lazy_rows_equal_the_whole_tree(sample: str) -> None:
    analysis = analysis_of(sample, image="localhost/wasteful:latest" if sample == "advise.tar" else None)
    timeline = Timeline(analysis)
    n = len(analysis.layers)
    keys = [ViewKey.layer(i) for i in range(n)] + [ViewKey.aggregated(i) for i in range(n)]
    keys += [ViewKey.layers(0, n - 1), ViewKey.layers(1, n - 2)] if n > 2 else []
    seen = 0
    for key in keys:
        view = build_view(timeline, key)
        for expanded in expansions(view):
            for flt in FILTERS:
                for hidden in HIDDEN:
                    for sort in ("size", "name"):
                        seen += check(view, flt, hidden, expanded, sort)
    assert seen > 1000  # the views held rows


def test_lazy_rows_of_two_images() -> None:
    """An image against another: a view made of trees (no timeline), counted from its rows."""
    a = analysis_of("two-images.tar", image="localhost/tiny-a:1")
    b = analysis_of("two-images.tar", image="localhost/tiny-b:1")
    view = compare_images(a, b)
    for expanded in expansions(view):
        for flt in FILTERS[:3]:
            for hidden in HIDDEN:
                check(view, flt, hidden, expanded, "size")


def test_rows_made_only_when_read() -> None:
    """Every directory open: counting makes no row; reading one line makes only the directories above it."""
    timeline = Timeline(analysis_of("cases/docker-archive.tar"))
    view = build_view(timeline, ViewKey.aggregated(len(timeline.analysis.layers) - 1))
    rows = TreeRows(view, "size", None, view.openable(), False)
    assert len(rows) > 20 and not view.root._children
    last = rows[len(rows) - 1]
    made = {path for path in rows._blocks}
    assert made == {"/", *(p for p in _above(last.node.path) if p != "/")}


def _above(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) if i else "/" for i in range(len(parts))]


def test_counts_kept_when_only_the_sort_changes() -> None:
    """Another sort of the same lines keeps their counts, and gives the lines of that sort; another set of open
    directories counts again."""
    timeline = Timeline(analysis_of("cases/docker-archive.tar"))
    view = build_view(timeline, ViewKey.aggregated(len(timeline.analysis.layers) - 1))
    every = view.openable()
    by_size = TreeRows(view, "size", None, every, False)
    by_name = TreeRows(view, "name", None, set(every), False, previous=by_size)
    assert by_name._below is by_size._below
    assert [key_of(r) for r in by_name] == [key_of(r) for r in eager_rows(view, "name", None, every, False)]
    fewer = set(sorted(every)[::2])
    again = TreeRows(view, "name", None, fewer, False, previous=by_name)
    assert again._below is not by_name._below
    assert [key_of(r) for r in again] == [key_of(r) for r in eager_rows(view, "name", None, fewer, False)]


def test_openable_is_every_directory_with_rows_below() -> None:
    """ "Open all" opens every directory of the view with rows below it (a file that was a directory holds the
    removed rows below it), read from the view's own entries."""
    analysis = analysis_of("cases/docker-archive.tar")
    timeline = Timeline(analysis)
    n = len(analysis.layers)
    for key in [*(ViewKey.layer(i) for i in range(n)), *(ViewKey.aggregated(i) for i in range(n))]:
        view = build_view(timeline, key)
        want = {"/"}
        for path in timeline.dir_paths:
            if path == "/":
                continue
            found = view._entry(path)  # type: ignore[attr-defined]
            held = path in timeline.names and (
                timeline.state(path, key.top) is not None
                or (key.base is not None and timeline.state(path, key.base) is not None)
            )
            if held or (found is not None and found[1]):
                want.add(path)
        assert view.openable() == want


@pytest.mark.parametrize("sample", ["cases/docker-archive.tar", "advise.tar"])
def test_every_directory_open_but_some(sample: str) -> None:
    """ "Open all" with some directories closed again (``force_open`` and ``closed``): the lines of the whole
    tree with those directories closed, counted whole or only as far as each read needs."""
    analysis = analysis_of(sample, image="localhost/wasteful:latest" if sample == "advise.tar" else None)
    timeline = Timeline(analysis)
    n = len(analysis.layers)
    seen = 0
    for key in [ViewKey.layer(n - 1), ViewKey.aggregated(n - 1), ViewKey.aggregated(1), ViewKey.layers(0, n - 1)]:
        view = build_view(timeline, key)
        every = sorted(view.openable())
        for closed in (frozenset(), frozenset(every[::3]), frozenset(every[1::2]) | {"/app"}):
            for sort in ("size", "name"):
                want = eager_rows(view, sort, None, set(), True, closed)
                assert want == eager_rows(view, sort, None, set(every) - closed, False)
                rows = TreeRows(view, sort, None, set(), True, closed=closed)
                assert [key_of(r) for r in rows] == [key_of(r) for r in want]
                check_lazy(view, sort, None, set(), True, closed, want)
                seen += len(want)
    assert seen > 100
