"""``imgscope advise`` for people (rich). Reads an ``Advice``; computes nothing (its JSON is ``Advice.to_dict``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text

from imgscope.render.terminal import percent, safe, size
from imgscope.text import first_layers

if TYPE_CHECKING:
    from imgscope.advise import Advice, Finding
    from imgscope.analysis.result import Analysis

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _saved_line(advice: Advice) -> Text:
    return Text(
        f"Could save {size(advice.total_saved)} ({percent(advice.saved_fraction)} of {size(advice.image_size)} stored)"
        f" — {len(advice.findings)} finding{'s' * (len(advice.findings) != 1)}"
        + (f", {advice.ignored} ignored by settings" if advice.ignored else ""),
        style="bold",
    )


def _finding(f: Finding) -> RenderableType:
    text = Text()
    text.append(f"{f.severity.value.upper():8}", _STYLE[f.severity.value])
    text.append(f"{f.id} {f.name}", "bold")
    if f.bytes_saved is not None:
        text.append(f"  saves {size(f.bytes_saved)}", "green")
    text.append("\n  ")
    text.append(safe(f.title, "bold"))
    text.append("\n  ")
    text.append(safe(f.message))
    if f.paths:
        text.append("\n  paths: ", "dim")
        text.append(safe(", ".join(f.paths)))
        if f.path_count > len(f.paths):
            text.append(f" … and {f.path_count - len(f.paths):,} more", "dim")
    text.append("\n  fix: ", "dim")
    for number, line in enumerate(f.fix.split("\n")):  # escape each line, keep the fix's own line breaks
        if number:
            text.append("\n       ")
        text.append(safe(line))
    return text


def render_advice(advice: Advice, analysis: Analysis) -> RenderableType:
    """The full advise report: a header, every finding (largest saving first), the total."""
    head = Text()
    head.append("imgscope advise ", "bold")
    head.append(safe(analysis.image.name or "(untagged)"))
    head.append(safe(f"  {analysis.image.source}", "dim"))
    if advice.base is not None:
        head.append("\nbase: ", "dim")
        span = first_layers(advice.base.layer_count)
        head.append(safe(f"{advice.base.name or 'unnamed'}, {span}; found by: {advice.base.evidence}"))
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


def render_top_savings(advice: Advice, top: int = 5) -> RenderableType:
    """The few lines at the end of ``imgscope analyze``: the largest savings and the total."""
    lines = Text()
    lines.append("Top savings (imgscope advise for all findings and fixes)\n", "bold")
    saving = [f for f in advice.findings if f.bytes_saved]
    for f in saving[:top]:
        lines.append(f"  {size(f.bytes_saved):>9}  ", "green")
        lines.append(f"{f.id} ")
        lines.append(safe(f.title))
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
