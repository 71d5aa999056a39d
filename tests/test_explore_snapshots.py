"""SVG screenshots of each pane and lens of ``imgscope explore`` at 120x36, against tests/golden/explore/*.svg.

To regenerate after an intended change of the UI: ``IMGSCOPE_UPDATE_GOLDEN=1 pytest tests/test_explore_snapshots.py``.
That run rewrites the files and *fails* on purpose, so a regenerated golden is never accepted unseen: open the
SVGs (any browser), review ``git diff tests/golden/explore``, commit, then run again without the variable.
The README's screenshot is ``tree-layer3.svg``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from imgscope.explore import ExploreApp
from imgscope.explore.app import FileTreePane
from tests.conftest import analysis_of
from tests.test_explore_app import select_layer, settle


@pytest.fixture(autouse=True)
def _collect_the_apps() -> Iterator[None]:
    """An app is a large cycle of objects with weak references: collected here, after its test, rather than at
    whatever moment of a later test the collector next runs (one in the middle of a deep recursion, as the
    hostile JSON cases make, cannot run the callbacks of those weak references)."""
    yield
    gc.collect()


GOLDEN = Path(__file__).parent / "golden" / "explore"
SIZE = (120, 36)


async def tree_layer3(app: ExploreApp, pilot: Pilot[None]) -> None:
    await select_layer(app, pilot, 3)
    tree = app.query_one(FileTreePane)
    tree.focus()
    tree.reveal("/app/overwritten.txt")
    await pilot.pause()


async def layers_layer3(app: ExploreApp, pilot: Pilot[None]) -> None:
    await select_layer(app, pilot, 3)


async def aggregated_layer4(app: ExploreApp, pilot: Pilot[None]) -> None:
    await select_layer(app, pilot, 4)
    await pilot.press("ctrl+a")
    await settle(app, pilot)
    await pilot.press("tab", "ctrl+u")
    await settle(app, pilot)
    await pilot.press("ctrl+space")
    await pilot.pause()


async def filtered(app: ExploreApp, pilot: Pilot[None]) -> None:
    await select_layer(app, pilot, 4)
    await pilot.press("/", *"glob:/app/** >5kB", "enter")
    await pilot.pause()


async def waste_lens(app: ExploreApp, pilot: Pilot[None]) -> None:
    await pilot.press("w")
    await pilot.pause()


async def content(app: ExploreApp, pilot: Pilot[None]) -> None:
    await tree_layer3(app, pilot)
    await pilot.press("ctrl+e")
    await settle(app, pilot)


async def wrap_narrow(app: ExploreApp, pilot: Pilot[None]) -> None:
    await tree_layer3(app, pilot)
    await pilot.press("ctrl+p")  # dive's wrap: each row folded over the screen rows it needs
    await pilot.pause()


async def history(app: ExploreApp, pilot: Pilot[None]) -> None:
    await tree_layer3(app, pilot)
    await pilot.press("p")
    await pilot.pause()


SCENES: dict[str, Callable[[ExploreApp, Pilot[None]], Awaitable[None]]] = {
    "layers-layer3": layers_layer3,
    "tree-layer3": tree_layer3,
    "aggregated-layer4-changes-only": aggregated_layer4,
    "filter-glob-size": filtered,
    "waste-lens": waste_lens,
    "content": content,
    "path-history": history,
    "tree-wrap-narrow": wrap_narrow,
}
SIZES = {"tree-wrap-narrow": (80, 30)}  # the others: SIZE


def screenshot(scene: Callable[[ExploreApp, Pilot[None]], Awaitable[None]], size: tuple[int, int] = SIZE) -> str:
    result: list[str] = []

    async def main() -> None:
        app = ExploreApp(analysis_of("cases/docker-archive.tar"), source="samples/cases/docker-archive.tar")
        async with app.run_test(size=size) as pilot:
            await settle(app, pilot)
            await scene(app, pilot)
            await settle(app, pilot)
            result.append(app.export_screenshot(title="imgscope explore"))

    asyncio.run(main())
    return result[0]


@pytest.mark.parametrize("name", list(SCENES))
def test_snapshot(name: str) -> None:
    svg = screenshot(SCENES[name], SIZES.get(name, SIZE))
    path = GOLDEN / f"{name}.svg"
    if os.environ.get("IMGSCOPE_UPDATE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(svg)
        pytest.fail(f"{path} rewritten: review it, then run without IMGSCOPE_UPDATE_GOLDEN")
    assert path.exists(), f"no golden file {path}; make it with IMGSCOPE_UPDATE_GOLDEN=1"
    assert _text_of(svg) == _text_of(path.read_text()), f"{name}: the screen's text differs from the golden"
    assert svg == path.read_text(), f"{name}: the screen's colours or layout differ from the golden"


def _text_of(svg: str) -> list[str]:
    """The text runs of the SVG, for a readable first failure."""
    return [m.replace("&#160;", " ") for m in re.findall(r">([^<>]*)</text>", svg)]
