"""imgscope batch: a fleet of real images (buildah and skopeo) into Parquet, each distinct layer scanned once.

The fleet: the "cases" sample in three formats (one set of layers), the two-image and advise tars, the
multi-platform index, a dozen images buildah commits on top of the cases image (each sharing its layers), one
image with a corrupt layer of its own and one path that does not exist. Every image's rows are checked against
``imgscope.analyze`` of the same image, on the local engine (1 and 2 workers), a Dask LocalCluster and local Ray.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import imgscope
from imgscope.fleet import BatchResult, batch
from imgscope.fleet import run as fleet_run
from imgscope.fleet.plan import LayerTask, expand_sources
from imgscope.fleet.stages import ScanOutcome, scan_stage
from tests.conftest import ROOT, SAMPLES, require_tool

pa = pytest.importorskip("pyarrow")
BUILT = 12  # images buildah commits for the fleet


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    """The fleet's sources (paths), with a list file naming some of them."""
    buildah = require_tool("buildah")
    skopeo = require_tool("skopeo")
    work = tmp_path_factory.mktemp("fleet")
    store = [f"--root={work / 'root'}", f"--runroot={work / 'run'}", "--storage-driver=vfs"]
    container = _run(buildah, *store, "from", "--pull-never", f"docker-archive:{SAMPLES / 'cases/docker-archive.tar'}")
    container = container.strip().splitlines()[-1]
    layout = work / "built-oci"
    for i in range(1, BUILT + 1):
        payload = work / f"payload-{i}"
        payload.write_bytes(hashlib.sha256(str(i).encode()).digest() * (64 * i))
        _run(buildah, *store, "copy", container, str(payload), f"/srv/payload-{i}")
        _run(buildah, *store, "commit", "-q", container, f"localhost/fleet:{i}")
        storage = f"containers-storage:[vfs@{work / 'root'}+{work / 'run'}]localhost/fleet:{i}"
        _run(skopeo, "copy", "-q", storage, f"oci:{layout}:{i}")
    # One more image whose top layer no other image holds, exported alone and then corrupted.
    (work / "own").write_bytes(b"a layer of its own\n" * 999)
    _run(buildah, *store, "copy", container, str(work / "own"), "/srv/own")
    _run(buildah, *store, "commit", "-q", container, "localhost/fleet:bad")
    corrupt = work / "corrupt-oci"
    storage = f"containers-storage:[vfs@{work / 'root'}+{work / 'run'}]localhost/fleet:bad"
    _run(skopeo, "copy", "-q", storage, f"oci:{corrupt}:bad")
    _corrupt_top_layer(corrupt)
    _run(buildah, *store, "rm", container)
    listing = work / "images.txt"
    listing.write_text(
        f"# the samples\n{SAMPLES / 'cases/oci-gzip'}\n{SAMPLES / 'cases/oci-zstd'}  # same layers, zstd\n"
        f"{SAMPLES / 'two-images.tar'}\n{SAMPLES / 'advise.tar'}\n\n{SAMPLES / 'multi-platform'}\n"
        f"{SAMPLES / 'packages/oci'}\n{SAMPLES / 'packages/oci-4'}  # dpkg, pip and npm packages\n"
    )
    yield work, [str(SAMPLES / "cases/docker-archive.tar"), str(listing), str(layout), str(corrupt), "nope.tar"]
    shutil.rmtree(work / "root", ignore_errors=True)


def _corrupt_top_layer(layout: Path) -> None:
    """Flip bytes in the middle of the image's last (own) layer blob, keeping its name and length."""
    index = json.loads((layout / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs/sha256" / manifest_digest).read_text())
    blob = layout / "blobs/sha256" / manifest["layers"][-1]["digest"].split(":")[1]
    data = bytearray(blob.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    blob.chmod(0o644)
    blob.write_bytes(bytes(data))


def _rows(table: Any, key: str) -> list[dict[str, Any]]:
    return [r for r in table.to_pylist() if r["image_key"] == key]


@pytest.fixture(scope="module")
def first_run(fleet: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory) -> BatchResult:
    out = tmp_path_factory.mktemp("out") / "fleet"
    return batch(fleet[1], out, jobs=2)


def test_the_sources_expand_to_every_image_and_platform(fleet: tuple[Path, list[str]]) -> None:
    jobs = expand_sources(fleet[1])
    # docker-archive + oci-gzip + oci-zstd, 2 of two-images, 2 of advise, 2 platforms, 2 with packages, the built
    # ones, corrupt, missing
    assert len(jobs) == 3 + 2 + 2 + 2 + 2 + BUILT + 1 + 1
    assert len({j.key for j in jobs}) == len(jobs)
    assert any(j.platform == "linux/arm64" for j in jobs) and any(j.platform == "linux/amd64" for j in jobs)


def test_every_image_equals_analyze(fleet: tuple[Path, list[str]], first_run: BatchResult) -> None:
    tables = first_run.tables
    jobs = expand_sources(fleet[1])
    images = {r["image_key"]: r for r in tables["images"].to_pylist()}
    assert set(images) == {j.key for j in jobs}
    checked = 0
    for job in jobs:
        row = images[job.key]
        if row["error"] is not None:
            continue
        scanned = imgscope.scan_packages(job.source, image=job.image, platform=job.platform)
        a, advice = scanned.analysis, imgscope.advice(scanned)  # the package rules too, as `imgscope advise`
        s = a.summary
        assert (row["size"], row["final_size"], row["wasted_bytes"], row["file_count"], row["layer_count"]) == (
            s.size,
            s.final_size,
            s.wasted_bytes,
            s.file_count,
            s.layer_count,
        ), job.reference
        assert (row["efficiency"], row["wasted_fraction"], row["stored_size"], row["compressed_size"]) == (
            s.efficiency,
            s.wasted_fraction,
            s.stored_size,
            s.compressed_size,
        ), job.reference
        assert (row["dive_efficiency"], row["dive_wasted_bytes"], row["dive_user_wasted_percent"]) == (
            a.dive.efficiency,
            a.dive.wasted_bytes,
            a.dive.user_wasted_percent,
        ), job.reference
        assert row["findings_bytes_saved"] == advice.total_saved
        layers = sorted(_rows(tables["image_layers"], job.key), key=lambda r: r["index"])
        got = [(r["diff_id"], r["digest"], r["compression"], r["stored_size"], r["compressed_size"]) for r in layers]
        assert got == [(r.diff_id, r.digest, str(r.compression), r.stored_size, r.compressed_size) for r in a.layers], (
            job.reference
        )
        assert [r["size"] for r in layers] == [r.size for r in a.layers]
        wasted = sorted((r["path"], r["size"], r["layer"], r["hidden_by"]) for r in _rows(tables["wasted"], job.key))
        assert wasted == sorted((w.path, w.size, w.layer, w.hidden_by) for w in a.wasted_files)
        assert sorted(r["id"] for r in _rows(tables["findings"], job.key)) == sorted(f.id for f in advice.findings)
        checked += 1
    assert checked == len(jobs) - 2  # all but the corrupt and the missing one


PACKAGE_COLUMNS = (
    "ecosystem", "name", "version", "arch", "location", "purl", "license", "dev", "present", "layer", "removed_in",
    "size", "files", "wasted_bytes", "declared_size",
)  # fmt: skip


def test_every_image_packages_equal_imgscope_packages_json(
    fleet: tuple[Path, list[str]], first_run: BatchResult
) -> None:
    """The packages table of each image holds what ``imgscope packages --json`` reports, present and removed."""
    from click.testing import CliRunner

    from imgscope.cli import main

    tables = first_run.tables
    failed = {r["image_key"] for r in tables["images"].to_pylist() if r["error"]}
    checked = with_packages = 0
    for job in expand_sources(fleet[1]):
        if job.key in failed:
            continue
        args = ["packages", "--json", job.source]
        args += ["--image", job.image] if job.image else []
        args += ["--platform", job.platform] if job.platform else []
        done = CliRunner().invoke(main, args)
        assert done.exit_code == 0, (job.reference, done.output)
        doc = json.loads(done.stdout)
        want = sorted(tuple(p[c] for c in PACKAGE_COLUMNS) for p in [*doc["packages"], *doc["removed"]])
        rows = _rows(tables["packages"], job.key)
        assert sorted(tuple(r[c] for c in PACKAGE_COLUMNS) for r in rows) == want, job.reference
        layers = {r["index"]: r["diff_id"] for r in _rows(tables["image_layers"], job.key)}
        assert all(r["layer_diff_id"] == layers.get(r["layer"]) for r in rows), job.reference
        assert sum(r["size"] for r in rows) == doc["owned_bytes"], job.reference
        checked += 1
        with_packages += bool(rows)
    assert checked == len(expand_sources(fleet[1])) - 2
    assert with_packages >= 3  # the two package samples and advise's image with a pip package


def test_failures_are_recorded_and_the_rest_go_on(first_run: BatchResult) -> None:
    errors = {r["reference"]: r["error"] for r in first_run.tables["images"].to_pylist() if r["error"]}
    assert len(errors) == 2 and first_run.failed == 2
    missing = next(e for ref, e in errors.items() if ref == "nope.tar")
    assert "no such file" in missing
    corrupt = next(e for ref, e in errors.items() if "corrupt-oci" in ref)
    assert re.search(r"does not match|corrupt|invalid", corrupt), corrupt
    assert "\n" not in corrupt


def test_each_distinct_layer_is_scanned_once(
    fleet: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scanned: list[str] = []

    def counting(task: LayerTask) -> ScanOutcome:
        if task.scan:  # not a layer whose scan is cached and only its copies checked
            scanned.append(task.diff_id)
        return scan_stage(task)

    monkeypatch.setattr(fleet_run, "scan_stage", counting)
    result = batch(fleet[1], tmp_path / "out", jobs=1)
    distinct: set[str] = set()
    users: dict[str, int] = {}  # diff_id -> images analyzed that hold it
    failed = {r["image_key"] for r in result.tables["images"].to_pylist() if r["error"]}
    for job in expand_sources(fleet[1]):
        try:
            diff_ids = {b.diff_id or "" for b in imgscope.open_image(job.source, image=job.image).layers}
        except imgscope.ImgscopeError:
            continue
        distinct |= diff_ids
        for d in diff_ids if job.key not in failed else ():
            users[d] = users.get(d, 0) + 1
    assert sorted(scanned) == sorted(distinct)  # each exactly once
    assert result.layers_scanned == len(distinct) - 1  # the corrupt image's own layer could not be read
    layers = {r["diff_id"]: r["image_count"] for r in result.tables["layers"].to_pylist()}
    assert layers == users
    cases = [b.diff_id for b in imgscope.open_image(SAMPLES / "cases/docker-archive.tar").layers]
    assert min(layers[d or ""] for d in cases) == 3 + BUILT  # 3 sample formats and every built image

    scanned.clear()
    again = batch(fleet[1], tmp_path / "out", jobs=1)  # a re-run adds only what is new: nothing, but the failures
    assert scanned == [] or set(scanned) <= distinct - set(layers)
    assert again.analyzed == 0 and again.reused == result.analyzed and again.failed == 2
    assert again.tables["images"].num_rows == result.tables["images"].num_rows


def test_the_engines_give_the_same_tables(
    fleet: tuple[Path, list[str]], first_run: BatchResult, tmp_path: Path
) -> None:
    """One worker, a Dask LocalCluster and local Ray: the same rows as the 2-worker pool."""
    pytest.importorskip("distributed")
    pytest.importorskip("ray")
    sources = [*fleet[1][:1], *fleet[1][2:]]  # the list file's images are covered above; keep this run short
    expected = batch(sources, tmp_path / "local1", jobs=1).tables
    for engine in ("dask", "ray"):
        got = batch(sources, tmp_path / engine, engine=engine, jobs=2).tables
        for name in ("images", "image_layers", "wasted", "findings", "layers"):
            assert _sorted(got[name]) == _sorted(expected[name]), (engine, name)
    subset = {r["image_key"] for r in expected["images"].to_pylist()}
    for name in ("images", "image_layers", "wasted"):
        rows = pa.Table.from_pylist([r for r in first_run.tables[name].to_pylist() if r["image_key"] in subset])
        assert _sorted(rows) == _sorted(expected[name]), name


def _sorted(table: Any) -> list[dict[str, Any]]:
    return sorted(table.to_pylist(), key=lambda r: json.dumps(r, sort_keys=True, default=str))


def test_the_files_table_holds_every_path(fleet: tuple[Path, list[str]], tmp_path: Path) -> None:
    result = batch([str(SAMPLES / "cases/oci-zstd")], tmp_path / "out", jobs=1, files=True)
    a = imgscope.analyze(SAMPLES / "cases/oci-zstd")
    rows = result.tables["files"].to_pylist()
    assert sorted((r["path"], r["size"], r["layer"]) for r in rows) == sorted(
        (f.path, f.size, f.layer) for f in a.files
    )


def test_the_docs_queries_run(first_run: BatchResult, tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    assert first_run.out is not None
    text = (ROOT / "docs/fleet.md").read_text()
    sql = text.split("```sql\n", 1)[1].split("```", 1)[0]
    sql = sql.replace("fleet-2026-12/", f"{first_run.out}/").replace("fleet-2026-11/", f"{first_run.out}/")
    sql = sql.replace("'fleet/", f"'{first_run.out}/")
    queries = [q for q in (re.sub(r"^\s*--.*$", "", s, flags=re.M).strip() for s in sql.split(";")) if q]
    assert len(queries) == 8
    con = duckdb.connect()
    results = [con.execute(q).fetchall() for q in queries]
    wasted, failures, shared, bases, storage, fixes, costly, growth = results
    images = [r for r in first_run.tables["images"].to_pylist() if r["error"] is None]
    assert wasted[0][1] == max(r["wasted_bytes"] for r in images)
    assert len(failures) == 2
    assert shared[0][2] == max(r["image_count"] for r in first_run.tables["layers"].to_pylist())
    assert sum(b[2] for b in bases) == len(images)
    assert storage[0][0] < storage[0][1]  # shared layers are stored once but pulled by every image
    assert fixes and growth == []  # one dataset against itself: nothing grew
    findings = first_run.tables["findings"].to_pylist()
    for rule, _name, count, _saved in fixes:  # images, not findings (an image has one per path group)
        assert count == len({r["image_key"] for r in findings if r["id"] == rule}), rule
    packages = first_run.tables["packages"].to_pylist()
    held: dict[tuple[str, str], int] = {}
    stored: dict[tuple[str, str], dict[Any, int]] = {}
    for r in packages:
        name, cost = (r["ecosystem"], r["name"]), r["size"] + r["wasted_bytes"]
        held[name] = held.get(name, 0) + cost
        install = stored.setdefault(name, {})
        where = (r["version"], r["location"], r["layer_diff_id"])
        install[where] = max(install.get(where, 0), cost)
    top = max(sum(v.values()) for v in stored.values())
    assert costly[0][4] == top and len(costly) == min(20, len(held))
    for ecosystem, name, _images, in_images, once in costly:
        assert (in_images, once) == (held[ecosystem, name], sum(stored[ecosystem, name].values()))
    shared_installs = [r for r in costly if r[3] > r[4]]
    assert shared_installs  # the packages samples share layers: stored once, held by both


def test_cli(fleet: tuple[Path, list[str]], tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "imgscope", "batch", "--out", str(tmp_path / "o"), "-j", "1"]
    ok = subprocess.run([*cmd, "--json", str(SAMPLES / "two-images.tar")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert (doc["images"], doc["analyzed"], doc["failed"], doc["rows"]["images"]) == (2, 2, 0, 2)
    bad = subprocess.run(
        [*cmd, "--fail-on-error", "missing.tar", str(SAMPLES / "two-images.tar")], capture_output=True, text=True
    )
    assert bad.returncode == 1
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imgscope: error: missing.tar: no such file or directory"), lines
    assert "3 images" in bad.stdout and "1 failed" in bad.stdout
    usage = subprocess.run([*cmd, "--engine", "spark", "x.tar"], capture_output=True, text=True)
    assert usage.returncode == 2
    nothing = subprocess.run([*cmd, "/nonexistent.tar"], capture_output=True, text=True)
    assert nothing.returncode == 2 and nothing.stderr.startswith("imgscope: error: /nonexistent.tar")


def test_the_library_entry_point() -> None:
    assert imgscope.batch is batch  # imported on first use, so `import imgscope` does not need pyarrow


def test_the_scan_cache_holds_data_not_code(fleet: tuple[Path, list[str]], tmp_path: Path) -> None:
    """A scan file someone replaced (here: a pickle that would run a command) is refused, never unpickled."""
    import pickle

    out = tmp_path / "out"
    batch([str(SAMPLES / "cases/docker-archive.tar")], out, jobs=1)
    cached = sorted((out / "_scans").rglob("*.scan"))
    assert cached
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (Path.touch, (str(marker),))

    cached[0].write_bytes(pickle.dumps(Exploit()))
    again = batch([str(SAMPLES / "cases/oci-gzip")], out, jobs=1)  # same layers: read from the cache
    assert not marker.exists()
    assert again.failed == 1 and "unreadable layer scan" in again.errors[0][1]


def test_a_result_repr_is_one_line(first_run: BatchResult) -> None:
    text = repr(first_run)
    assert "\n" not in text and len(text) < 200 and "images" in text


def test_a_rebuilt_image_is_analyzed_again(tmp_path: Path) -> None:
    """The same path holding another image (a rebuild) is not taken for the one analyzed before."""
    image = tmp_path / "app.tar"
    shutil.copy(SAMPLES / "cases-vfs/docker-archive.tar", image)  # the same Containerfile, built with vfs
    first = batch([str(image)], tmp_path / "out", jobs=1)
    assert first.analyzed == 1
    shutil.copy(SAMPLES / "cases/docker-archive.tar", image)
    second = batch([str(image)], tmp_path / "out", jobs=1)
    assert (second.analyzed, second.reused) == (1, 0)
    third = batch([str(image)], tmp_path / "out", jobs=1)
    assert (third.analyzed, third.reused, third.layers_scanned) == (0, 1, 0)
    rows = [r for r in third.tables["images"].to_pylist() if r["source"] == str(image)]
    cases = imgscope.analyze(SAMPLES / "cases/docker-archive.tar")
    assert [(r["config_digest"], r["size"]) for r in rows] == [(cases.image.config_digest, cases.summary.size)]


def test_rows_of_images_no_longer_at_a_path_are_removed(tmp_path: Path) -> None:
    """A path that now holds other images (a save of two replacing a save of one, then another): the rows of the
    images gone from it go, where they stayed and were counted in every total."""
    image = tmp_path / "app.tar"
    shutil.copy(SAMPLES / "cases-vfs/docker-archive.tar", image)
    batch([str(image)], tmp_path / "out", jobs=1)
    shutil.copy(SAMPLES / "two-images.tar", image)
    second = batch([str(image)], tmp_path / "out", jobs=1)
    names = sorted(r["name"] for r in second.tables["images"].to_pylist() if r["source"] == str(image))
    assert names == ["localhost/tiny-a:1", "localhost/tiny-b:1"]
    shutil.copy(SAMPLES / "advise.tar", image)
    third = batch([str(image)], tmp_path / "out", jobs=1)
    now = {r["image_key"] for r in third.tables["images"].to_pylist()}
    assert len(now) == len(imgscope.list_images(image))
    for name in ("image_layers", "wasted", "findings", "packages"):
        assert {r["image_key"] for r in third.tables[name].to_pylist()} <= now, name


def test_a_stream_source_fails_with_what_to_do(tmp_path: Path) -> None:
    """A compressed save cannot be read a layer at a time: its row says so and what to do, where its layers failed
    with "was read past in the stream"."""
    import gzip

    packed = tmp_path / "app.tar.gz"
    packed.write_bytes(gzip.compress((SAMPLES / "cases/docker-archive.tar").read_bytes()))
    result = batch([str(packed)], tmp_path / "out", jobs=1)
    assert (result.analyzed, result.failed, result.layers) == (0, 1, 0)
    [(reference, message)] = result.errors
    assert reference == str(packed) and "decompress or save it to a file first" in message


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.parquet"))}


def test_rows_are_written_a_part_of_many_images_at_a_time(
    fleet: tuple[Path, list[str]], first_run: BatchResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One file per table for a run of fewer than PART_IMAGES images; with a small part, several, same rows."""
    assert first_run.out is not None
    for name in ("images", "image_layers", "wasted", "findings", "packages"):
        assert len(list((first_run.out / name).glob("*.parquet"))) == 1, name
    monkeypatch.setattr(fleet_run, "PART_IMAGES", 4)
    sources = [str(SAMPLES / "two-images.tar"), str(SAMPLES / "advise.tar"), str(SAMPLES / "packages/oci")]
    sources += [str(SAMPLES / "packages/oci-4"), str(SAMPLES / "multi-platform"), str(SAMPLES / "cases/oci-gzip")]
    small = batch(sources, tmp_path / "out", jobs=2)
    assert small.images == 9 and small.failed == 0
    assert len(list((tmp_path / "out/images").glob("part-*.parquet"))) == 3  # 4 + 4 + 1 images
    keys = {r["image_key"] for r in small.tables["images"].to_pylist()}
    for name in ("images", "image_layers", "wasted", "findings", "packages"):
        expected = [r for r in first_run.tables[name].to_pylist() if r["image_key"] in keys]
        assert _sorted(small.tables[name]) == sorted(expected, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def _rows_of(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files holding rows (an empty table's schema file goes once it has rows; layers is rewritten)."""
    return {k: v for k, v in files.items() if k != "layers.parquet" and not k.endswith("/part-empty.parquet")}


def test_a_rerun_adds_files_and_leaves_the_earlier_ones(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = batch([str(SAMPLES / "two-images.tar")], out, jobs=1)
    before = _files(out)
    second = batch([str(SAMPLES / "two-images.tar"), str(SAMPLES / "packages/oci")], out, jobs=1)
    assert (first.analyzed, second.reused, second.analyzed) == (2, 2, 1)
    after = _files(out)
    assert {k: v for k, v in _rows_of(after).items() if k in before} == _rows_of(before)  # none rewritten
    assert len(list((out / "images").glob("*.parquet"))) == 2
    assert second.tables["images"].num_rows == 3 and second.tables["packages"].num_rows > 0


def test_images_from_a_dataset_without_the_packages_table_are_analyzed_again(tmp_path: Path) -> None:
    """A dataset written before the packages table (no package_count column) is brought up to date in place."""
    out = tmp_path / "out"
    batch([str(SAMPLES / "packages/oci"), str(SAMPLES / "two-images.tar")], out, jobs=1)
    for path in (out / "images").glob("*.parquet"):
        table = pa.parquet.read_table(path)
        pa.parquet.write_table(table.drop_columns(["package_count"]), path)
    shutil.rmtree(out / "packages")
    again = batch([str(SAMPLES / "packages/oci"), str(SAMPLES / "two-images.tar")], out, jobs=1)
    assert (again.analyzed, again.reused, again.layers_scanned) == (3, 0, 0)  # the scans were kept
    images = again.tables["images"].to_pylist()
    assert len(images) == 3 and all(r["package_count"] is not None for r in images)
    expected = imgscope.packages_of(SAMPLES / "packages/oci")
    assert sum(1 for r in again.tables["packages"].to_pylist() if r["present"]) == len(expected.packages)
    # the rows of the earlier run were replaced, not doubled
    assert again.tables["image_layers"].num_rows == sum(r["layer_count"] for r in images)
    wasted = [(r["image_key"], r["path"], r["layer"]) for r in again.tables["wasted"].to_pylist()]
    assert len(wasted) == len(set(wasted))


def test_artifacts_in_a_layout_are_skipped_not_failed(tmp_path: Path) -> None:
    """An SBOM beside an image in an OCI layout is no image: the run counts it apart, where it was a failed row."""
    from tests.registry_server import add_sbom

    layout = tmp_path / "art"
    skopeo = require_tool("skopeo")
    subprocess.run(
        [skopeo, "copy", "-q", f"oci:{SAMPLES}/cases/oci-gzip:1", f"oci:{layout}:1"], check=True, capture_output=True
    )
    add_sbom(layout, "1", "sbom")
    result = batch([str(layout)], tmp_path / "out", jobs=1)
    assert (result.images, result.analyzed, result.failed, result.errors) == (1, 1, 0, ())
    assert result.artifacts == ((f"{layout}:sbom", "application/example.sbom"),)
    assert "1 artifact skipped" in repr(result)
    only = tmp_path / "only"  # a layout holding nothing but an artifact: nothing to analyze, nothing failed
    shutil.copytree(layout, only)
    index = json.loads((only / "index.json").read_text())
    index["manifests"] = [m for m in index["manifests"] if "artifactType" in m]
    (only / "index.json").write_text(json.dumps(index))
    alone = batch([str(only)], tmp_path / "out2", jobs=1)
    assert (alone.images, alone.failed, alone.artifacts) == (0, 0, ((f"{only}:sbom", "application/example.sbom"),))


def test_list_files_skip_a_byte_order_mark_and_refuse_an_empty_list(tmp_path: Path) -> None:
    """A list saved by a Windows editor starts with a byte order mark, which is no part of the first name (it was
    "\\ufeff/…: no such file"); a list naming nothing is refused in one line (0 images, exit 0 even with
    --fail-on-error); an empty file is no list but a broken image, a failed row beside the others."""
    sample = str(SAMPLES / "two-images.tar")
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + sample.encode() + b"\n")
    assert [job.source for job in expand_sources([str(bom)])] == [sample, sample]
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n\n")
    cmd = [sys.executable, "-m", "imgscope", "batch", "--out", str(tmp_path / "o"), "-j", "1", "--fail-on-error"]
    done = subprocess.run([*cmd, str(empty)], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"imgscope: error: {empty}: ") and "names no source" in done.stderr
    broken = tmp_path / "broken.tar"
    broken.write_bytes(b"")
    result = batch([str(broken), sample], tmp_path / "o2", jobs=1)
    assert (result.analyzed, result.failed) == (2, 1), result.errors
