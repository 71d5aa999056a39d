"""How each result type shows itself: in a notebook (an HTML fragment), in IPython's terminal (plain text), in a
rich console (a renderable), and as a one-line ``repr``. Pure functions of the result; registered in
``imgscope._display`` so the result types never import ``render/``.

A notebook output is a fragment: no ``<html>``/``<body>``, every style scoped under ``.imgscope-r``. Rich output
is captured with a console that is told it is *not* in Jupyter: a console left to detect Jupyter displays what it
prints right away, which is what showed every ``Analysis`` twice in a notebook.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.text import Text

from imgscope.render.html import analysis_fragment, diff_fragment, tree_fragment
from imgscope.render.terminal import percent, size
from imgscope.text import layer_of, one_line, printable

if TYPE_CHECKING:
    from imgscope.advise import Advice
    from imgscope.analysis import Analysis, ImageTree
    from imgscope.budget.check import CheckReport
    from imgscope.compare import ImageDiff
    from imgscope.history.dockerfile import Dockerfile
    from imgscope.history.rows import History
    from imgscope.inspect import ImageInfo
    from imgscope.packages import PackageReport
    from imgscope.union.tree import TreeNode

TEXT_WIDTH = 100
TREE_DEPTH = 2  # levels of a TreeNode shown in a terminal or as text
TREE_LIMIT = 20  # entries per directory, the rest summed up


def _console(width: int = TEXT_WIDTH, record: bool = False) -> Console:
    return Console(
        file=io.StringIO(),
        width=width,
        record=record,
        force_jupyter=False,  # never display while capturing (the doubled notebook output)
        force_terminal=False,
        color_system=None,
        highlight=False,
        soft_wrap=False,
    )


def plain_text(renderable: RenderableType, width: int = TEXT_WIDTH) -> str:
    """A rich renderable as plain text (no colour codes), for IPython's terminal display."""
    console = _console(width)
    console.print(renderable)
    out = str(console.file.getvalue())  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in out.rstrip("\n").split("\n"))


def rich_html(renderable: RenderableType, width: int = TEXT_WIDTH) -> str:
    """A rich renderable as a scoped HTML fragment (a ``<pre>`` with inline colours)."""
    console = _console(width, record=True)
    console.print(renderable)
    code: str = console.export_html(
        inline_styles=True,
        code_format='<pre style="white-space:pre;overflow-x:auto;line-height:1.3;margin:0;'
        "font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12px\">{code}</pre>",
    )
    return f'<div class="imgscope-r">{code}</div>'


# ------------------------------------------------------------------------------------------------ rich views


def rich_analysis(a: Analysis) -> RenderableType:
    from imgscope.render.terminal import render_analysis

    return render_analysis(a)


def rich_tree(node: TreeNode) -> RenderableType:
    from imgscope.render.filetree import render_tree
    from imgscope.union.tree import trim

    changes = any(n.change is not None for n in node.children)
    shown = trim(node, depth=TREE_DEPTH, limit=TREE_LIMIT)
    return render_tree(shown, f"{printable(node.path)}: {size(node.size)} in {node.files:,} files", changes=changes)


def tree_title(t: ImageTree) -> str:
    """``app:1: filesystem after layer 4 of 0-4: RUN …`` (as ``imgscope tree`` titles it)."""
    name = t.image or "image"
    if t.layer is None:
        return f"{name}: no layers"
    what = "changes of" if t.changes else "filesystem after"
    command = one_line(t.command or "", 70)
    return f"{name}: {what} {layer_of(t.layer, t.layer_count)}" + (f": {command}" if command else "")


def rich_image_tree(t: ImageTree) -> RenderableType:
    from imgscope.render.filetree import render_tree
    from imgscope.union.tree import trim

    shown = trim(t.root, depth=TREE_DEPTH, limit=TREE_LIMIT)
    return render_tree(shown, tree_title(t), changes=t.changes, notes=t.notes)


def rich_diff(d: ImageDiff) -> RenderableType:
    from imgscope.render.diff import render_diff

    return render_diff(d)


def rich_check(report: CheckReport) -> RenderableType:
    from imgscope.render.check_terminal import render_check

    return render_check(report)


def rich_advice(advice: Advice) -> RenderableType:
    from imgscope.render.advice import _finding, _saved_line

    parts: list[RenderableType] = [Text("imgscope advise", style="bold"), Text("")]
    if not advice.findings:
        parts.append(Text("No findings.", style="green"))
    for f in advice.findings:
        parts.extend([_finding(f), Text("")])
    parts.append(_saved_line(advice))
    return Group(*parts)


def rich_info(info: ImageInfo) -> RenderableType:
    from imgscope.render.inspect import render_inspect

    return render_inspect(info)


def rich_history(history: History) -> RenderableType:
    from imgscope.render.history import render_history

    n = len(history.rows)
    return render_history(history, f"History: {n} entr{'y' if n == 1 else 'ies'}")


def rich_packages(report: PackageReport) -> RenderableType:
    from imgscope.render.packages import render_packages

    return render_packages(report)


def rich_dockerfile(dockerfile: Dockerfile) -> RenderableType:
    from imgscope.render.history import render_dockerfile

    return render_dockerfile(dockerfile)


# ------------------------------------------------------------------------------------------------- one line


def _name(a: Analysis) -> str:
    return printable(a.image.name or a.image.source)


def repr_analysis(a: Analysis) -> str:
    s = a.summary
    return (
        f"<Analysis {_name(a)}: {s.layer_count} layers, {size(s.size)} of content, {size(s.wasted_bytes)} wasted "
        f"({percent(s.wasted_fraction)}), {s.file_count:,} paths>"
    )


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def repr_tree(node: TreeNode) -> str:
    change = f" {node.change.value}" if node.change is not None else ""
    return (
        f"<TreeNode {printable(node.path)}{change}: {node.type.value}, {size(node.size)} in "
        f"{_count(node.files, 'file')}, {_count(len(node.children), 'entry', 'entries')}>"
    )


def repr_image_tree(t: ImageTree) -> str:
    return f"<ImageTree {printable(tree_title(t))}: {size(t.root.size)} in {_count(t.root.files, 'file')}>"


def repr_diff(d: ImageDiff) -> str:
    delta = d.final_size.delta
    sign = "+" if delta > 0 else "-" if delta < 0 else "±"
    return (
        f"<ImageDiff {printable(d.a.name or d.a.source)} -> {printable(d.b.name or d.b.source)}: "
        f"{sign}{size(abs(delta))} visible, {len(d.files):,} paths differ, {d.common_layers} shared layers>"
    )


def repr_check(report: CheckReport) -> str:
    from imgscope.render.check_text import verdict

    return f"<CheckReport {printable(report.image)}: {verdict(report)}>"


def repr_advice(advice: Advice) -> str:
    return f"<Advice: {_count(len(advice.findings), 'finding')}, {size(advice.total_saved)} could be saved>"


def repr_info(info: ImageInfo) -> str:
    name = info.repo_tags[0] if info.repo_tags else info.source
    ident = (info.id or "").removeprefix("sha256:")[:12] or "-"
    return f"<ImageInfo {printable(name)} {ident} {info.platform or '-'}, {len(info.layers)} layers>"


def repr_history(history: History) -> str:
    base = f", base: {printable(history.base.name or 'unnamed')}" if history.base is not None else ""
    return f"<History: {_count(len(history.rows), 'entry', 'entries')}{base}>"


def repr_packages(report: PackageReport) -> str:
    return (
        f"<PackageReport {printable(report.image)}: {_count(len(report.packages), 'package')}, "
        f"{size(report.owned_bytes)} owned, {size(report.unowned_bytes)} by none>"
    )


def repr_dockerfile(dockerfile: Dockerfile) -> str:
    return f"<Dockerfile: {len(dockerfile.instructions)} instructions>"


# -------------------------------------------------------------------------------------------------- tables


def html_analysis(a: Analysis) -> str:
    return analysis_fragment(a)


def html_tree(node: TreeNode) -> str:
    return tree_fragment(node)


def html_image_tree(t: ImageTree) -> str:
    return tree_fragment(t.root, tree_title(t))


def html_diff(d: ImageDiff) -> str:
    return diff_fragment(d)


def _html_of(rich_view: Callable[[Any], RenderableType]) -> Callable[[Any], str]:
    return lambda obj: rich_html(rich_view(obj))


def _text_of(rich_view: Callable[[Any], RenderableType]) -> Callable[[Any], str]:
    return lambda obj: plain_text(rich_view(obj))


def views() -> list[tuple[type, dict[str, Callable[[Any], Any]]]]:
    """Every result type with its renderers by kind: ``rich``, ``html``, ``text``, ``repr``."""
    from imgscope.advise import Advice
    from imgscope.analysis import Analysis, ImageTree
    from imgscope.budget.check import CheckReport
    from imgscope.compare import ImageDiff
    from imgscope.history.dockerfile import Dockerfile
    from imgscope.history.rows import History
    from imgscope.inspect import ImageInfo
    from imgscope.packages import PackageReport
    from imgscope.union.tree import TreeNode

    table: list[tuple[type, Callable[[Any], RenderableType], Callable[[Any], str], Callable[[Any], str] | None]] = [
        (Analysis, rich_analysis, repr_analysis, html_analysis),
        (TreeNode, rich_tree, repr_tree, html_tree),
        (ImageTree, rich_image_tree, repr_image_tree, html_image_tree),
        (ImageDiff, rich_diff, repr_diff, html_diff),
        (CheckReport, rich_check, repr_check, None),
        (Advice, rich_advice, repr_advice, None),
        (ImageInfo, rich_info, repr_info, None),
        (History, rich_history, repr_history, None),
        (Dockerfile, rich_dockerfile, repr_dockerfile, None),
        (PackageReport, rich_packages, repr_packages, None),
    ]
    return [
        (
            cls,
            {
                "rich": rich_view,
                "text": _text_of(rich_view),
                "repr": one_line,
                "html": html_view or _html_of(rich_view),
            },
        )
        for cls, rich_view, one_line, html_view in table
    ]
