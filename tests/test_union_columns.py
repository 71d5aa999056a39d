"""The union filesystem by column gives what the object-per-path form gave (``tests/union_reference.py``): the same
tree, the same changes in the same order, the same waste in the same order, the same errors; on generated layers
(files, directories, symlinks through ``..`` and ``/``, hard links, whiteouts, opaque markers, a path written
twice) and on the layers of every sample image."""

from __future__ import annotations

import hashlib
import itertools
import random
from array import array
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imgscope
from imgscope.analysis.scan import layer_where, scan_layers
from imgscope.errors import CorruptLayerError
from imgscope.model import EntryType, TarEntries, TarEntry
from imgscope.union.filesystem import FileSystem
from tests.union_reference import FileSystem as ReferenceFileSystem

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

NAMES = ["a", "b", "c"]
PATHS = [p for p in ("a", "b", "c", "a/a", "a/b", "b/a", "b/c", "a/a/a", "a/b/c", "b/a/b")]


def _digest(content: str) -> bytes:
    return hashlib.sha256(content.encode()).digest()


@st.composite
def entries(draw: st.DrawFn) -> TarEntry:
    path = draw(st.sampled_from(PATHS))
    kind = draw(st.sampled_from(["file", "file", "dir", "dir", "symlink", "hardlink", "whiteout", "opaque", "aufs"]))
    mode = draw(st.sampled_from([0o644, 0o755, 0o700]))
    uid = draw(st.sampled_from([0, 1000]))
    parent, _, name = path.rpartition("/")
    if kind == "file":
        content = draw(st.sampled_from(["", "x", "yy"]))
        return TarEntry(path, EntryType.FILE, len(content), mode, uid, 0, "", _digest(content))
    if kind == "dir":
        return TarEntry(path, EntryType.DIR, 0, mode, uid, 0)
    if kind == "symlink":
        target = draw(st.sampled_from(["a", "b", "/a", "/b/a", "..", "../b", "../../a", "c", "a/b", "."]))
        return TarEntry(path, EntryType.SYMLINK, 0, 0o777, 0, 0, target)
    if kind == "hardlink":
        return TarEntry(path, EntryType.HARDLINK, 0, mode, uid, 0, draw(st.sampled_from(PATHS)))
    if kind == "whiteout":
        marker = f"{parent}/.wh.{name}" if parent else f".wh.{name}"
        return TarEntry(marker, EntryType.FILE, 0, 0o644, 0, 0, "", _digest(""))
    if kind == "opaque":
        marker = f"{parent}/.wh..wh..opq" if parent else ".wh..wh..opq"
        return TarEntry(marker, EntryType.FILE, 0, 0o644, 0, 0, "", _digest(""))
    return TarEntry(".wh..wh.plnk/1.2", EntryType.FILE, 3, 0o644, 0, 0, "", _digest("aufs"))


def _tree(fs: Any) -> list[tuple[Any, ...]]:
    return [
        (path, n.type, n.size, n.mode, n.uid, n.gid, n.link_target, n.digest, n.layer, n.record)
        for path, n in fs.walk()
    ]


def _apply_both(layers: list[list[TarEntry]]) -> None:
    new, old = FileSystem(), ReferenceFileSystem()
    for number, layer in enumerate(layers):
        try:
            expected = old.apply_layer(layer, f"layer {number}")
        except CorruptLayerError as error:
            with pytest.raises(CorruptLayerError) as info:
                new.apply_layer(TarEntries(layer), f"layer {number}")
            assert str(info.value) == str(error)
            return
        got = new.apply_layer(TarEntries(layer), f"layer {number}")
        assert list(got.changes) == list(expected.changes), number  # in the same order
        assert (got.whiteouts, got.opaque_dirs, got.stored_bytes) == (
            expected.whiteouts,
            expected.opaque_dirs,
            expected.stored_bytes,
        )
        assert new.wasted == old.wasted, number
        assert _tree(new) == _tree(old), number
        assert new.visible_records() == old.visible_records()
        for path in PATHS:
            a, b = new.lookup(path), old.lookup(path)
            assert (a is None) == (b is None)
            if a is not None and b is not None:
                assert (a.type, a.size, a.mode, a.link_target, a.digest, a.layer) == (
                    b.type,
                    b.size,
                    b.mode,
                    b.link_target,
                    b.digest,
                    b.layer,
                )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(entries(), max_size=12), min_size=1, max_size=4))
def test_generated_layers_as_the_reference(layers: list[list[TarEntry]]) -> None:
    _apply_both(layers)


@pytest.mark.parametrize(
    "rel",
    [
        "cases/docker-archive.tar",
        "cases-vfs/docker-archive.tar",
        "cases/oci-plain",
        "advise.tar",
        "hostile-names.tar",
        "packages/oci",
    ],
)
def test_sample_layers_as_the_reference(rel: str) -> None:
    img = imgscope.open_image(SAMPLES / rel)
    layers = [list(scan.entries) for scan in scan_layers(img, jobs=1)]
    _apply_both(layers)
    assert layer_where(img, 0)


def test_a_directory_removed_and_made_again_keeps_its_lower_paths() -> None:
    """A whiteout of a directory, then the same layer writing below it again: each path below is compared with
    what the layer removed there (modified, unchanged or removed), not taken as new."""
    f = _digest("x")
    lower = [
        TarEntry("d", EntryType.DIR, 0, 0o755, 0, 0),
        TarEntry("d/keep", EntryType.FILE, 1, 0o644, 0, 0, "", f),
        TarEntry("d/gone", EntryType.FILE, 1, 0o644, 0, 0, "", f),
        TarEntry("d/e", EntryType.DIR, 0, 0o755, 0, 0),
        TarEntry("d/e/x", EntryType.FILE, 1, 0o644, 0, 0, "", f),
    ]
    upper = [
        TarEntry("d", EntryType.FILE, 1, 0o644, 0, 0, "", f),
        TarEntry("d", EntryType.DIR, 0, 0o755, 0, 0),
        TarEntry("d/keep", EntryType.FILE, 1, 0o600, 0, 0, "", f),
        TarEntry("d/e/x", EntryType.FILE, 1, 0o644, 0, 0, "", f),
    ]
    _apply_both([lower, upper])
    fs = FileSystem()
    fs.apply_layer(lower)
    changes = {c.path: (c.kind.value, c.metadata_only) for c in fs.apply_layer(upper).changes}
    assert changes == {"/d/keep": ("modified", True), "/d/gone": ("removed", False)}


_reads = [0]


class _CountingState(bytearray):
    """The rows' state column, counting the rows read (the work of listing children)."""

    def __getitem__(self, key: Any) -> Any:
        got = super().__getitem__(key)
        _reads[0] += len(got) if isinstance(key, slice) else 1
        return got


class _CountingParents(array):  # type: ignore[type-arg]
    """The rows' parent column, counting the rows read."""

    def __getitem__(self, key: Any) -> Any:
        got = super().__getitem__(key)
        _reads[0] += len(got) if isinstance(key, slice) else 1
        return got


@pytest.mark.parametrize("kind", ["replace", "opaque"])
def test_listing_children_follows_the_directory_not_the_table(kind: str) -> None:
    """Replacing N directories, or emptying one small directory in many layers over a large base, reads each
    directory's own rows: a pass over every row for each (a hostile layer's quadratic time) reads far more."""
    n = 3000
    empty = hashlib.sha256().digest()
    fs = FileSystem()
    fs._state = _CountingState(fs._state)
    fs._parent = fs.paths.parents = _CountingParents("I", fs._parent)
    fs.apply_layer(TarEntries(TarEntry(f"d{i}", EntryType.DIR, 0, 0o755, 0, 0, "", None) for i in range(n)))
    if kind == "replace":
        layers = [TarEntries(TarEntry(f"d{i}", EntryType.FILE, 0, 0o644, 0, 0, "", empty) for i in range(n))]
    else:
        layers = [TarEntries([TarEntry("d0/.wh..wh..opq", EntryType.FILE, 0, 0o644, 0, 0, "", empty)])] * 50
    _reads[0] = 0
    for layer in layers:
        fs.apply_layer(layer)
    assert _reads[0] < 20 * n, _reads[0]
    want = EntryType.FILE if kind == "replace" else EntryType.DIR
    for i in range(0, n, 97):
        node = fs.lookup(f"d{i}")
        assert node is not None and node.type is want


WIDE_NAMES = ["a", "b", "c", "d"]
WIDE_PATHS = ["/".join(parts) for depth in (1, 2, 3) for parts in itertools.product(WIDE_NAMES, repeat=depth)] + [
    "a/./b",
    "b/../c",
    "./d",
]


LEAVES = [p for p in WIDE_PATHS if p.count("/") == 2]
INNER = [p for p in WIDE_PATHS if p.count("/") < 2]


@st.composite
def wide_entries(draw: st.DrawFn) -> TarEntry:
    """Members over 84 paths three deep (and a few with ``.`` and ``..``), files and symlinks mostly at the
    leaves, directories above them (hard links, and symlinks on the way, are ``entries``'): layers that write
    many paths, most of them new, in directories the same layer makes, with files and directories written again
    over the layers below (the union's written-out ways: new path, row made ahead, file again, directory again).
    """
    kind = draw(st.sampled_from(["file"] * 8 + ["dir"] * 6 + ["symlink", "whiteout", "whiteout"]))
    path = draw(st.sampled_from(INNER if kind == "dir" else LEAVES if kind != "whiteout" else WIDE_PATHS))
    if draw(st.integers(0, 20)) == 0:
        path = draw(st.sampled_from(WIDE_PATHS))  # now and then anywhere: a file where a directory was
    mode = draw(st.sampled_from([0o644, 0o755]))
    parent, _, name = path.rpartition("/")
    if kind == "file":
        content = draw(st.sampled_from(["", "x", "yy"]))
        uid = draw(st.sampled_from([0, 7]))
        return TarEntry(path, EntryType.FILE, len(content), mode, uid, 0, "", _digest(content))
    if kind == "dir":
        return TarEntry(path, EntryType.DIR, 0, mode, 0, 0)
    if kind == "symlink":
        return TarEntry(path, EntryType.SYMLINK, 0, 0o777, 0, 0, draw(st.sampled_from(["a", "/b/a", "..", "c/d"])))
    marker = f"{parent}/.wh.{name}" if parent else f".wh.{name}"
    return TarEntry(marker, EntryType.FILE, 0, 0o644, 0, 0, "", _digest(""))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(wide_entries(), min_size=10, max_size=80), min_size=1, max_size=4))
def test_wide_generated_layers_as_the_reference(layers: list[list[TarEntry]]) -> None:
    _apply_both(layers)


def test_layers_that_grow_the_index_as_the_reference() -> None:
    """Thousands of paths a layer (the index reserved and grown several times), then layers that write many of
    them again, remove some and make others: the same tree, changes and waste as the reference."""
    rng = random.Random(11)
    dirs = [f"d{i}" for i in range(40)] + [f"d{i}/e{j}" for i in range(40) for j in range(3)]
    layers: list[list[TarEntry]] = []
    for number in range(4):
        layer: list[TarEntry] = []
        for d in dirs:
            if rng.random() < 0.6:
                layer.append(TarEntry(d, EntryType.DIR, 0, rng.choice([0o755, 0o700]), 0, 0))
            for f in range(rng.randrange(0, 25 if number == 0 else 8)):
                content = rng.choice(["", "x", f"{number}{f}"])
                path = f"{d}/f{f}"
                layer.append(TarEntry(path, EntryType.FILE, len(content), 0o644, number % 2, 0, "", _digest(content)))
        if number:
            for d in rng.sample(dirs, 6):
                layer.append(TarEntry(f"{d}/.wh.f{rng.randrange(3)}", EntryType.FILE, 0, 0o644, 0, 0, "", _digest("")))
        layers.append(layer)
    assert len(layers[0]) > 1500
    _apply_both(layers)
