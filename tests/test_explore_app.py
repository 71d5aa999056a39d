"""``imgscope explore`` driven headless by Textual's Pilot on the real samples; what the panes hold is checked
against the sample's ground truth (``samples/truth/cases.per-layer.tsv``: umoci's unpacked tree after each layer,
``cases.layers.tsv``: each layer's tar members), not against imgscope's own output.

A path's kind is derived from the truth as dive defines it: added (in the tree after the layer, not before),
removed (before, not after), modified (in both, and the layer wrote it: at least every path whose type, size,
mode, owner or link target changed). Identical rewrites are invisible in an unpacked tree, so "modified" is
checked as: every truly changed path is marked modified, and every path marked modified is in both trees.
"""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import tarfile
from collections.abc import Awaitable, Callable, Iterator
from functools import cache
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot
from textual.widgets import Input, Static

import imgscope
from imgscope.explore import ExploreApp, ExploreSettings
from imgscope.explore import app as explore_app
from imgscope.explore.app import FileTreePane, LayersPane, Lens, TextLines, TextScreen, WasteScreen, mode_string
from imgscope.explore.model import DiffKind, Filter, LayerView, TreeRows, ViewTree, parse_filter
from tests.conftest import SAMPLES, analysis_of, pax_layer
from tests.hostile.make_corpus import docker_archive


@pytest.fixture(autouse=True)
def _collect_the_apps() -> Iterator[None]:
    """An app is a large cycle of objects with weak references: collected here, after its test, rather than at
    whatever moment of a later test the collector next runs (one in the middle of a deep recursion, as the
    hostile JSON cases make, cannot run the callbacks of those weak references)."""
    yield
    gc.collect()


TRUTH = SAMPLES / "truth"
Entry = tuple[str, int, str, str, str, str]  # type, size, mode, uid, gid, link_target


@cache
def per_layer(name: str = "cases") -> dict[int, dict[str, Entry]]:
    trees: dict[int, dict[str, Entry]] = {}
    with (TRUTH / f"{name}.per-layer.tsv").open() as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            trees.setdefault(int(row["layer"]), {})[row["path"]] = (
                row["type"],
                int(row["size"]),
                row["mode"],
                row["uid"],
                row["gid"],
                row["link_target"],
            )
    return trees


def truth_kinds(before: dict[str, Entry], after: dict[str, Entry]) -> tuple[set[str], set[str], set[str]]:
    """added, removed, and the paths whose recorded attributes changed."""
    added = set(after) - set(before)
    removed = set(before) - set(after)
    changed = {p for p in set(after) & set(before) if after[p] != before[p] and after[p][0] != "dir"}
    return added, removed, changed


def run(
    scenario: Callable[[ExploreApp, Pilot[None]], Awaitable[None]],
    analysis: imgscope.Analysis | None = None,
    against: imgscope.Analysis | None = None,
    settings: ExploreSettings | None = None,
    size: tuple[int, int] = (160, 48),
) -> None:
    async def main() -> None:
        app = ExploreApp(analysis or analysis_of("cases/docker-archive.tar"), against=against, settings=settings)
        async with app.run_test(size=size) as pilot:
            await settle(app, pilot)
            await scenario(app, pilot)

    asyncio.run(main())


async def settle(app: ExploreApp, pilot: Pilot[None]) -> None:
    """Wait until the workers (the tree of the view, a file read) are done and the screen is updated."""
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def analysis_of_files(tmp_path: Path, files: dict[str, bytes]) -> imgscope.Analysis:
    """The analysis of a one-layer image holding ``files`` (a tar written by tarfile, PAX names)."""
    image = tmp_path / "files.tar"
    image.write_bytes(docker_archive([pax_layer(files)]))
    return imgscope.analyze(image)


async def open_waste_lens(app: ExploreApp, pilot: Pilot[None]) -> tuple[WasteScreen, TextLines]:
    """Press w: the waste lens and its table."""
    await pilot.press("w")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, WasteScreen)
    return screen, screen.query_one("#waste-table", TextLines)


async def select_layer(app: ExploreApp, pilot: Pilot[None], index: int) -> None:
    layers = app.query_one(LayersPane)
    layers.focus()
    await pilot.pause()
    while layers.cursor < index:
        await pilot.press("j")
    while layers.cursor > index:
        await pilot.press("k")
    await settle(app, pilot)


async def all_rows(app: ExploreApp, pilot: Pilot[None]) -> dict[str, tuple[DiffKind, int, str, str]]:
    """Open every directory (Ctrl+Space in the tree) and read every row: kind, size, mode column, uid:gid."""
    tree = app.query_one(FileTreePane)
    tree.focus()
    await pilot.pause()
    if not tree.expanded:
        await pilot.press("ctrl+space")
        await pilot.pause()
    rows = {}
    for i, row in enumerate(tree.rows):
        text = tree.line_text(i).plain
        perms, owner = text.split()[:2]
        rows[row.node.path] = (row.node.kind, row.node.size, perms, owner)
    return rows


def check_rows(
    rows: dict[str, tuple[DiffKind, int, str, str]], before: dict[str, Entry], after: dict[str, Entry]
) -> None:
    added, removed, changed = truth_kinds(before, after)
    kinds = {p: r[0] for p, r in rows.items()}
    assert {p for p, k in kinds.items() if k is DiffKind.ADDED} == added
    assert {p for p, k in kinds.items() if k is DiffKind.REMOVED} == removed
    modified = {p for p, k in kinds.items() if k is DiffKind.MODIFIED}
    assert changed <= modified
    assert modified <= set(after) & set(before) | {p for p in modified if after.get(p, ("",))[0] == "dir"}
    # every path of the tree after the layer is a row, with the truth's size, mode and owner (also for a path a
    # later layer writes again); a removed row shows what the path was before
    assert set(after) <= set(rows)
    for path, (type_, size, mode, uid, gid, _link) in after.items():
        _kind, shown_size, perms, owner = rows[path]
        if type_ != "dir":
            assert shown_size == size, path
        assert perms[1:] == mode_string_of(int(mode, 8))[1:], path
        assert owner == f"{uid}:{gid}", path
    for path in removed:
        _kind, _size, perms, owner = rows[path]
        assert (perms[1:], owner) == (mode_string_of(int(before[path][2], 8))[1:], "{}:{}".format(*before[path][3:5]))


def mode_string_of(mode: int) -> str:
    class _N:
        type = imgscope.EntryType.FILE

    node = _N()
    node.mode = mode  # type: ignore[attr-defined]
    return mode_string(node)  # type: ignore[arg-type]


@pytest.mark.parametrize("layer", [0, 1, 2, 3, 4])
def test_layer_changes_match_the_truth(layer: int) -> None:
    """Ctrl+L (the default): each layer against the one below, as umoci's unpacked trees differ."""
    truth = per_layer()

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        await select_layer(app, pilot, layer)
        assert app.view_key is not None and app.view_key.top == layer
        rows = await all_rows(app, pilot)
        check_rows(rows, truth.get(layer - 1, {}), truth[layer])

    run(scenario)


def test_mode_and_owner_of_a_path_a_later_layer_rewrites() -> None:
    """Layer 1 wrote /app/chmod-me.sh 0644 and /app/chown-me.txt 0:0; layer 3 chmods and chowns them (a copy
    each). At layer 1 the tree shows what layer 1 wrote, not the final metadata nor ``?``; at layer 3 the new."""
    truth = per_layer()
    paths = ("/app/chmod-me.sh", "/app/chown-me.txt")
    assert all(truth[1][p][2:5] != truth[3][p][2:5] for p in paths)  # the sample rewrites both

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        for layer in (1, 3):
            await select_layer(app, pilot, layer)
            rows = await all_rows(app, pilot)
            for path in paths:
                _type, _size, mode, uid, gid, _link = truth[layer][path]
                assert rows[path][2:] == (mode_string_of(int(mode, 8)), f"{uid}:{gid}"), (layer, path)

    run(scenario)


def test_wrap_folds_long_rows_at_a_narrow_size() -> None:
    """Ctrl+P in the tree (dive's wrap; Textual's command palette does not take the key): at 50x30 the tree pane
    is 28 cells wide and every row with its attributes is longer. Wrapped, each row is folded over the screen
    rows it needs, none wider than the pane, and read together they are the whole row; every path of the truth
    after the layer has its name (and link target) on the screen rows of its row."""
    truth = per_layer()

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        await select_layer(app, pilot, 1)
        await all_rows(app, pilot)
        tree = app.query_one(FileTreePane)
        width = tree.size.width
        assert width < 40
        cut = tree.render_line(0)
        assert cut.cell_length == width and "".join(s.text for s in cut).rstrip() != tree.line_text(0).plain
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert app.screen is app.screen_stack[0] and tree.wrap  # no palette over the app
        assert tree.screen_rows() > len(tree.rows)
        width = tree.fold_width()  # the pane less its scrollbar
        by_path = {}
        for index, row in enumerate(tree.rows):
            first, height = tree.screen_row_of(index)
            parts = [tree.line_part(index, k, width).plain for k in range(height)]
            assert [tree.line_at(first + k) for k in range(height)] == [(index, k) for k in range(height)]
            assert all(cell_len(p) <= width for p in parts)
            whole = tree.line_text(index).plain
            assert whole.startswith(parts[0]) and "".join("".join(parts).split()) == "".join(whole.split())
            by_path[row.node.path] = " ".join(parts)
        for path, (_type, _size, _mode, _uid, _gid, link) in truth[1].items():
            name = path.rpartition("/")[2]
            shown = "".join(by_path[path].split())  # the folds are the only spaces added
            assert "".join(name.split()) in shown and "".join(link.split()) in shown, path
        # what the screen shows is those rows: the cursor's row, folded, at the top of a scrolled pane
        tree.set_cursor(len(tree.rows) - 1)
        await pilot.pause()
        first, height = tree.screen_row_of(len(tree.rows) - 1)
        top = int(tree.scroll_offset.y)
        screen = ["".join(s.text for s in tree.render_line(y)) for y in range(first - top, first - top + height)]
        assert [line.rstrip() for line in screen] == [
            tree.line_part(len(tree.rows) - 1, k, width).plain.rstrip() for k in range(height)
        ]
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert not tree.wrap and tree.screen_rows() == len(tree.rows)

    run(scenario, size=(50, 30))


def test_narrow_terminal_gives_the_tree_room_for_names() -> None:
    """Below 120 columns the file tree takes three fifths of the width, and a pane without room for dive's three
    attribute columns and 20 cells of names shows permissions and size only (the column titles say so): at 80
    columns every row of layer 1's top directory shows its whole name, which dive's layout cuts to three cells.
    At 120 columns the panes are halves with the three columns, as dive's."""
    truth = per_layer()

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        await select_layer(app, pilot, 1)
        tree = app.query_one(FileTreePane)
        header = str(app.query_one("#tree-header", Static).render())
        if app.size.width < 120:
            assert tree.compact and tree.size.width > app.size.width // 2
            assert "Permission" in header and "UID:GID" not in header
        else:
            assert not tree.compact and tree.size.width <= app.size.width // 2
            assert "UID:GID" in header
        screen = ["".join(s.text for s in tree.render_line(y)) for y in range(min(tree.size.height, len(tree.rows)))]
        top = {p.rpartition("/")[2] for p in truth[1] if p.count("/") == 1}
        shown = [row.node.name for row in tree.rows[: len(screen)]]
        assert shown and set(shown) <= top
        for line, row in zip(screen, tree.rows, strict=False):
            assert line.startswith(tree._attributes(row.node)) and f" {row.node.name}" in line, line

    for size in ((80, 24), (120, 36)):
        run(scenario, size=size)


def test_aggregated_and_back() -> None:
    """Ctrl+A in the layers pane: layer 4 against layer 0; Ctrl+L: against layer 3 again."""
    truth = per_layer()

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        await select_layer(app, pilot, 4)
        await pilot.press("ctrl+a")
        await settle(app, pilot)
        assert app.query_one("#right").border_title == "Aggregated Layer Contents"
        check_rows(await all_rows(app, pilot), truth[0], truth[4])
        app.query_one(LayersPane).focus()
        await pilot.press("ctrl+l")
        await settle(app, pilot)
        assert app.query_one("#right").border_title == "Current Layer Contents"
        check_rows(await all_rows(app, pilot), truth[3], truth[4])

    run(scenario)


def test_compare_two_layers() -> None:
    """x on layer 1, then layer 4: the tree is layer 4 against layer 1."""
    truth = per_layer()

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        await select_layer(app, pilot, 1)
        await pilot.press("x")
        await select_layer(app, pilot, 4)
        assert app.view_key is not None and (app.view_key.base, app.view_key.top) == (1, 4)
        check_rows(await all_rows(app, pilot), truth[1], truth[4])

    run(scenario)


def test_tree_keys_hide_kinds_and_collapse() -> None:
    """Ctrl+U hides unmodified paths, Ctrl+R removed ones; Space collapses and opens a directory."""
    truth = per_layer()
    added, removed, changed = truth_kinds(truth[2], truth[3])

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        await select_layer(app, pilot, 3)
        rows = await all_rows(app, pilot)
        assert len(rows) > 100  # busybox's applets
        await pilot.press("ctrl+u")
        await settle(app, pilot)
        tree = app.query_one(FileTreePane)
        files = {r.node.path for r in tree.rows if r.node.type is not imgscope.EntryType.DIR}
        both = {**truth[2], **truth[3]}
        assert {p for p in added | removed | changed if both[p][0] != "dir"} <= files <= set(both)
        assert all(r.node.kind is not DiffKind.UNMODIFIED for r in tree.rows if r.node.path in files)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert not any(r.node.kind is DiffKind.REMOVED for r in tree.rows)
        await pilot.press("ctrl+r", "ctrl+u")
        await settle(app, pilot)
        # collapse /app with Space, open it again
        index = next(i for i, r in enumerate(tree.rows) if r.node.path == "/app")
        tree.set_cursor(index)
        below = {r.node.path for r in tree.rows if r.node.path.startswith("/app/")}
        assert "/app/overwritten.txt" in below
        await pilot.press("space")
        await pilot.pause()
        assert not any(r.node.path.startswith("/app/") for r in tree.rows)
        await pilot.press("space")
        await pilot.pause()
        assert {r.node.path for r in tree.rows if r.node.path.startswith("/app/")} == below

    run(scenario)


def test_sort_by_size_then_name() -> None:
    """Sorted by size by default (largest first), Ctrl+O by name; the header says which."""

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        await select_layer(app, pilot, 4)
        tree = app.query_one(FileTreePane)
        tree.focus()
        await pilot.pause()
        top = [r.node for r in tree.rows]
        assert [n.size for n in top] == sorted((n.size for n in top), reverse=True)
        assert "sorted by size" in str(app.query_one("#tree-header", Static).render())
        await pilot.press("ctrl+o")
        await pilot.pause()
        names = [r.node.name for r in tree.rows]
        assert names == sorted(names)
        assert "sorted by name" in str(app.query_one("#tree-header", Static).render())

    run(scenario)


@pytest.mark.parametrize(
    ("typed", "wanted"),
    [
        (r"\.txt$", lambda p, e: p.endswith(".txt")),
        ("glob:/app/**/*.txt", lambda p, e: p.startswith("/app/") and p.endswith(".txt")),
        (">9KB", lambda p, e: e[0] == "file" and e[1] > 9000),
        ("app <=1.5kB", lambda p, e: "app" in p and e[1] <= 1500),  # symlinks, fifos: size 0
    ],
)
def test_filter(typed: str, wanted: Callable[[str, Entry], bool]) -> None:
    """Ctrl+F (or /), typed text: the file rows are the truth's paths that match, every directory on the way
    stays (the tree stays navigable); Esc closes the filter and everything is back."""
    truth = per_layer()
    after = truth[3]
    removed = set(truth[2]) - set(after)

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        await select_layer(app, pilot, 3)
        await pilot.press("/")
        await pilot.press(*typed)
        await pilot.press("enter")
        await settle(app, pilot)
        tree = app.query_one(FileTreePane)
        assert app.focused is tree
        files = {r.node.path for r in tree.rows if not r.node.is_dir}
        expected = {p for p, e in after.items() if e[0] != "dir" and wanted(p, e)}
        expected |= {p for p in removed if truth[2][p][0] != "dir" and wanted(p, truth[2][p])}
        assert files == expected
        shown = {r.node.path for r in tree.rows}
        for path in files:  # each match's directories are rows too
            parts = path.split("/")[1:-1]
            assert all("/" + "/".join(parts[: i + 1]) in shown for i in range(len(parts)))
        await pilot.press("down")  # navigable
        await pilot.pause()
        assert tree.cursor == 1
        await pilot.press("ctrl+f")  # back into the filter line
        await pilot.press("escape")
        await pilot.pause()
        assert tree.path_filter is None and not app.filter_shown

    run(scenario)


def test_waste_lens_and_jump() -> None:
    """w: every wasted copy with who wrote it and who hid it, checked against the layers' tar members and the
    per-layer trees; Enter jumps to the path in the tree of the layer that hid it."""
    truth = per_layer()
    members: dict[tuple[int, str], int] = {}
    with (TRUTH / "cases.layers.tsv").open() as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["typeflag"] in ("0", ""):
                members[(int(row["layer"]), "/" + row["name"])] = int(row["size"])
    final = truth[max(truth)]

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        screen, table = await open_waste_lens(app, pilot)
        assert table.line_count() == len(screen.lens.rows) > 0
        for i, row in enumerate(screen.lens.rows):  # what the lines say
            words = table.line_text(i).plain.split()
            assert words[-1] == row.path and words[3] == str(row.layer) and words[5] == str(row.hidden_by)
        for row in screen.lens.rows:
            assert members[(row.layer, row.path)] == row.size  # the writer stored that many bytes there
            after = truth[row.hidden_by]
            before = truth[row.hidden_by - 1]
            assert row.path not in after or after[row.path] != before.get(row.path) or row.how.startswith("copied")
        assert sum(r.size for r in screen.lens.rows) == screen.lens.wasted_bytes
        # jump to the first row: /app/deleted.txt, deleted in layer 3 -> removed (red) in layer 3's changes
        first = screen.lens.rows[0]
        assert first.path not in final
        table.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, WasteScreen)
        assert app.view_key is not None and app.view_key.top == first.hidden_by
        node = app.query_one(FileTreePane).current()
        assert node is not None and node.path == first.path and node.kind is DiffKind.REMOVED
        await pilot.press("c")  # copy the path
        await pilot.pause()
        assert app.clipboard == first.path

    run(scenario)


def test_path_history_and_content() -> None:
    """p: /app/overwritten.txt written in layer 1 (10,000 bytes), overwritten in layer 3 (15,000), as the
    per-layer truth says; Ctrl+E: its bytes read from layer 3's blob are the Containerfile's text."""
    truth = per_layer()
    path = "/app/overwritten.txt"
    sizes = {layer: tree[path][1] for layer, tree in truth.items() if path in tree}

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        await select_layer(app, pilot, 3)
        tree = app.query_one(FileTreePane)
        tree.focus()
        assert tree.reveal(path)
        await pilot.press("p")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TextScreen)
        lines = screen.shown_text().splitlines()
        written = [line for line in lines if line.startswith("layer")]
        assert len(written) == 2
        assert written[0].split()[1] == "1" and "written" in written[0] and f"{sizes[1] / 1000:.0f} kB" in written[0]
        assert (
            written[1].split()[1] == "3" and "overwritten" in written[1] and f"{sizes[3] / 1000:.0f} kB" in written[1]
        )
        await pilot.press("escape")
        await pilot.press("ctrl+e")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TextScreen)
        body = screen.shown_text()
        assert body.splitlines()[0] == "second version, longer"  # samples/src/cases/Containerfile, layer 3
        assert "layer 3" in str(screen.query_one("#lens-title", Static).render())

    run(scenario)


def test_binary_content_is_shown_as_such() -> None:
    """/bin/busybox is an ELF binary: shown as a hex dump of its first bytes, never decoded."""

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        tree = app.query_one(FileTreePane)
        tree.focus()
        assert tree.reveal("/bin/busybox")
        await pilot.press("v")
        await settle(app, pilot)
        body = text_screen(app).shown_text()
        assert body.startswith("binary, 2.0 MB (1982256 bytes)")
        assert "7f 45 4c 46" in body  # \x7fELF

    run(scenario)


def test_advice_for_the_layer() -> None:
    """a: the findings of imgscope.advise that concern the selected layer (advise.tar, the wasteful image)."""
    analysis = analysis_of("advise.tar", image="localhost/wasteful:latest")
    findings = imgscope.advise(analysis)
    layer = next(f.layers[0] for f in findings if f.layers)
    ids = {f.id for f in findings if layer in f.layers}

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        await select_layer(app, pilot, layer)
        await pilot.press("a")
        await settle(app, pilot)
        body = text_screen(app).shown_text()
        assert {i for i in ids if i in body} == ids

    run(scenario, analysis=analysis)


def test_against_another_image() -> None:
    """--against: tiny-b against tiny-a (two-images.tar); the truth's trees give what was added."""
    a = analysis_of("two-images.tar", image="localhost/tiny-a:1")
    b = analysis_of("two-images.tar", image="localhost/tiny-b:1")

    def tree_of(name: str) -> set[str]:
        with (TRUTH / f"{name}.tsv").open() as fh:
            return {row["path"] for row in csv.DictReader(fh, delimiter="\t")}

    def mode(app: ExploreApp) -> str:
        assert app.view_key is not None
        return app.view_key.mode.value

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        assert mode(app) == "images"
        rows = await all_rows(app, pilot)
        added = {p for p, r in rows.items() if r[0] is DiffKind.ADDED}
        assert added == tree_of("tiny-b") - tree_of("tiny-a")
        assert not any(r[0] is DiffKind.REMOVED for r in rows.values())
        await select_layer(app, pilot, 1)  # a layer of A: its changes
        assert mode(app) == "layer" and app.view_key is not None and app.view_key.top == 1
        await pilot.press("i")  # and B against A again
        await settle(app, pilot)
        assert mode(app) == "images"

    run(scenario, analysis=a, against=b)


def test_keys_rebound_from_settings(tmp_path: Path) -> None:
    """[tool.imgscope.explore.keys] moves an action to other keys; the old key then does nothing."""
    (tmp_path / ".imgscope.toml").write_text('[explore]\nsort = "name"\n[explore.keys]\nwaste-lens = "W"\n')
    settings = ExploreSettings.load(start=tmp_path)
    assert settings.sort == "name"

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        await pilot.press("w")
        await pilot.pause()
        assert not isinstance(app.screen, WasteScreen)
        await pilot.press("W")
        await pilot.pause()
        assert isinstance(app.screen, WasteScreen)

    run(scenario, settings=settings)


def test_bad_settings_are_one_usage_error(tmp_path: Path) -> None:
    (tmp_path / ".imgscope.toml").write_text('[explore.keys]\nno-such-action = "z"\n')
    with pytest.raises(imgscope.UsageError, match="no-such-action"):
        ExploreSettings.load(start=tmp_path)


def test_mouse_click_selects_a_layer() -> None:
    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        layers = app.query_one(LayersPane)
        await pilot.click(LayersPane, offset=(10, 3))  # border row, then layers 0, 1, 2
        await settle(app, pilot)
        assert layers.cursor == 2
        assert app.view_key is not None and app.view_key.top == 2
        # in the tree: a click selects a row, a double click on a directory opens it
        tree = app.query_one(FileTreePane)
        first = tree.rows[0].node
        assert first.is_dir and first.path not in tree.expanded
        await pilot.click(FileTreePane, offset=(5, 0))
        await pilot.pause()
        assert app.focused is tree and tree.cursor == 0 and first.path not in tree.expanded
        await pilot.double_click(FileTreePane, offset=(5, 0))
        await pilot.pause()
        assert first.path in tree.expanded and tree.rows[1].node.parent is first

    run(scenario)


def test_quit_keys() -> None:
    for key in ("q", "ctrl+c"):

        async def scenario(app: ExploreApp, pilot: Pilot[None], key: str = key) -> None:
            await pilot.press(key)
            await pilot.pause()
            assert not app.is_running

        run(scenario)


def test_an_image_without_layers(tmp_path: Path) -> None:
    """A config with no layers (a FROM scratch image with only metadata): the panes say so, every key is safe."""
    import hashlib
    import json

    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
    ).encode()
    name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": name, "RepoTags": ["empty:1"], "Layers": []}]).encode()
    path = tmp_path / "empty.tar"
    with tarfile.open(path, "w") as tar:
        for member, data in ((name, config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    analysis = imgscope.analyze(path)
    assert not analysis.layers

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        assert "no layers" in str(app.query_one("#layer-details", Static).render())
        for key in ("j", "ctrl+a", "ctrl+l", "x", "tab", "space", "ctrl+space", "ctrl+u", "v", "p", "c", "a"):
            await pilot.press(key)
            await settle(app, pilot)
            if not isinstance(app.screen, type(app.get_default_screen())):
                await pilot.press("escape")
        await pilot.press("/", "x", "enter")
        await settle(app, pilot)
        assert app.is_running and app.query_one(FileTreePane).rows == []

    run(scenario, analysis=analysis)


def test_a_large_tree_is_counted_on_after_its_first_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tree with more lines than are counted in the key press (here: more than 3) shows its first screen with
    the lines counted so far, then counts on in a worker: the scrollbar follows, and the lines, read from the
    first, the last, and after moving past what was counted, are the tree's. (A view whose lines with every
    directory open are known at once, below, is not counted: here the view does not know them.)"""
    monkeypatch.setattr(explore_app, "COUNT_IN_KEY", 3)
    monkeypatch.setattr(LayerView, "full_lines", lambda self, shown, make=True: None)

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        await select_layer(app, pilot, len(app.analysis.layers) - 1)
        await pilot.press("ctrl+a")
        await settle(app, pilot)
        tree = app.query_one(FileTreePane)
        tree.focus()
        await pilot.pause()
        tree.action_toggle_collapse_all_dir()  # as Ctrl+Space, with no pause after it: the count is not done
        rows = tree.rows
        assert isinstance(rows, TreeRows) and tree.expanded.every and not rows.complete
        want = TreeRows(tree.vtree, tree.sort, tree.shown, set(), True) if tree.vtree is not None else None
        assert want is not None and tree.lines < len(want)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert rows.complete and tree.lines == len(want) and tree.virtual_size.height == len(want)
        assert [r.node.path for r in rows] == [r.node.path for r in want]
        tree.action_toggle_collapse_all_dir()
        tree.action_toggle_collapse_all_dir()  # every directory open again: counted again
        assert isinstance(tree.rows, TreeRows) and not tree.rows.complete
        tree.set_cursor(len(want) - 1)  # beyond what was counted: counted as far as the screen there needs
        node = tree.current()
        assert node is not None and node.path == want[len(want) - 1].node.path
        await app.workers.wait_for_complete()

    run(scenario, size=(100, 16))


def test_open_all_knows_its_lines_in_the_key_press(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl+Space on every view of the sample, with some sets of hidden kinds: the tree is complete in the key
    press (no worker counts on), its lines and the scrollbars' size are those counted by walking the view, and
    the lines read are the walk's; the rows below each directory are then counted in a worker (reading lines
    further down counts nothing); Ctrl+Space again closes everything."""
    monkeypatch.setattr(explore_app, "COUNT_IN_KEY", 3)  # a walk would count 3 lines in the key press, no more

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        tree = app.query_one(FileTreePane)
        seen = 0
        for layer in range(len(app.analysis.layers)):
            for mode in ("ctrl+l", "ctrl+a"):
                await select_layer(app, pilot, layer)
                await pilot.press(mode)
                await settle(app, pilot)
                for hidden in (set(), {DiffKind.UNMODIFIED}, {DiffKind.ADDED, DiffKind.REMOVED}):
                    tree.hidden_kinds = set(hidden)
                    app.refilter()
                    await settle(app, pilot)
                    tree.focus()
                    tree.set_cursor(0)
                    await pilot.pause()
                    await pilot.press("ctrl+space")
                    assert tree.expanded.every
                    rows = tree.rows
                    assert isinstance(rows, TreeRows) and rows.complete  # in the key press, before any worker
                    assert tree.vtree is not None
                    walked = TreeRows(tree.vtree, tree.sort, tree.shown, set(), True, known=False)
                    assert tree.lines == len(walked)
                    seen += len(walked)
                    assert (tree.virtual_size.width, tree.virtual_size.height) == (35 + walked.width, len(walked))
                    assert [r.node.path for r in rows] == [r.node.path for r in walked]
                    await app.workers.wait_for_complete()
                    assert rows.counted or not walked  # then the rows below each directory, in the worker
                    await pilot.press("ctrl+space")
                    assert not tree.expanded
                tree.hidden_kinds = set()
                app.refilter()
                await settle(app, pilot)
        assert seen > 300

    run(scenario, size=(100, 16))


def test_enter_applies_a_regular_expression_in_the_key_press(monkeypatch: pytest.MonkeyPatch) -> None:
    """Enter applies a regular expression in the key press (no worker: one frame with the focus moved); the tree
    is the one the filter gives (``visible`` of the whole view, every line walked). A glob (tried in Python on
    every path), or a pattern with hidden kinds, is applied by a worker, as before."""
    monkeypatch.setattr(explore_app, "FILTER_DELAY", 60.0)  # no pause in typing applies it: Enter does
    in_worker: list[str] = []
    original = ExploreApp._filter

    def spy(self: ExploreApp, view: ViewTree, flt: Filter | None, hidden: frozenset[DiffKind]) -> object:
        in_worker.append(getattr(flt, "text", ""))
        return original(self, view, flt, hidden)

    monkeypatch.setattr(ExploreApp, "_filter", spy)

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        await select_layer(app, pilot, 3)
        tree = app.query_one(FileTreePane)
        cases: list[tuple[str, set[DiffKind], bool]] = [
            (r"\.txt$", set(), False),
            ("app", set(), False),
            ("app", {DiffKind.UNMODIFIED}, True),  # with hidden kinds: a worker, as before
            ("glob:*.txt", set(), True),
        ]
        for typed, hide, worker in cases:
            await pilot.press("/")
            await pilot.press(*typed)
            await settle(app, pilot)  # typed, and paused
            assert tree.vtree is not None and isinstance(tree.vtree, LayerView)
            flt = parse_filter(typed)
            tree.hidden_kinds = set(hide)
            del in_worker[:]
            await pilot.press("enter")
            await settle(app, pilot)
            assert in_worker == ([typed] if worker else [])
            assert app.focused is tree and tree.path_filter is not None and tree.path_filter.text == typed
            shown = ViewTree.visible(tree.vtree, flt, frozenset(hide))  # every candidate's entry, as before
            assert tree.shown == shown
            want = TreeRows(tree.vtree, tree.sort, shown, set(), True, known=False)
            assert [(r.node.path, r.node.kind, r.prefix) for r in tree.rows] == [
                (r.node.path, r.node.kind, r.prefix) for r in want
            ]
            assert tree.lines == len(want) and tree.virtual_size.height == len(want)
            await pilot.press("ctrl+f")
            await pilot.press("escape")
            await settle(app, pilot)
            tree.hidden_kinds = set()
            app.refilter()
            await settle(app, pilot)

    run(scenario)


def test_no_color_opens_in_monochrome(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR turns Textual's monochrome filter on: every pane still draws (a line without a style of its own
    crashed the filter)."""
    monkeypatch.setenv("NO_COLOR", "1")

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        await select_layer(app, pilot, 3)
        await pilot.press("tab")
        await settle(app, pilot)
        assert app.query_one(FileTreePane).rows
        assert "overwritten.txt" in app.export_screenshot()

    run(scenario)


def test_control_keys_as_a_terminal_without_the_kitty_protocol_sends_them() -> None:
    """xterm, VTE and tmux send Ctrl+Space as NUL, Ctrl+M as a carriage return and Ctrl+/ as 0x1f: Textual names
    those keys ctrl+@, enter and ctrl+underscore, and each does what dive's key does."""

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        await select_layer(app, pilot, 3)
        tree = app.query_one(FileTreePane)
        tree.focus()
        await settle(app, pilot)
        before = len(tree.rows)
        await pilot.press("ctrl+@")
        await settle(app, pilot)
        assert len(tree.rows) != before
        await pilot.press("ctrl+@")
        await settle(app, pilot)
        assert len(tree.rows) == before
        await pilot.press("enter")
        await settle(app, pilot)
        assert DiffKind.MODIFIED in tree.hidden_kinds
        await pilot.press("ctrl+underscore")
        await pilot.pause()
        assert isinstance(app.focused, Input)

    run(scenario)


def test_keys_inside_a_lens_move_its_cursor_and_ctrl_c_quits() -> None:
    """In the waste lens, Down/j and Up/k move the row Enter acts on; Ctrl+C quits from the lens too."""

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        screen, table = await open_waste_lens(app, pilot)
        assert len(screen.lens.rows) >= 4
        await pilot.press("down", "j", "j")
        assert table.cursor == 3
        await pilot.press("k", "up")
        assert table.cursor == 1
        chosen = screen.lens.rows[1]
        await pilot.press("enter")
        await settle(app, pilot)
        node = app.query_one(FileTreePane).current()
        assert node is not None and node.path == chosen.path
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, Lens)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.return_code == 0 and not app.is_running

    run(scenario)


def test_image_details_lists_the_inefficient_files_largest_first() -> None:
    """As dive's Image Details pane (and its JSON): the largest cumulative size first."""
    analysis = analysis_of("cases/docker-archive.tar")

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        details = app.query_one("#image-details-box", TextLines)
        lines = [details.line_text(i).plain for i in range(details.line_count())]
        listed = [line.split()[-1] for line in lines if line.split() and line.split()[-1].startswith("/")]
        inefficient = analysis.dive.inefficiencies
        assert listed == [i.path for i in inefficient]
        sizes = [i.cumulative_size for i in inefficient]
        assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]

    run(scenario, analysis)


def test_wrap_folds_names_of_wide_characters_whole(tmp_path: Path) -> None:
    """A name of emoji (two cells each) folded without its attributes (Ctrl+B) loses no character."""
    name = "app/" + "\U0001f600" * 20 + ".txt"
    analysis = analysis_of_files(tmp_path, {name: b"abc"})

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        tree = app.query_one(FileTreePane)
        tree.focus()
        await pilot.press("ctrl+space", "ctrl+b", "ctrl+p")
        await settle(app, pilot)
        index = next(i for i, r in enumerate(tree.rows) if r.node.path == "/" + name)
        _first, height = tree.screen_row_of(index)
        width = tree.fold_width()
        parts = [tree.line_part(index, k, width).plain for k in range(height)]
        assert all(cell_len(p) <= width for p in parts)
        assert "".join("".join(parts).split()).endswith("\U0001f600" * 20 + ".txt")

    run(scenario, analysis, size=(100, 16))


def test_image_details_say_which_image_of_several_was_taken() -> None:
    """The analysis notes (several images here; the first taken; choose with --image) are shown, as analyze shows
    them."""
    analysis = analysis_of("two-images.tar")
    assert analysis.image.notes

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        details = app.query_one("#image-details-box", TextLines)
        shown = "\n".join(details.line_text(i).plain for i in range(details.line_count()))
        assert all(f"Note: {note}" in shown for note in analysis.image.notes)

    run(scenario, analysis)


def text_screen(app: ExploreApp) -> TextScreen:
    screen = app.screen
    assert isinstance(screen, TextScreen)
    return screen


def test_a_long_text_is_drawn_a_screen_at_a_time() -> None:
    """A file's content of thousands of lines opens at once and scrolls with the keys: its lines are drawn as they
    are shown (wrapping all of it took seconds); a short text is still wrapped to the width."""
    body = "\n".join(f"line {i} " + "word " * (i % 40) for i in range(5000))

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        app.show_text("long", body)
        await pilot.pause()
        screen = text_screen(app)
        lines = screen.query_one("#lens-lines", TextLines)
        assert lines.display and not screen.query_one("#lens-scroll").display and app.focused is lines
        assert lines.line_count() == 5000 and lines.line_text(4999).plain == body.rsplit("\n", 1)[1]
        await pilot.press("pagedown", "down")
        top = lines.scroll_offset.y
        assert top > 1
        await pilot.press("up")
        assert lines.scroll_offset.y == top - 1
        assert "line 4999" in screen.shown_text()
        await pilot.press("escape")
        app.show_text("short", "a short text")
        await pilot.pause()
        screen = text_screen(app)
        assert screen.query_one("#lens-scroll").display and not screen.query_one("#lens-lines").display
        assert str(screen.query_one("#lens-body", Static).render()) == "a short text"

    run(scenario)


@pytest.mark.parametrize("size", [(40, 12), (80, 24)])
def test_small_terminals_still_show_layers(size: tuple[int, int]) -> None:
    """The Layers pane keeps rows for its layers (all of them when half the column holds them) before the details
    panes grow: at 40x12 it had no row at all, at 80x24 three of the five."""

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        layers = app.query_one(LayersPane)
        rows = layers.size.height
        assert rows >= 1
        if size == (80, 24):
            assert rows >= layers.line_count() == 5

    run(scenario, size=size)


def test_names_holding_markup_are_shown_as_written(tmp_path: Path) -> None:
    """A path is text, never Rich markup: "[/bold]" as a file name crashed the lens title ("closing tag does not
    match"), "[bold]" vanished, and "[@click=...]" would have been an action."""
    names = ["app/[/bold]", "app/[bold]x", "app/[@click=app.quit]z"]
    analysis = analysis_of_files(tmp_path, dict.fromkeys(names, b"hello"))

    async def scenario(app: ExploreApp, pilot: Pilot[None]) -> None:
        tree = app.query_one(FileTreePane)
        tree.focus()
        for name in names:
            assert tree.reveal("/" + name)
            await pilot.press("p")
            await settle(app, pilot)
            title = str(text_screen(app).query_one("#lens-title", Static).render())
            assert title == f"History of /{name}"
            await pilot.press("escape", "v")
            await settle(app, pilot)
            assert text_screen(app).shown_text() == "hello"
            await pilot.press("escape", "c")
            await settle(app, pilot)
            assert app.clipboard == "/" + name

    run(scenario, analysis)
