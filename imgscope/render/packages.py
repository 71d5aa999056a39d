"""The ``imgscope packages`` report (rich): packages by size, what each layer did to them, unowned bytes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text

from imgscope.render.cells import FitTable, LineCell, NameLine, PathCell
from imgscope.render.terminal import percent, safe, size
from imgscope.text import layer_of, plural

if TYPE_CHECKING:
    from imgscope.packages import Package, PackageReport


def sort_packages(packages: tuple[Package, ...], by: str) -> list[Package]:
    """``size`` (largest first) or ``name``."""
    if by == "name":  # as a person reads a list of names: "busybox" before "My_Pkg"
        return sorted(packages, key=lambda p: (p.name.casefold(), p.name, p.ecosystem, p.location))
    return sorted(packages, key=lambda p: (-p.size, p.name, p.location))


def largest_packages(report: PackageReport, top: int = 10) -> RenderableType:
    """The "Largest packages" table of ``imgscope analyze``; nothing for ``top`` 0 (``--top 0``)."""
    if top <= 0:
        return Group()
    table = FitTable(title="Largest packages", title_justify="left", optional=("Layer", "Type"))
    table.add_column("Size", justify="right")
    table.add_column("Package", shrink=12)
    table.add_column("Version", shrink=8)
    table.add_column("Type")
    table.add_column("Layer", justify="right")
    for p in report.packages[:top]:
        table.add_row(size(p.size), _name(p.name), _version(p.version), p.ecosystem, _layer(p.layer))
    more = len(report.packages) - top
    if more > 0:
        table.caption = f"… and {more:,} more; imgscope packages IMAGE lists them all"
    return table


def _layer(n: int | None) -> str:
    return "-" if n is None else str(n)


def _name(name: str, after: Text | None = None) -> NameLine:
    """A package's name on one line, its middle cut when the column is narrow (never folded)."""
    return NameLine(Text(), name, "", after or Text())


def _version(version: str) -> LineCell:
    """A version on one line, its end cut when the column is narrow (never folded)."""
    return LineCell(version, min_width=8)


def render_packages(
    report: PackageReport, *, sort: str = "size", top: int = 0, layer_view: bool = False
) -> RenderableType:
    """The whole report; ``top`` > 0 cuts the package table; ``layer_view`` adds what the layer did."""
    parts: list[RenderableType] = []
    owned_share = report.owned_bytes / report.total_bytes if report.total_bytes else 0.0
    head = Text()
    head.append(printable_name(report))
    head.append(
        f" after {layer_of(report.layer, report.layer_count)}: {plural(len(report.packages), 'package')} "
        f"own{'s' * (len(report.packages) == 1)} "
        f"{size(report.owned_bytes)} of {size(report.total_bytes)} ({percent(owned_share)})"
    )
    if report.os:
        head.append(f"; OS: {report.os}")
    parts.append(head)

    table = FitTable(title="Packages", title_justify="left", optional=("Files", "Layer", "Wasted", "Type"))
    for col, justify in (
        ("Size", "right"),
        ("Package", "left"),
        ("Version", "left"),
        ("Type", "left"),
        ("Files", "right"),
        ("Layer", "right"),
        ("Wasted", "right"),
    ):
        table.add_column(col, justify=justify, shrink={"Package": 12, "Version": 8}.get(col))
    rows = sort_packages(report.packages, sort)
    shown = rows[:top] if top > 0 else rows
    # Where a pip or npm package is installed goes below its name, on one line (its middle cut when narrow).
    for p in shown:
        name: RenderableType = _name(p.name, Text(" (dev)", style="dim") if p.dev else None)
        if p.ecosystem in ("pypi", "npm"):
            name = Group(name, PathCell(p.location, "dim", min_width=12))
        table.add_row(
            size(p.size),
            name,
            _version(p.version),
            p.ecosystem,
            f"{p.files:,}",
            _layer(p.layer),
            size(p.wasted_bytes) if p.wasted_bytes else "",
        )
    if len(rows) > len(shown):
        table.caption = f"… and {len(rows) - len(shown):,} more"
    parts.append(table)

    if layer_view:
        parts.append(_layer_table(report))

    if report.removed:
        gone = FitTable(
            title="Removed packages (their bytes still stored in lower layers)",
            title_justify="left",
            optional=("Installed", "Removed", "Type"),
        )
        for col in ("Wasted", "Package", "Version", "Type", "Installed", "Removed"):
            gone.add_column(
                col,
                justify="right" if col in ("Wasted", "Installed", "Removed") else "left",
                shrink={"Package": 12, "Version": 8}.get(col),
            )
        for p in report.removed:
            gone.add_row(
                size(p.wasted_bytes),
                _name(p.name),
                _version(p.version),
                p.ecosystem,
                _layer(p.layer),
                _layer(p.removed_in),
            )
        parts.append(gone)

    if report.unowned:
        un = FitTable(title=f"Bytes no package owns: {size(report.unowned_bytes)}", title_justify="left")
        un.add_column("Size", justify="right")
        un.add_column("Directory", shrink=16)
        un.add_column("Files", justify="right")
        for u in report.unowned[:10]:
            un.add_row(size(u.size), PathCell(u.directory, min_width=16), f"{u.files:,}")
        parts.append(un)

    dbs = ", ".join(f"{d.path} ({d.packages if d.packages is not None else 'not read'})" for d in report.databases)
    parts.append(Text("Databases: ") + safe(dbs or "none found"))
    for note in report.notes[:20]:
        parts.append(Text("Note: ", style="yellow") + safe(note))
    if len(report.notes) > 20:
        parts.append(Text(f"… and {len(report.notes) - 20} more notes (--json lists them all)"))
    return Group(*parts)


def printable_name(report: PackageReport) -> str:
    from imgscope.text import printable

    return printable(report.image or "image")


def _layer_table(report: PackageReport) -> RenderableType:
    n = report.layer
    table = FitTable(
        title=f"Layer {n}: what it did to packages",
        title_justify="left",
        optional=("Modified", "Removed", "Added"),
    )
    for col in ("Change", "Package", "Version", "Added", "Modified", "Removed"):
        table.add_column(
            col,
            justify="right" if col in ("Added", "Modified", "Removed") else "left",
            shrink={"Package": 12, "Version": 8}.get(col),
        )
    events = {(e.ecosystem, e.name, e.location): e for e in report.events if e.layer == n}
    for p in (*report.packages, *report.removed):
        row = next((pl for pl in p.layers if pl.layer == n), None)
        event = events.get((p.ecosystem, p.name, p.location))
        if row is None and event is None:
            continue
        change = event.change if event else "files changed"
        version = p.version
        if event is not None and event.old_version is not None and event.new_version is not None:
            version = f"{event.old_version} -> {event.new_version}"  # a removed package has no new version
        table.add_row(
            change,
            _name(p.name),
            _version(version),
            size(row.added_bytes) if row else "",
            size(row.modified_bytes) if row else "",
            size(row.removed_bytes) if row else "",
        )
    return table
