"""``imgscope advise`` for people (rich). Reads an ``Advice``; computes nothing (its JSON is ``Advice.to_dict``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from imgscope.render.cells import PathCell
from imgscope.render.terminal import percent, safe, size
from imgscope.text import first_layers

if TYPE_CHECKING:
    from imgscope.advise import Advice, Finding
    from imgscope.analysis.result import Analysis

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _saved_line(advice: Advice) -> Text:
    return Text(
        f"Could save {size(advice.total_saved)} "
        f"({percent(advice.saved_fraction)} of {size(advice.image_size)} of layer content)"
        f" — {len(advice.findings)} finding{'s' * (len(advice.findings) != 1)}"
        + (f", {advice.ignored} ignored (--ignore, settings)" if advice.ignored else ""),
        style="bold",
    )


def _finding(f: Finding) -> RenderableType:
    """One finding: a heading, then its text indented under it, each label's text hanging under its first
    line (a narrow terminal folds it there, not at the margin; a log gets whole lines)."""
    head = Text()
    head.append(f"{f.severity.value.upper():8}", _STYLE[f.severity.value])
    head.append(f"{f.id} {f.name}", "bold")
    if f.bytes_saved is not None:
        head.append(f"  saves {size(f.bytes_saved)}", "green")
    parts: list[RenderableType] = [head, _indented(safe(f.title, "bold")), _indented(safe(f.message))]
    if f.paths:  # one a line, cut in the middle when too long (whole in --json)
        paths: list[RenderableType] = [PathCell(p) for p in f.paths]
        if f.path_count > len(f.paths):
            paths.append(Text(f"… and {f.path_count - len(f.paths):,} more", "dim"))
        parts.append(_labelled("paths:", Group(*paths)))
    fix = Text("\n").join(safe(line) for line in f.fix.split("\n"))  # the fix's own line breaks kept
    parts.append(_labelled("fix:", fix))
    return Group(*parts)


def _indented(text: Text) -> RenderableType:
    return Padding(text, (0, 0, 0, 2))


def _labelled(label: str, text: RenderableType) -> RenderableType:
    """``label text``, the text's folded lines hanging under its first one."""
    row = Table.grid(padding=(0, 1))
    row.add_column(style="dim", no_wrap=True)
    row.add_column(overflow="fold")  # a word longer than the line (a fix's command) is folded, never cut
    row.add_row(label, text)
    return _indented_table(row)


def _indented_table(table: Table) -> RenderableType:
    return Padding(table, (0, 0, 0, 2))


def render_advice(advice: Advice, analysis: Analysis) -> RenderableType:
    """The full advise report: a header, every finding (most severe first, then largest saving), the total."""
    head = Text()
    head.append("imgscope advise ", "bold")
    head.append(safe(analysis.image.name or "(untagged)"))
    head.append(safe(f"  {analysis.image.source}", "dim"))
    if advice.base is not None:
        head.append("\nbase: ", "dim")
        span = first_layers(advice.base.layer_count)
        head.append(safe(f"{advice.base.name or 'unnamed'}, {span}; found by: {advice.base.evidence}"))
    for note in analysis.image.notes:  # which image or platform was picked, as analyze and tree say it
        head.append("\n")
        head.append(safe(f"Note: {note}", "yellow"))
    counts = {sev: sum(1 for f in advice.findings if f.severity.value == sev) for sev in ("error", "warning", "info")}
    head.append("\nfindings: ", "dim")
    for number, (sev, n) in enumerate(counts.items()):
        head.append("  " if number else "")
        head.append(f"{n} {sev}{'s' * (n != 1 and sev != 'info')}", _STYLE[sev] if n else "dim")
    parts: list[RenderableType] = [head, Text("")]
    if not advice.findings:
        parts.append(Text("No findings.", style="green"))
    for f in advice.findings:
        parts.extend([_finding(f), Text("")])
    parts.append(_saved_line(advice))
    return Group(*parts)


def _where(f: Finding, shown: list[Finding]) -> str:
    """What tells ``f`` from the other findings of its rule in a short list: its layers, and its first path when
    another finding of the rule has the same layers."""
    text = f" (layer{'s' * (len(f.layers) != 1)} {', '.join(map(str, f.layers))}" if f.layers else ""
    twins = [g for g in shown if g is not f and g.id == f.id and g.layers == f.layers]
    if twins and f.paths:
        text += ("; " if text else " (") + f.paths[0] + (f" and {f.path_count - 1:,} more" if f.path_count > 1 else "")
    return text + ")" if text else ""


def render_top_savings(advice: Advice, top: int = 5) -> RenderableType:
    """The few lines at the end of ``imgscope analyze``: the largest savings and the total."""
    lines = Text()
    lines.append("Top savings (imgscope advise for all findings and fixes)\n", "bold")
    saving = sorted((f for f in advice.findings if f.bytes_saved), key=lambda f: -(f.bytes_saved or 0))
    shown = saving[:top]
    for f in shown:
        lines.append(f"  {size(f.bytes_saved):>9}  ", "green")
        lines.append(f"{f.id} ")
        lines.append(safe(f.title))
        where = safe(_where(f, shown))
        where.stylize("dim")
        lines.append(where)
        lines.append("\n")
    if not saving:
        lines.append("  nothing to save\n", "green")
    errors = [f for f in advice.findings if f.severity.value == "error"]
    if errors:  # secrets save no bytes, so the list above never shows them: they must not go unseen
        ids = ", ".join(sorted({f.id for f in errors}))
        lines.append(
            f"  {len(errors)} error finding{'s' * (len(errors) != 1)} ({ids}) save no bytes "
            "but matter most: see imgscope advise\n",
            "bold red",
        )
    lines.append_text(_saved_line(advice))
    return lines
