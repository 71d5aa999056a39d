#!/usr/bin/env python3
"""How ``scan_layers`` shares the layers between the parent and one worker, in a model fed with measured costs.

Usage::

    python benchmarks/schedule_model.py IMAGE [IMAGE ...]

For each image it measures, in this one process, each layer's scan (``scan_layer``) and merge (the union
filesystem and dive's walk), the wire form's size, and the rest (the file list, the summary and the JSON
document); then it plays those costs through the schedules below on two processes (the parent, which alone
merges, in layer order, and one worker) and prints the wall time each would take on two free cores:

* ``old shape``: the worker scans every layer in order, the parent waits and merges;
* ``parent first``: the parent scans layer 0 and any layer due that the worker has not started;
* ``chosen``: the same, and the parent scans the next layer nobody started while the one due is in the worker
  (what ``analysis.scan.scan_layers`` does);
* ``largest first``: the chosen rule with the worker taking the largest stored layers first;
* ``best split``: every subset of layers for the parent tried (the worker takes the rest in order), knowing the
  costs, which ``scan_layers`` does not;
* ``even``: all the CPU split evenly over two cores, ignoring the order the merge needs (a lower bound).

The machine should be quiet while the costs are measured; the model itself is arithmetic.
"""

from __future__ import annotations

import gc
import itertools
import sys
import time

WIRE_SECONDS_PER_MB = 0.004  # encode in the worker, and again decode in the parent (benchmarks/run.py --stages)


def measure(path: str) -> tuple[list[float], list[float], list[float], list[float], float]:
    """Per layer: scan seconds, merge seconds, wire MB, stored MB; and the seconds of everything after the merge."""
    import imgscope
    from imgscope.analysis.scan import layer_where, scan_layer
    from imgscope.dive.figures import DiveCompat
    from imgscope.render import json as json_report
    from imgscope.union.filesystem import FileSystem

    gc.disable()
    img = imgscope.open_image(path)
    fs, dive = FileSystem(), DiveCompat()
    scans, merges, wire, stored = [], [], [], []
    count = len(img.layers)
    for i in range(count):
        t = time.perf_counter()
        scan = scan_layer(img, i)
        scans.append(time.perf_counter() - t)
        wire.append(len(scan.to_bytes()) / 1e6)
        stored.append((img.layers[i].size or 0) / 1e6)
        t = time.perf_counter()
        fs.apply_layer(scan.entries, layer_where(img, i))
        dive.add_layer(scan.dive, last=i == count - 1)
        merges.append(time.perf_counter() - t)
    t = time.perf_counter()
    analysis = imgscope.analyze(img, jobs=1)
    whole = time.perf_counter() - t
    t = time.perf_counter()
    for _ in json_report.iter_dumps(analysis.to_dict()):
        pass
    rest = max(0.0, whole - sum(scans) - sum(merges)) + time.perf_counter() - t
    return scans, merges, wire, stored, rest


def play(
    scans: list[float],
    merges: list[float],
    wire: list[float],
    order: list[int],
    *,
    parent_first: bool,
    ahead: bool,
    rest: float,
) -> float:
    """Wall seconds of one schedule: the parent merges layer after layer; the worker takes ``order``."""
    n = len(scans)
    state: list[tuple[str, float, float] | None] = [None] * n  # ("W", start, end) or ("P", 0, 0)
    if parent_first:
        state[0] = ("P", -1.0, 0.0)  # claimed, not yet scanned
    queue = list(order)
    free = 0.0  # when the worker is next free
    t = 0.0

    def dispatch(until: float) -> None:
        nonlocal free
        while queue and free <= until:
            j = queue.pop(0)
            if state[j] is None:
                end = free + scans[j] + WIRE_SECONDS_PER_MB * wire[j]
                state[j], free = ("W", free, end), end

    for k in range(n):
        while True:
            dispatch(t)
            got = state[k]
            if got is None or (got[0] == "P" and got[1] < 0):
                state[k] = ("P", 0.0, 0.0)
                t += scans[k]
                break
            if got[0] == "P":
                break
            if got[2] <= t:
                t += WIRE_SECONDS_PER_MB * wire[k]
                break
            free_layers = [j for j in range(k + 1, n) if state[j] is None]
            if ahead and free_layers:
                state[free_layers[0]] = ("P", 0.0, 0.0)
                t += scans[free_layers[0]]
                continue
            t = got[2]
        t += merges[k]
    return t + rest


def split(scans: list[float], merges: list[float], wire: list[float], mine: set[int], rest: float) -> float:
    """Wall seconds when the parent scans the layers ``mine`` (each as early as it can) and the worker the rest."""
    done: dict[int, float] = {}
    clock = 0.0
    for j in (j for j in range(len(scans)) if j not in mine):
        clock += scans[j] + WIRE_SECONDS_PER_MB * wire[j]
        done[j] = clock
    t, scanned = 0.0, set()
    own = sorted(mine)
    for k in range(len(scans)):
        if k in mine:
            if k not in scanned:
                t += scans[k]
                scanned.add(k)
        else:
            while done[k] > t:
                later = [j for j in own if j > k and j not in scanned]
                if not later:
                    break
                t += scans[later[0]]
                scanned.add(later[0])
            t = max(t, done[k]) + WIRE_SECONDS_PER_MB * wire[k]
        t += merges[k]
    return t + rest


def main() -> None:
    for path in sys.argv[1:]:
        scans, merges, wire, stored, rest = measure(path)
        n = len(scans)
        print(f"{path}: {n} layers; scan/merge seconds per layer:")
        costs = ", ".join(f"{s:.2f}/{m:.2f}" for s, m in zip(scans, merges, strict=True))
        print(f"  {costs}; the rest {rest:.2f}")
        ordered = list(range(1, n))
        largest = sorted(ordered, key=lambda i: -stored[i])
        rows = {
            "old shape": play(scans, merges, wire, list(range(n)), parent_first=False, ahead=False, rest=rest),
            "parent first": play(scans, merges, wire, ordered, parent_first=True, ahead=False, rest=rest),
            "chosen": play(scans, merges, wire, ordered, parent_first=True, ahead=True, rest=rest),
            "largest first": play(scans, merges, wire, largest, parent_first=True, ahead=True, rest=rest),
            "best split": min(
                split(scans, merges, wire, set(mine), rest)
                for r in range(n + 1)
                for mine in itertools.combinations(range(n), r)
            )
            if n <= 16
            else float("nan"),
            "even": (sum(scans) + sum(merges) + rest) / 2,
        }
        for name, seconds in rows.items():
            print(f"  {name:14} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
