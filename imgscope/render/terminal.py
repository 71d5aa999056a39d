"""The terminal report (rich). Reads analyses; computes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from imgscope.render.cells import DigestCell, FitTable, LineCell, PathCell
from imgscope.text import cell_width, one_line, plural, printable
from imgscope.units import format_percent, format_size

if TYPE_CHECKING:
    from imgscope.analysis import Analysis
    from imgscope.model import ImageRef


def safe(text: str | None, style: str = "") -> Text:
    """Image-controlled text as plain Text: control characters escaped, no rich markup parsed."""
    return Text(printable(text or ""), style=style)


def size(n: int | None) -> str:
    """Bytes for people: ``294 B``, ``1.2 MB`` (decimal units, as ``docker images`` shows)."""
    return "-" if n is None else format_size(n)


def percent(x: float | None) -> str:
    """A fraction for people: ``4.5%`` (``units.format_percent``, the one format)."""
    return format_percent(x)


def _short_id(digest: str | None) -> str:
    """``sha256:`` and 12 hex digits, as docker shows image IDs (the full ID: ``inspect``, ``--json``)."""
    if not digest:
        return "-"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest[:19]


def _short(digest: str | None, n: int = 12) -> str:
    return "-" if not digest else digest.removeprefix("sha256:")[:n]


def _header(a: Analysis) -> RenderableType:
    img, s = a.image, a.summary
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("Image", safe(img.name or "(untagged)"))
    grid.add_row("Source", safe(f"{img.source} [{img.format}]"))
    if img.digest:
        grid.add_row("Digest", safe(_short_id(img.digest)))
    grid.add_row("Image ID", safe(_short_id(img.config_digest)))
    grid.add_row("Platform", safe(str(img.platform) if img.platform else "-"))
    grid.add_row("Created", safe(img.created or "-"))
    grid.add_row(
        "Size",
        f"{size(s.size)} in {plural(s.layer_count, 'layer')} ({_stored(a)}); "
        f"{size(s.final_size)} visible in {plural(s.file_count, 'path')}",
    )
    waste_style = "red" if s.wasted_fraction > 0.1 else "yellow" if s.wasted_bytes else "green"
    grid.add_row(
        "Wasted",
        Text(
            f"{size(s.wasted_bytes)} ({percent(s.wasted_fraction)} of the layers' content); "
            f"efficiency {percent(s.efficiency)}",
            style=waste_style,
        ),
    )
    if s.duplicate_bytes:
        grid.add_row("Duplicates", f"{size(s.duplicate_bytes)} in same-content copies in the final filesystem")
    if not a.verified:
        grid.add_row("Integrity", Text("not checked (--no-verify)", style="yellow"))
    for note in img.notes:
        grid.add_row("Note", safe(note, "yellow"))
    return Panel(grid, title="imgscope", title_align="left")


def _stored(a: Analysis) -> str:
    """The blobs' bytes named for what they are: compressed (what a pull downloads) or stored uncompressed."""
    s = a.summary
    if all(r.compression != "none" for r in a.layers):
        return f"{size(s.stored_size)} compressed"
    text = f"{size(s.stored_size)} stored uncompressed"
    if s.compressed_size is not None:
        return f"{text}, {size(s.compressed_size)} gzipped"
    return f"{text}; gzipped size: --gzip"


#: Entries that made no layer shown in a row; a longer run shows its first and last ``_EMPTY_RUN_ENDS``.
_EMPTY_RUN = 20
_EMPTY_RUN_ENDS = 5


def _layers(a: Analysis) -> RenderableType:
    table = FitTable(
        title="Layers and history", title_justify="left", caption_justify="left", optional=("Stored", "~", "-", "+")
    )
    for name, style in (
        ("#", None),
        ("Size", None),
        ("Stored", None),
        ("+", "green"),
        ("~", "yellow"),
        ("-", "red"),
    ):
        table.add_column(name, justify="right", style=style)
    table.add_column("Command", shrink=12)  # one line a row (LineCell); whole commands: history --json
    table.caption = "+ added, ~ modified, - removed paths; # · a history entry that made no layer"
    by_layer = {r.index: r for r in a.layers}
    shown: set[int] = set()
    empty: list[str] = []  # the run of entries that made no layer since the last layer's row

    def empty_rows() -> None:
        # a long run is folded: its first and last few, and how many between (history --json lists them all)
        cut = len(empty) > _EMPTY_RUN
        for command in empty[:_EMPTY_RUN_ENDS] if cut else empty:
            table.add_row("·", "", "", "", "", "", LineCell(one_line(command), "dim"))
        if cut:
            folded = len(empty) - 2 * _EMPTY_RUN_ENDS
            table.add_row("·", "", "", "", "", "", Text(f"… {folded:,} more entries that made no layer", "dim"))
            for command in empty[-_EMPTY_RUN_ENDS:]:
                table.add_row("·", "", "", "", "", "", LineCell(one_line(command), "dim"))
        empty.clear()

    for h in a.image.history:
        r = by_layer.get(h.layer_index) if h.layer_index is not None else None
        if r is None:
            empty.append(h.command)
            continue
        empty_rows()
        shown.add(r.index)
        table.add_row(
            str(r.index),
            size(r.size),
            size(r.stored_size),
            str(r.added),
            str(r.modified),
            str(r.removed),
            LineCell(one_line(r.command)),
        )
    empty_rows()
    for r in a.layers:  # layers the history does not name
        if r.index not in shown:
            table.add_row(
                str(r.index), size(r.size), size(r.stored_size), str(r.added), str(r.modified), str(r.removed), ""
            )
    return table


def _wasted(a: Analysis, top: int) -> RenderableType:
    table = FitTable(
        title=f"Wasted files ({size(a.summary.wasted_bytes)})",
        title_justify="left",
        optional=("Hidden", "Written", "How"),
    )
    table.add_column("Size", justify="right")
    table.add_column("Path", shrink=16)
    table.add_column("Written", justify="right")
    table.add_column("Hidden", justify="right")
    table.add_column("How")
    for w in a.wasted_files[:top]:
        table.add_row(size(w.size), PathCell(w.path), str(w.layer), str(w.hidden_by), w.reason.value)
    more = len(a.wasted_files) - top
    if more > 0:
        table.caption = f"… and {more:,} more"
    return table


def _largest(a: Analysis, top: int) -> RenderableType:
    table = FitTable(title="Largest files", title_justify="left", optional=("Layer",))
    table.add_column("Size", justify="right")
    table.add_column("Path", shrink=16)
    table.add_column("Layer", justify="right")
    for f in a.largest_files[:top]:
        table.add_row(size(f.size), PathCell(f.path), str(f.layer))
    return table


def _dive(a: Analysis) -> RenderableType:
    d = a.dive
    lines = Text()
    lines.append("dive-compatible figures (dive 0.13.1's definitions, quirks included; see docs/metrics.md)\n", "bold")
    # dive's figures in this report's number style with dive's four decimals, so that they can be compared with
    # dive's output digit for digit; `check --format dive` prints dive's text verbatim
    lines.append(f"  efficiency: {format_percent(d.efficiency, digits=4)}\n")
    lines.append(f"  wastedBytes: {plural(d.wasted_bytes, 'byte')} ({size(d.wasted_bytes)})\n")
    lines.append(f"  userWastedPercent: {format_percent(d.user_wasted_percent, digits=4)}")
    return lines


def render_analysis(a: Analysis, top: int = 10) -> RenderableType:
    """The whole report as one rich renderable."""
    parts: list[RenderableType] = [_header(a), _layers(a)]
    if a.wasted_files and top > 0:  # --top 0: no file lists (the header has the wasted total)
        parts.append(_wasted(a, top))
    parts.append(_dive(a))
    if a.largest_files and top > 0:
        parts.append(_largest(a, top))
    return Group(*parts)


def render_images(path: str, refs: list[ImageRef]) -> RenderableType:
    images = [ref for ref in refs if ref.artifact_type is None]
    table: RenderableType = _ImagesTable(path, images) if images else safe(f"No images in {path}")
    artifacts = [ref for ref in refs if ref.artifact_type is not None]
    if not artifacts:
        return table
    others = Table(title=safe(f"Artifacts in {path} (not images)"), title_justify="left")
    others.add_column("Type")
    others.add_column("Attached to")
    others.add_column("Manifest digest")
    for ref in artifacts:
        others.add_row(safe(str(ref.artifact_type)), _short_id(ref.subject), _short_id(ref.digest))
    return Group(table, others)


class _ImagesTable:
    """The images of ``ls``, with the columns the width allows: the name always (it is what ``--image`` takes),
    then the platform and the manifest digest; the image ID only where it fits whole beside the whole name."""

    _NAME_MIN = 12
    _DIGEST = 19  # sha256: and 12 hex digits

    def __init__(self, path: str, refs: list[ImageRef]) -> None:
        self.path = path
        self.refs = refs

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        names = [
            ", ".join([t for t in ref.tags if ":" in t or "/" in t] or [ref.name or "(untagged)"]) for ref in self.refs
        ]
        platforms = [safe(str(ref.platform) if ref.platform else "-") for ref in self.refs]
        name_width = max([len("Name"), *(cell_width(printable(n)) for n in names)])
        platform_width = max([len("Platform"), *(p.cell_len for p in platforms)])
        # each column costs its padding (2) and a rule (1), the table one more rule
        with_id = name_width + platform_width + 2 * self._DIGEST + 4 * 3 + 1 <= options.max_width
        table = FitTable(
            title=safe(f"Images in {self.path}"), title_justify="left", optional=("Manifest digest", "Platform")
        )
        table.add_column("Name", shrink=self._NAME_MIN)  # cut first (its middle): the digests stay whole
        table.add_column("Platform")
        table.add_column("Manifest digest")
        if with_id:
            table.add_column("Image ID")
        for ref, name, platform in zip(self.refs, names, platforms, strict=True):
            cells: list[RenderableType] = [
                PathCell(name, min_width=self._NAME_MIN),
                platform,
                DigestCell(_short_id(ref.digest)),
            ]
            if with_id:
                cells.append(DigestCell(_short_id(ref.config_digest)))
            table.add_row(*cells)
        yield table
