"""Layer scans in worker processes and their merge in order (issue 11): the same records, the same documents,
the same filesystem after every layer as umoci unpacked it."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pytest

import imgscope
from imgscope.analysis.scan import LayerScan, StreamFigures, layer_where, scan_layer, scan_layers
from imgscope.dive.figures import DiveLayer
from imgscope.errors import CorruptLayerError
from imgscope.model import Compression, EntryType, TarEntries, TarEntry
from imgscope.render import json as json_report
from imgscope.union.filesystem import FileSystem
from tests.conftest import CASES_FORMATS, SAMPLES

IMAGES = [
    *[(rel, None, None) for rel in CASES_FORMATS],
    ("cases-vfs/docker-archive.tar", None, None),
    ("advise.tar", None, None),
    ("multi-tag.tar", None, None),
    ("two-images.tar", "localhost/tiny-a:1", None),
    ("two-images.tar", "tiny-b:1", None),
    ("multi-platform", None, "linux/amd64"),
    ("multi-platform", None, "linux/arm64"),
]


@pytest.mark.parametrize(("rel", "image", "platform"), IMAGES)
def test_worker_scans_equal_in_process_scans(rel: str, image: str | None, platform: str | None) -> None:
    img = imgscope.open_image(SAMPLES / rel, image=image, platform=platform)
    here = [scan_layer(img, i) for i in range(len(img.layers))]
    from_workers = list(scan_layers(img, jobs=2))
    assert [s.index for s in from_workers] == list(range(len(img.layers)))  # in layer order
    assert from_workers == here
    for scan in here:
        again = LayerScan.from_bytes(scan.to_bytes())
        assert again == scan and again.to_bytes() == scan.to_bytes()
        assert len(again.entries) == len(scan.entries)
        assert all(e.digest is not None for e in again.entries if e.type is EntryType.FILE)


@pytest.mark.parametrize(("rel", "image", "platform"), IMAGES)
def test_json_documents_identical_whatever_the_jobs(rel: str, image: str | None, platform: str | None) -> None:
    docs = {
        jobs: json_report.dumps(imgscope.analyze(SAMPLES / rel, image=image, platform=platform, jobs=jobs).to_dict())
        for jobs in (1, 4)
    }
    assert docs[1] == docs[4]


def test_columns_hold_what_an_array_cannot() -> None:
    """A PAX uid of 30 digits, a name with escaped bytes, an empty link target: the wire form keeps them."""
    digest = bytes(range(32))
    entries = [
        TarEntry("a", EntryType.DIR, 0, 0o755, 0, 0),
        TarEntry("a/b\\xff", EntryType.FILE, 7, 0o644, 10**30, 2**64, "", digest),
        TarEntry("a/l", EntryType.SYMLINK, 0, 0o777, 1, 1, "../b\\xff"),
        TarEntry("a/h", EntryType.HARDLINK, 0, 0o644, 1, 1, "a/b\\xff"),
        TarEntry("a/.wh.gone", EntryType.FILE, 0, 0o644, 0, 0, "", digest),
    ]
    figures = StreamFigures(Compression.GZIP, 10, 20, None, "sha256:" + "0" * 64)
    scan = LayerScan(3, entries, figures, dive=DiveLayer.of(entries))
    again = LayerScan.from_bytes(scan.to_bytes())
    assert again.entries == entries
    assert again == scan
    with pytest.raises(ValueError):
        LayerScan.from_bytes(b"garbage")


def test_wire_form_of_columns_names_implied_directories_and_refuses_a_cut_head() -> None:
    """Members held by column whose directories no member names ("x/y" under "x", never listed): dive's tree
    names them, so the wire form adds them to the string table; the bytes read back equal the scan, and encode
    to the same bytes again. A head cut short is refused."""
    entries = TarEntries(
        [
            TarEntry("x/y/f", EntryType.FILE, 3, 0o644, 0, 0, "", bytes(32)),
            TarEntry("x/y/.wh.g", EntryType.FILE, 0, 0o644, 0, 0, "", bytes(range(32))),
            TarEntry("z", EntryType.SYMLINK, 0, 0o777, 0, 0, "x/y/f"),
        ]
    )
    dive = DiveLayer.of(entries)
    assert {"x", "y"} <= set(dive.names) and "x" not in set(entries.names())
    scan = LayerScan(0, entries, StreamFigures(Compression.NONE, 3072, 3072, None, None), dive=dive)
    data = scan.to_bytes()
    again = LayerScan.from_bytes(data)
    assert again == scan and again.dive.full_paths() == dive.full_paths()
    assert again.to_bytes() == data == scan.to_bytes()
    head, _columns = scan.wire_parts()
    for cut in (len(head) - 1, len(head) - 5, 10):
        with pytest.raises((ValueError, EOFError)):
            LayerScan.from_bytes(data[:cut])
    import pickle

    for held in (scan, LayerScan.from_bytes(data)):  # members as entries, and as a view of the wire bytes
        assert pickle.loads(pickle.dumps(held)) == scan


@pytest.mark.parametrize(
    ("rel", "truth"),
    [*[(rel, "cases") for rel in CASES_FORMATS], ("cases-vfs/docker-archive.tar", "cases-vfs")],
)
def test_merge_of_worker_scans_equals_umoci_after_every_layer(rel: str, truth: str) -> None:
    expected: dict[int, set[tuple[str, str, int]]] = defaultdict(set)
    for line in (SAMPLES / "truth" / f"{truth}.per-layer.tsv").read_text().splitlines()[1:]:
        layer, path, kind, size = line.split("\t")[:4]
        expected[int(layer)].add((path, kind, int(size) if kind == "file" else 0))
    img = imgscope.open_image(SAMPLES / rel)
    fs = FileSystem()
    for scan in scan_layers(img, jobs=2):
        fs.apply_layer(scan.entries, layer_where(img, scan.index))
        got = set()
        for path, node in fs.walk():
            kind = "file" if node.type in (EntryType.FILE, EntryType.HARDLINK) else node.type.value
            got.add((path, kind, node.size if kind == "file" else 0))
        assert sorted(got ^ expected[scan.index]) == [], scan.index
    assert fs.layers_applied == len(expected)


def test_an_error_in_a_worker_is_the_same_one_line(tmp_path: Path) -> None:
    """A corrupt second layer: the same error (class and line) whether a worker or this process found it."""
    layout = tmp_path / "oci"
    shutil.copytree(SAMPLES / "cases" / "oci-plain", layout)
    img = imgscope.open_image(layout)
    blob = layout / "blobs" / "sha256" / img.layers[1].digest.removeprefix("sha256:")  # type: ignore[union-attr]
    data = bytearray(blob.read_bytes())
    data[600] ^= 0x01  # the second header: its checksum fails
    blob.write_bytes(bytes(data))
    messages = []
    for jobs in (1, 2):
        with pytest.raises(CorruptLayerError) as info:
            imgscope.analyze(layout, jobs=jobs)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "(layer 1): " in messages[0]


def test_jobs_must_be_positive() -> None:
    img = imgscope.open_image(SAMPLES / "cases" / "oci-plain")
    with pytest.raises(ValueError, match="jobs"):
        list(scan_layers(img, jobs=0))


@pytest.mark.parametrize("damage", ["dir-index", "type-code", "digest-bytes", "short-column"])
def test_a_damaged_cached_scan_is_refused_when_read(damage: str) -> None:
    """batch's scan cache is a directory others may write to: a record whose columns disagree is refused when it
    is read (one line naming what to delete), never met later as an IndexError inside the merge."""
    import marshal
    from array import array

    from imgscope.fleet.stages import ScanCacheError, decode_scan, encode_scan

    image = imgscope.open_image(SAMPLES / "cases" / "docker-archive.tar")
    scan = scan_layer(image, 1)
    head, columns = scan.wire_parts()
    cols = list(marshal.loads(columns))
    if damage == "dir-index":
        dirs = array("I")
        dirs.frombytes(cols[2])
        dirs[0] = len(cols[1]) + 5
        cols[2] = dirs.tobytes()
    elif damage == "type-code":
        cols[5] = bytes([200]) + cols[5][1:]
    elif damage == "digest-bytes":
        cols[10] = cols[10][:-1]
    else:
        cols[5] = cols[5][:-1]
    damaged = head + marshal.dumps(tuple(cols))
    diff_id = scan.stream.diff_id
    assert diff_id is not None
    decode_scan(encode_scan(scan, {}), diff_id)  # the undamaged record reads
    with pytest.raises(ScanCacheError, match="delete it from the scan cache"):
        decode_scan(encode_scan(LayerScan.from_bytes(damaged), {}), diff_id)


@pytest.mark.parametrize("rel", ["cases/oci-zstd", "cases/oci-gzip", "cases/docker-archive.tar"])
def test_a_scan_with_progress_leaves_no_stream_behind_while_the_collector_is_paused(rel: str) -> None:
    """analyze pauses Python's collector for the whole pass, and a scan worker runs without it: a layer's stream
    (its decompressor, its chunks) must be freed by reference counting alone. A progress callback that reads the
    stream made a cycle that kept every layer's stream until the end."""
    import gc

    from imgscope.sources.blobs import LayerStream

    img = imgscope.open_image(SAMPLES / rel)
    calls: list[int] = []
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for i in range(len(img.layers)):
            scan_layer(img, i, progress=lambda layer, count, read: calls.append(read))
        alive = sum(1 for o in gc.get_objects() if isinstance(o, LayerStream))
    finally:
        if was:
            gc.enable()
    assert calls and max(calls) > 0  # the callback did read the streams' sizes
    assert alive == 0
