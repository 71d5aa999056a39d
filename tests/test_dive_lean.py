"""dive's emulation by column (``dive.figures``: ``DiveLayer`` without a path per node, the last layer's paths
not kept) against the emulation as it was, node by node (tests/dive_reference.py, the code
tests/test_dive_compat.py checked against dive 0.13.1), on generated layers full of dive's corner cases:
whiteouts of files, directories and missing paths, opaque markers at every depth, repeated paths, a directory
header after its files, names sorting around ``.wh.``, non-ASCII and undecodable names."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgscope.analysis.scan import LayerScan, StreamFigures
from imgscope.dive.figures import DiveCompat, DiveFigures, DiveLayer
from imgscope.model import Compression, EntryType, TarEntries, TarEntry
from tests import dive_reference as ref

_NAMES = ["a", "b", "+x", "é", "\udcff", ".wh.a", ".wh.b", ".wh.+x", ".wh..wh..opq", ".wh.", ".wh.é", "x y"]
_KINDS = [EntryType.FILE, EntryType.DIR, EntryType.SYMLINK, EntryType.HARDLINK]


@st.composite
def _entry(draw: st.DrawFn) -> TarEntry:
    parts = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=3))
    path = "/".join(parts)
    odd = draw(st.integers(0, 19))
    if odd == 0:
        path = path.replace("/", "//", 1)
    elif odd == 1:
        path += "/"
    kind = draw(st.sampled_from(_KINDS))
    size = draw(st.integers(0, 40)) if kind is EntryType.FILE else 0
    mode = 0o040755 if draw(st.integers(0, 9)) == 0 else (0o755 if kind is EntryType.DIR else 0o644)
    return TarEntry(path, kind, size, mode, 0, 0, "", bytes(32) if kind is EntryType.FILE else None)


_layers = st.lists(st.lists(_entry(), max_size=14), min_size=1, max_size=4)


def _key(f: DiveFigures) -> tuple[object, ...]:
    def num(x: float) -> object:
        return "nan" if math.isnan(x) else x

    return num(f.efficiency), f.wasted_bytes, num(f.user_wasted_percent), f.inefficiencies, f.quirks


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_layers)
def test_layer_tree_is_the_reference_tree(layers: list[list[TarEntry]]) -> None:
    for entries in layers:
        lean, old = DiveLayer.of(entries), ref.DiveLayer.of(entries)
        assert list(lean.full_paths()) == old.full
        assert list(lean.paths()) == old.paths()
        assert list(lean.sizes) == old.sizes
        assert lean.flags == old.flags
        assert (lean.layer_size, lean.opaque, lean.repeated) == (old.layer_size, old.opaque, old.repeated)
        assert DiveLayer.of(TarEntries(entries)) == lean
        lean.check()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_layers)
def test_figures_are_the_reference_figures(layers: list[list[TarEntry]]) -> None:
    old = ref.DiveCompat()
    for entries in layers:
        old.add_layer(entries)
    expected = old.figures()
    for mark_last in (False, True):
        lean = DiveCompat()
        for i, entries in enumerate(layers):
            lean.add_layer(DiveLayer.of(entries), last=mark_last and i == len(layers) - 1)
        assert _key(lean.figures()) == _key(expected)


@settings(max_examples=100, deadline=None)
@given(st.lists(_entry(), max_size=14))
def test_layer_tree_travels_between_processes(entries: list[TarEntry]) -> None:
    figures = StreamFigures(Compression.NONE, 1, 1, None, None)
    scan = LayerScan(0, TarEntries(entries), figures, dive=DiveLayer.of(entries))
    again = LayerScan.from_bytes(scan.to_bytes())
    assert again.dive == scan.dive


def test_a_damaged_layer_tree_is_refused() -> None:
    layer = DiveLayer.of([TarEntry("a/b", EntryType.FILE, 1, 0o644, 0, 0)])
    layer.check()
    parents = list(layer.parents)
    assert parents == [1, -1]  # a/b, then a after it
    for bad in ([0, -1], [2, -1], [-1, 0]):
        damaged = DiveLayer(layer.names, bad, layer.sizes, layer.flags, 1, 0, 0)
        try:
            damaged.check()
        except ValueError:
            continue
        raise AssertionError(f"parents {bad} accepted")


def test_figures_on_layers_of_thousands_of_paths_are_the_reference_figures() -> None:
    """Layers large enough for the table of path ids to grow several times: the same names under many
    directories ("index.js" in every package), directories whited out whole and re-made, files overwritten;
    the figures equal the node-by-node emulation's."""
    import random

    rng = random.Random(20261205)
    names = ["index.js", "LICENSE", "package.json", "a", "é", "lib", "x y"]
    layers: list[list[TarEntry]] = []
    for layer in range(5):
        entries: list[TarEntry] = []
        for _ in range(2500):
            depth = rng.randint(1, 5)
            parts = [f"p{rng.randint(0, 60)}"] + [rng.choice(names) for _ in range(depth - 1)]
            path = "/".join(parts)
            if rng.random() < 0.1:
                entries.append(TarEntry(path, EntryType.DIR, 0, 0o755, 0, 0))
            else:
                entries.append(TarEntry(path, EntryType.FILE, rng.randint(0, 5000), 0o644, 0, 0, "", bytes(32)))
        if layer:  # whiteouts of paths the layer below wrote (of a missing one, dive stops counting the layer)
            below = [e.path for e in layers[-1] if ".wh." not in e.path]
            for top in rng.sample(sorted({path.partition("/")[0] for path in below}), 3):  # whole packages
                entries.append(TarEntry(f".wh.{top}", EntryType.FILE, 0, 0o644, 0, 0, "", bytes(32)))
            for _ in range(40):  # single files and directories
                head, _, base = rng.choice(below).rpartition("/")
                whiteout = f"{head}/.wh.{base}" if head else f".wh.{base}"
                entries.append(TarEntry(whiteout, EntryType.FILE, 0, 0o644, 0, 0, "", bytes(32)))
        layers.append(entries)
    old = ref.DiveCompat()
    for entries in layers:
        old.add_layer(entries)
    expected = old.figures()
    assert len(expected.inefficiencies) > 300  # the stack does overlap: the comparison has something to compare
    for mark_last in (False, True):
        lean = DiveCompat()
        for i, entries in enumerate(layers):
            lean.add_layer(DiveLayer.of(entries), last=mark_last and i == len(layers) - 1)
        assert _key(lean.figures()) == _key(expected)


def test_id_table_keeps_every_path_as_it_grows() -> None:
    """Ids made one at a time (a whiteout's target) grow the table many times over: each (parent, name) keeps
    its id, a name under two parents is two ids, and each directory lists exactly its children."""
    dive = DiveCompat()
    made: dict[tuple[str, str], int] = {}
    for i in range(3000):
        parent = made.get(("", f"d{i % 7}")) or dive._child(0, f"d{i % 7}")
        made[("", f"d{i % 7}")] = parent
        made[(f"d{i % 7}", f"f{i}")] = dive._child(parent, f"f{i}")
        made[(f"d{i % 7}", "same")] = dive._child(parent, "same")
    assert dive._mask + 1 > 1024  # it did grow
    assert len(set(made.values())) == len(made)  # one id per (parent, name)
    for (parent_name, name), node in made.items():
        parent = made[("", parent_name)] if parent_name else 0
        assert dive._find(parent, name) == node
    for d in range(7):
        parent = made[("", f"d{d}")]
        expected = {node for (p, _), node in made.items() if p == f"d{d}"}
        assert set(dive._kids(parent)) == expected
