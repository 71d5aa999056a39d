"""The scan stage of two checkouts, alternated: CPU (both threads) and wall of ``scan_layer`` over every layer.

    python benchmarks/scan_ab.py --baseline /work/main --rounds 2 IMAGE...

Each measure runs in a fresh process with ``PYTHONPATH`` on one checkout (this one, or ``--baseline``), the order of
the two alternating from round to round; prints the medians and this checkout's CPU over the baseline's. On a
shared machine the CPU ratio is the figure to quote: walls follow the load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import gc, json, sys, time
import imgscope
from imgscope.analysis.scan import scan_layer
img = imgscope.open_image(sys.argv[1])
gc.collect()
cpu, wall = time.process_time(), time.perf_counter()
for i in range(len(img.layers)):
    scan_layer(img, i)
print(json.dumps([time.process_time() - cpu, time.perf_counter() - wall]))
"""


def measure(tree: Path, image: str) -> tuple[float, float]:
    """(CPU, wall) seconds of scanning every layer of ``image`` with the imgscope of ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", _CHILD, image], env=env, capture_output=True, text=True, check=True)
    cpu, wall = json.loads(out.stdout)
    return float(cpu), float(wall)


def main() -> None:
    """Parse the arguments, alternate the two checkouts, print one line per image."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="+", help="image paths (a docker-archive tar, an OCI layout ...)")
    ap.add_argument("--baseline", type=Path, required=True, help="the other checkout of imgscope")
    ap.add_argument("--rounds", type=int, default=3, help="measures of each checkout per image (default 3)")
    args = ap.parse_args()
    trees = {"this": Path(__file__).resolve().parent.parent, "baseline": args.baseline.resolve()}
    for image in args.images:
        got: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
        for r in range(args.rounds):
            for name in list(trees)[:: 1 if r % 2 == 0 else -1]:
                got[name].append(measure(trees[name], image))
        cpu = {name: statistics.median(c for c, _ in got[name]) for name in trees}
        wall = {name: statistics.median(w for _, w in got[name]) for name in trees}
        print(
            f"{image}: baseline CPU {cpu['baseline']:.2f} s (wall {wall['baseline']:.2f} s); "
            f"this CPU {cpu['this']:.2f} s (wall {wall['this']:.2f} s); CPU {cpu['this'] / cpu['baseline']:.3f}x"
        )


if __name__ == "__main__":
    main()
