"""A check report as Markdown: a pull-request comment, or GitHub's job summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgscope.render.check_text import image_label, label, signed, value, verdict
from imgscope.text import printable

if TYPE_CHECKING:
    from imgscope.checks import CheckReport

_ICONS = {"PASS": "✅", "FAIL": "❌", "SKIP": "⏭️"}


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return printable(text).replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`").replace("<", "&lt;")


def render_markdown(report: CheckReport) -> str:
    icon = "✅" if report.passed else "❌"
    lines = [
        f"### {icon} imgscope check: {cell(verdict(report))}",
        "",
        f"Image `{cell(image_label(report))}`",
        "",
        "| Rule | Status | Actual | Limit | Why |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for r in report.results:
        status = label(r)
        lines.append(
            f"| `{cell(r.name)}` | {_ICONS[status]} {status} | {value(r.actual, r.unit)} | "
            f"{value(r.limit, r.unit)} | {cell(r.why)} |"
        )
    failing = [r for r in report.failures if r.details]
    for r in failing:
        lines += ["", f"<details><summary>{cell(r.name)}</summary>", ""]
        lines += [f"- `{cell(d)}`" for d in r.details]
        lines += ["", "</details>"]
    b = report.baseline
    if b is not None:
        lines += [
            "",
            f"Against the baseline `{cell(b.source)}`:",
            "",
            "| | Before | After | Delta |",
            "| --- | ---: | ---: | ---: |",
            f"| content size | {value(b.size_before, 'bytes')} | {value(b.size_after, 'bytes')} | {signed(b.delta)} |",
            f"| compressed | {value(b.compressed_before, 'bytes')} | {value(b.compressed_after, 'bytes')} | "
            f"{signed(b.compressed_after - b.compressed_before)} |",
        ]
        for d in b.layers:
            if d.delta:
                lines.append(
                    f"| layer {d.index} | {value(d.before, 'bytes')} | {value(d.after, 'bytes')} | {signed(d.delta)} |"
                )
    if report.notes:
        lines += [""] + [f"> {cell(n)}" for n in report.notes]
    return "\n".join(lines) + "\n"
