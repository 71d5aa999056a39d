"""The union filesystem as it was written before it was stored by column: a ``Node`` object per path, a dict of
children per directory, and maps of the paths a layer wrote and removed. Kept as the reference the column form is
compared with (``tests/test_union_columns.py``); not used by imgscope."""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from sys import intern
from typing import NamedTuple

from imgscope.errors import CorruptLayerError
from imgscope.model import EntryType, TarEntries, TarEntry, entry_paths
from imgscope.union.filesystem import (
    _KIND_CODE,
    _META,
    _TYPE_CODE,
    AUFS_META_PREFIX,
    MAX_SYMLINK_HOPS,
    OPAQUE_MARKER,
    WHITEOUT_PREFIX,
    ChangeKind,
    ChangeList,
    LayerChanges,
    WastedFile,
    WasteReason,
    int_column,
)

_DIR = EntryType.DIR
_FILE = EntryType.FILE
_SYMLINK = EntryType.SYMLINK


class Snapshot(NamedTuple):
    """What a path looked like (to tell a change from a rewrite of the same thing)."""

    type: EntryType
    size: int
    mode: int
    uid: int
    gid: int
    link_target: str
    digest: bytes | None

    @property
    def owner_mode(self) -> tuple[int, int, int]:
        """Mode, uid and gid."""
        return (self.mode, self.uid, self.gid)


class Node:
    """A path in the tree. Directories have ``children``; regular files a content ``record``."""

    __slots__ = (
        "children",
        "digest",
        "gid",
        "layer",
        "link_target",
        "mode",
        "record",
        "size",
        "type",
        "uid",
    )

    def __init__(
        self,
        type: EntryType,
        size: int,
        mode: int,
        uid: int,
        gid: int,
        link_target: str,
        digest: bytes | None,
        layer: int,
        record: int = -1,
    ) -> None:
        self.type = type
        self.size = size
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.link_target = link_target
        self.digest = digest
        self.layer = layer
        self.record = record
        self.children: dict[str, Node] | None = {} if type is _DIR else None

    def snapshot(self) -> Snapshot:
        return Snapshot(self.type, self.size, self.mode, self.uid, self.gid, self.link_target, self.digest)


def _replacement_reason(gone: Snapshot, now: Node) -> WasteReason:
    if now.type is _FILE and gone.type is _FILE and now.size == gone.size and now.digest == gone.digest:
        same_meta = (now.mode, now.uid, now.gid) == gone.owner_mode
        return WasteReason.IDENTICAL if same_meta else WasteReason.METADATA_ONLY
    return WasteReason.OVERWRITTEN


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


class _LayerState:
    """Book-keeping while one layer is applied."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.before: dict[str, Snapshot | None] = {}  # written path -> state below this layer
        self.removed: dict[str, Snapshot] = {}  # lower paths removed while applying
        # Records whose last reference went: (record, path, reason, what the path was).
        self.pending: list[tuple[int, str, WasteReason, Snapshot]] = []
        self.stored = 0  # bytes of the regular files this layer stores
        # Nodes this layer put in the tree, by real path (dropped again when removed), so the
        # summary needs no lookup per path.
        self.after: dict[str, Node] = {}


class FileSystem:
    """The union filesystem, built layer by layer with ``apply_layer``."""

    def __init__(self) -> None:
        self.root = Node(_DIR, 0, 0o755, 0, 0, "", None, -1)
        # Stored copies of regular files: where they were written, their size, references left.
        self._rec_path: list[str] = []
        self._rec_layer: list[int] = []
        self._rec_size: list[int] = []
        self._rec_digest: list[bytes | None] = []
        self._rec_refs: list[int] = []
        self.wasted: list[WastedFile] = []
        self.layers_applied = 0
        # Directory path as written -> (node, real path); valid until something is removed.
        self._dir_cache: dict[str, tuple[Node, str]] = {}

    # -- lookups -------------------------------------------------------------

    def lookup(self, path: str) -> Node | None:
        """The node at ``path`` (relative, as in ``TarEntry.path``), following no symlink."""
        node: Node | None = self.root
        if not path:
            return node
        for part in path.split("/"):
            if node is None or node.children is None:
                return None
            node = node.children.get(part)
        return node

    def _resolve_dir(
        self, dirpath: str, where: str, create: bool, state: _LayerState | None
    ) -> tuple[Node, str] | None:
        """The directory named by ``dirpath`` (as a member name gives it) and its real path."""
        found = self._dir_cache.get(dirpath)
        if found is None:
            found = self._resolve_parts(dirpath.split("/") if dirpath else [], where, create, state)
            if found is not None:
                self._dir_cache[dirpath] = found
        return found

    def _resolve_parts(
        self, parts: Sequence[str], where: str, create: bool, state: _LayerState | None
    ) -> tuple[Node, str] | None:
        """The directory named by ``parts`` and its real path.

        Symlinks met on the way are followed *inside* the image (``..`` stops at the
        root, absolute targets start again from it), as an extracting runtime does;
        missing directories are created when ``create`` is set. A loop of symlinks,
        or a non-directory on the way, is an error when creating and None otherwise.
        """
        node = self.root
        real: list[str] = []
        todo = list(reversed(parts))
        hops = 0
        while todo:
            name = todo.pop()
            if name in ("", "."):
                continue
            if name == "..":
                if real:
                    real.pop()
                    node = self._walk_real(real)
                continue
            assert node.children is not None
            child = node.children.get(name)
            if child is None:
                if not create:
                    return None
                assert state is not None
                child = Node(_DIR, 0, 0o755, 0, 0, "", None, state.index)
                node.children[intern(name)] = child
                created = _join("/".join(real), name)
                state.before.setdefault(created, state.removed.get(created))
                state.after[created] = child
            elif child.type is _SYMLINK:
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    if not create:
                        return None
                    raise CorruptLayerError(where, f"too many levels of symbolic links resolving {'/'.join(parts)!r}")
                target = child.link_target
                if target.startswith("/"):
                    node, real = self.root, []
                todo.extend(reversed(target.split("/")))
                continue
            elif child.children is None:
                if not create:
                    return None
                raise CorruptLayerError(
                    where,
                    f"{'/'.join([*real, name])!r} is not a directory but the layer writes below it",
                )
            real.append(name)
            node = child
        return node, "/".join(real)

    def _walk_real(self, real: list[str]) -> Node:
        node = self.root
        for part in real:
            assert node.children is not None
            node = node.children[part]
        return node

    # -- applying a layer ----------------------------------------------------

    def apply_layer(self, entries: Sequence[TarEntry], where: str = "layer") -> LayerChanges:
        """Apply one layer's entries on top of the tree; return what it changed.

        ``where`` names the layer in error messages.
        """
        state = _LayerState(self.layers_applied)
        opaque: list[str] = []
        whiteouts: list[str] = []
        # The members written, by position: a layer stored by column (``TarEntries``) makes each entry only when
        # it is written, so no object per member is held while the layer is applied.
        writes = array("I")
        path_of = entries.path_of if isinstance(entries, TarEntries) else None
        for i, path in enumerate(entry_paths(entries)):
            if path.startswith(AUFS_META_PREFIX) and path != OPAQUE_MARKER:
                continue  # aufs bookkeeping (.wh..wh.plnk/...), skipped as Docker skips it
            parent, _, base = path.rpartition("/")
            if base.startswith(WHITEOUT_PREFIX):
                if base == OPAQUE_MARKER:
                    opaque.append(parent)
                elif not base.startswith(AUFS_META_PREFIX):
                    whiteouts.append(_join(parent, base[len(WHITEOUT_PREFIX) :]))
            else:
                writes.append(i)

        # What each written path was below this layer, before any of this layer's removals.
        for i in writes:
            path = path_of(i) if path_of is not None else entries[i].path
            parent, _, base = path.rpartition("/")
            found = self._resolve_dir(parent, where, False, None)
            if found is not None:
                pnode, real = found
                assert pnode.children is not None
                lower = pnode.children.get(base)
                state.before.setdefault(_join(real, base), None if lower is None else lower.snapshot())

        # Opaque markers first, then whiteouts: both act on lower layers only.
        for dirpath in opaque:
            found = self._resolve_dir(dirpath, where, False, None)
            if found is None:
                continue
            dnode, real = found
            assert dnode.children is not None
            for name, child in list(dnode.children.items()):
                self._remove(child, _join(real, name), WasteReason.OPAQUE, state)
            dnode.children.clear()
        for path in whiteouts:
            parent, _, base = path.rpartition("/")
            found = self._resolve_dir(parent, where, False, None)
            if found is None:
                continue
            pnode, real = found
            assert pnode.children is not None
            victim = pnode.children.pop(base, None)
            if victim is not None:
                self._remove(victim, _join(real, base), WasteReason.DELETED, state)

        for i in writes:
            self._write(entries[i], where, state)

        self.layers_applied += 1
        # The cache holds two strings per directory the layer named; the next layer names others, mostly.
        self._dir_cache.clear()
        return self._finish_layer(state, len(whiteouts), len(opaque))

    def _write(self, entry: TarEntry, where: str, state: _LayerState) -> None:
        parent, _, base = entry.path.rpartition("/")
        base = intern(base)  # names repeat across directories (index.js, LICENSE): keep one copy
        pnode, real_parent = self._resolve_dir(parent, where, True, state)  # type: ignore[misc]
        assert pnode.children is not None
        path = _join(real_parent, base)
        if path not in state.before:
            state.before[path] = state.removed.get(path)
        existing = pnode.children.get(base)
        etype = entry.type
        if etype is _DIR:
            if existing is not None and existing.type is _DIR:
                existing.mode, existing.uid, existing.gid = entry.mode, entry.uid, entry.gid
                existing.layer = state.index
                state.after[path] = existing
                return
            node = Node(_DIR, 0, entry.mode, entry.uid, entry.gid, "", None, state.index)
        elif etype is EntryType.HARDLINK:
            target = self._find_link_target(entry, where)
            if target is existing:
                return  # a link to itself changes nothing
            node = Node(
                target.type,
                target.size,
                target.mode,
                target.uid,
                target.gid,
                target.link_target,
                target.digest,
                state.index,
                target.record,
            )
            if target.record >= 0:
                self._rec_refs[target.record] += 1
        else:
            record = -1
            if etype is _FILE:
                record = len(self._rec_refs)
                self._rec_path.append(path)
                self._rec_layer.append(state.index)
                self._rec_size.append(entry.size)
                self._rec_digest.append(entry.digest)
                self._rec_refs.append(1)
                state.stored += entry.size
            node = Node(
                etype,
                entry.size,
                entry.mode,
                entry.uid,
                entry.gid,
                entry.link_target,
                entry.digest,
                state.index,
                record,
            )
        if existing is not None:
            self._remove(existing, path, WasteReason.OVERWRITTEN, state)
        pnode.children[base] = node
        state.after[path] = node

    def _find_link_target(self, entry: TarEntry, where: str) -> Node:
        parent, _, base = entry.link_target.rpartition("/")
        found = self._resolve_dir(parent, where, False, None)
        target = None
        if found is not None:
            assert found[0].children is not None
            target = found[0].children.get(base)
        if target is None:
            raise CorruptLayerError(where, f"hard link {entry.path!r} points to missing {entry.link_target!r}")
        if target.type is _DIR:
            raise CorruptLayerError(where, f"hard link {entry.path!r} points to a directory ({entry.link_target!r})")
        return target

    def _remove(self, node: Node, path: str, reason: WasteReason, state: _LayerState) -> None:
        """Drop ``node`` and everything below it from the tree's accounting."""
        self._dir_cache.clear()
        after = state.after
        stack = [(node, path)]
        while stack:
            cur, cur_path = stack.pop()
            after.pop(cur_path, None)
            before = state.before.get(cur_path, ...)
            if before is ...:
                # Not written by this layer yet: it is a lower path (or one this layer
                # created implicitly, which is recorded in `before` as None).
                state.removed.setdefault(cur_path, cur.snapshot())
            elif before is not None:
                state.removed.setdefault(cur_path, before)
            if cur.record >= 0:
                self._rec_refs[cur.record] -= 1
                if self._rec_refs[cur.record] == 0:
                    state.pending.append((cur.record, cur_path, reason, cur.snapshot()))
            if cur.children:
                stack.extend((child, _join(cur_path, name)) for name, child in cur.children.items())

    def _finish_layer(self, state: _LayerState, whiteouts: int, opaque: int) -> LayerChanges:
        index = state.index
        after = state.after
        lookup = self.lookup
        for record, path, reason, gone in state.pending:
            now = after.get(path) or lookup(path)
            if now is not None and now.layer == index:
                # The layer wrote this path again: say how the new copy differs.
                reason = _replacement_reason(gone, now)
            self.wasted.append(
                WastedFile(
                    "/" + self._rec_path[record],
                    self._rec_size[record],
                    self._rec_layer[record],
                    index,
                    reason,
                )
            )

        paths: list[str] = []
        codes = bytearray()
        sizes: list[int] = []
        modes: list[int | None] = []
        uids: list[int | None] = []
        gids: list[int | None] = []
        added, modified, removed = (
            _KIND_CODE[ChangeKind.ADDED],
            _KIND_CODE[ChangeKind.MODIFIED],
            _KIND_CODE[ChangeKind.REMOVED],
        )
        type_code = _TYPE_CODE
        removed_of = state.removed.get
        written = state.before

        def every_path() -> Iterator[tuple[str, Snapshot | None]]:
            # The paths written (with what they were below, or what this layer removed there), then the paths
            # only removed; no list or set of them all is made.
            for path, before in written.items():
                yield path, removed_of(path) if before is None else before
            for path, gone in state.removed.items():
                if path not in written:
                    yield path, gone

        for path, before in every_path():
            now = after.get(path) or lookup(path)
            if before is None:
                if now is None:
                    continue
                code = added | type_code[now.type]
                size = now.size
                meta = (now.mode, now.uid, now.gid)
            elif now is None:
                code = removed | type_code[before.type]
                size = before.size
                meta = before.owner_mode
            else:
                snap = now.snapshot()
                if snap == before:
                    continue
                if now.type is _DIR and before.type is _DIR and snap.owner_mode == before.owner_mode:
                    continue
                metadata_only = (
                    now.type is _FILE
                    and before.type is _FILE
                    and snap.size == before.size
                    and snap.digest == before.digest
                )
                code = modified | type_code[now.type] | (_META if metadata_only else 0)
                size = now.size
                meta = snap.owner_mode
            paths.append(path)
            codes.append(code)
            sizes.append(size)
            modes.append(meta[0])
            uids.append(meta[1])
            gids.append(meta[2])
        changes = ChangeList(paths, bytes(codes), sizes, int_column(modes), int_column(uids), int_column(gids))
        return LayerChanges(index, changes, whiteouts, opaque, state.stored)

    # -- the result ------------------------------------------------------------

    def walk(self) -> Iterator[tuple[str, Node]]:
        """Every path of the tree (``/``-rooted) with its node, depth first, sorted by name."""
        stack: list[tuple[str, Node]] = [("", self.root)]
        while stack:
            path, node = stack.pop()
            if path:
                yield path, node
            if node.children:
                for name in sorted(node.children, reverse=True):
                    stack.append((f"{path}/{name}", node.children[name]))

    def drain(self) -> Iterator[tuple[int, str, Node]]:
        """Every node of the tree as (its directory's number, its name, the node), in ``walk``'s order, each
        directory's children let go once they are on the walk's stack: the tree is taken apart as it is walked
        (the nodes are freed as the caller drops them) and is empty afterwards.

        Directories are numbered as they come: the root is 0, and each node yielded with a non-empty
        ``children`` map is the next number (1, 2, ...); its children give that number.
        """
        root = self.root
        self.root = Node(_DIR, 0, 0o755, 0, 0, "", None, -1)
        self._dir_cache.clear()
        kids = root.children
        assert kids is not None
        root.children = None
        stack: list[tuple[int, str, Node]] = [(0, name, kids[name]) for name in sorted(kids, reverse=True)]
        del kids, root
        dirs = 0
        while stack:
            parent, name, node = stack.pop()
            yield parent, name, node
            kids = node.children
            if kids:
                dirs += 1
                stack.extend([(dirs, n, kids[n]) for n in sorted(kids, reverse=True)])
                node.children = None
            del node, kids

    @property
    def record_count(self) -> int:
        """Stored copies of regular files so far (records are numbered 0 .. record_count - 1)."""
        return len(self._rec_refs)

    def visible_records(self) -> set[int]:
        """The stored copies the final tree still shows."""
        return {node.record for _, node in self.walk() if node.record >= 0}
