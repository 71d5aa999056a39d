"""The file tree after each layer, against umoci's unpacked rootfs after each layer (samples/truth/*.per-layer.tsv),
and one layer's changes against the recorded added/modified/removed sets."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

import imgscope
from imgscope import ChangeKind, EntryType, TreeNode
from imgscope.cli import main
from imgscope.render.filetree import render_tree
from imgscope.union.tree import trim
from tests.conftest import CASES_FORMATS, SAMPLES, analysis_of
from tests.hostile.make_corpus import docker_archive


def per_layer_truth(name: str) -> dict[int, set[tuple[str, str, int]]]:
    lines = (SAMPLES / "truth" / f"{name}.per-layer.tsv").read_text().splitlines()
    assert lines[0].split("\t")[:4] == ["layer", "path", "type", "size"]
    rows: dict[int, set[tuple[str, str, int]]] = defaultdict(set)
    for line in lines[1:]:
        layer, path, kind, size = line.split("\t")[:4]
        rows[int(layer)].add((path, kind, int(size) if kind == "file" else 0))
    return rows


def tree_rows(root: TreeNode) -> set[tuple[str, str, int]]:
    out = set()
    for node in root.walk():
        if node.path == "/":
            continue
        kind = "file" if node.type in (EntryType.FILE, EntryType.HARDLINK) else node.type.value
        out.add((node.path, kind, node.size if kind != "dir" else 0))
    return out


@pytest.mark.parametrize(
    ("rel", "truth"),
    [*[(rel, "cases") for rel in CASES_FORMATS], ("cases-vfs/docker-archive.tar", "cases-vfs")],
)
def test_tree_after_each_layer_equals_umoci(rel: str, truth: str) -> None:
    a = analysis_of(rel)
    expected = per_layer_truth(truth)
    assert sorted(expected) == list(range(len(a.layers)))
    for layer in range(len(a.layers)):
        got = tree_rows(a.tree(layer))
        assert sorted(got - expected[layer]) == [] and sorted(expected[layer] - got) == [], layer


@pytest.mark.parametrize(
    ("rel", "truth"), [("cases/docker-archive.tar", "cases"), ("cases-vfs/docker-archive.tar", "cases-vfs")]
)
def test_attributes_after_each_layer_equal_umoci(rel: str, truth: str) -> None:
    a = analysis_of(rel)
    expected: dict[int, dict[str, str]] = defaultdict(dict)
    owners: dict[int, dict[str, tuple[str, int, int]]] = defaultdict(dict)
    for line in (SAMPLES / "truth" / f"{truth}.per-layer.tsv").read_text().splitlines()[1:]:
        number, path, kind, _, mode, uid, gid, target = line.split("\t")
        owners[int(number)][path] = (mode, int(uid), int(gid))
        if kind == "symlink":
            expected[int(number)][path] = target
    last = len(a.layers) - 1
    for layer in range(len(a.layers)):
        nodes = [n for n in a.tree(layer).walk() if n.path != "/"]
        known = {n.path: (f"{n.mode:04o}", n.uid, n.gid) for n in nodes if n.mode is not None}
        assert all(known[p] == owners[layer][p] for p in known)  # where known, exact
        assert len(known) == len(nodes) if layer == last else len(known) > len(nodes) // 2
        assert all(n.mode is None or n.uid is not None for n in nodes)
        got = {n.path: n.link_target for n in a.tree(layer).walk() if n.type is EntryType.SYMLINK}
        assert got == expected[layer], layer  # every target known here: no sample rewrites a symlink
        changed = {n.path: n.link_target for n in a.tree(layer, changes=True).walk() if n.type is EntryType.SYMLINK}
        assert all(changed[p] == expected[layer][p] for p in changed if p in expected[layer])


def test_final_tree_equals_the_final_files_and_aggregates_sizes() -> None:
    a = analysis_of("cases/docker-archive.tar")
    root = a.tree()
    assert root == a.tree(-1) == a.tree(len(a.layers) - 1)
    assert {n.path for n in root.walk()} - {"/"} == {f.path for f in a.files}
    files = [f for f in a.files if f.type is not EntryType.DIR]
    assert root.files == len(files)
    assert root.size == sum(f.size for f in files if f.type in (EntryType.FILE, EntryType.HARDLINK))
    app = root.find("/app")
    assert app is not None and app.size == sum(c.size for c in app.children)
    assert root.find("app/dir-keep/kept.txt") == app.find("dir-keep/kept.txt")
    assert root.find("/nope") is None and root.find("/bin/busybox/x") is None


def test_tree_is_json_serialisable() -> None:
    root = analysis_of("cases/oci-gzip").tree(1)
    doc = json.loads(json.dumps(root.to_dict()))
    assert doc["path"] == "/" and doc["type"] == "dir"
    assert sum(c["size"] for c in doc["children"]) == doc["size"]


def test_layer_out_of_range() -> None:
    a = analysis_of("cases/docker-archive.tar")
    with pytest.raises(IndexError, match="0 to 4"):
        a.tree(5)
    with pytest.raises(IndexError, match="0 to 4"):
        a.tree(-6, changes=True)
    assert a.tree(-5) == a.tree(0)
    # one of imgscope's own errors (one line, exit 2 in the CLI), not a bare IndexError
    with pytest.raises(imgscope.UsageError, match="layer 5: the image has layers 0 to 4"):
        a.tree(5)


def test_an_image_without_layers(tmp_path: Path) -> None:
    path = tmp_path / "empty.tar"
    path.write_bytes(
        docker_archive(
            config=lambda c: {**c, "rootfs": {"type": "layers", "diff_ids": []}, "history": []},
            manifest=lambda m: [{**m[0], "Layers": []}],
        )
    )
    a = imgscope.analyze(path)
    assert a.tree() == TreeNode("", "/", EntryType.DIR, 0, 0)
    with pytest.raises(IndexError, match="no layers"):
        a.tree(changes=True)
    runner = CliRunner()
    assert runner.invoke(main, ["tree", str(path)]).exit_code == 0
    result = runner.invoke(main, ["tree", str(path), "--changes"])
    assert result.exit_code == 2 and "no layers" in result.output


@pytest.mark.parametrize("rel", ["cases/docker-archive.tar", "cases-vfs/docker-archive.tar"])
def test_changes_tree_marks_exactly_the_recorded_changes(rel: str) -> None:
    a = analysis_of(rel)
    for report in a.layers:
        tree = a.tree(report.index, changes=True)
        marked = {(n.path, n.change) for n in tree.walk() if n.change is not None}
        assert marked == {(c.path, c.kind) for c in report.changes}
        for kind in ChangeKind:
            assert {p for p, k in marked if k is kind} == {c.path for c in report.changes_of(kind)}
        # the root sums up the layer: what it wrote and kept, what it removed
        assert tree.size == report.added_bytes + report.modified_bytes
        assert tree.removed_size == report.removed_bytes
        removed = report.changes_of(ChangeKind.REMOVED)
        assert tree.removed_files == sum(1 for c in removed if c.type is not EntryType.DIR)


def test_changes_of_layer_3() -> None:
    tree = analysis_of("cases/docker-archive.tar").tree(3, changes=True)
    was_dir = tree.find("/app/was-file-dir")
    assert was_dir is not None and was_dir.type is EntryType.FILE and was_dir.change is ChangeKind.MODIFIED
    assert [(c.name, c.change) for c in was_dir.children] == [("inner.txt", ChangeKind.REMOVED)]
    gone = tree.find("/app/dir-gone")
    assert gone is not None and gone.change is ChangeKind.REMOVED and gone.size == 5000 + 6000 + 7000
    data = tree.find("/data")
    assert data is not None and data.change is None  # emptied and made again: not itself a change
    assert data.size == 4  # only what stays counts in a changes tree: /data/x, not the removed old files
    assert (data.removed_files, data.removed_size, data.weight) == (3, 9000, 9004)
    # the root counts what the layer wrote and kept: added + modified bytes
    layer = analysis_of("cases/docker-archive.tar").layers[3]
    assert tree.size == layer.added_bytes + layer.modified_bytes


def test_trim_collapses_and_cuts() -> None:
    root = analysis_of("cases/docker-archive.tar").tree()
    shown = trim(root, depth=1, limit=2)
    assert [c.name for c in shown.children] == ["bin", "app"]  # largest first
    assert shown.collapsed is not None
    assert shown.collapsed.entries == len(root.children) - 2
    assert shown.collapsed.size + sum(c.size for c in shown.children) == root.size
    assert shown.collapsed.files + sum(c.files for c in shown.children) == root.files
    assert all(c.depth_cut and not c.children for c in shown.children)
    by_name = trim(root, sort="name", depth=1)
    assert [c.name for c in by_name.children] == sorted(c.name for c in root.children)
    big = trim(root, min_size=10_000)
    assert all(c.size >= 10_000 for c in big.walk() if c is not big)
    with pytest.raises(ValueError):
        trim(root, sort="mtime")


def test_cli_tree_json_and_errors() -> None:
    runner = CliRunner()
    path = str(SAMPLES / "cases/docker-archive.tar")
    result = runner.invoke(main, ["tree", path, "--layer", "3", "--changes", "--json", "--all"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["schema_version"] == 1 and doc["layer"] == 3 and doc["changes"] is True
    assert doc["tree"] == trim(imgscope.analyze(path).tree(3, changes=True)).to_dict()
    result = runner.invoke(main, ["tree", path, "--path", "/app", "--json", "--depth", "1"])
    assert json.loads(result.output)["tree"]["path"] == "/app"
    for args, message in (
        (["--layer", "7"], "--layer 7"),
        (["--path", "/nope"], "--path /nope"),
        (["--min-size", "lots"], "--min-size"),
    ):
        result = runner.invoke(main, ["tree", path, *args])
        assert result.exit_code == 2 and message in result.output, args


def test_cli_tree_escapes_markup_in_names() -> None:
    """Names are the image author's: rich markup in them is shown, not interpreted."""
    child = TreeNode("[red]x\x1b", "/[red]x\x1b", EntryType.FILE, 1, 1)
    node = TreeNode("", "/", EntryType.DIR, 1, 1, children=(child,))
    console = Console(width=80, record=True, no_color=True, file=io.StringIO())
    console.print(render_tree(node, "t"))
    text = console.export_text()
    assert "[red]x\\x1b" in text


def test_depth_cut_says_what_a_layer_removed_below() -> None:
    """wasteful's layer 7 removes /var/lib/apt/lists/* (30,000 + 4,000 bytes), five levels down: at the default
    depth the removals lie below the cut, and the cut must say so (it said nothing: no file is kept there)."""
    advise = str(SAMPLES / "advise.tar")
    out = CliRunner().invoke(main, ["tree", advise, "--layer", "7", "--changes"], env={"COLUMNS": "120"}).output
    [line] = [x for x in out.splitlines() if "(--depth)" in x]
    assert line.endswith("… (-2 files removed, 34.0 kB) (--depth)")
    cases = str(SAMPLES / "cases/oci-gzip")
    args = ["tree", cases, "--layer", "3", "--changes", "--depth", "2"]
    out = CliRunner().invoke(main, args, env={"COLUMNS": "120"}).output
    lines = out.splitlines()
    # /app/was-file-dir is now a file holding the removed inner.txt: nothing of it is "1 file below"
    below_file = lines[next(i for i, x in enumerate(lines) if "was-file-dir" in x) + 1]
    assert below_file.endswith("… (-1 file removed, 2.0 kB) (--depth)")
    below_data_sub = lines[next(i for i, x in enumerate(lines) if "sub/" in x and "3.0 kB" in x) + 1]
    assert below_data_sub.endswith("… (-1 file removed, 3.0 kB) (--depth)")
    below_kept = lines[next(i for i, x in enumerate(lines) if "file-then-dir/" in x) + 1]
    assert below_kept.endswith("… 1 file below (--depth)")


def _tree_rows(name: str) -> dict[int, dict[str, tuple[str, ...]]]:
    lines = (SAMPLES / "truth" / f"{name}.per-layer.tsv").read_text().splitlines()[1:]
    out: dict[int, dict[str, tuple[str, ...]]] = defaultdict(dict)
    for line in lines:
        layer, path, *attrs = line.split("\t")
        out[int(layer)][path] = tuple(attrs)
    return out


def _stored(name: str) -> dict[int, set[str]]:
    """The paths each layer's tar holds, whiteout markers left out (truth/<name>.layers.tsv)."""
    out: dict[int, set[str]] = defaultdict(set)
    for line in (SAMPLES / "truth" / f"{name}.layers.tsv").read_text().splitlines()[1:]:
        layer, member = line.split("\t")[:2]
        if not member.rsplit("/", 1)[-1].startswith(".wh."):
            out[int(layer)].add("/" + member.strip("/").removeprefix("./"))
    return out


@pytest.mark.parametrize(("rel", "truth"), [("cases/oci-gzip", "cases"), ("cases-vfs/docker-archive.tar", "cases-vfs")])
def test_changes_tree_against_umoci_between_layers(rel: str, truth: str) -> None:
    """Independently of imgscope's own change records: what umoci's tree after layer N has and the one after
    N-1 lacks is exactly what --changes marks added, the reverse exactly what it marks removed; a path in both
    is marked modified only if layer N stores it, and always if its type, size, mode, owner or target moved."""
    a = analysis_of(rel)
    trees, stored = _tree_rows(truth), _stored(truth)
    for n in range(len(a.layers)):
        before, after = (trees[n - 1] if n else {}), trees[n]
        marked: dict[ChangeKind, set[str]] = defaultdict(set)
        for node in a.tree(n, changes=True).walk():
            if node.change is not None:
                marked[node.change].add(node.path)
        assert marked[ChangeKind.ADDED] == after.keys() - before.keys(), n
        assert marked[ChangeKind.REMOVED] == before.keys() - after.keys(), n
        both = after.keys() & before.keys()
        moved = {p for p in both if after[p] != before[p] and not (after[p][0] == "dir" == before[p][0])}
        assert moved <= marked[ChangeKind.MODIFIED] <= both & stored[n], n


def test_cli_tree_says_which_image_it_picked() -> None:
    two = str(SAMPLES / "two-images.tar")
    out = CliRunner().invoke(main, ["tree", two], env={"COLUMNS": "120"}).output
    assert "\nNote: 2 images here; analyzing the first, localhost/tiny-a:1; choose with --image\n" in out
    doc = json.loads(CliRunner().invoke(main, ["tree", str(SAMPLES / "multi-platform"), "--json"]).output)
    assert any("2 platforms here" in n for n in doc["notes"])
    doc = json.loads(CliRunner().invoke(main, ["tree", two, "--image", "tiny-b:1", "--json"]).output)
    assert doc["notes"] == []
