#!/usr/bin/env python3
"""How fluid ``imgscope explore`` is on a large image: time to ready, and the latency of each key press.

Usage::

    python benchmarks/explore_latency.py                    # --scale small (a few seconds)
    python benchmarks/explore_latency.py --scale large      # the issue-13 target: ~162,000 files, 9 layers
    python benchmarks/explore_latency.py --scale large --out /tmp/bench --gzip-level 1
    python benchmarks/explore_latency.py --image /tmp/bench/large/docker-archive.tar   # that image, as it is

The image is the one ``benchmarks/run.py`` generates (its generator is imported, so the same parameters give
the same bytes and a generated image is reused); only its ``docker-archive.tar`` is read. The app runs headless
(Textual's ``App.run_test``, a 160x48 screen), with a driver that renders each update of the screen to the
bytes a terminal would get (below), so every figure includes Textual's own work but no terminal's. Figures:

* ``analyze``: ``imgscope.analyze`` (not part of the UI; for scale);
* ``up``: from starting the app to its panes on the screen, answering keys; ``ready``: until the tree of the
  first view (layer 0's changes) is on the screen (from a timeline of layer 0 alone: the first update of the
  screen after the tree was handed to it); ``timeline``: until
  the timeline of every layer is built (once, in a worker thread), so that any layer's tree can be read;
* per key, three figures:

  - ``screen``: what the user feels: from the key event posted to the app (as the terminal driver posts it) to
    the last update of the screen it caused, written out as terminal bytes. The headless driver Textual's tests
    use skips that step (it never renders the update to a string); here it is replaced by one that renders and
    counts the bytes as a terminal's driver would write them, so the figure includes Textual's compositing, the
    diff of the screen and its encoding. For keys that change the view or what it shows (another layer or mode,
    hidden kinds, the filter) this is the last update until the resulting tree is on the screen (what needs a
    pass over the paths runs in a worker thread; the last update is that tree). ``-`` when the key changed
    nothing on the screen. Beside it, the first update (what changes first; Textual paints at most 60 times a
    second, so a widget that asks for a repaint after a frame waits 17-33 ms for the next) and the number of
    updates of the key's last press;
  - ``pilot``: Pilot's ``press`` (post the key, then wait until the app is idle: it polls the process's CPU time
    in 20 ms steps, so these figures come in steps of ~20 ms);
  - ``net``: ``pilot`` less Pilot's bare round trip, measured in the same run on a key bound to nothing (the
    first row).

The input line's cursor does not blink during the run (a blink is a screen update no key caused).

Each key is measured ``--repeat`` times where it can be repeated (moving down a list), and the median and max
are printed as a Markdown table, and written to ``OUT/<scale>/explore-latency.json``.

``--profile DIR``: each key (all its presses) under ``cProfile``, the app's thread and every worker thread the
key started (the view, the filter), merged into ``DIR/NN-<key>.prof`` (``python -m pstats``); the slowest
functions are printed under the key's figures. The profiler slows everything down: take figures without it.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures.thread as futures_thread
import cProfile
import importlib.util
import json
import pstats
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _run_py() -> Any:
    spec = importlib.util.spec_from_file_location("imgscope_bench_run", HERE / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["imgscope_bench_run"] = module
    spec.loader.exec_module(module)
    return module


class Profiler:
    """cProfile on this thread and on each thread worker run while it is on (Textual runs them in asyncio's
    default executor: each work item is profiled on its thread)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.profiles: list[cProfile.Profile] = []
        self.count = 0
        self.on = False
        run = futures_thread._WorkItem.run
        profiler = self

        def profiled_run(item: Any) -> None:
            if not profiler.on:
                return run(item)
            profile = cProfile.Profile()
            profiler.profiles.append(profile)
            profile.enable()
            try:
                return run(item)
            finally:
                profile.disable()

        futures_thread._WorkItem.run = profiled_run  # type: ignore[method-assign]

    def start(self) -> None:
        self.profiles = [cProfile.Profile()]
        self.on = True
        self.profiles[0].enable()

    def stop(self, label: str) -> None:
        self.profiles[0].disable()
        self.on = False
        self.count += 1
        name = f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', label.lower()).strip('-')[:40]}.prof"
        stats = pstats.Stats(self.profiles[0])
        for profile in self.profiles[1:]:
            stats.add(profile)
        stats.dump_stats(self.out / name)
        stats.sort_stats("tottime").print_stats(8)


def terminal_driver(displays: list[float]) -> None:
    """Textual's headless driver, but the app renders each update of the screen to a terminal's bytes (counted,
    not shown): the headless driver makes ``App._display`` skip that step. Installed before ``run_test``; the time
    of each update written is appended to ``displays``."""
    from textual.drivers import headless_driver

    class TerminalDriver(headless_driver.HeadlessDriver):
        written = 0

        @property
        def is_headless(self) -> bool:
            return False

        def write(self, data: str) -> None:
            self.written += len(data)

        def flush(self) -> None:  # once per update written (an update with nothing to draw writes nothing)
            displays.append(time.perf_counter())

    headless_driver.HeadlessDriver = TerminalDriver  # type: ignore[misc]


async def measure(path: Path, repeat: int, profiler: Profiler | None = None) -> dict[str, Any]:
    from textual.widgets import Input

    import imgscope
    from imgscope.explore import ExploreApp
    from imgscope.explore.app import FileTreePane, LayersPane

    try:  # the command line's C heap (imgscope._heap), where the checkout has it
        from imgscope._heap import own_heap

        own_heap()
    except ImportError:
        pass
    t0 = time.perf_counter()
    analysis = imgscope.analyze(path, verify=False)
    analyze_s = time.perf_counter() - t0
    results: dict[str, Any] = {
        "analyze_s": round(analyze_s, 2),
        "files": analysis.summary.file_count,
        "layers": len(analysis.layers),
        "keys": [],
    }

    displays: list[float] = []  # when each update of the screen was written
    terminal_driver(displays)
    t0 = time.perf_counter()
    app = ExploreApp(analysis, own_process=True)  # as the command line runs it
    async with app.run_test(size=(160, 48)) as pilot:
        assert not app.is_headless, "the terminal driver is not in place"
        results["up_s"] = round(time.perf_counter() - t0, 3)  # panes on the screen, keys answered
        while not app.shown_at:
            await pilot.pause(0.005)
        await pilot.pause()
        shown = [d for d in displays if d >= app.shown_at[0]]
        results["ready_s"] = round((shown[0] if shown else app.shown_at[0]) - t0, 3)  # the first tree on screen
        app.query_one("#filter", Input).cursor_blink = False
        while not (app.timeline is not None and app.view_ready):
            await pilot.pause(0.005)
        await pilot.pause()
        results["timeline_s"] = round(time.perf_counter() - t0, 3)  # every layer's tree can be read

        baseline: list[float] = []

        async def key(
            label: str, keys: tuple[str, ...], wait_tree: bool = False, times: int = 1, wait_filter: bool = False
        ) -> None:
            pressed: list[float] = []
            screen: list[float] = []
            first: list[float] = []
            if profiler is not None:
                profiler.start()
            for _ in range(times):
                del displays[:]
                start = time.perf_counter()
                await pilot.press(*keys)
                pressed.append(time.perf_counter() - start)
                if wait_tree:
                    while not app.view_ready:
                        await pilot.pause(0.005)
                    await pilot.pause()
                elif wait_filter:
                    while app.filtering:
                        await pilot.pause(0.005)
                    await pilot.pause()
                if displays:
                    screen.append(displays[-1] - start)
                    first.append(displays[0] - start)
            if profiler is not None:
                await app.workers.wait_for_complete()
                profiler.stop(label)
            if not baseline:
                baseline.extend(pressed)
            bare = statistics.median(baseline)
            row: dict[str, Any] = {"key": label, "n": times}
            if screen:
                row["screen_ms_median"] = round(1000 * statistics.median(screen), 1)
                row["screen_ms_max"] = round(1000 * max(screen), 1)
                row["first_update_ms_median"] = round(1000 * statistics.median(first), 1)
                row["updates"] = len(displays)
            row["pilot_ms_median"] = round(1000 * statistics.median(pressed), 1)
            row["pilot_ms_max"] = round(1000 * max(pressed), 1)
            row["net_ms_median"] = round(1000 * (statistics.median(pressed) - bare), 1)
            results["keys"].append(row)
            print(f"  {label:<44} {row}", flush=True)

        layers = app.query_one(LayersPane)
        tree_pane = app.query_one(FileTreePane)
        layers.focus()
        await pilot.pause()
        await key("baseline: a key bound to nothing (Pilot's round trip)", ("f12",), times=repeat)
        # every layer in turn (the tree of each is built on the way)
        await key("j: next layer (layers pane)", ("j",), wait_tree=True, times=len(analysis.layers) - 1)
        await key("k: previous layer", ("k",), wait_tree=True, times=min(repeat, len(analysis.layers) - 1))
        await key("ctrl+a: aggregated changes", ("ctrl+a",), wait_tree=True)
        await key("ctrl+l: layer changes", ("ctrl+l",), wait_tree=True)
        await key("tab: to the tree", ("tab",))
        await key("j: down one row (tree)", ("j",), times=repeat)
        tree_pane.set_cursor(0)
        await key("space: open the largest directory", ("space",))
        await key("pagedown", ("pagedown",), times=repeat)
        tree_pane.set_cursor(0)
        await key("space: collapse it again", ("space",))
        await key("ctrl+o: sort by name", ("ctrl+o",))
        await key("ctrl+o: sort by size", ("ctrl+o",))
        await key("ctrl+u: hide unmodified", ("ctrl+u",), wait_filter=True)
        await key("ctrl+u: show unmodified", ("ctrl+u",), wait_filter=True)
        await key("ctrl+b: attributes off", ("ctrl+b",))
        await key("ctrl+b: attributes on", ("ctrl+b",))
        await key("/: open the filter", ("slash",))
        await key("typing one filter character (r'\\.so$' ...)", ("backslash",))
        await key("typing one filter character", ("full_stop",))
        await key("typing one filter character", ("s",))
        await key("typing one filter character", ("o",))
        await key("typing one filter character", ("dollar_sign",))
        await key("enter: to the filtered tree", ("enter",), wait_filter=True)
        await key("j: down one row (filtered tree)", ("j",), times=repeat)
        await key("ctrl+f: back to the filter line", ("ctrl+f",))
        tree_pane.focus()
        await pilot.pause()
        await key("escape: close the filter (from the tree)", ("escape",), wait_filter=True)
        await key("ctrl+space: open every directory", ("ctrl+space",))
        await key("pagedown (everything open)", ("pagedown",), times=repeat)
        await key("ctrl+space: collapse every directory", ("ctrl+space",))
        await key("w: the waste lens", ("w",))
        await key("escape: close it", ("escape",))
        await key("p: history of a path", ("p",))
        await key("escape: close it", ("escape",))
        # the largest view: the last layer's aggregated changes (every path of the image), every directory open
        layers.focus()
        layers.set_cursor(len(analysis.layers) - 1)
        while not app.view_ready:
            await pilot.pause(0.005)
        await pilot.pause()
        await key("ctrl+a: aggregated changes (last layer)", ("ctrl+a",), wait_tree=True)
        tree_pane.focus()
        tree_pane.set_cursor(0)
        await pilot.pause()
        await key("ctrl+space: open every directory (last layer)", ("ctrl+space",))
        results["rows_open_all_last_layer"] = len(tree_pane.rows)
        await key("pagedown (everything open, last layer)", ("pagedown",), times=repeat)
        await key("ctrl+space: collapse every directory (last layer)", ("ctrl+space",))
    return results


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"image: {results['files']} paths, {results['layers']} layers; analyze {results['analyze_s']} s; "
        f"after the analysis: panes up and answering keys in {1000 * results['up_s']:.0f} ms, "
        f"the first tree on the screen in {1000 * results['ready_s']:.0f} ms, "
        f"every layer's tree readable (the whole timeline built) in {1000 * results['timeline_s']:.0f} ms",
        "",
        "| key | n | screen updated (last update), median ms | max ms | first update, median ms | updates "
        "| Pilot's press, median ms | max ms | net of Pilot's round trip |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in results["keys"]:
        lines.append(
            f"| {row['key']} | {row['n']} | {row.get('screen_ms_median', '-')} | {row.get('screen_ms_max', '-')} | "
            f"{row.get('first_update_ms_median', '-')} | {row.get('updates', 0)} | "
            f"{row['pilot_ms_median']} | {row['pilot_ms_max']} | {row['net_ms_median']} |"
        )
    return "\n".join(lines)


def main() -> None:
    run = _run_py()
    ap = argparse.ArgumentParser(prog="benchmarks/explore_latency.py", description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="small", type=run.scale_factor, help="small, medium, large or a factor")
    ap.add_argument("--out", type=Path, default=HERE / "out", help="where run.py's images are (or are made)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--gzip-level", type=int, default=6)
    ap.add_argument("--zstd-level", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=20, help="presses of the repeatable keys")
    ap.add_argument("--image", type=Path, default=None, help="read this docker-archive (nothing is generated)")
    ap.add_argument("--profile", type=Path, default=None, help="write each key's cProfile here (see above)")
    args = ap.parse_args()
    if args.image is not None:
        image = args.image
        out = image.parent / "explore-latency.json"
    else:
        name, factor = args.scale
        outdir = args.out / name
        run.generate(outdir, factor, args.seed, args.gzip_level, args.zstd_level, False)
        image = outdir / "docker-archive.tar"
        out = outdir / "explore-latency.json"
    profiler = None if args.profile is None else Profiler(args.profile)
    results = asyncio.run(measure(image, args.repeat, profiler))
    text = markdown(results)
    print(text)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
