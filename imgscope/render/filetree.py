"""The file tree as a rich ``Tree`` (``imgscope tree``). Reads a trimmed ``TreeNode``; computes nothing."""

from __future__ import annotations

import stat

from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from imgscope.analysis.result import LayerReport
from imgscope.model import EntryType
from imgscope.render.cells import NameLine
from imgscope.render.terminal import safe, size
from imgscope.union.filesystem import ChangeKind
from imgscope.union.tree import TreeNode

CHANGE_STYLE = {ChangeKind.ADDED: "green", ChangeKind.MODIFIED: "yellow", ChangeKind.REMOVED: "red"}
CHANGE_MARK = {ChangeKind.ADDED: "+", ChangeKind.MODIFIED: "~", ChangeKind.REMOVED: "-"}
# ls -F's marks, so a name's type shows without colour
TYPE_MARK = {
    EntryType.DIR: "/",
    EntryType.SYMLINK: "@",
    EntryType.FIFO: "|",
    EntryType.CHAR: " (char device)",
    EntryType.BLOCK: " (block device)",
}


TYPE_BITS = {
    EntryType.DIR: stat.S_IFDIR,
    EntryType.SYMLINK: stat.S_IFLNK,
    EntryType.FIFO: stat.S_IFIFO,
    EntryType.CHAR: stat.S_IFCHR,
    EntryType.BLOCK: stat.S_IFBLK,
}


def permissions(node: TreeNode) -> str:
    """``drwxr-xr-x  0:0`` as ``ls -l`` shows it; ``?`` where the tree does not know (see ``filetree._known``)."""
    if node.mode is None:
        return f"{'?' * 10}  {'?:?':>9}"
    kind = TYPE_BITS.get(node.type, stat.S_IFREG)
    return f"{stat.filemode(kind | node.mode)}  {f'{node.uid}:{node.gid}':>9}"


def _label(node: TreeNode, changes: bool, root: bool = False, long: bool = False) -> NameLine:
    """One entry on one line; a long name loses its middle on a narrow terminal, never folded mid-word."""
    style = CHANGE_STYLE.get(node.change, "") if node.change else ""
    before = Text()
    if changes:
        before.append(f"{CHANGE_MARK[node.change] if node.change else ' '} ", style)
    if long and not root:
        before.append(permissions(node) + "  ", "dim")
    before.append(f"{size(node.size):>9}  ", style or "cyan")
    name = node.path if root else node.name
    name_style = style + (" bold" if node.type is EntryType.DIR else "")
    label = Text()
    label.append(TYPE_MARK.get(node.type, "") if node.name else "", style)
    if node.link_target is not None:
        label.append(" -> ", "dim")
        label.append_text(safe(node.link_target, style or "dim"))
    if node.type is EntryType.DIR or node.children:
        label.append(f"  {_files(node.files)}", "dim")
    if node.removed_files and node.change is not ChangeKind.REMOVED:
        label.append(f"  (-{_files(node.removed_files)} removed, {size(node.removed_size)})", "red")
    return NameLine(before, name, name_style, label)


def _files(n: int) -> str:
    return f"{n:,} file" if n == 1 else f"{n:,} files"


def _more(node: TreeNode) -> Text | None:
    if node.collapsed is not None:
        c = node.collapsed
        noun = "entry" if c.entries == 1 else "entries"
        more = Text(f"… {c.entries:,} more {noun}, {_files(c.files)}, {size(c.size)}", "dim")
        if c.removed_files:
            more.append(f" (-{_files(c.removed_files)} removed, {size(c.removed_size)})", "red")
        return more
    if not node.depth_cut:
        return None
    # ``files`` counts a non-directory itself (a file that replaced a directory holds the removed entries);
    # in a changes tree a removed entry counts in ``files`` only below a removed directory
    own = 0 if node.type is EntryType.DIR else 1
    kept = node.files - own if node.change is not ChangeKind.REMOVED else 0
    if not kept and not node.removed_files:
        return None
    below = Text(f"… {_files(kept)} below" if kept else "…", "dim")
    if node.removed_files:
        below.append(f" (-{_files(node.removed_files)} removed, {size(node.removed_size)})", "red")
    below.append(" (--depth)", "dim")
    return below


def _add(tree: Tree, root: TreeNode, changes: bool, long: bool) -> None:
    # Without recursion: a path may be 2,000 levels deep.
    stack = [(tree, root)]
    while stack:
        branch, node = stack.pop()
        for child in node.children:
            stack.append((branch.add(_label(child, changes, long=long)), child))
        more = _more(node)
        if more is not None:
            branch.add(more)


def layer_line(r: LayerReport) -> Text:
    """What a layer stores and changed, in one line."""
    line = Text(f"layer {r.index}: {size(r.size)} of file content, blob {size(r.stored_size)}; ")
    line.append(f"+{r.added:,} added ({size(r.added_bytes)})", "green")
    line.append(", ")
    line.append(f"~{r.modified:,} modified ({size(r.modified_bytes)})", "yellow")
    line.append(", ")
    line.append(f"-{r.removed:,} removed ({size(r.removed_bytes)})", "red")
    return line


def render_tree(
    node: TreeNode,
    title: str,
    changes: bool = False,
    layer: LayerReport | None = None,
    long: bool = False,
    notes: tuple[str, ...] = (),
) -> RenderableType:
    """``node`` (already trimmed) under a one-line title, and the layer's figures when given; with ``long``,
    each entry's permissions and owner; ``notes`` (which image or platform was picked) under the title."""
    tree = Tree(_label(node, changes, root=True), guide_style="dim")
    _add(tree, node, changes, long)
    parts: list[RenderableType] = [safe(title, "bold")]
    parts.extend(safe(f"Note: {note}", "yellow") for note in notes)
    if layer is not None:
        parts.append(layer_line(layer))
    parts.append(tree)
    if changes:
        parts.append(Text("+ added  ~ modified  - removed", "dim"))
    return Group(*parts)
