"""The lines of a view with every directory open, known without walking it (``LayerView.full_lines``, from the
timeline's presence masks): the number of lines and the tree's width are those counted by walking the view
(``TreeRows`` with ``known=False``), for every layer, aggregated and two-layer view, every set of hidden kinds
and several filters, on the samples and on layer stacks made by Hypothesis (directories recorded or left
implicit, removed with or without what is below them, replaced by files, symlinks)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgscope.analysis.result import FileRecord
from imgscope.explore.model import (
    DiffKind,
    Filter,
    LayerView,
    Timeline,
    TreeRows,
    ViewKey,
    ViewTree,
    build_view,
    parse_filter,
)
from imgscope.model import EntryType
from imgscope.union.filesystem import ChangeKind, FileChange
from tests.conftest import analysis_of

HIDDEN = [frozenset(c) for n in range(5) for c in itertools.combinations(DiffKind, n)]  # all 16


def all_keys(layers: int) -> list[ViewKey]:
    keys = [ViewKey.layer(i) for i in range(layers)] + [ViewKey.aggregated(i) for i in range(layers)]
    keys += [ViewKey.layers(a, b) for a in range(layers) for b in range(a + 1, layers)]
    return keys


def _dirs(rows: TreeRows) -> list[tuple[str, Any]]:
    """Every open directory with rows below it (the root and each directory line with a line after it inside)."""
    out = [("/", rows.view.root)]
    lines = list(rows)
    for i, row in enumerate(lines):
        if (
            i + 1 < len(lines)
            and lines[i + 1].prefix.startswith(row.prefix)
            and len(lines[i + 1].prefix) > len(row.prefix)
        ):
            out.append((row.node.path, row.node))
    return out


def walked(view: LayerView, shown: set[str] | None) -> tuple[int, int]:
    """Lines and width of the view, every directory open, counted by walking it."""
    rows = TreeRows(view, "size", shown, frozenset(), True, known=False)
    return len(rows), rows.width


def check_views(timeline: Timeline, filters: list[Filter | None], hidden: list[frozenset[DiffKind]]) -> int:
    """Every view of ``timeline``: ``full_lines`` (when it answers) equals the walk; how many answered."""
    answered = 0
    for key in all_keys(timeline.layers):
        view = build_view(timeline, key)
        assert isinstance(view, LayerView)
        for flt in filters:
            for kinds in hidden:
                shown = view.visible(flt, kinds)
                assert shown == ViewTree.visible(view, flt, kinds)  # from the masks: as every candidate's entry
                known = view.full_lines(shown)
                if known is not None:
                    assert (known.count, known.width) == walked(view, shown), (key, flt, kinds)
                    if known.below is not None:  # the rows below each open directory, as the walk counts them
                        rows = TreeRows(view, "size", shown, frozenset(), True, known=False)
                        assert {d: rows._count_below(n, None)[0] for d, n in _dirs(rows)} == known.below
                    answered += 1
    return answered


SAMPLES = [
    ("cases/docker-archive.tar", None),
    ("cases/oci-archive.tar", None),
    ("advise.tar", "localhost/wasteful:latest"),
    ("hostile-names.tar", None),
]


@pytest.mark.parametrize(("sample", "image"), SAMPLES)
def test_full_lines_equal_the_walk_on_samples(sample: str, image: str | None) -> None:
    timeline = Timeline(analysis_of(sample, image=image))
    assert timeline.presence().consistent  # images made by real tools are one consistent tree
    filters: list[Filter | None] = [None, parse_filter("txt"), parse_filter("*.so"), parse_filter(">1KB")]
    views = len(all_keys(timeline.layers))
    # every view answers without walking (no directory no layer recorded went away here)
    assert check_views(timeline, filters, HIDDEN) == views * len(filters) * len(HIDDEN)


def test_full_lines_of_a_timeline_of_the_first_layers() -> None:
    """The quick timeline (the first layers only, for the first screen) answers for its own views."""
    analysis = analysis_of("advise.tar", image="localhost/wasteful:latest")
    timeline = Timeline(analysis, layers=3)
    assert check_views(timeline, [None, parse_filter("lib")], HIDDEN[:6]) == len(all_keys(3)) * 2 * 6


# -- layer stacks made by Hypothesis ---------------------------------------------------------------------------


NAMES = ("a", "b", "c")
PATHS = ["/" + "/".join(p) for depth in (1, 2, 3) for p in itertools.product(NAMES, repeat=depth)]


@dataclass
class Entry:
    type: EntryType
    size: int
    link: str = ""


def _parent(path: str) -> str:
    return path.rpartition("/")[0] or "/"


def _below(state: dict[str, Entry], path: str) -> list[str]:
    return [p for p in state if p.startswith(path + "/")]


def apply(state: dict[str, Entry], op: tuple[Any, ...], explicit: bool, shallow: bool, touched: set[str]) -> None:
    """One operation on the filesystem ``state`` (path -> entry); ``explicit``: parents are recorded;
    ``shallow``: a removal may leave what is below it (not what a union does: the timeline is then not one tree)."""
    kind, index, size = op
    path = PATHS[index]
    ups = []
    up = _parent(path)
    while up != "/":
        ups.append(up)
        up = _parent(up)
    if any(u in state and state[u].type is not EntryType.DIR for u in ups):
        return  # below a file: tar would replace it; not modelled
    if kind == "rm":
        if path in state:
            if not shallow:
                for p in _below(state, path):
                    del state[p]
            del state[path]
        return
    if explicit:
        for u in ups:
            if u not in state:
                state[u] = Entry(EntryType.DIR, 0)
                touched.add(u)
    if kind == "dir":
        if path in state and state[path].type is EntryType.DIR:
            touched.add(path)  # written again (its mode)
            return
        state[path] = Entry(EntryType.DIR, 0)
    else:
        for p in _below(state, path):  # a file replaces a directory and what was below it
            del state[p]
        if kind == "link":
            state[path] = Entry(EntryType.SYMLINK, 0, "/" + "x" * size)
        else:
            state[path] = Entry(EntryType.FILE, size)
    touched.add(path)


def synthetic(layers_ops: list[list[tuple[Any, ...]]], explicit: bool, shallow: bool) -> Any:
    """An analysis-like object (``layers[].changes``, ``files``) of the layers the operations make."""
    state: dict[str, Entry] = {}
    written: dict[str, int] = {}
    reports = []
    for index, ops in enumerate(layers_ops):
        before = dict(state)
        touched: set[str] = set()
        for op in ops:
            apply(state, op, explicit, shallow, touched)
        changes = []
        for path in sorted(set(before) | set(state)):
            if path in state and path not in before:
                kind = ChangeKind.ADDED
            elif path not in state:
                kind = ChangeKind.REMOVED
            elif path in touched or state[path] != before[path]:
                kind = ChangeKind.MODIFIED
            else:
                continue
            entry = state.get(path) or before[path]
            changes.append(FileChange(path, kind, entry.type, entry.size, False, 0o755, 0, 0))
            if kind is not ChangeKind.REMOVED:
                written[path] = index
        reports.append(SimpleNamespace(index=index, changes=changes, command=f"layer {index}"))
    files = [FileRecord(path, e.type, e.size, 0o644, 0, 0, e.link, written[path]) for path, e in sorted(state.items())]
    return SimpleNamespace(layers=reports, files=files)


op = st.tuples(
    st.sampled_from(["file", "file", "dir", "dir", "link", "rm", "rm"]),
    st.integers(0, len(PATHS) - 1),
    st.integers(0, 40),
)
stacks = st.lists(st.lists(op, min_size=1, max_size=14), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks)
def test_full_lines_equal_the_walk_on_generated_stacks(layers_ops: list[list[tuple[Any, ...]]]) -> None:
    """Directories recorded, removals with what is below them (what the union gives): every view answers."""
    timeline = Timeline(synthetic(layers_ops, explicit=True, shallow=False))
    assert timeline.presence().consistent
    filters: list[Filter | None] = [None, parse_filter("a$"), parse_filter("b/")]
    assert check_views(timeline, filters, HIDDEN) == len(all_keys(timeline.layers)) * len(filters) * len(HIDDEN)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks, st.booleans(), st.booleans())
def test_full_lines_never_wrong_on_odd_stacks(
    layers_ops: list[list[tuple[Any, ...]]], explicit: bool, shallow: bool
) -> None:
    """Directories no layer recorded, removals that leave what was below: the answer, when there is one, is
    the walk's (else the walk is used)."""
    timeline = Timeline(synthetic(layers_ops, explicit=explicit, shallow=shallow))
    check_views(timeline, [None, parse_filter("c"), parse_filter("a/")], HIDDEN)


def test_a_directory_no_layer_recorded_that_went_away_is_walked() -> None:
    """Layer 0 writes /a/b/c with no entry for /a/b; layer 1 removes it: /a/b goes away with it, and is no row
    of layer 1's view (nor is /a/b/c below it), which the masks cannot tell: no answer, the walk counts."""
    ops = [[("file", PATHS.index("/a/b/c"), 3), ("dir", PATHS.index("/a"), 0)], [("rm", PATHS.index("/a/b/c"), 0)]]
    timeline = Timeline(synthetic(ops, explicit=False, shallow=False))
    assert timeline.presence().consistent
    view = build_view(timeline, ViewKey.layer(1))
    assert isinstance(view, LayerView)
    assert view.full_lines(None) is None
    assert walked(view, None) == (1, 8)  # /a only
    # the filter /b$ matches /a/b, which went away unchanged (no layer recorded it): no match is shown
    assert view.visible(parse_filter("/b$"), frozenset()) == ViewTree.visible(view, parse_filter("/b$"), frozenset())
    assert view.visible(parse_filter("/b$"), frozenset()) == {"/"}
    # the filter /b: /a/b/c, removed, matches (``visible`` keeps it and its directories, though the walk shows no
    # row below /a: ``full_lines`` does not answer for such a view)
    assert view.visible(parse_filter("/b"), frozenset()) == {"/", "/a", "/a/b", "/a/b/c"}
    first = build_view(timeline, ViewKey.layer(0))
    assert isinstance(first, LayerView)
    known = first.full_lines(None)
    assert known is not None and (known.count, known.width) == walked(first, None) == (3, 16)


def test_a_removal_that_leaves_what_was_below_is_no_tree() -> None:
    """A removed directory whose paths stay (no union removes so): the presence masks are not one tree."""
    ops = [[("file", PATHS.index("/a/b"), 3)], [("rm", PATHS.index("/a"), 0)]]
    timeline = Timeline(synthetic(ops, explicit=True, shallow=True))
    assert not timeline.presence().consistent
    view = build_view(timeline, ViewKey.aggregated(1))
    assert isinstance(view, LayerView)
    assert view.full_lines(None) is None
