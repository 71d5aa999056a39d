"""The explorer's library side, without a UI: one member's bytes streamed from a layer (every format), the
history of a path, the layer holding a path's bytes, the filter parser. Checked against the samples' recipes
(samples/src/cases/Containerfile) and ground truth (samples/truth)."""

from __future__ import annotations

import csv

import pytest

import imgscope
from imgscope.explore.model import (
    DiffKind,
    Timeline,
    ViewKey,
    build_view,
    content_layer,
    parse_filter,
    path_history,
)
from imgscope.sources.member import read_member
from tests.conftest import CASES_FORMATS, SAMPLES, analysis_of


@pytest.mark.parametrize("fmt", CASES_FORMATS)
def test_read_member_in_every_format(fmt: str) -> None:
    """Layer 3 rewrote overwritten.txt with 15,000 bytes of 'second version, longer\\n' (the Containerfile)."""
    image = imgscope.open_image(SAMPLES / fmt)
    content = read_member(image, 3, "/app/overwritten.txt")
    line = b"second version, longer\n"
    assert content.size == 15000 and content.data == (line * (15000 // len(line) + 1))[:15000]
    assert not content.binary and not content.truncated
    first = read_member(image, 1, "app/overwritten.txt", limit=100)
    assert first.size == 10000 and first.data == (b"first version\n" * 10)[:100] and first.truncated


def test_read_member_follows_hard_links() -> None:
    """hl-b is a hard link to hl-a in the same layer (12,000 bytes of 'hard link pair'); hardlink-to-lower.txt
    (layer 3) links lower-target.txt."""
    analysis = analysis_of("cases/docker-archive.tar")
    image = analysis.image
    content = read_member(image, 1, "/app/hl-b")
    assert content.size == 12000 and content.data.startswith(b"hard link pair\n")
    lower = read_member(image, 3, "/app/hardlink-to-lower.txt", resolve=lambda p: content_layer(analysis, p, 3))
    assert lower.size == 9000 and lower.data.startswith(b"lower link target\n")


def test_read_member_symlink_binary_and_missing() -> None:
    image = imgscope.open_image(SAMPLES / "cases/oci-zstd")
    link = read_member(image, 1, "/app/link-rel")
    assert link.type == "symlink" and link.link_target == "overwritten.txt" and link.data == b""
    busybox = read_member(image, 0, "/bin/busybox", limit=64)
    assert busybox.size == 1982256 and busybox.data.startswith(b"\x7fELF") and busybox.binary
    with pytest.raises(FileNotFoundError):
        read_member(image, 2, "/app/overwritten.txt")


def test_path_history_against_per_layer_truth() -> None:
    """Every event of every path follows from the per-layer trees: added where the path appears, removed where
    it disappears, and a path present in two consecutive trees with other attributes was rewritten."""
    analysis = analysis_of("cases/docker-archive.tar")
    trees: dict[int, dict[str, tuple[str, ...]]] = {}
    with (SAMPLES / "truth" / "cases.per-layer.tsv").open() as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            trees.setdefault(int(row["layer"]), {})[row["path"]] = tuple(row.values())[2:]
    for path in ("/app/overwritten.txt", "/app/deleted.txt", "/app/dir-gone/sub/c.txt", "/app/chmod-me.sh"):
        events = {e.layer: e for e in path_history(analysis, path)}
        for layer in trees:
            before = trees.get(layer - 1, {}).get(path)
            after = trees[layer].get(path)
            event = events.get(layer)
            if before is None and after is not None:
                assert event is not None and event.kind.value == "added", (path, layer)
            elif before is not None and after is None:
                assert event is not None and event.kind.value == "removed", (path, layer)
            elif before != after:
                assert event is not None and event.kind.value == "modified", (path, layer)
            if event is not None and event.kind.value != "removed":
                assert after is not None and int(after[1]) == event.size
    assert path_history(analysis, "/app/chmod-me.sh")[-1].metadata_only


def test_content_layer() -> None:
    analysis = analysis_of("cases/docker-archive.tar")
    assert content_layer(analysis, "/app/overwritten.txt", 2) == 1
    assert content_layer(analysis, "/app/overwritten.txt", 4) == 3
    assert content_layer(analysis, "/app/deleted.txt", 3) == 1  # removed by 3: its bytes are layer 1's
    assert content_layer(analysis, "/app/deleted.txt", 4) is None
    assert content_layer(analysis, "/nonexistent", 4) is None


def test_filter_parsing() -> None:
    f = parse_filter(r"\.so$ >1MB")
    assert f.pattern is not None and f.min_size == 1_000_001 and f.max_size is None
    g = parse_filter("*.so")  # no regex: a glob
    assert g.glob is not None and g.pattern is None and g.path_matches("/usr/lib/libc.so")
    assert parse_filter("glob:/usr/**").glob is not None
    assert parse_filter("<=10KiB").max_size == 10240 and not parse_filter("").active
    with pytest.raises(ValueError):
        parse_filter(">lots")
    with pytest.raises(ValueError):
        parse_filter("re:(")


def test_tree_is_materialised_lazily() -> None:
    """Only opened directories have rows made."""
    view = build_view(Timeline(analysis_of("cases/docker-archive.tar")), ViewKey.layer(3))
    top = view.children(view.root)
    assert all(not n._children for n in top)
    app = next(n for n in top if n.name == "app")
    assert app.kind is DiffKind.MODIFIED
    view.children(app)
    assert app._children and all(not n._children for n in top if n is not app)


def test_a_timeline_of_the_first_layers_gives_their_views() -> None:
    """The first screen is drawn from a timeline of the first layers only: the same rows as the whole one's."""
    analysis = analysis_of("cases/docker-archive.tar")
    whole, part = Timeline(analysis), Timeline(analysis, layers=2)
    assert part.layers == 2 and whole.layers == len(analysis.layers)
    for key in (ViewKey.layer(0), ViewKey.layer(1), ViewKey.aggregated(1)):
        rows = []
        for timeline in (whole, part):
            view = build_view(timeline, key)
            rows.append(sorted((p, is_dir, leaf, size, kind.value) for p, is_dir, leaf, size, kind in view.walk_all()))
            assert view.counts() == build_view(whole, key).counts()
        assert rows[0] == rows[1] and rows[0]


def test_path_history_from_the_timeline_equals_the_layers_changes() -> None:
    analysis = analysis_of("cases/docker-archive.tar")
    timeline = Timeline(analysis)
    for path in ("/app/overwritten.txt", "/app/chmod-me.sh", "/app/dir-gone/sub/c.txt", "/bin/busybox", "/nope"):
        assert path_history(analysis, path, timeline) == path_history(analysis, path)
        for layer in range(len(analysis.layers)):
            assert content_layer(analysis, path, layer, timeline) == content_layer(analysis, path, layer)
