"""The redesign's promises (issue 10): bugs the old layout hid, the entry points, the scan/merge split."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import io
import json
import shutil
import tarfile
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import imgscope
from imgscope.analysis import LayerScan, merge_scans, scan_layer
from imgscope.cli import main
from imgscope.model import Digest, LayerBlob
from tests.conftest import SAMPLES

SECRET_MARK = "SECRETVALUE"  # in every planted secret's value (samples/src/wasteful)

OCI_PLAIN = SAMPLES / "cases/oci-plain"  # uncompressed layers (umoci): a layer's blob digest is its diff_id
WASTEFUL = ("advise.tar", "localhost/wasteful:latest")


def _relayout(
    src: Path, dst: Path, algorithm: str = "sha512", corrupt_layer: bool = False, created_by: str | None = None
) -> Path:
    """The OCI layout ``src`` with every digest (layers, diff_ids, config, manifest) written with ``algorithm``, as
    the image spec allows; the layer bytes untouched (or one byte changed with ``corrupt_layer``); with
    ``created_by``, the first history entry says so."""
    shutil.copytree(src, dst)
    old = dst / "blobs" / "sha256"
    new = dst / "blobs" / f"{algorithm}.new"
    new.mkdir()

    def put(data: bytes) -> str:
        hexpart = hashlib.new(algorithm, data).hexdigest()
        (new / hexpart).write_bytes(data)
        return f"{algorithm}:{hexpart}"

    index = json.loads((dst / "index.json").read_text())
    manifest = json.loads((old / index["manifests"][0]["digest"].split(":")[1]).read_bytes())
    config = json.loads((old / manifest["config"]["digest"].split(":")[1]).read_bytes())
    digests: dict[str, str] = {}
    for n, layer in enumerate(manifest["layers"]):
        data = (old / layer["digest"].split(":")[1]).read_bytes()
        digests[layer["digest"]] = put(data)
        layer["digest"] = digests[layer["digest"]]
        if corrupt_layer and n == 0:
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:  # a byte of a file's content: a valid tar still
                at = next(m for m in tar if m.isfile() and m.size).offset_data
            data = data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]
            (new / layer["digest"].split(":")[1]).write_bytes(data)
    config["rootfs"]["diff_ids"] = [digests[d] for d in config["rootfs"]["diff_ids"]]
    if created_by is not None:
        config["history"][0]["created_by"] = created_by
    config_bytes = json.dumps(config).encode()
    manifest["config"] = {**manifest["config"], "digest": put(config_bytes), "size": len(config_bytes)}
    manifest_bytes = json.dumps(manifest).encode()
    index["manifests"][0] = {**index["manifests"][0], "digest": put(manifest_bytes), "size": len(manifest_bytes)}
    (dst / "index.json").write_text(json.dumps(index))
    shutil.rmtree(old)
    new.rename(dst / "blobs" / algorithm)
    return dst


def test_sha512_digests_are_verified_with_sha512(tmp_path: Path) -> None:
    # sources/config.py accepted sha512 digests, but layers were hashed with sha256: a valid image was "corrupt".
    layout = _relayout(OCI_PLAIN, tmp_path / "sha512")
    a = imgscope.analyze(layout)
    plain = imgscope.analyze(OCI_PLAIN)
    assert a.verified and all(r.diff_id and r.diff_id.startswith("sha512:") for r in a.layers)
    assert a.summary == plain.summary
    bad = _relayout(OCI_PLAIN, tmp_path / "bad", corrupt_layer=True)
    with pytest.raises(imgscope.CorruptLayerError, match="expected sha512:"):
        imgscope.analyze(bad)


def test_digest_knows_its_algorithm() -> None:
    d = Digest.parse("sha512:" + "ab" * 64)
    assert (d.algorithm, str(d)) == ("sha512", "sha512:" + "ab" * 64)
    assert d.hasher().name == "sha512"
    with pytest.raises(ValueError):
        Digest.parse("md5:" + "0" * 32)


def test_check_base_image_follows_platform() -> None:
    # cli/check.py opened --base-image without --platform: for a multi-arch base, the wrong platform's layers.
    layout = str(SAMPLES / "multi-platform")
    for platform in ("linux/amd64", "linux/arm64"):
        result = CliRunner().invoke(
            main,
            ["check", layout, "--platform", platform, "--base-image", layout, "--no-dive-ci", "--format", "json"],
        )
        assert result.exit_code in (0, 1), result.output
        doc = json.loads(result.output)
        layers = len(imgscope.open_image(layout, platform=platform).layers)
        assert doc["base_layers"] == layers, platform


def test_analyze_leaves_the_collector_on_while_other_threads_run() -> None:
    # analyze() switched off the process-wide collector; a host application's other threads felt it.
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    seen: list[bool] = []
    try:
        imgscope.analyze(SAMPLES / "cases/oci-gzip", progress=lambda *_: seen.append(gc.isenabled()))
    finally:
        stop.set()
        other.join()
    assert seen and all(seen)
    assert gc.isenabled()
    imgscope.analyze(SAMPLES / "cases/oci-gzip")  # alone: it may pause the collector, and must restore it
    assert gc.isenabled()


def test_absent_blob_is_a_missing_blob_error() -> None:
    blob = LayerBlob(0, None, None, None, None, "blobs/sha256/x (layer 0)")
    with pytest.raises(imgscope.MissingBlobError) as caught:
        blob.open()
    assert isinstance(caught.value, FileNotFoundError)


ENTRY_POINTS: list[Any] = [
    imgscope.analyze,
    imgscope.advise,
    imgscope.advice,
    imgscope.check,
    imgscope.tree,
    imgscope.history,
    imgscope.inspect,
    imgscope.reconstruct,
    lambda source: imgscope.diff(source, source),
]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_missing_file_is_a_file_not_found_error(entry: Any, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        entry(tmp_path / "nothing-here.tar")
    assert isinstance(caught.value, imgscope.ImgscopeError) and "nothing-here.tar" in str(caught.value)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_entry_points_take_a_path_an_image_or_an_analysis(entry: Any) -> None:
    path = SAMPLES / "cases/oci-gzip"
    results = [entry(path), entry(str(path)), entry(imgscope.open_image(path)), entry(imgscope.analyze(path))]
    docs = [json.dumps(r.to_dict() if hasattr(r, "to_dict") else [f.to_dict() for f in r]) for r in results]
    assert len(set(docs)) == 1


def test_scan_then_merge_is_analyze() -> None:
    img = imgscope.open_image(SAMPLES / "cases/docker-archive.tar")
    scans = [scan_layer(img, i) for i in range(len(img.layers))]
    assert all(isinstance(s, LayerScan) and s.index == i for i, s in enumerate(scans))
    merged = merge_scans(img, scans)
    assert merged.to_dict() == imgscope.analyze(img).to_dict()
    with pytest.raises(ValueError, match="out of order"):
        merge_scans(img, reversed(scans))


def test_scan_observers_see_whole_small_files() -> None:
    class Whole:
        def __init__(self, _layer: int) -> None:
            self.files: dict[str, bytes] = {}

        def wants(self, name: str, size: int) -> int:
            return size if size <= 1 << 20 else 0  # whole files of up to 1 MiB

        def observe(self, path: str, size: int, content: bytes) -> None:
            assert len(content) == size
            self.files[path] = content

    img = imgscope.open_image(SAMPLES / "cases/oci-gzip")
    scan = scan_layer(img, 0, observers=[Whole])
    (observer,) = scan.observers
    assert isinstance(observer, Whole)
    regular = {e.path: e for e in scan.entries if e.type is imgscope.EntryType.FILE and 0 < e.size <= 1 << 20}
    assert set(observer.files) == set(regular)
    assert all(hashlib.sha256(observer.files[p]).digest() == e.digest for p, e in regular.items())


def test_commands_on_one_line_are_masked_everywhere(tmp_path: Path) -> None:
    # diff and the tree title printed layer commands unmasked (history's table too): one helper masks them all.
    leaky = _relayout(OCI_PLAIN, tmp_path / "leaky", "sha256", created_by=f"/bin/sh -c TOKEN={SECRET_MARK} make")
    runner = CliRunner()
    for args in (
        ["diff", str(leaky), f"{SAMPLES / WASTEFUL[0]}:localhost/clean:1.0"],
        ["tree", str(leaky), "--layer", "0"],
        ["history", str(leaky)],
        ["analyze", str(leaky)],
    ):
        result = runner.invoke(main, args, env={"COLUMNS": "300"})
        assert result.exit_code == 0, result.output
        assert "RUN TOKEN=*** make" in result.output, args
        assert SECRET_MARK not in result.output, args
    # the JSON keeps the history as the image records it
    assert SECRET_MARK in imgscope.analyze(leaky).layers[0].command


def test_tree_layer_out_of_range_is_one_of_our_errors() -> None:
    with pytest.raises(imgscope.UsageError) as caught:
        imgscope.tree(SAMPLES / "cases/oci-gzip", 99)
    assert isinstance(caught.value, IndexError)


def test_results_show_themselves_through_the_registry() -> None:
    a = imgscope.analyze(SAMPLES / "cases/oci-gzip")
    html = a._repr_html_()
    assert html is not None and "Wasted" in html
    assert a.__rich__() is not None
    # a type without a registered renderer shows its repr
    from imgscope._display import Displayable

    class Unregistered(Displayable):
        pass

    other = Unregistered()
    assert other._repr_html_() is None and other.__rich__() == repr(other) == object.__repr__(other)


def test_public_fields_are_documented_for_help() -> None:
    # help(imgscope.X) shows the class docstring: every public field of every public result type is named there.
    missing = {}
    for name in imgscope.__all__:
        obj = getattr(imgscope, name)
        if isinstance(obj, type) and dataclasses.is_dataclass(obj):
            doc = obj.__doc__ or ""
            absent = [f.name for f in dataclasses.fields(obj) if not f.name.startswith("_") and f"{f.name}:" not in doc]
            if absent:
                missing[name] = absent
    assert missing == {}


def test_the_dockerfile_view_masks_secrets() -> None:
    """history --dockerfile, piped or not, prints no planted secret (the table already masked them)."""
    from click.testing import CliRunner

    from imgscope.cli import main

    result = CliRunner().invoke(main, ["history", str(SAMPLES / "advise.tar"), "--image", "wasteful", "--dockerfile"])
    assert result.exit_code == 0, result.output
    assert "API_KEY=***" in result.output
    assert SECRET_MARK not in result.output
