"""A file tree in ncdu's JSON export format (https://dev.yorhel.nl/ncdu/jsonfmt), so ``ncdu -f`` and gdu browse it.

``[1, 2, {metadata}, [root info, child, child, ...]]``: a directory is an array whose first element is its info
object, a file is just its info object. Sizes are the bytes imgscope counts (``asize`` = ``dsize`` = a regular
file's size; directories, symlinks and devices 0), so ncdu's totals are imgscope's: the final filesystem's
``final_size``, hard links once (they share an ``ino`` with ``hlnkc``, as ncdu's own export marks them).
Written as a stream of pieces, without recursion (a path may be thousands of levels deep).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

from imgscope.model import EntryType

if TYPE_CHECKING:
    from imgscope.analysis import Analysis
    from imgscope.union.tree import TreeNode

MAJOR, MINOR = 1, 2  # minor 2: the nlink field (ncdu 1.16+)


@dataclass(slots=True)
class _Entry:
    name: str
    type: EntryType = EntryType.DIR
    size: int = 0
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    ino: int | None = None  # a hard-linked file's stored copy
    nlink: int = 1
    children: dict[str, _Entry] | None = field(default=None)


def _insert(root: _Entry, path: str) -> _Entry:
    node = root
    for part in (p for p in path.split("/") if p):
        if node.children is None:
            node.children = {}
        child = node.children.get(part)
        if child is None:
            child = node.children[part] = _Entry(part)
        node = child
    return node


def _from_analysis(a: Analysis) -> _Entry:
    links: dict[int, int] = {}
    for f in a.files:
        if f.record >= 0:
            links[f.record] = links.get(f.record, 0) + 1
    root = _Entry("/")
    for f in a.files:
        node = _insert(root, f.path)
        node.type, node.mode, node.uid, node.gid = f.type, f.mode, f.uid, f.gid
        if f.record >= 0:
            node.size = f.size
            if links[f.record] > 1:
                node.ino, node.nlink = f.record + 1, links[f.record]
    return root


def _from_tree(tree: TreeNode) -> _Entry:
    root = _Entry("/")
    for t in tree.walk():
        if t.path == "/":
            continue
        node = _insert(root, t.path)
        node.type, node.mode, node.uid, node.gid = t.type, t.mode, t.uid, t.gid
        node.size = t.size if t.type is not EntryType.DIR else 0
    return root


def _info(e: _Entry) -> str:
    info: dict[str, Any] = {"name": e.name}
    if e.size:
        info["asize"] = info["dsize"] = e.size
    if e.type is not EntryType.DIR and e.type is not EntryType.FILE and e.type is not EntryType.HARDLINK:
        info["notreg"] = True
    if e.ino is not None:
        info.update(ino=e.ino, hlnkc=True, nlink=e.nlink)
    if e.mode is not None:
        info["mode"] = e.mode | _TYPE_BITS.get(e.type, 0)
    if e.uid is not None:
        info["uid"] = e.uid
    if e.gid is not None:
        info["gid"] = e.gid
    return json.dumps(info, ensure_ascii=False, separators=(",", ":"))


_TYPE_BITS = {
    EntryType.DIR: 0o040000,
    EntryType.FILE: 0o100000,
    EntryType.HARDLINK: 0o100000,
    EntryType.SYMLINK: 0o120000,
    EntryType.CHAR: 0o020000,
    EntryType.BLOCK: 0o060000,
    EntryType.FIFO: 0o010000,
}


def _pieces(root: _Entry, name: str) -> Iterator[str]:
    meta = json.dumps({"progname": "imgscope", "progver": _version(), "image": name}, ensure_ascii=False)
    yield f"[{MAJOR},{MINOR},{meta},\n"
    root.name = name
    # A stack of iterators over each open directory's children; "]" closes a directory when its iterator ends.
    yield "[" + _info(root)
    stack: list[Iterator[_Entry]] = [iter(_sorted(root))]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            yield "]"
            continue
        if child.type is EntryType.DIR or child.children:
            yield ",\n[" + _info(child)
            stack.append(iter(_sorted(child)))
        else:
            yield ",\n" + _info(child)
    yield "]\n"


def _sorted(e: _Entry) -> Iterable[_Entry]:
    return [e.children[k] for k in sorted(e.children)] if e.children else []


def _version() -> str:
    try:
        return metadata.version("imgscope")
    except metadata.PackageNotFoundError:  # run from a checkout
        return "unknown"


def ncdu_export(a: Analysis, layer: int | None = None) -> Iterator[str]:
    """The final filesystem (or with ``layer``, the tree after that layer) as ncdu JSON, in pieces to write."""
    name = a.image.name or a.image.source
    if layer is None:
        return _pieces(_from_analysis(a), name)
    index = layer if layer >= 0 else len(a.layers) + layer
    return _pieces(_from_tree(a.tree(layer)), f"{name} (after layer {index})")
