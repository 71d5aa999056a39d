"""The union filesystem rules as tables: lower layers + an upper layer -> surviving paths, changes and waste."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from imgscope.errors import CorruptLayerError
from imgscope.model import EntryType, TarEntry
from imgscope.union.filesystem import ChangeKind, ChangeList, FileChange, FileSystem, WasteReason


def f(path: str, size: int = 10, content: str | None = None, mode: int = 0o644, uid: int = 0) -> TarEntry:
    digest = hashlib.sha256((content if content is not None else f"{path}:{size}").encode()).digest()
    return TarEntry(path, EntryType.FILE, size, mode, uid, 0, "", digest)


def d(path: str, mode: int = 0o755) -> TarEntry:
    return TarEntry(path, EntryType.DIR, 0, mode, 0, 0)


def sym(path: str, target: str) -> TarEntry:
    return TarEntry(path, EntryType.SYMLINK, 0, 0o777, 0, 0, target)


def hard(path: str, target: str) -> TarEntry:
    return TarEntry(path, EntryType.HARDLINK, 0, 0o644, 0, 0, target)


def wh(path: str) -> TarEntry:
    parent, _, name = path.rpartition("/")
    return f(f"{parent}/.wh.{name}" if parent else f".wh.{name}", 0, "")


def opq(dirpath: str) -> TarEntry:
    return f(f"{dirpath}/.wh..wh..opq", 0, "")


def build(*layers: list[TarEntry]) -> FileSystem:
    fs = FileSystem()
    for layer in layers:
        fs.apply_layer(layer)
    return fs


def paths(fs: FileSystem) -> set[str]:
    return {p for p, _ in fs.walk()}


CASES = [
    # (name, lower layers, upper layer, paths that must exist after, paths that must not)
    ("whiteout removes a file", [[d("a"), f("a/x"), f("a/y")]], [wh("a/x")], {"/a", "/a/y"}, {"/a/x"}),
    ("whiteout removes a dir and all below", [[d("a"), d("a/b"), f("a/b/x")]], [wh("a/b")], {"/a"}, {"/a/b", "/a/b/x"}),
    ("whiteout never hides its own layer (written before)", [[f("x")]], [f("x", 5), wh("x")], {"/x"}, set()),
    ("whiteout never hides its own layer (written after)", [[f("x")]], [wh("x"), f("x", 5)], {"/x"}, set()),
    (
        "opaque hides lower children",
        [[d("a"), f("a/x"), d("a/s"), f("a/s/y")]],
        [d("a"), opq("a"), f("a/new")],
        {"/a", "/a/new"},
        {"/a/x", "/a/s", "/a/s/y"},
    ),
    (
        "opaque applies before own entries whatever the order",
        [[d("a"), f("a/x")]],
        [d("a"), f("a/new"), opq("a")],
        {"/a", "/a/new"},
        {"/a/x"},
    ),
    ("markers never appear", [[d("a"), f("a/x")]], [opq("a"), wh("a/x")], {"/a"}, {"/a/.wh..wh..opq", "/a/.wh.x"}),
    ("aufs bookkeeping ignored", [[f("x")]], [f(".wh..wh.plnk/123.456", 0, "")], {"/x"}, {"/.wh..wh.plnk"}),
    ("whiteout of a missing path is harmless", [[f("x")]], [wh("nope")], {"/x"}, {"/nope"}),
    ("file replaced by a directory", [[f("x")]], [d("x"), f("x/in")], {"/x", "/x/in"}, set()),
    ("directory replaced by a file", [[d("x"), f("x/in")]], [f("x", 3)], {"/x"}, {"/x/in"}),
    ("implicit parents are created", [[]], [f("a/b/c")], {"/a", "/a/b", "/a/b/c"}, set()),
    (
        "entries under a symlinked dir land in its target",
        [[d("usr"), d("usr/lib"), sym("lib", "usr/lib")]],
        [f("lib/x.so")],
        {"/usr/lib/x.so", "/lib"},
        {"/lib/x.so"},
    ),
    ("absolute symlink resolved inside the root", [[d("real"), sym("ln", "/real")]], [f("ln/x")], {"/real/x"}, set()),
    (
        "dot-dot in a symlink stops at the root",
        [[d("real"), sym("ln", "../../../real")]],
        [f("ln/x")],
        {"/real/x"},
        set(),
    ),
]


@pytest.mark.parametrize(("name", "lower", "upper", "present", "absent"), CASES, ids=[c[0] for c in CASES])
def test_union_rules(
    name: str, lower: list[list[TarEntry]], upper: list[TarEntry], present: set[str], absent: set[str]
) -> None:
    fs = build(*lower, upper)
    got = paths(fs)
    assert present <= got
    assert not (absent & got)


def test_directory_replaced_by_file_types() -> None:
    fs = build([d("x"), f("x/in")], [f("x", 3)])
    node = fs.lookup("x")
    assert node is not None and node.type is EntryType.FILE and node.size == 3


def test_same_path_twice_in_one_layer_last_wins_and_first_is_waste() -> None:
    fs = FileSystem()
    changes = fs.apply_layer([f("x", 10, "one"), f("x", 20, "two")])
    node = fs.lookup("x")
    assert node is not None and node.size == 20
    assert [(w.path, w.size, w.layer, w.hidden_by, w.reason) for w in fs.wasted] == [
        ("/x", 10, 0, 0, WasteReason.OVERWRITTEN)
    ]
    assert [(c.path, c.kind, c.size) for c in changes.changes] == [("/x", ChangeKind.ADDED, 20)]


def test_whiteout_removal_reported_with_bytes() -> None:
    fs = FileSystem()
    fs.apply_layer([d("a"), f("a/x", 100), d("a/s"), f("a/s/y", 50)])
    changes = fs.apply_layer([wh("a")])
    removed = {c.path: c.size for c in changes.changes if c.kind is ChangeKind.REMOVED}
    assert removed == {"/a": 0, "/a/x": 100, "/a/s": 0, "/a/s/y": 50}
    assert {(w.path, w.reason) for w in fs.wasted} == {("/a/x", WasteReason.DELETED), ("/a/s/y", WasteReason.DELETED)}


def test_modified_and_metadata_only() -> None:
    fs = FileSystem()
    fs.apply_layer([f("a", 10, "same"), f("b", 10, "old"), f("c", 10, "keep")])
    changes = fs.apply_layer([f("a", 10, "same", mode=0o755), f("b", 12, "new"), f("c", 10, "keep")])
    kinds = {c.path: (c.kind, c.metadata_only) for c in changes.changes}
    assert kinds == {"/a": (ChangeKind.MODIFIED, True), "/b": (ChangeKind.MODIFIED, False)}  # c is unchanged
    reasons = {w.path: w.reason for w in fs.wasted}
    assert reasons == {"/a": WasteReason.METADATA_ONLY, "/b": WasteReason.OVERWRITTEN, "/c": WasteReason.IDENTICAL}


def test_opaque_rewrite_in_same_layer_is_overwrite() -> None:
    fs = FileSystem()
    fs.apply_layer([d("a"), f("a/x", 10, "old"), f("a/gone", 7)])
    fs.apply_layer([d("a"), opq("a"), f("a/x", 11, "new")])
    assert {(w.path, w.reason) for w in fs.wasted} == {
        ("/a/x", WasteReason.OVERWRITTEN),
        ("/a/gone", WasteReason.OPAQUE),
    }


def test_hard_links_share_bytes() -> None:
    fs = FileSystem()
    fs.apply_layer([f("a", 100), hard("b", "a")])
    b = fs.lookup("b")
    assert b is not None and b.type is EntryType.FILE and b.size == 100
    assert len(fs.visible_records()) == 1
    fs.apply_layer([wh("a")])
    assert fs.wasted == []  # the bytes live on as b
    fs.apply_layer([wh("b")])
    assert [(w.path, w.size, w.layer, w.hidden_by) for w in fs.wasted] == [("/a", 100, 0, 2)]


def test_hard_link_to_lower_layer_file() -> None:
    fs = build([f("a", 100)], [hard("b", "a")])
    assert len(fs.visible_records()) == 1
    assert fs.wasted == []


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([[hard("b", "missing")]], "points to missing"),
        ([[d("dir"), hard("b", "dir")]], "points to a directory"),
        ([[sym("a", "b"), sym("b", "a")], [f("a/x")]], "too many levels of symbolic links"),
        ([[f("file")], [f("file/x")]], "is not a directory"),
    ],
)
def test_impossible_layers_are_errors(layers: list[list[TarEntry]], message: str) -> None:
    fs = FileSystem()
    with pytest.raises(CorruptLayerError, match=message):
        for layer in layers:
            fs.apply_layer(layer, "test-layer")


def test_changes_classified_against_the_tree_below() -> None:
    fs = FileSystem()
    fs.apply_layer([d("etc"), f("etc/a", 1, "1")])
    changes = fs.apply_layer([d("etc"), f("etc/a", 2, "2"), f("etc/b", 3), sym("etc/c", "a")])
    kinds = {c.path: c.kind for c in changes.changes}
    assert kinds == {"/etc/a": ChangeKind.MODIFIED, "/etc/b": ChangeKind.ADDED, "/etc/c": ChangeKind.ADDED}


def test_symlink_retarget_is_a_modification() -> None:
    fs = build([sym("l", "a")])
    changes = fs.apply_layer([sym("l", "b")])
    assert [(c.path, c.kind) for c in changes.changes] == [("/l", ChangeKind.MODIFIED)]


def test_stored_bytes_count_what_the_layer_writes() -> None:
    fs = FileSystem()
    changes = fs.apply_layer([f("a", 10), f("a", 20), hard("b", "a"), f(".wh..wh.plnk/1.2", 99), wh("zz")])
    assert changes.stored_bytes == 30  # both copies of a; the link, the aufs file and the marker store nothing


def test_change_list_reads_as_the_tuple_of_changes_it_stores() -> None:
    fs = FileSystem()
    fs.apply_layer([d("a"), f("a/x", 10, "same"), f("a/y", 10, "old"), sym("a/l", "x")])
    changes = fs.apply_layer(
        [f("a/x", 10, "same", mode=0o755), f("a/y", 12, "new", uid=1000), wh("a/l"), d("b", 0o700)]
    ).changes
    # each change carries the mode and owner the path has after the layer (a removal: the ones it had)
    expected = (
        FileChange("/a/x", ChangeKind.MODIFIED, EntryType.FILE, 10, True, 0o755, 0, 0),
        FileChange("/a/y", ChangeKind.MODIFIED, EntryType.FILE, 12, False, 0o644, 1000, 0),
        FileChange("/b", ChangeKind.ADDED, EntryType.DIR, 0, False, 0o700, 0, 0),
        FileChange("/a/l", ChangeKind.REMOVED, EntryType.SYMLINK, 0, False, 0o777, 0, 0),
    )
    assert sorted(changes, key=lambda c: c.path) == sorted(expected, key=lambda c: c.path)
    assert len(changes) == 4 and changes == tuple(changes) and changes[-1] == tuple(changes)[3]
    assert changes[1:3] == tuple(changes)[1:3]
    with pytest.raises(IndexError):
        changes[4]
    again = ChangeList.of(tuple(changes))
    assert again == changes and hash(again) == hash(tuple(changes))
    counts, sizes, meta, meta_bytes = changes.totals()
    assert counts == {ChangeKind.ADDED: 1, ChangeKind.MODIFIED: 2, ChangeKind.REMOVED: 1}
    assert sizes == {ChangeKind.ADDED: 0, ChangeKind.MODIFIED: 22, ChangeKind.REMOVED: 0}
    assert (meta, meta_bytes) == (1, 10)


def test_change_list_keeps_modes_and_owners_compactly() -> None:
    """Known modes and owners sit in machine arrays (not one int object per change); an unknown one (a
    ``FileChange`` made without them) or one larger than 64 bits still reads back as it was."""
    fs = FileSystem()
    changes = fs.apply_layer([d("a"), f("a/x", uid=2**40), f("a/y", mode=0o4755)]).changes
    assert {c.path: (c.mode, c.uid, c.gid) for c in changes} == {
        "/a": (0o755, 0, 0),
        "/a/x": (0o644, 2**40, 0),
        "/a/y": (0o4755, 0, 0),
    }
    assert [type(col).__name__ for col in (changes._modes, changes._uids, changes._gids)] == ["array"] * 3
    odd = (
        FileChange("/u", ChangeKind.ADDED, EntryType.FILE, 1),
        FileChange("/v", ChangeKind.ADDED, EntryType.FILE, 1, False, 0o600, 2**70, 5),
    )
    again = ChangeList.of(odd)
    assert tuple(again) == odd and again == ChangeList.of(odd)
    assert again != ChangeList.of((odd[0], replace(odd[1], uid=7)))
