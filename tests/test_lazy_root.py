"""The package root is lazy: ``import imgscope`` and ``imgscope analyze --json`` import only what they use (issue 11:
the fixed memory), while every public name, ``dir()`` and the notebook display work as with an eager root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import imgscope
from tests.conftest import ROOT, SAMPLES

CASES = str(SAMPLES / "cases" / "docker-archive.tar")


def _run(code: str) -> Any:
    """Run ``code`` in a fresh interpreter (this tree first on the path); it prints one JSON document."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=True)
    return json.loads(out.stdout)


def test_import_imgscope_imports_no_subpackage_and_no_rich() -> None:
    found = _run(
        "import json, sys, imgscope\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('imgscope.', 'rich', 'click')))))"
    )
    assert found == ["imgscope._display", "imgscope._version"]


def test_analyze_json_imports_no_renderer_no_advice_and_no_rich() -> None:
    found = _run(
        "import contextlib, io, json, sys\n"
        "from imgscope.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    main(['analyze', {CASES!r}, '--json'], standalone_mode=False)\n"
        "doc = json.loads(out.getvalue())\n"
        "mods = [m for m in sys.modules if m.startswith(('rich', 'imgscope.advise', 'imgscope.explore', 'textual'))]\n"
        "mods += [m for m in sys.modules if m.startswith('imgscope.render.') and m != 'imgscope.render.json']\n"
        "print(json.dumps({'layers': len(doc['layers']), 'imported': sorted(mods)}))"
    )
    assert found["imported"] == [] and found["layers"] == len(imgscope.open_image(CASES).layers)


def test_every_public_name_resolves_and_dir_lists_them_before_use() -> None:
    found = _run("import json, imgscope\nprint(json.dumps(dir(imgscope)))")
    assert set(imgscope.__all__) <= set(found)
    for name in imgscope.__all__:
        assert getattr(imgscope, name) is not None, name
    assert set(imgscope._MODULE_OF) == set(imgscope.__all__) - {"__version__"}


def test_a_submodule_named_like_a_function_does_not_hide_it() -> None:
    # advise, history and inspect are functions of the root and modules of the package
    found = _run(
        "import json, imgscope\n"
        "import imgscope.advise.engine, imgscope.history.rows, imgscope.inspect\n"
        "print(json.dumps([callable(imgscope.advise), callable(imgscope.history), type(imgscope.inspect).__name__]))"
    )
    assert found == [True, True, "function"]


def test_a_result_shows_itself_without_an_import_of_the_renderers() -> None:
    found = _run(
        "import json, sys, imgscope\n"
        f"a = imgscope.analyze({CASES!r})\n"
        "before = 'imgscope.render.registry' in sys.modules\n"
        "html = a._repr_html_()\n"
        "print(json.dumps([before, html is not None and 'Wasted' in html, repr(a).startswith('<Analysis ')]))"
    )
    assert found == [False, True, True]


def test_first_display_from_several_threads_at_once_uses_the_renderers() -> None:
    """Threads that display a result at the same moment, before any renderer is loaded, all get the registered
    view: none sees the registry while another thread is still importing the renderers."""
    reprs = _run(
        "import json, sys, threading, imgscope\n"
        f"a = imgscope.analyze({CASES!r})\n"
        "assert 'imgscope.render' not in sys.modules\n"
        "out, barrier = [], threading.Barrier(4)\n"
        "def show():\n"
        "    barrier.wait()\n"
        "    out.append(repr(a))\n"
        "threads = [threading.Thread(target=show) for _ in range(4)]\n"
        "for t in threads: t.start()\n"
        "for t in threads: t.join()\n"
        "print(json.dumps(out))"
    )
    assert len(reprs) == 4
    assert all(r.startswith("<Analysis ") and "object at" not in r for r in reprs), reprs


def test_subpackages_are_attributes_as_with_an_eager_root() -> None:
    found = _run(
        "import json, imgscope\n"
        "print(json.dumps([imgscope.errors.ImgscopeError.__name__, imgscope.model.TarEntries.__name__,\n"
        "    imgscope.sources.__name__, hasattr(imgscope, 'no_such_module'), callable(imgscope.advise)]))"
    )
    assert found == ["ImgscopeError", "TarEntries", "imgscope.sources", False, True]
