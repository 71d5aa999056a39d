"""Benchmark ``imgscope batch``: a generated fleet of images sharing base layers, on 1, 2 and 4 workers.

    python benchmarks/fleet.py                       # 4 bases x 40 apps = 160 images, small-scale bases
    python benchmarks/fleet.py --images 400 --bases 8 --factor 0.02 --jobs 1,2
    python benchmarks/fleet.py --images 80 --bases 4 --jobs 1,2,4 --repeat 3   # the fastest of 3 runs each

The fleet is one OCI layout (gzip layers): ``--bases`` base images made by benchmarks/run.py's generator (each its
9 layers, different seeds), and ``--images`` app images, each a base plus one small layer of its own. It prints,
from one run: the images and distinct layers, the layers each run scanned (each distinct layer exactly once), the
wall time and throughput per worker count with the ratio to 1 worker, and — as the baseline a user without batch
has — ``imgscope.analyze`` of every image one after the other in this process. Each line shows the load average
before it: on a shared machine other processes take cores from the workers. ``--repeat N`` runs each worker count
N times (round-robin, each into a fresh output directory) and keeps the fastest.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from run import ImageGen, LayerWriter  # noqa: E402  (benchmarks/run.py: the generator)

import imgscope  # noqa: E402
from imgscope.fleet import BatchResult, batch  # noqa: E402

MTIME = 1_700_000_000


def _gzip_blob(blobs: Path, tar_path: Path) -> tuple[str, int, str]:
    """Gzip ``tar_path`` into the layout's blobs; (digest, size, diff_id)."""
    raw = tar_path.read_bytes()
    packed = zlib.compressobj(1, zlib.DEFLATED, 31)
    data = packed.compress(raw) + packed.flush()
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return "sha256:" + digest, len(data), "sha256:" + hashlib.sha256(raw).hexdigest()


def _json_blob(blobs: Path, doc: object) -> dict[str, object]:
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(raw).hexdigest()
    (blobs / digest).write_bytes(raw)
    return {"digest": "sha256:" + digest, "size": len(raw)}


def _app_layer(path: Path, n: int) -> None:
    """A small layer of an app's own: a few files that differ from app to app."""
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for i in range(20):
            data = f"app {n} file {i}\n".encode() * (50 + i * n % 200)
            info = tarfile.TarInfo(f"app/{n}/f{i}.txt")
            info.size, info.mtime = len(data), MTIME
            tar.addfile(info, io.BytesIO(data))


def generate(root: Path, images: int, bases: int, factor: float) -> Path:
    """The fleet layout under ``root``; reused when its parameters match."""
    layout = root / f"fleet-{images}x{bases}-{factor:g}"
    if (layout / "index.json").exists():
        return layout
    shutil.rmtree(layout, ignore_errors=True)
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    scratch = root / "scratch"
    scratch.mkdir(exist_ok=True)
    base_layers: list[list[tuple[dict[str, object], str, str]]] = []
    for b in range(bases):
        gen = ImageGen(factor, seed=100 + b)
        stats = {"dirs": 0, "files": 0, "file_bytes": 0, "links": 0, "whiteouts": 0, "opaque": 0}
        layers = []
        for index, (created_by, fn) in enumerate(gen.layers()):
            path = scratch / f"base{b}-{index}.tar"
            writer = LayerWriter(path, gen.pools, stats)
            fn(writer)  # type: ignore[operator]
            writer.close()
            digest, size, diff_id = _gzip_blob(blobs, path)
            path.unlink()
            media = "application/vnd.oci.image.layer.v1.tar+gzip"
            layers.append(({"mediaType": media, "digest": digest, "size": size}, diff_id, created_by))
        base_layers.append(layers)
        print(f"  base {b}: {len(layers)} layers", flush=True)
    manifests = []
    for n in range(images):
        base = base_layers[n % bases]
        path = scratch / f"app{n}.tar"
        _app_layer(path, n)
        digest, size, diff_id = _gzip_blob(blobs, path)
        path.unlink()
        own = ({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size}, diff_id)
        descriptors = [d for d, _, _ in base] + [own[0]]
        config = {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [i for _, i, _ in base] + [own[1]]},
            "history": [{"created_by": c} for _, _, c in base] + [{"created_by": f"COPY app {n}"}],
        }
        cfg = {"mediaType": "application/vnd.oci.image.config.v1+json", **_json_blob(blobs, config)}
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": cfg,
            "layers": descriptors,
        }
        manifests.append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **_json_blob(blobs, manifest),
                "annotations": {"org.opencontainers.image.ref.name": f"app-{n}"},
            }
        )
    shutil.rmtree(scratch)
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": manifests}))
    return layout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=160)
    parser.add_argument("--bases", type=int, default=4)
    parser.add_argument("--factor", type=float, default=0.02, help="base image scale (run.py: small = 0.02)")
    parser.add_argument("--jobs", default="1,2,4", help="worker counts to run")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "imgscope-fleet-bench")
    parser.add_argument("--no-baseline", action="store_true", help="skip analyze-every-image")
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count; the fastest is kept")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    layout = generate(args.workdir, args.images, args.bases, args.factor)
    print(f"fleet: {layout} ({time.perf_counter() - t0:.1f}s to generate or reuse); {os.cpu_count()} cpus")
    counts = [int(j) for j in args.jobs.split(",")]
    best: dict[int, tuple[float, BatchResult, tuple[float, float, float]]] = {}
    for _ in range(max(1, args.repeat)):
        for jobs in counts:
            out = args.workdir / f"out-{jobs}"
            shutil.rmtree(out, ignore_errors=True)
            load = os.getloadavg()
            start = time.perf_counter()
            result = batch([str(layout)], out, jobs=jobs)
            seconds = time.perf_counter() - start
            assert result.failed == 0, result.errors
            if jobs not in best or seconds < best[jobs][0]:
                best[jobs] = (seconds, result, load)
    rows = []
    base_time = best[counts[0]][0]
    for jobs in counts:
        seconds, result, load = best[jobs]
        rows.append((jobs, seconds, result))
        print(
            f"jobs={jobs}: {seconds:7.1f} s  {result.images / seconds:6.2f} images/s  "
            f"x{base_time / seconds:4.2f} vs {counts[0]} worker(s)  "
            f"({result.images} images, {result.layers} distinct layers, {result.layers_scanned} scanned)"
            f"  load before: {load[0]:.2f}",
            flush=True,
        )
    if not args.no_baseline:
        start = time.perf_counter()
        for ref in imgscope.list_images(layout):
            imgscope.analyze(layout, image=ref.digest)
        seconds = time.perf_counter() - start
        print(f"baseline: analyze every image in turn: {seconds:7.1f} s ({args.images / seconds:6.2f} images/s)")
        for jobs, t, _ in rows:
            print(f"  batch jobs={jobs} takes {t / seconds:.2f}x the baseline's time")


if __name__ == "__main__":
    main()
