"""imgscope batch re-runs and image identity: which rows a run keeps, replaces or removes (docs/fleet.md).

Each test builds small OCI layouts from the samples with skopeo and runs the local engine in this process.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

import imgscope
from imgscope.fleet import batch
from tests.conftest import SAMPLES, require_tool

pa = pytest.importorskip("pyarrow")


def _copy(source: str, dest: str) -> None:
    subprocess.run([require_tool("skopeo"), "copy", "-q", source, dest], check=True, capture_output=True)


def _images(result: Any) -> list[dict[str, Any]]:
    return sorted(result.tables["images"].to_pylist(), key=lambda r: r["reference"])


def _retag(layout: Path, old: str, new: str | None) -> None:
    """Rename tag ``old`` of ``layout`` to ``new`` (None: remove it) in its index.json."""
    index = json.loads((layout / "index.json").read_text())
    kept = []
    for m in index["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == old:
            if new is None:
                continue
            m["annotations"]["org.opencontainers.image.ref.name"] = new
        kept.append(m)
    index["manifests"] = kept
    (layout / "index.json").write_text(json.dumps(index))


def test_two_tags_of_one_manifest_are_two_images(tmp_path: Path) -> None:
    """Two tags naming one manifest in a layout: one key each (joins on image_key do not double-count), each
    row named by its own tag; a tag removed or renamed leaves no row behind."""
    layout = tmp_path / "lay"
    _copy(f"oci:{SAMPLES}/cases/oci-gzip:1", f"oci:{layout}:v1")
    _copy(f"oci:{SAMPLES}/cases/oci-gzip:1", f"oci:{layout}:v2")
    _copy(f"docker-archive:{SAMPLES}/two-images.tar:localhost/tiny-a:1", f"oci:{layout}:tiny")
    out = tmp_path / "out"
    first = batch([str(layout)], out, jobs=1)
    rows = _images(first)
    assert first.analyzed == 3 and len({r["image_key"] for r in rows}) == 3
    assert sorted(r["name"] for r in rows) == ["lay:tiny", "lay:v1", "lay:v2"]
    layers = first.tables["image_layers"].to_pylist()
    assert len(layers) == sum(r["layer_count"] for r in rows)
    assert len({(r["image_key"], r["index"]) for r in layers}) == len(layers)
    cases_layers = {r["diff_id"] for r in layers if r["image_key"] == rows[1]["image_key"]}
    counts = {r["diff_id"]: r["image_count"] for r in first.tables["layers"].to_pylist()}
    assert all(counts[d] == 2 for d in cases_layers)  # v1 and v2 both use them

    _retag(layout, "v2", None)
    second = batch([str(layout)], out, jobs=1)
    assert (second.images, second.reused, second.analyzed) == (2, 2, 0)
    assert sorted(r["name"] for r in _images(second)) == ["lay:tiny", "lay:v1"]

    _retag(layout, "v1", "v3")
    third = batch([str(layout)], out, jobs=1)
    assert (third.images, third.analyzed, third.layers_scanned) == (2, 1, 0)  # the scans were kept
    assert sorted(r["name"] for r in _images(third)) == ["lay:tiny", "lay:v3"]
    assert not any("v1" in r["reference"] for r in _images(third))
    assert {r["image_key"] for r in third.tables["image_layers"].to_pylist()} == {
        r["image_key"] for r in _images(third)
    }


def test_an_image_that_cannot_be_opened_again_keeps_its_rows(tmp_path: Path) -> None:
    """A re-run that cannot open an image analyzed before (a share not mounted, a registry down) reports it
    failed and keeps its rows, where they were replaced by an error row; a later good run reuses them."""
    tar = tmp_path / "app.tar"
    shutil.copy(SAMPLES / "multi-tag.tar", tar)
    layout = tmp_path / "lay"
    _copy(f"oci:{SAMPLES}/cases/oci-gzip:1", f"oci:{layout}:v1")
    _copy(f"docker-archive:{SAMPLES}/two-images.tar:localhost/tiny-a:1", f"oci:{layout}:v2")
    out = tmp_path / "out"
    first = batch([str(tar), str(layout)], out, jobs=1)
    assert (first.analyzed, first.failed) == (3, 0)
    before = {name: sorted(map(str, t.to_pylist())) for name, t in first.tables.items()}
    tar.rename(tmp_path / "away.tar")
    layout.rename(tmp_path / "away")
    second = batch([str(tar), str(layout)], out, jobs=1)
    assert (second.analyzed, second.reused, second.failed) == (0, 0, 2)
    assert all("rows from an earlier run are kept" in message for _, message in second.errors), second.errors
    assert {name: sorted(map(str, t.to_pylist())) for name, t in second.tables.items()} == before
    (tmp_path / "away.tar").rename(tar)
    (tmp_path / "away").rename(layout)
    third = batch([str(tar), str(layout)], out, jobs=1)
    assert (third.analyzed, third.reused, third.failed) == (0, 3, 0)


def _corrupt_layer(layout: Path, index: int) -> str:
    """Flip 16 bytes in the middle of layer ``index``'s blob of the layout's one image; its digest."""
    manifest_digest = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
    manifest = json.loads((layout / "blobs/sha256" / manifest_digest.split(":")[1]).read_text())
    digest = str(manifest["layers"][index]["digest"])
    blob = layout / "blobs/sha256" / digest.split(":")[1]
    data = bytearray(blob.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    blob.chmod(0o644)
    blob.write_bytes(bytes(data))
    return digest


@pytest.mark.parametrize("bad_first", [True, False])
def test_an_image_whose_own_layer_blob_is_corrupt_fails(tmp_path: Path, bad_first: bool) -> None:
    """An image whose copy of a shared layer is corrupt fails as ``analyze`` fails it, whichever copy is read
    first and although an intact copy was scanned; each failed image's error names its own blob; a re-run whose
    scans are cached checks the copies again."""
    bad1, bad2, good = tmp_path / "bad1", tmp_path / "bad2", tmp_path / "good"
    shutil.copytree(SAMPLES / "cases/oci-gzip", good)
    shutil.copytree(SAMPLES / "cases/oci-gzip", bad1)
    digest = _corrupt_layer(bad1, 3)
    shutil.copytree(bad1, bad2)
    sources = [str(bad1), str(bad2), str(good)] if bad_first else [str(good), str(bad1), str(bad2)]
    out = tmp_path / "out"
    result = batch(sources, out, jobs=1)
    assert (result.analyzed, result.failed) == (1, 2), result.errors
    errors = dict(result.errors)
    for path in (bad1, bad2):
        assert f"{path.name}:blobs/sha256/{digest.split(':')[1]}" in errors[str(path)], errors
        assert "does not match" in errors[str(path)] or "corrupt" in errors[str(path)], errors
    assert result.layers_scanned == result.layers  # the intact copy was scanned
    alone = batch([str(bad1)], out, jobs=1)  # every layer is in the scan cache now
    assert (alone.analyzed, alone.failed, alone.layers_scanned) == (0, 1, 0), alone


def test_findings_are_those_of_imgscope_advise(tmp_path: Path) -> None:
    """The package rules (IS111, IS112, IS105's packages) run in batch too: the findings and their total are
    ``imgscope advise``'s, where an ``Analysis`` alone had left them out."""
    result = batch([str(SAMPLES / "packages/oci")], tmp_path / "out", jobs=1)
    want = imgscope.advice(SAMPLES / "packages/oci")
    assert {"IS111", "IS112"} <= {f.id for f in want.findings}  # the sample exercises the package rules
    [row] = result.tables["images"].to_pylist()
    assert row["findings_bytes_saved"] == want.total_saved
    got = sorted((r["id"], r["bytes_saved"], tuple(r["paths"])) for r in result.tables["findings"].to_pylist())
    assert got == sorted((f.id, f.bytes_saved, tuple(f.paths)) for f in want.findings)


def test_a_tag_naming_a_new_manifest_of_the_same_image_is_analyzed_again(tmp_path: Path) -> None:
    """The same config under a new manifest (re-compressed, re-pushed): the rows describe what the name holds now
    (its digest, stored size, compression), not the manifest it no longer names."""
    layout = tmp_path / "lay"
    _copy(f"oci:{SAMPLES}/cases/oci-gzip:1", f"oci:{layout}:1")
    out = tmp_path / "out"
    batch([str(layout)], out, jobs=1)
    shutil.rmtree(layout)
    _copy(f"oci:{SAMPLES}/cases/oci-zstd:1", f"oci:{layout}:1")
    again = batch([str(layout)], out, jobs=1)
    assert (again.analyzed, again.reused, again.layers_scanned) == (1, 0, 0)
    a = imgscope.analyze(layout)
    [row] = again.tables["images"].to_pylist()
    assert (row["digest"], row["stored_size"]) == (a.image.digest, a.summary.stored_size)
    assert {r["compression"] for r in again.tables["image_layers"].to_pylist()} == {"zstd"}


def test_a_rerun_with_files_writes_the_files_rows_of_images_analyzed_before(tmp_path: Path) -> None:
    """``--files`` on a dataset an earlier run wrote without it: the images are assembled again (their scans
    kept) so that the files table covers them, where they were reused with no files rows."""
    sources = [str(SAMPLES / "multi-tag.tar"), str(SAMPLES / "two-images.tar")]
    out = tmp_path / "out"
    first = batch(sources, out, jobs=1)
    again = batch(sources, out, jobs=1, files=True)
    assert (again.analyzed, again.reused, again.layers_scanned) == (first.analyzed, 0, 0)
    keys = {r["image_key"] for r in again.tables["images"].to_pylist()}
    assert {r["image_key"] for r in again.tables["files"].to_pylist()} == keys
    third = batch(sources, out, jobs=1, files=True)
    assert (third.analyzed, third.reused) == (0, first.analyzed)
    assert third.tables["files"].num_rows == again.tables["files"].num_rows


def test_one_image_named_two_ways_is_one_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative, a ``./`` and an absolute path to one file (a cron job with another working directory) are one
    image, and so are ``docker://HOST/REPO:TAG`` and ``HOST/REPO:TAG``: one job, one key, its rows reused."""
    from imgscope.fleet.plan import expand_sources

    shutil.copy(SAMPLES / "multi-tag.tar", tmp_path / "app.tar")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    first = batch(["app.tar"], out, jobs=1)
    again = batch(["./app.tar", str(tmp_path / "app.tar")], out, jobs=1)
    assert (again.images, again.analyzed, again.reused) == (1, 0, first.analyzed)
    assert again.tables["images"].num_rows == 1
    assert {r["image_count"] for r in again.tables["layers"].to_pylist()} == {1}
    jobs = expand_sources(["docker://127.0.0.1:5999/team/app:1", "127.0.0.1:5999/team/app:1"])
    assert [j.source for j in jobs] == ["docker://127.0.0.1:5999/team/app:1"]


def test_a_layer_that_could_not_be_scanned_is_not_said_to_come_from_an_earlier_run(tmp_path: Path) -> None:
    """A fresh run where one layer's only copy is corrupt: the summary says it could not be scanned; it said
    "1 from an earlier run" where there was none."""
    from rich.console import Console

    from imgscope.render.fleet import batch_to_dict, render_batch

    bad = tmp_path / "bad"
    shutil.copytree(SAMPLES / "cases/oci-gzip", bad)
    _corrupt_layer(bad, 3)
    result = batch([str(bad), str(SAMPLES / "multi-tag.tar")], tmp_path / "out", jobs=1)
    assert (result.layers_reused, result.layers - result.layers_scanned) == (0, 1)
    console = Console(width=200, color_system=None)
    with console.capture() as captured:
        console.print(render_batch(result))
    text = captured.get()
    assert (
        f"{result.layers} distinct layers: {result.layers_scanned} scanned, 0 from an earlier run, 1 could not" in text
    )
    assert batch_to_dict(result)["layers_reused"] == 0
    again = batch([str(SAMPLES / "multi-tag.tar")], tmp_path / "out", jobs=1)
    assert (again.layers_reused, again.layers_scanned) == (again.layers, 0)


def test_a_table_without_rows_is_still_a_parquet_file_the_docs_queries_read(tmp_path: Path) -> None:
    """Images without package databases: the packages table has no row, but a file with its schema, so the
    documented ``read_parquet('fleet/packages/*.parquet')`` reads 0 rows (DuckDB said "No files found");
    once rows come, that file goes."""
    duckdb = pytest.importorskip("duckdb")
    out = tmp_path / "fleet"
    batch([str(SAMPLES / "multi-platform")], out, jobs=1)
    assert duckdb.sql(f"select count(*) from read_parquet('{out}/packages/*.parquet')").fetchall() == [(0,)]
    assert [p.name for p in (out / "packages").iterdir()] == ["part-empty.parquet"]
    batch([str(SAMPLES / "packages/oci")], out, jobs=1)
    assert duckdb.sql(f"select count(*) from read_parquet('{out}/packages/*.parquet')").fetchall()[0][0] > 0
    assert "part-empty.parquet" not in [p.name for p in (out / "packages").iterdir()]


def test_a_path_is_one_spelling_whatever_way_it_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``link/../x.tar`` is ``..`` of the link's target, as the system reads it (abspath took the link's
    directory: another file); ``oci:DIR:TAG`` written relative and absolute is one image."""
    from imgscope.fleet.plan import canonical_source

    (tmp_path / "real/sub").mkdir(parents=True)
    shutil.copy(SAMPLES / "multi-tag.tar", tmp_path / "real/x.tar")
    shutil.copy(SAMPLES / "two-images.tar", tmp_path / "x.tar")
    (tmp_path / "lnk").symlink_to(tmp_path / "real/sub")
    monkeypatch.chdir(tmp_path)
    assert canonical_source("lnk/../x.tar") == str(tmp_path / "real/x.tar")
    shutil.copytree(SAMPLES / "cases/oci-gzip", tmp_path / "layout")
    spellings = ["oci:layout:1", "oci:./layout:1", f"oci:{tmp_path}/layout:1"]
    assert {canonical_source(s) for s in spellings} == {f"oci:{tmp_path}/layout:1"}
    result = batch(spellings, tmp_path / "out", jobs=1)
    assert (result.images, result.analyzed) == (1, 1), result.errors


def test_a_relative_path_gone_on_a_rerun_keeps_its_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file named relatively that is gone on the re-run: its rows are kept and said so, not joined by an
    error row (the missing path, no longer made absolute, matched none of them)."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(SAMPLES / "multi-tag.tar", tmp_path / "m.tar")
    first = batch(["m.tar"], tmp_path / "out", jobs=1)
    assert first.analyzed == 1
    (tmp_path / "m.tar").rename(tmp_path / "m.bak")
    again = batch(["m.tar"], tmp_path / "out", jobs=1)
    assert again.failed == 1 and "rows from an earlier run are kept" in again.errors[0][1]
    assert [r["error"] for r in _images(again)] == [None]


def test_a_docker_save_layer_two_images_share_is_checked_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A docker save's layers have no digest; two images of one save share a layer's member: one copy, read
    once (each image was its own copy, the member decompressed and hashed again for each)."""
    from imgscope.fleet import stages

    checked: list[tuple[str, int]] = []
    real = stages.check_blob

    def counting(image: imgscope.Image, index: int, known: Collection[str] = ()) -> str | None:
        checked.append((image.layers[index].member, index))
        return real(image, index, known)

    monkeypatch.setattr(stages, "check_blob", counting)
    result = batch([str(SAMPLES / "two-images.tar")], tmp_path / "out", jobs=1)
    assert result.analyzed == 2
    assert checked == [], checked  # tiny-b's two lower layers are tiny-a's: the same members


def test_the_files_table_stays_readable_when_a_run_without_files_empties_it(tmp_path: Path) -> None:
    """A run with --files, then the file replaced by another image and a run without: the files table lost its
    last rows, and its last file with them (DuckDB: "No files found")."""
    duckdb = pytest.importorskip("duckdb")
    image = tmp_path / "a.tar"
    shutil.copy(SAMPLES / "multi-tag.tar", image)
    out = tmp_path / "fleet"
    batch([str(image)], out, jobs=1, files=True)
    shutil.copy(SAMPLES / "cases/docker-archive.tar", image)
    batch([str(image)], out, jobs=1)
    assert duckdb.sql(f"select count(*) from read_parquet('{out}/files/*.parquet')").fetchall() == [(0,)]


def _swap_layer_content(layout: Path, index: int) -> str:
    """Give layer ``index`` of the layout's one image a blob whose content is not its diff_id (its tar with one more
    zero record), named by its own digest in a rewritten manifest: the blob matches its digest, not its diff_id."""
    entry = json.loads((layout / "index.json").read_text())["manifests"][0]
    manifest_file = layout / "blobs/sha256" / entry["digest"].split(":")[1]
    manifest = json.loads(manifest_file.read_text())
    old = layout / "blobs/sha256" / manifest["layers"][index]["digest"].split(":")[1]
    blob = gzip.compress(gzip.decompress(old.read_bytes()) + b"\0" * 512)
    digest = hashlib.sha256(blob).hexdigest()
    (layout / "blobs/sha256" / digest).write_bytes(blob)
    manifest["layers"][index].update(digest=f"sha256:{digest}", size=len(blob))
    data = json.dumps(manifest).encode()
    (layout / "blobs/sha256" / hashlib.sha256(data).hexdigest()).write_bytes(data)
    entry.update(digest=f"sha256:{hashlib.sha256(data).hexdigest()}", size=len(data))
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return digest


@pytest.mark.parametrize("bad_first", [True, False])
def test_a_blob_matching_its_digest_but_not_its_diff_id_fails(tmp_path: Path, bad_first: bool) -> None:
    """A layer blob that matches its digest but decompresses to something else than its diff_id fails its image as
    ``imgscope analyze`` fails it (exit 2, the layer and the mismatch named), whichever copy is read first and on a
    re-run whose scan of that diff_id is cached; the image holding the true content is analyzed."""
    from click.testing import CliRunner

    from imgscope.cli import main

    good, bad = tmp_path / "good", tmp_path / "bad"
    shutil.copytree(SAMPLES / "cases/oci-gzip", good)
    shutil.copytree(SAMPLES / "cases/oci-gzip", bad)
    digest = _swap_layer_content(bad, 3)
    alone = CliRunner().invoke(main, ["analyze", "--json", str(bad)])
    assert alone.exit_code == 2 and "does not match its diff_id" in alone.output, alone.output
    sources = [str(bad), str(good)] if bad_first else [str(good), str(bad)]
    out = tmp_path / "out"
    result = batch(sources, out, jobs=1)
    assert (result.analyzed, result.failed) == (1, 1), result.errors
    [(reference, message)] = result.errors
    assert reference == str(bad)
    assert f"bad:blobs/sha256/{digest}" in message and "does not match its diff_id" in message, message
    [row] = [r for r in result.tables["images"].to_pylist() if r["reference"] == str(bad)]
    assert row["error"] == message and row["size"] is None
    again = batch([str(bad)], out, jobs=1)  # the diff_id's scan is cached now
    assert (again.analyzed, again.failed, again.layers_scanned) == (0, 1, 0), again
    assert "does not match its diff_id" in again.errors[0][1]


def test_a_layout_tag_reads_as_the_reference_a_user_would_type(tmp_path: Path) -> None:
    """A layout's tag is labelled ``PATH:TAG`` (what ``imgscope analyze`` takes), not ``PATH:LAYOUT:TAG`` with the
    layout's name repeated; a tag that is a whole reference stays as it is; an artifact is labelled the same way."""
    from imgscope.fleet.plan import expand_sources
    from tests.registry_server import add_sbom

    layout = tmp_path / "lay"
    _copy(f"oci:{SAMPLES}/cases/oci-gzip:1", f"oci:{layout}:v1")
    _copy(f"oci:{SAMPLES}/cases/oci-gzip:1", f"oci:{layout}:example.com/team/app:2")
    add_sbom(layout, "v1", "sbom")
    artifacts: list[tuple[str, str]] = []
    jobs = expand_sources([str(layout), str(SAMPLES / "multi-platform")], artifacts=artifacts)
    labels = sorted(j.reference for j in jobs)
    assert labels == sorted(
        [
            f"{layout}:v1 [linux/amd64]",
            f"{layout}:example.com/team/app:2 [linux/amd64]",
            f"{SAMPLES}/multi-platform:1 [linux/amd64]",
            f"{SAMPLES}/multi-platform:1 [linux/arm64]",
        ]
    ), labels
    assert [a for a, _ in artifacts] == [f"{layout}:sbom"]
    for job in jobs:  # each label, typed back, names the image the job opens
        typed, _, platform = job.reference.partition(" [")
        want = imgscope.inspect(job.source, image=job.image, platform=job.platform)
        assert imgscope.inspect(typed, platform=platform.rstrip("]") or None).id == want.id, job.reference


def test_rows_written_by_an_older_imgscope_are_computed_again(tmp_path: Path) -> None:
    """Rows an earlier version wrote (before a fix to what they hold, such as the findings of the package rules)
    are assembled again on a re-run, from the scans kept, where they were reused until OUT/images was deleted;
    rows of this version are reused."""
    import pyarrow.parquet as pq

    from imgscope.fleet.tables import ROWS_VERSION

    source = str(SAMPLES / "packages/oci")
    out = tmp_path / "out"
    first = batch([source], out, jobs=1)
    [row] = first.tables["images"].to_pylist()
    assert row["rows_version"] == ROWS_VERSION
    want = sorted((r["id"], r["bytes_saved"]) for r in first.tables["findings"].to_pylist())

    def older(version: int | None) -> None:
        """Make the dataset look written by an older imgscope: its version, findings without the package rules."""
        for path in (out / "images").glob("*.parquet"):
            table = pq.read_table(path)
            table = table.drop_columns(["rows_version"])
            if version is not None:
                table = table.append_column("rows_version", pa.array([version] * table.num_rows, pa.int64()))
            pq.write_table(table, path)
        for path in (out / "findings").glob("*.parquet"):
            table = pq.read_table(path)
            pq.write_table(table.filter(pa.compute.invert(pa.compute.is_in(table["id"], pa.array(["IS111"])))), path)

    for version in (None, ROWS_VERSION - 1):  # before the column existed, and an older value of it
        older(version)
        again = batch([source], out, jobs=1)
        assert (again.analyzed, again.reused, again.layers_scanned) == (1, 0, 0), again
        assert sorted((r["id"], r["bytes_saved"]) for r in again.tables["findings"].to_pylist()) == want
        assert [r["rows_version"] for r in again.tables["images"].to_pylist()] == [ROWS_VERSION]
    third = batch([source], out, jobs=1)
    assert (third.analyzed, third.reused) == (0, 1)


class _Hiding:
    """An engine whose workers cannot see ``path``, which the driver saw: it is moved away once the run is planned
    (as a share mounted on the driver's host and not on the workers')."""

    def __init__(self, inner: Any, path: Path) -> None:
        self.inner, self.path = inner, path
        self.name, self.workers, self.local_disk = inner.name, inner.workers, inner.local_disk

    def map_unordered(self, fn: Any, items: Any) -> Any:
        if self.path.exists():
            self.path.rename(self.path.with_name("away"))
        return self.inner.map_unordered(fn, items)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("engine", ["dask", "ray"])
def test_a_worker_that_cannot_see_a_path_says_so(tmp_path: Path, engine: str) -> None:
    """A worker that cannot read a path the driver opened fails its image with that said (the path, the worker's
    host, what every worker needs), not a bare "no such file or directory" about a file the user can see."""
    import socket

    from imgscope.fleet.engines import make_engine

    pytest.importorskip("distributed" if engine == "dask" else "ray")
    tar = tmp_path / "app.tar"
    shutil.copy(SAMPLES / "multi-tag.tar", tar)
    runner = _Hiding(make_engine(engine, workers=1), tar)
    try:
        result = batch([str(tar)], tmp_path / "out", engine=runner)
    finally:
        runner.close()
    [(reference, message)] = result.errors
    assert reference == str(tar)
    assert message.startswith(f"{tar}: ") and "cannot read" in message and socket.gethostname() in message, message
    assert "every worker" in message and "\n" not in message, message


def test_a_worker_names_a_path_it_cannot_read_in_every_spelling_the_driver_gives(tmp_path: Path) -> None:
    """The driver spells a path as ``/abs/x.tar``, ``/abs/x.tar:REF`` or ``oci:/abs/layout:TAG``: a worker that
    cannot read the path says so in each; one that can read it but cannot open the image keeps the real error."""
    from imgscope.fleet.plan import ImageJob, canonical_source
    from imgscope.fleet.stages import WorkerCannotReadError, open_in_worker

    shutil.copytree(SAMPLES / "cases/oci-gzip", tmp_path / "layout")
    shutil.copy(SAMPLES / "multi-tag.tar", tmp_path / "x.tar")
    names = [f"oci:{tmp_path}/layout:1", str(tmp_path / "x.tar"), f"{tmp_path}/x.tar:localhost/tiny-a:1"]
    jobs = [ImageJob(name, canonical_source(name)) for name in names]
    assert [j.source for j in jobs] == names
    for job in jobs:
        open_in_worker(job)
    wrong = ImageJob("x", f"{tmp_path}/x.tar:no-such-tag")
    with pytest.raises(imgscope.ImgscopeError) as raised:
        open_in_worker(wrong)
    assert not isinstance(raised.value, WorkerCannotReadError), raised.value
    (tmp_path / "layout").rename(tmp_path / "away")
    (tmp_path / "x.tar").rename(tmp_path / "away.tar")
    for job in jobs:
        with pytest.raises(WorkerCannotReadError, match="cannot read it \\(no such file or directory\\)"):
            open_in_worker(job)


def test_a_copy_with_the_digest_a_scan_was_read_from_is_only_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking copies costs a decompression only where it tells something: a copy whose digest is that of the blob
    a (cached) scan was read from is the same bytes, and is only hashed."""
    from imgscope.fleet import stages
    from imgscope.fleet.engines import LocalEngine
    from imgscope.sources.blobs import LayerStream

    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(SAMPLES / "cases/oci-gzip", first)
    shutil.copytree(SAMPLES / "cases/oci-gzip", second)
    decompressed: list[str] = []

    class Counting(LayerStream):
        def __init__(self, raw: Any, where: str, **kwargs: Any) -> None:
            decompressed.append(where)
            super().__init__(raw, where, **kwargs)

    monkeypatch.setattr(stages, "LayerStream", Counting)
    out = tmp_path / "out"
    both = batch([str(first), str(second)], out, jobs=1)
    assert (both.analyzed, decompressed) == (2, [])  # the second copies have the digests of the first, scanned
    for remote in (False, True):  # the workers read the cached scans themselves, or are sent what they say
        shutil.rmtree(out / "images")
        engine = LocalEngine(1)
        engine.local_disk = not remote
        alone = batch([str(second)], out, engine=engine)  # the scans cached: the copies have their digests
        assert (alone.analyzed, alone.layers_scanned, decompressed) == (1, 0, []), decompressed
    shutil.rmtree(out / "images")
    _swap_layer_content(second, 3)  # now one copy holds other content under another digest: it is decompressed
    swapped = batch([str(second)], out, jobs=1)
    assert (swapped.failed, len(decompressed)) == (1, 1), decompressed
