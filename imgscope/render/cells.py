"""Table cells that choose what to cut when a column is narrow: a path loses its middle, a digest its tail
(never folded across lines, so what is shown can be copied); the full values are in ``--json``."""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from imgscope.text import cell_width, fit_cells, middle_ellipsis, printable

_SHORT_DIGEST = len("sha256:") + 12  # docker's short ID


class PathCell:
    """A path on one line: whole when the column allows, else cut in the middle (``/usr/lib/…/x.py``). Widths
    are terminal cells (a CJK character takes two), as everywhere in this module."""

    def __init__(self, path: str, style: str = "", min_width: int = 24) -> None:
        self.text = printable(path)
        self.style = style
        self.min_width = min_width

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = cell_width(self.text)
        return Measurement(min(width, self.min_width), width).clamp(max_width=options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(middle_ellipsis(self.text, options.max_width), style=self.style, no_wrap=True)


class DigestCell:
    """A digest on one line: whole when it fits, else its short form (``sha256:`` and 12 hex digits, as docker
    shows image IDs), with ``…`` where there is room for it; never folded. Narrower than the short form, the
    cut still ends with ``…``."""

    def __init__(self, digest: str | None, style: str = "") -> None:
        self.text = printable(digest or "-")
        self.style = style

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = cell_width(self.text)
        return Measurement(min(width, _SHORT_DIGEST), width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text, room = self.text, options.max_width
        if cell_width(text) > room:
            prefix, colon, rest = text.partition(":")
            short = f"{prefix}{colon}{rest[:12]}" if colon else text[:12]
            if cell_width(short) < room:
                text = short + "…"
            elif cell_width(short) == room:
                text = short
            else:
                text = fit_cells(text, room - 1) + "…"
        yield Text(text, style=self.style, no_wrap=True)


class LineCell:
    """Text kept on one line: whole when the column allows, else cut at the end with ``…`` (a command: its
    start says what it is)."""

    def __init__(self, text: str, style: str = "", min_width: int = 20) -> None:
        self.text = " ".join(printable(text).split())
        self.style = style
        self.min_width = min_width

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = cell_width(self.text)
        return Measurement(min(width, self.min_width), width).clamp(max_width=options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = self.text
        if cell_width(text) > options.max_width:
            text = fit_cells(text, options.max_width - 1) + "…"
        yield Text(text, style=self.style, no_wrap=True)


class NameLine:
    """One line made of ``before``, a name and ``after`` (a tree entry: size, name, link target, counts): when the
    line is too long, the name loses its middle first, then the end of the line goes; never folded."""

    def __init__(self, before: Text, name: str, name_style: str, after: Text) -> None:
        self.before, self.name, self.name_style, self.after = before, printable(name), name_style, after

    def _width(self) -> int:
        return self.before.cell_len + cell_width(self.name) + self.after.cell_len

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = self._width()
        return Measurement(min(width, self.before.cell_len + 12), width).clamp(max_width=options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        room = options.max_width - self.before.cell_len - self.after.cell_len
        name = self.name if room >= cell_width(self.name) else middle_ellipsis(self.name, max(room, 8))
        line = Text.assemble(self.before, (name, self.name_style), self.after, no_wrap=True, overflow="ellipsis")
        line.truncate(options.max_width, overflow="ellipsis")
        yield line


class FitTable:
    """A table fitted to the width it is given: every column whole (numbers, sizes, short words) except the
    ``shrink`` ones (a command, a path, a name: cells that cut themselves), which share what is left equally,
    down to their minimum; when even that is too wide, the ``optional`` columns are left out,
    in that order. Built like a rich ``Table`` (``add_column``, ``add_row``, ``caption``)."""

    def __init__(self, *, optional: tuple[str, ...] = (), **table: Any) -> None:
        self.optional = optional
        self.caption: str | None = table.pop("caption", None)
        self.table = table
        self.columns: list[tuple[str, int | None, dict[str, Any]]] = []  # header, shrink's minimum, rich's options
        self.short: set[int] = set()
        self.rows: list[tuple[RenderableType, ...]] = []

    def add_column(self, header: str, *, shrink: int | None = None, short: bool = False, **column: Any) -> None:
        """A column; ``shrink``: the usable minimum of a column that may be narrower than its content; ``short``:
        its cells are shown whole or at that minimum, nothing between (a digest), so it grows only to whole."""
        if short:
            self.short.add(len(self.columns))
        self.columns.append((header, shrink, column))

    def add_row(self, *cells: RenderableType) -> None:
        self.rows.append(cells)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self._table(console, options))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self._table(console, options)

    def _table(self, console: Console, options: ConsoleOptions) -> Table:
        keep = list(range(len(self.columns)))
        dropped = iter(self.optional)
        while (widths := self._widths(console, options, keep)) is None:
            header = next(dropped, None)
            if header is None:  # nothing left to leave out: the shrinking columns share what is left
                widths = self._widths(console, options, keep, minimum=1) or {}
                break
            keep = [i for i in keep if self.columns[i][0] != header]
        table = Table(caption=self.caption, **self.table)
        for i in keep:
            header, shrink, column = self.columns[i]
            if shrink is None:
                table.add_column(header, no_wrap=True, **column)
            else:
                table.add_column(header, width=widths.get(i), **{"no_wrap": True, **column})
        for row in self.rows:
            table.add_row(*(row[i] for i in keep))
        return table

    def _widths(
        self, console: Console, options: ConsoleOptions, keep: list[int], minimum: int | None = None
    ) -> dict[int, int] | None:
        """The width of each shrinking column when the natural widths do not fit (``{}`` when they do), or
        ``None`` when the columns ``keep`` cannot fit; ``minimum``: the least a shrinking column may have, for
        each, in place of its own usable minimum (the last resort, below which rich cuts what it must)."""
        natural = {}
        for i in keep:
            header, _, column = self.columns[i]
            cells = [Measurement.get(console, options, row[i]).maximum for row in self.rows]
            natural[i] = max([cell_width(header), column.get("min_width") or 0, *cells])
        room = options.max_width - 3 * len(keep) - 1  # each column's padding (2) and rule (1), the table's edge
        if sum(natural.values()) <= room:
            return {}
        shrinking = [i for i in keep if self.columns[i][1] is not None]
        own = {i: self.columns[i][1] or 0 for i in shrinking}
        widths = {i: min(natural[i], own[i] if minimum is None or i in self.short else minimum) for i in shrinking}
        left = room - sum(natural[i] for i in keep if i not in widths) - sum(widths.values())
        if left < 0:
            return None
        while left > 0 and (narrow := [i for i in shrinking if widths[i] < natural[i] and i not in self.short]):
            for i in narrow[:left]:  # an equal share each, the first (what identifies the row) first
                widths[i] += 1
            left -= len(narrow[:left])
        for i in shrinking:
            if i in self.short and natural[i] - widths[i] <= left:
                left -= natural[i] - widths[i]
                widths[i] = natural[i]
        return widths
