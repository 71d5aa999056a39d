"""Notebook display: the README's Python example run as a notebook (nbconvert's executor, a real IPython kernel).

Each cell ending with a result shows it exactly once (one output), as a fragment: HTML without ``<html>`` or
``<body>``, every style scoped under ``.imgscope-r``; its plain-text form is the readable text view, not a dataclass
dump; ``repr`` fits one line. IPython's terminal display (``_repr_pretty_``) and rich consoles (``__rich__``) are
checked without a kernel.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

import imgscope
from imgscope.render.notebook import plain_text, views
from tests.conftest import ROOT, SAMPLES, analysis_of

nbformat = pytest.importorskip("nbformat")
nbconvert = pytest.importorskip("nbconvert.preprocessors")

ADVISE = str(SAMPLES / "advise.tar")
CASES = str(SAMPLES / "cases" / "docker-archive.tar")

# (code, the marker its one output holds exactly once); the README's example, cell by cell, plus each result type.
CELLS: list[tuple[str, str | None]] = [
    (f"import imgscope\na = imgscope.analyze({ADVISE!r})\na", 'data-imgscope="analysis"'),
    ("a.summary.wasted_bytes, a.summary.efficiency", None),
    ("for w in a.wasted_files[:5]:\n    print(w.path, w.size, w.layer, w.hidden_by, w.reason.value)", None),
    ("a.tree(5, changes=True)", 'data-imgscope="tree"'),
    ("a.tree().find('/usr')", 'data-imgscope="tree"'),
    (f"d = imgscope.diff({CASES!r}, a)\nd", "imgscope diff"),
    ("d.files[:3]", None),
    ("print(imgscope.reconstruct(a.image).text())", None),
    ("imgscope.inspect(a.image)", "imgscope-r"),
    ("imgscope.advice(a)", "imgscope advise"),
    ("imgscope.check(a, imgscope.Budget(max_size=1_000_000))", "imgscope check"),
    ("imgscope.history_of(a)", "History"),
    ("imgscope.reconstruct(a.image)", "imgscope-r"),
    (f"imgscope.packages_of({str(SAMPLES / 'packages' / 'oci')!r})", "imgscope-r"),
    ("print(repr(a))", None),
]


def _run(tmp_path: Path) -> list[list[dict[str, Any]]]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code) for code, _ in CELLS]
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env_path) if p)
    try:
        executor = nbconvert.ExecutePreprocessor(timeout=300, kernel_name="python3")
        executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    finally:
        os.environ["PYTHONPATH"] = env_path
    nbformat.write(nb, tmp_path / "readme-example.ipynb")  # kept as the test's artifact
    return [cell["outputs"] for cell in nb.cells]


def test_readme_example_notebook_shows_each_result_once(tmp_path: Path) -> None:
    outputs = _run(tmp_path)
    for (code, marker), outs in zip(CELLS, outputs, strict=True):
        errors = [o for o in outs if o["output_type"] == "error"]
        assert not errors, (code, errors)
        if marker is None:
            continue
        assert [o["output_type"] for o in outs] == ["execute_result"], (code, outs)  # shown once, no display_data
        data = outs[0]["data"]
        fragment = data["text/html"]
        assert fragment.count(marker) == 1 or (marker == "imgscope-r" and fragment.startswith('<div class="imgscope-r'))
        assert not re.search(r"<(html|body|head)\b", fragment, re.I), code
        for style in re.findall(r"<style>(.*?)</style>", fragment, re.S):  # every rule scoped to our class
            style = re.sub(r"/\*.*?\*/", "", style, flags=re.S)
            for selector in re.findall(r"(?:^|})\s*([^{}@]+)\{", style):
                assert all(s.strip().startswith(".imgscope-r") for s in selector.split(",")), (code, selector)
        text = data["text/plain"]
        assert "dataclass" not in text and "FileRecord(" not in text and "TarEntry(" not in text
        assert len(text) < 20_000, (code, len(text))
    one_line = "".join(o.get("text", "") for o in outputs[-1])
    assert one_line.count("\n") == 1 and one_line.startswith("<Analysis localhost/wasteful:latest: 10 layers")


def test_every_result_type_has_every_view() -> None:
    a = analysis_of("advise.tar")
    results = [
        a,
        a.tree(),
        a.tree(3, changes=True),
        imgscope.tree(a, 3, changes=True),
        imgscope.diff(analysis_of("cases/docker-archive.tar"), a),
        imgscope.check(a, imgscope.Budget(max_size=1_000_000)),
        imgscope.advice(a),
        imgscope.inspect(a.image),
        imgscope.history_of(a),
        imgscope.reconstruct(a.image),
        imgscope.packages_of(SAMPLES / "packages/oci"),
    ]
    for obj in results:
        line = repr(obj)
        assert "\n" not in line and len(line) < 200, line
        assert re.match(rf"<{type(obj).__name__}[ :]", line), line
        html = getattr(obj, "_repr_html_")()  # noqa: B009  (every result type has it, mypy sees object)
        assert html.startswith('<div class="imgscope-r') and not re.search(r"<(html|body)\b", html)
        rich = getattr(obj, "__rich__")()  # noqa: B009
        text = plain_text(rich)
        assert text.strip()
        from IPython.lib.pretty import pretty

        assert pretty(obj) == text  # type: ignore[no-untyped-call]  # IPython's terminal shows the text view
    assert {cls.__name__ for cls, _ in views()} >= {type(o).__name__ for o in results}
