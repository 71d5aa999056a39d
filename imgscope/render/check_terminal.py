"""The terminal report of a check (rich): the rules table, details of failures, the baseline delta, the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from imgscope.render.check_text import image_label, label, signed, value, verdict
from imgscope.render.terminal import safe

if TYPE_CHECKING:
    from imgscope.budget.check import CheckReport

_STYLES = {"PASS": "green", "FAIL": "bold red", "SKIP": "dim"}


def render_check(report: CheckReport) -> RenderableType:
    """The report as one rich renderable: the table, failures' details, the baseline delta, notes, verdict."""
    # the title above the table, not its title, which rich wraps to the table's width (a narrow table in a log)
    title = safe(f"imgscope check {image_label(report)}", "italic")
    title.no_wrap, title.overflow = True, "ignore"
    table = Table()
    table.add_column("Rule", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Actual", justify="right", no_wrap=True)
    table.add_column("Limit", justify="right", no_wrap=True)
    table.add_column("Why", overflow="fold")
    for r in report.results:
        status = label(r)
        table.add_row(
            safe(r.name),
            Text(status, style=_STYLES[status]),
            value(r.actual, r.unit, r.limit),
            value(r.limit, r.unit, r.actual),
            safe(r.why),
        )
    parts: list[RenderableType] = [title, table]
    for r in report.failures:
        if r.details:
            lines = Text()
            lines.append(f"{r.name}:\n", style="bold")
            lines.append("\n".join(f"  {d}" for d in r.details))
            parts.append(lines)
    b = report.baseline
    if b is not None:
        parts.append(safe(f"Against the baseline {b.source}:", "bold"))
        delta = Table()
        for name in ("", "Before", "After", "Delta"):
            delta.add_column(name, justify="right" if name else "left")
        delta.add_row("content size", value(b.size_before, "bytes"), value(b.size_after, "bytes"), signed(b.delta))
        delta.add_row(
            "compressed",
            value(b.compressed_before, "bytes"),
            value(b.compressed_after, "bytes"),
            "-" if b.compressed_delta is None else signed(b.compressed_delta),
        )
        for d in b.layers:
            delta.add_row(f"layer {d.index}", value(d.before, "bytes"), value(d.after, "bytes"), signed(d.delta))
        parts.append(delta)
    for note in report.notes:
        parts.append(safe(f"note: {note}", "yellow"))
    parts.append(Text(verdict(report), style="bold green" if report.passed else "bold red"))
    return Group(*parts)
