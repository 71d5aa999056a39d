"""Layers are numbered from 0 everywhere, and a layer within the image is named one way: ``layer 4 of 0-4``
(``text.layer_of``), in tree's title, the notebook's, packages' head line and the progress bar."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

import imgscope
from imgscope.cli import main
from imgscope.render.notebook import tree_title
from imgscope.text import layer_of
from tests.conftest import SAMPLES, analysis_of

CASES = str(SAMPLES / "cases" / "docker-archive.tar")
PACKAGES = str(SAMPLES / "packages" / "oci")
WORDING = re.compile(r"layer (\d+) of 0-(\d+)")


@pytest.mark.parametrize(
    ("index", "count", "words"), [(4, 5, "layer 4 of 0-4"), (0, 5, "layer 0 of 0-4"), (0, 1, "layer 0 of 0-0")]
)
def test_layer_of(index: int, count: int, words: str) -> None:
    assert layer_of(index, count) == words


def _first_line(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "300", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "index"),
    [
        (("tree", CASES), 4),
        (("tree", "--layer", "1", CASES), 1),
        (("tree", "--layer", "-1", "--changes", CASES), 4),
        (("packages", PACKAGES), None),
        (("packages", "--layer", "1", PACKAGES), 1),
    ],
    ids=lambda a: " ".join(w for w in a if not str(w).startswith("/")) if isinstance(a, tuple) else str(a),
)
def test_commands_name_a_layer_the_same_way(args: tuple[str, ...], index: int | None) -> None:
    line = _first_line(*args)
    match = WORDING.search(line)
    assert match, line
    count = len(analysis_of(str(args[-1]).removeprefix(str(SAMPLES) + "/")).layers)
    assert int(match.group(2)) == count - 1
    assert int(match.group(1)) == (count - 1 if index is None else index)


def test_notebook_title_says_it_as_tree_does() -> None:
    title = tree_title(imgscope.tree(analysis_of("cases/docker-archive.tar"), 2))
    assert "after layer 2 of 0-4" in title
