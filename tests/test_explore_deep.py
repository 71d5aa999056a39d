"""tree, diff, history and inspect on an image whose one path is 2,001 levels deep (the deepest PATH_MAX allows
with one-letter names, as the hostile corpus's ``deep-path-2000`` case): every command answers, none recurses
into a RecursionError, and the JSON tree holds the whole path."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import imgscope
from imgscope.cli import main
from imgscope.render import json as json_report
from imgscope.union.tree import trim
from tests.hostile.make_corpus import docker_archive, member, pax, tar

DEPTH = 2_000


@pytest.fixture(scope="module")
def deep_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("deep") / "deep.tar"
    # the PAX record names the member that follows: one file, DEPTH directories down
    path.write_bytes(docker_archive([tar(pax({"path": "a/" * DEPTH + "f"}), member("x", b"data"))]))
    return path


def _chain(doc: dict[str, object]) -> list[str]:
    """The paths from the root down the first child at each level."""
    paths = []
    node: object = doc
    while isinstance(node, dict):
        paths.append(str(node["path"]))
        children = node.get("children")
        node = children[0] if isinstance(children, list) and children else None
    return paths


def test_tree_library_holds_the_whole_path(deep_image: Path) -> None:
    a = imgscope.analyze(deep_image)
    for root in (a.tree(), a.tree(changes=True)):
        deepest = max(root.walk(), key=lambda n: n.path.count("/"))
        assert deepest.path == "/" + "a/" * DEPTH + "f" and deepest.size == 4
        assert root.size == 4 and root.files == 1  # summed up through every level
        assert repr(root).startswith("<TreeNode /: dir")  # a repr does not walk the children
        assert len(_chain(trim(root).to_dict())) == DEPTH + 2
    # equality and hash walk the whole tree without recursion; the two trees differ only in their change marks
    assert a.tree() == a.tree() and hash(a.tree()) == hash(a.tree())
    assert a.tree(changes=True) == a.tree(changes=True) and a.tree() != a.tree(changes=True)


@pytest.mark.parametrize("extra", [[], ["--all"], ["--changes", "--all"], ["--all", "--long", "--sort", "name"]])
def test_tree_text_on_a_deep_path(deep_image: Path, extra: list[str]) -> None:
    result = CliRunner().invoke(main, ["tree", str(deep_image), *extra], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "a/" in result.output


def test_tree_json_on_a_deep_path(deep_image: Path) -> None:
    result = CliRunner().invoke(main, ["tree", str(deep_image), "--json", "--all"])
    assert result.exit_code == 0, result.output
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10 * DEPTH)  # json.loads recurses too; the test only reads back what was written
    try:
        doc = json.loads(result.output)
    finally:
        sys.setrecursionlimit(limit)
    chain = _chain(doc["tree"])
    assert len(chain) == DEPTH + 2 and chain[-1] == "/" + "a/" * DEPTH + "f"


@pytest.mark.parametrize("args", [["diff", "{0}", "{0}"], ["history", "{0}"], ["inspect", "{0}"]])
def test_other_commands_on_a_deep_path(deep_image: Path, args: list[str]) -> None:
    result = CliRunner().invoke(main, [a.format(deep_image) for a in args])
    assert result.exit_code == 0, result.output


def test_dumps_writes_what_json_writes() -> None:
    docs: list[object] = [
        {"a": {}, "b": [], "c": [1, 0, -3, 2.5, None, True, False, 'é\n\x1b\u2028"\\', 10**30]},
        {1: 2, None: 3, False: [{}], 2.5: [[[]]]},
        [],
        {},
        "x",
        0,
        None,
        imgscope.analyze(Path(__file__).parent.parent / "samples" / "two-images.tar", image="localhost/tiny-b:1")
        .tree()
        .to_dict(),
    ]
    for doc in docs:
        assert json_report.dumps(doc) == json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False)
    with pytest.raises(ValueError):
        json_report.dumps({"x": [float("nan")]})


def test_dumps_does_not_recurse() -> None:
    doc: dict[str, object] = {}
    node = doc
    for _ in range(5 * sys.getrecursionlimit()):
        child: dict[str, object] = {}
        node["c"] = [child]
        node = child
    text = json_report.dumps(doc)
    assert text.count("[") == 5 * sys.getrecursionlimit()
