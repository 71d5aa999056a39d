"""The terminal report of a check (rich): the rules table, details of failures, the baseline delta, the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
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
    parts: list[RenderableType] = [title, _Rules(report)]
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


#: the fewest cells the Why column may have before the table gives way to a block per rule
_WHY_MIN = 16


class _Rules:
    """The rules as a table (Rule, Status, Actual, Limit, Why) where it fits with a Why column of at least
    ``_WHY_MIN`` cells; on a narrower terminal, a block per rule: its status, name and figures on one line, the
    why folded under it, so that PASS or FAIL is always read (rich squeezed Status to … at 40 columns)."""

    def __init__(self, report: CheckReport) -> None:
        self.rows = [
            (
                safe(r.name),
                Text(label(r), style=_STYLES[label(r)]),
                value(r.actual, r.unit, r.limit),
                value(r.limit, r.unit, r.actual),
                safe(r.why),
            )
            for r in report.results
        ]

    def _table(self) -> Table:
        table = Table()
        table.add_column("Rule", no_wrap=True)
        table.add_column("Status", no_wrap=True)
        table.add_column("Actual", justify="right", no_wrap=True)
        table.add_column("Limit", justify="right", no_wrap=True)
        table.add_column("Why", overflow="fold")
        for row in self.rows:
            table.add_row(*row)
        return table

    def _fits(self, width: int) -> bool:
        headers = ("Rule", "Status", "Actual", "Limit")
        fixed = [max([cell_len(h), *(Text(str(row[i])).cell_len for row in self.rows)]) for i, h in enumerate(headers)]
        return sum(fixed) + _WHY_MIN + 5 * 2 + 6 <= width  # each column's padding, and the six rules between

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self._fits(options.max_width):
            yield self._table()
            return
        for name, status, actual, limit, why in self.rows:
            line = Text.assemble(status, " ", name, f"  {actual} (limit {limit})")
            line.overflow = "fold"
            yield line
            body = why.copy()
            body.overflow = "fold"
            # indented, unless that would break a word (a figure) the line could hold whole
            longest = max((cell_len(word) for word in body.plain.split()), default=0)
            yield Padding(body, (0, 0, 0, 2 if longest <= options.max_width - 2 else 0))

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        if self._fits(options.max_width):
            return Measurement.get(console, options, self._table())
        return Measurement(min(options.max_width, 20), options.max_width)
