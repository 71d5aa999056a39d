"""Terminal output of tree, diff, history and inspect, rendered at a fixed width without colour, against
tests/golden/*.txt.

To regenerate after an intended change of the output: ``IMGSCOPE_UPDATE_GOLDEN=1 pytest tests/test_tree_golden.py``.
That run rewrites the files and *fails* on purpose, so a regenerated golden is never accepted unseen: review
``git diff tests/golden`` and commit it, then run again without the variable.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from rich.console import Console, RenderableType

import imgscope
from imgscope.history.dockerfile import reconstruct
from imgscope.history.rows import history_of
from imgscope.render.diff import render_diff
from imgscope.render.filetree import render_tree
from imgscope.render.history import render_dockerfile, render_history
from imgscope.render.inspect import render_inspect
from imgscope.union.tree import trim
from tests.conftest import SAMPLES, analysis_of

GOLDEN = Path(__file__).parent / "golden"
WIDTH = 100


def rendered(renderable: RenderableType, soft_wrap: bool = False) -> str:
    console = Console(width=WIDTH, no_color=True, color_system=None, file=io.StringIO(), record=True)
    console.print(renderable, soft_wrap=soft_wrap, end="" if soft_wrap else "\n", crop=False)
    # the source path is the checkout's: make it relative so the golden files hold on every machine
    text = console.export_text().replace(str(SAMPLES), "samples")
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def check(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("IMGSCOPE_UPDATE_GOLDEN"):
        path.write_text(text)
        pytest.fail(f"{path} rewritten: review `git diff {path}`, then run without IMGSCOPE_UPDATE_GOLDEN")
    assert path.exists(), f"no golden file {path}; make it with IMGSCOPE_UPDATE_GOLDEN=1"
    assert text == path.read_text()


def test_tree_golden() -> None:
    a = analysis_of("cases/docker-archive.tar")
    check("tree-cases", rendered(render_tree(trim(a.tree(), depth=2, limit=6), "cases, after layer 4")))


def test_tree_long_golden() -> None:
    a = analysis_of("cases/oci-zstd")
    tree = trim(a.tree(1).find("/app") or a.tree(1), sort="name")
    check("tree-long-cases-layer1-app", rendered(render_tree(tree, "cases, /app after layer 1", long=True)))


def test_tree_changes_golden() -> None:
    a = analysis_of("cases-vfs/docker-archive.tar")
    tree = trim(a.tree(3, changes=True))
    check("tree-changes-vfs-layer3", rendered(render_tree(tree, "layer 3", changes=True, layer=a.layers[3])))


def test_diff_golden() -> None:
    two = SAMPLES / "two-images.tar"
    check("diff-tiny", rendered(render_diff(imgscope.diff(f"{two}:tiny-a:1", f"{two}:tiny-b:1"))))


def test_history_golden() -> None:
    a = analysis_of("cases/docker-archive.tar")
    check("history-cases", rendered(render_history(history_of(a), "History of localhost/cases:1")))


def test_dockerfile_golden() -> None:
    img = imgscope.open_image(SAMPLES / "cases/oci-gzip")
    # printed as the CLI prints it on a terminal: lines whole, for copy and paste
    check("dockerfile-cases", rendered(render_dockerfile(reconstruct(img)), soft_wrap=True))


def test_inspect_golden() -> None:
    check("inspect-docker25", rendered(render_inspect(imgscope.inspect(SAMPLES / "cases/docker25.tar"))))
