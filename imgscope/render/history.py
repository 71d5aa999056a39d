"""``imgscope history`` for a terminal: the history table, or the reconstructed Dockerfile. Computes nothing."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from imgscope.history.dockerfile import Dockerfile
from imgscope.history.rows import History
from imgscope.render.cells import FitTable, LineCell
from imgscope.render.terminal import safe, size
from imgscope.text import first_layers, one_line, printable, redact


def render_history(history: History, title: str) -> RenderableType:
    """One row per history entry, empty ones dim, a rule where the base image ends."""
    table = FitTable(
        title=safe(title),
        title_justify="left",
        caption="--json or --dockerfile for whole commands",
        optional=("Created", "Layer"),
    )
    table.add_column("#", justify="right", min_width=2)
    table.add_column("Layer", justify="right", min_width=5)
    table.add_column("Size", justify="right", min_width=9)
    table.add_column("Created", min_width=19)
    table.add_column("Command", shrink=16)
    base = history.base
    for row in history.rows:
        if base is not None and row.index == base.history_count:
            table.add_row("", "", "", "", Text(f"─── base image ends: {printable(base.name or 'unnamed')} ───", "bold"))
        e, r = row.entry, row.layer
        style = "dim" if r is None else ""
        command = one_line(e.command) or "(empty)"  # secret-looking values masked
        table.add_row(
            str(row.index),
            str(r.index) if r else "-",
            size(r.size) if r else "",
            safe((e.created or "")[:19].replace("T", " "), style),
            LineCell(command, style),
        )
    for r in history.unnamed_layers:
        table.add_row("", str(r.index), size(r.size), "", Text("(no history entry)", "yellow"))
    parts: list[RenderableType] = [table]
    parts.extend(safe(f"Note: {note}", "yellow") for note in history.notes)
    if base is not None:
        parts.append(
            safe(
                f"Base image: {base.name or 'unnamed'}, {first_layers(base.layer_count)}; found by: {base.evidence}",
                "dim",
            )
        )
    return Group(*parts)


def dockerfile_lines(dockerfile: Dockerfile) -> list[str]:
    """The Dockerfile's lines for a terminal or a file: secret-looking values masked (a terminal or a CI log is no
    place for them; ``Dockerfile.text()`` has them as the history does), each line escaped (the author's text)."""
    return [printable(line) for line in redact(dockerfile.text()).splitlines()]


def render_dockerfile(dockerfile: Dockerfile) -> Text:
    """The Dockerfile text (``dockerfile_lines``), comments dim."""
    out = Text(no_wrap=True, overflow="ignore")  # long RUN lines stay whole, for copy and paste
    for line in dockerfile_lines(dockerfile):
        out.append(line + "\n", "dim" if line.startswith("#") else "")
    return out
