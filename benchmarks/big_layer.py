#!/usr/bin/env python3
"""Show that a huge layer streams through imgscope without being held: one N GiB file in one layer.

Usage::

    python benchmarks/big_layer.py              # 10 GiB (default); the archive is sparse on disk
    python benchmarks/big_layer.py --gib 2 --out /tmp/big

It writes a ``docker save`` archive holding one layer with a single regular file of N GiB of zeros.
The archive is a sparse file (holes where the zeros are), so it takes almost no disk space, but
imgscope still reads, hashes (the file's content and the layer's diff_id) and accounts for every
byte. It prints imgscope's wall time and peak RSS (``ru_maxrss`` of the child), next to a run on a
1 MiB version of the same image: the peak RSS must not grow with the bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

BLOCK = 512
GIB = 1 << 30
ZEROS = bytes(4 << 20)


def _header(name: str, size: int, typeflag: bytes = b"0") -> bytes:
    """A ustar header; sizes of 8 GiB and more in GNU base-256, as GNU tar writes them."""
    block = bytearray(BLOCK)
    block[0:100] = name.encode().ljust(100, b"\0")
    block[100:108] = b"0000644\0"
    block[108:116] = b"0000000\0"
    block[116:124] = b"0000000\0"
    if size < 8 * GIB:
        block[124:136] = f"{size:011o}".encode() + b"\0"
    else:
        block[124:136] = bytes([0x80]) + size.to_bytes(11, "big")
    block[136:148] = b"00000000000\0"
    block[148:156] = b" " * 8
    block[156] = typeflag[0]
    block[257:265] = b"ustar\x0000"
    block[148:156] = f"{sum(block):06o}".encode() + b"\0 "
    return bytes(block)


def _pad(size: int) -> int:
    return -size % BLOCK


def _zeros_digest(prefix: bytes, zeros: int, suffix: bytes) -> str:
    sha = hashlib.sha256(prefix)
    left = zeros
    while left:
        take = min(left, len(ZEROS))
        sha.update(ZEROS[:take])
        left -= take
    sha.update(suffix)
    return "sha256:" + sha.hexdigest()


def write_image(path: Path, size: int) -> None:
    """A docker-archive with one layer holding ``big.bin`` of ``size`` zero bytes; sparse where zero."""
    layer_head = _header("big.bin", size)
    layer_tail = bytes(_pad(size)) + bytes(2 * BLOCK)
    layer_size = len(layer_head) + size + len(layer_tail)
    diff_id = _zeros_digest(layer_head, size, layer_tail)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created_by": f"COPY big.bin /  # {size} bytes"}],
        }
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": ["big:latest"], "Layers": ["layer/layer.tar"]}]).encode()
    with open(path, "wb") as f:
        f.write(_header("layer/", 0, b"5"))
        f.write(_header("layer/layer.tar", layer_size))
        f.write(layer_head)
        f.seek(size, os.SEEK_CUR)  # the zeros: a hole
        f.write(layer_tail)
        f.write(bytes(_pad(layer_size)))
        for name, data in ((config_name, config), ("manifest.json", manifest)):
            f.write(_header(name, len(data)) + data + bytes(_pad(len(data))))
        f.write(bytes(2 * BLOCK))


def measure(py: str, path: Path) -> dict[str, float]:
    t = time.perf_counter()
    proc = subprocess.run([py, "-m", "imgscope", "analyze", str(path), "--json"], capture_output=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"imgscope failed: {proc.stderr.decode(errors='replace')}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the max over the children so far
    return {"wall_s": round(wall, 2), "peak_rss_mib": round(rss, 1), "size": json.loads(proc.stdout)["summary"]["size"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gib", type=float, default=10.0, help="size of the file in the layer, GiB")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out" / "big-layer")
    ap.add_argument("--python", default=sys.executable, help="interpreter that runs imgscope")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    small, big = args.out / "small.tar", args.out / "big.tar"
    size = int(args.gib * GIB)
    print(f"writing {small} (1 MiB file) and {big} ({size} bytes, sparse) ...", flush=True)
    write_image(small, 1 << 20)
    write_image(big, size)
    first = measure(args.python, small)  # measured first: ru_maxrss of the children only grows
    second = measure(args.python, big)
    print(f"1 MiB layer: {first['wall_s']} s, peak RSS {first['peak_rss_mib']} MiB")
    print(
        f"{args.gib:g} GiB layer: {second['wall_s']} s, peak RSS {second['peak_rss_mib']} MiB, "
        f"{size / second['wall_s'] / 1e6:.0f} MB/s; content size reported: {second['size']} bytes"
    )
    for p in (small, big):
        p.unlink()


if __name__ == "__main__":
    main()
