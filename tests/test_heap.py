"""The C heap of a process imgscope owns (``imgscope._heap``): large blocks given back when freed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from imgscope import _heap
from imgscope.sources import blobs

# Columns grown member by member, as a layer's scan and the merge grow theirs, with a few small survivors between
# them (as a scan leaves some), then freed; three times. The resident memory kept after each round, over the start.
_ROUNDS = r"""
import json, sys
from array import array
from imgscope import _heap

def rss():
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith("Rss:"):
                return int(line.split()[1]) * 1024

assert _heap.own_heap()
keep = []
start = rss()
kept = []
for _ in range(3):
    columns = [array("Q") for _ in range(8)]
    for i in range(200_000):
        for column in columns:
            column.append(i)
        if i % 1000 == 0:
            keep.append(bytes(600))
    del columns
    kept.append(rss() - start)
print(json.dumps(kept))
"""


# Where a 1 MiB block lands once a 4 MiB mapped block has been freed: glibc's default has raised its threshold to
# 4 MiB by then, so the block is carved from the heap (and would leave a hole there when freed); with the threshold
# fixed it gets a mapping of its own.
_WHERE = r"""
import ctypes, sys
from imgscope import _heap

if sys.argv[1] == "own":
    assert _heap.own_heap()
freed = bytearray(4 << 20)
del freed
block = bytearray(1 << 20)
address = ctypes.addressof((ctypes.c_char * 1).from_buffer(block))
with open("/proc/self/maps") as f:
    for line in f:
        if line.rstrip().endswith("[heap]"):
            low, high = (int(part, 16) for part in line.split()[0].split("-"))
            print("heap" if low <= address < high else "mapped")
            break
    else:
        print("mapped")
"""


def _run(script: str, mode: str) -> str:
    # glibc's own settings from the environment left out: any of them fixes the threshold as own_heap does (Dask's
    # nanny, started by the batch tests, sets MALLOC_TRIM_THRESHOLD_ in this process's environment and leaves it)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    out = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, check=True, env=env)
    return out.stdout.strip()


_GLIBC_LINUX = Path("/proc/self/smaps_rollup").exists() and _heap._libc() is not None  # Linux 4.14+


@pytest.mark.skipif(not _GLIBC_LINUX, reason="glibc on Linux")
def test_a_large_block_gets_a_mapping_of_its_own() -> None:
    assert _run(_WHERE, "glibc's default") == "heap"  # what own_heap is there to change
    assert _run(_WHERE, "own") == "mapped"


@pytest.mark.skipif(not _GLIBC_LINUX, reason="glibc on Linux")
def test_freed_columns_go_back_to_the_system() -> None:
    # 38 MiB of columns a round (8 x 200,000 x 8 bytes, grown by doubling): what stays is the survivors and the
    # interpreter's own growth, a few MiB (measured 4-5); glibc's moving threshold can keep 10-20 MiB of holes
    kept = json.loads(_run(_ROUNDS, "own"))
    assert max(kept) < 8 << 20, kept


def test_the_readers_chunks_stay_below_the_threshold() -> None:
    # a chunk above it would be a fresh mapping (and its page faults) for every chunk read
    assert blobs.CHUNK + 4096 < _heap.MMAP_THRESHOLD


def test_the_command_line_owns_its_heap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from imgscope.cli import _common, main

    calls: list[int] = []

    def own_heap() -> bool:
        calls.append(1)
        return True

    monkeypatch.setattr(_common, "own_heap", own_heap)
    result = CliRunner().invoke(main, ["analyze", str(tmp_path / "none.tar")])
    assert result.exit_code == 2
    assert calls == [1]


def test_no_ctypes_leaves_the_heap_alone(tmp_path: Path) -> None:
    # a Python built without ctypes: every command must still work (the CLI calls own_heap before any command)
    script = (
        "import sys; sys.modules['ctypes'] = None\n"
        "from imgscope import _heap\n"
        "assert _heap.own_heap() is False\n"
        "from imgscope.cli import main\n"
        "main(['analyze', sys.argv[1]])\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "none.tar")], capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    assert "internal error" not in out.stderr and "none.tar" in out.stderr
