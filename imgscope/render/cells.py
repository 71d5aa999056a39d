"""Table cells that choose what to cut when a column is narrow: a path loses its middle, a digest its tail
(never folded across lines, so what is shown can be copied); the full values are in ``--json``."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
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
    shows image IDs) and ``…``; never folded."""

    def __init__(self, digest: str | None, style: str = "") -> None:
        self.text = printable(digest or "-")
        self.style = style

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = cell_width(self.text)
        return Measurement(min(width, _SHORT_DIGEST + 1), width).clamp(max_width=options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = self.text
        if cell_width(text) > options.max_width:
            prefix, colon, rest = text.partition(":")
            head = f"{prefix}{colon}{rest[:12]}" if colon else text[:12]
            text = (head + "…") if len(head) + 1 <= options.max_width else text[: options.max_width]
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
