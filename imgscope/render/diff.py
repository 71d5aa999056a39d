"""``imgscope diff`` for a terminal. Reads an ``ImageDiff``; computes nothing."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from imgscope.compare import ImageDiff, ImageSide, SizeDelta
from imgscope.render.cells import FitTable, LineCell, PathCell
from imgscope.render.terminal import safe, size
from imgscope.text import first_layers, one_line, plural, setting_text

KIND_STYLE = {"added": "green", "removed": "red", "changed": "yellow"}
KIND_MARK = {"added": "+", "removed": "-", "changed": "~"}


def signed(n: int) -> str:
    """A byte delta with its sign: ``+1.2 kB``, ``-300 Bytes``, ``0 Bytes``."""
    return ("+" if n > 0 else "-" if n < 0 else "") + size(abs(n))


def _name(s: ImageSide) -> str:
    platform = f", {s.platform}" if s.platform else ""
    return f"{s.name or '(untagged)'} ({s.source}{platform})"


def _sizes(d: ImageDiff) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    for _ in range(3):
        grid.add_column(justify="right")
    grid.add_row("", "A", "B", "B - A")

    def row(name: str, s: SizeDelta, human: bool = True) -> None:
        if human:
            grid.add_row(name, size(s.a), size(s.b), signed(s.delta))
        else:
            grid.add_row(name, f"{s.a:,}", f"{s.b:,}", f"{s.delta:+,}")

    row("Content", d.size)
    row("Stored", d.stored_size)
    row("Visible", d.final_size)
    row("Paths", d.file_count, human=False)
    return grid


def _layers(d: ImageDiff) -> FitTable:
    """A line per layer and side (size, diff_id's first 12 hex digits, command), its end cut when narrow."""
    table = FitTable(title="Layers (same diff_id = shared)", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("A", shrink=12)
    table.add_column("B", shrink=12)
    for i in range(max(len(d.layers_a), len(d.layers_b))):
        cells: list[RenderableType] = []
        for layers in (d.layers_a, d.layers_b):
            if i >= len(layers):
                cells.append(Text(""))
                continue
            x = layers[i]
            command = one_line(x.command, 40)  # secret-looking values masked
            style = "dim" if i < d.common_layers else ("" if x.shared else "bold")
            cells.append(safe(f"{size(x.size)}  {(x.diff_id or '-').removeprefix('sha256:')[:12]}  {command}", style))
        table.add_row(str(i), *cells)
    if d.common_layers == len(d.layers_a) == len(d.layers_b):
        table.caption = "every layer is the same in both"
    elif d.common_layers:
        verb = "is" if d.common_layers == 1 else "are"
        table.caption = f"{first_layers(d.common_layers)} {verb} the same in both (dim); the images diverge after them"
    else:
        table.caption = "the images share no bottom layer"
    return table


def _directories(d: ImageDiff, top: int) -> FitTable:
    table = FitTable(title="Differences by directory", title_justify="left", optional=("Removed", "Added", "~", "-"))
    for name in ("Directory", "+", "-", "~", "Added", "Removed", "B - A"):
        table.add_column(
            name, justify="left" if name == "Directory" else "right", shrink=12 if name == "Directory" else None
        )
    for x in d.directories[:top]:
        table.add_row(
            PathCell(x.path),
            str(x.added),
            str(x.removed),
            str(x.changed),
            size(x.added_bytes),
            size(x.removed_bytes),
            signed(x.delta),
        )
    if len(d.directories) > top:
        table.caption = f"… and {len(d.directories) - top:,} more directories"
    return table


def _files(d: ImageDiff, top: int) -> FitTable:
    table = FitTable(
        title=f"Files: {plural(len(d.files), 'file')} {'differs' if len(d.files) == 1 else 'differ'}",
        title_justify="left",
        optional=("What changed", "A", "B"),
    )
    table.add_column("")
    table.add_column("Path", shrink=12)  # cut in the middle when narrow (PathCell); whole in --json
    table.add_column("A", justify="right")
    table.add_column("B", justify="right")
    table.add_column("B - A", justify="right")
    table.add_column("What changed", shrink=12, no_wrap=False)
    ordered = sorted(d.files, key=lambda f: (-abs(f.delta), f.path))
    for f in ordered[:top]:
        style = KIND_STYLE[f.kind]
        table.add_row(
            Text(KIND_MARK[f.kind], style),
            PathCell(f.path, style),
            size(f.size_a) if f.type_a else "-",
            size(f.size_b) if f.type_b else "-",
            signed(f.delta),
            ", ".join(f.changed),
        )
    if len(ordered) > top:
        table.caption = f"… and {len(ordered) - top:,} more (--top, or --json for all)"
    return table


def _config(d: ImageDiff) -> FitTable:
    """A row per setting; a value folds between its words, and within a word only when narrower than 12 cells."""
    table = FitTable(title="Config differences", title_justify="left")
    table.add_column("Setting", shrink=12)
    table.add_column("A", shrink=12, no_wrap=False, overflow="fold", style="red")
    table.add_column("B", shrink=12, no_wrap=False, overflow="fold", style="green")
    for c in d.config:  # secret-looking values masked (a terminal's text ends up in CI logs; --json has them all)
        table.add_row(LineCell(c.key), safe(setting_text(c.key, c.a)), safe(setting_text(c.key, c.b)))
    return table


def _for_diff(note: str, side: str) -> str:
    """An image's note in ``diff``'s words: its image is chosen as ``PATH:IMAGE``, its platform with
    ``--platform-a`` / ``--platform-b``, where ``analyze`` has ``--image`` and ``--platform``."""
    return note.replace("choose with --image", f"choose with PATH:IMAGE as {side}").replace(
        "choose with --platform", f"choose with --platform-{side.lower()}"
    )


def render_diff(d: ImageDiff, top: int = 20) -> RenderableType:
    """The comparison: the two images, size deltas, layers, directories, files, config."""
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("A", safe(_name(d.a)))
    head.add_row("B", safe(_name(d.b)))
    parts: list[RenderableType] = [head]
    for side, s in (("A", d.a), ("B", d.b)):
        parts.extend(safe(f"Note ({side}): {_for_diff(note, side)}", "yellow") for note in s.notes)
    if d.identical:
        parts.append(Text("The images are identical: same layers, same files, same config.", "green"))
        return Group(*parts)
    parts += [_sizes(d), _layers(d)]
    if d.files:
        parts += [_directories(d, top), _files(d, top)]
    else:
        parts.append(Text("The final filesystems are the same.", "green"))
    if d.packages:  # nothing when no package differs (or no database was read)
        parts.append(_packages(d, top))
    if d.config:
        parts.append(_config(d))
    else:
        parts.append(Text("The run-time config is the same.", "green"))
    return Group(*parts)


def _packages(d: ImageDiff, top: int) -> RenderableType:
    changes = d.packages or ()
    table = Table(title=f"Packages: {len(changes):,} changed", title_justify="left")
    for col in ("Change", "Package", "Type", "A", "B", "Size A", "Size B", "Delta"):
        table.add_column(col, justify="right" if col.startswith(("Size", "Delta")) else "left", overflow="fold")
    for c in changes[:top]:
        table.add_row(
            c.change,
            safe(c.name),
            c.ecosystem,
            safe(c.version_a or "-"),
            safe(c.version_b or "-"),
            "-" if c.change == "added" else size(c.size_a),  # as its version: no package on that side
            "-" if c.change == "removed" else size(c.size_b),
            signed(c.delta),
        )
    if len(changes) > top:
        table.caption = f"… and {len(changes) - top:,} more (--top, --json)"
    return table
