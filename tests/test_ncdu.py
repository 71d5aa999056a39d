"""``analyze --ncdu``: ncdu itself (the Debian package, 1.x) reads the export, and its totals are imgscope's.

ncdu is interactive: it runs in a tmux session of its own (a private server socket) and the test reads the
screen. Its status line gives the item count; its item-info window gives each top-level entry's exact bytes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from imgscope.model import EntryType
from imgscope.render.ncdu import ncdu_export
from tests.conftest import analysis_of

NCDU, TMUX = shutil.which("ncdu"), shutil.which("tmux")
pytestmark = pytest.mark.skipif(not (NCDU and TMUX), reason="needs ncdu and tmux (Debian packages)")

SAMPLES = ["cases/docker-archive.tar", "cases-vfs/docker-archive.tar", "advise.tar", "hostile-names.tar"]


class Screen:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        assert TMUX is not None
        return subprocess.run([TMUX, "-L", self.socket, *args], check=True, capture_output=True, text=True).stdout

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "0")

    def wait_for(
        self, pattern: str, timeout: float = 30, new: Callable[[re.Match[str]], bool] = lambda m: True
    ) -> re.Match[str]:
        """Poll the screen until ``pattern`` shows and ``new`` accepts it (ncdu redraws asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.text())
            if match and new(match):
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} never showed; screen:\n{self.text()}")
            time.sleep(0.05)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "0", *keys)


@contextmanager
def ncdu(export: Path, tmp_path: Path) -> Iterator[Screen]:
    assert NCDU is not None
    screen = Screen(f"imgscope-test-{tmp_path.name}-{id(export)}")
    screen.tmux("-f", "/dev/null", "new-session", "-d", "-x", "160", "-y", "200", f"{NCDU} -f {export}")
    try:
        yield screen
    finally:
        subprocess.run([TMUX or "tmux", "-L", screen.socket, "kill-server"], capture_output=True)


def _bytes(text: str) -> int:
    return int(re.sub(r"\D", "", text))


@pytest.mark.parametrize("sample", SAMPLES)
def test_ncdu_reads_the_export_with_our_totals(sample: str, tmp_path: Path) -> None:
    a = analysis_of(sample)
    export = tmp_path / "export.json"
    export.write_text("".join(ncdu_export(a)), encoding="utf-8")
    doc = json.loads(export.read_text(encoding="utf-8"))
    assert doc[:2] == [1, 2] and doc[2]["progname"] == "imgscope"

    # imgscope's bytes per top-level entry: each stored copy once within it (ncdu counts a hard link once per
    # directory), from the analysis' file list.
    expected: dict[str, int] = {}
    seen: set[tuple[str, int]] = set()
    for f in a.files:
        top = f.path.split("/")[1]
        expected.setdefault(top, 0)
        if f.record >= 0 and (top, f.record) not in seen:
            seen.add((top, f.record))
            expected[top] += f.size
    with ncdu(export, tmp_path) as screen:
        items = screen.wait_for(r"Items:\s*([\d.,]+)")
        assert _bytes(items.group(1)) == a.summary.file_count
        found: dict[str, int] = {}
        screen.keys("i")
        info = r"Name: (\S.*?)\s*│[\s\S]*Apparent size:.*\(([\d.,]+) B\)"
        for n in range(len(expected)):
            if n:
                screen.keys("j")
            # The next entry's info (the window redraws after the key): its name is one not seen yet.
            match = screen.wait_for(info, new=lambda m: m.group(1) not in found)
            found[match.group(1)] = _bytes(match.group(2))
    assert found == expected
    extra = 0  # a hard link with names in two top-level directories counts in each, and once in the total
    tops: dict[int, set[str]] = {}
    for f in a.files:
        if f.record >= 0:
            tops.setdefault(f.record, set()).add(f.path.split("/")[1])
    sizes = {f.record: f.size for f in a.files if f.record >= 0}
    extra = sum(sizes[r] * (len(t) - 1) for r, t in tops.items())
    assert sum(found.values()) - extra == a.summary.final_size


def test_ncdu_after_a_layer(tmp_path: Path) -> None:
    """``--layer N``: the tree after layer N, as imgscope's tree of that layer counts it."""
    a = analysis_of("cases/docker-archive.tar")
    tree = a.tree(1)
    doc = json.loads("".join(ncdu_export(a, layer=1)))

    def total(d: list[object]) -> tuple[int, int]:
        size = items = 0
        stack = [d]
        while stack:
            node = stack.pop()
            for child in node[1:]:
                items += 1
                if isinstance(child, list):
                    stack.append(child)
                else:
                    assert isinstance(child, dict)
                    size += child.get("asize", 0)
        return size, items

    size, items = total(doc[3])
    assert size == tree.size
    assert items == sum(1 for n in tree.walk() if n.path != "/")
    export = tmp_path / "layer1.json"
    export.write_text(json.dumps(doc), encoding="utf-8")
    with ncdu(export, tmp_path) as screen:
        assert _bytes(screen.wait_for(r"Items:\s*([\d.,]+)").group(1)) == items
    assert any(n.type is EntryType.DIR for n in tree.walk())
