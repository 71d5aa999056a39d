"""A check report as Markdown: a pull-request comment, or GitHub's job summary."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from imgscope.render.check_text import image_label, label, signed, value, verdict
from imgscope.text import printable

if TYPE_CHECKING:
    from imgscope.budget.check import CheckReport

_ICONS = {"PASS": "✅", "FAIL": "❌", "SKIP": "⏭️"}


# Characters that could start Markdown syntax (emphasis, code, links and images, HTML, entities, strikethrough,
# table pipes); a backslash before any ASCII punctuation is a literal in CommonMark/GFM.
_MARKUP = re.compile(r"([\\`*_\[\]<>&|~!])")


def cell(text: str) -> str:
    """Image-controlled text as literal Markdown, safe inside a table cell: no link, image, HTML or emphasis can
    form (``![x](url)`` in a path stays text), and ``://`` cannot autolink."""
    return _MARKUP.sub(r"\\\1", printable(text)).replace("://", "\\://")


def code(text: str, *, in_table: bool = False) -> str:
    """``text`` as one Markdown code span, shown verbatim: the fence is longer than any backtick run inside (a
    backslash does not escape inside a code span), padded when the text starts or ends with a backtick."""
    text = printable(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "
    if in_table:
        text = text.replace("|", "\\|")  # GFM splits cells on | first, even inside code spans
    return f"{fence}{text}{fence}"


def render_markdown(report: CheckReport) -> str:
    """The report as Markdown: the verdict, a table of every rule, failures' details, the baseline delta."""
    icon = "✅" if report.passed else "❌"
    lines = [
        f"### {icon} imgscope check: {cell(verdict(report))}",
        "",
        f"Image {code(image_label(report))}",
        "",
        "| Rule | Status | Actual | Limit | Why |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for r in report.results:
        status = label(r)
        lines.append(
            f"| {code(r.name, in_table=True)} | {_ICONS[status]} {status} | {value(r.actual, r.unit, r.limit)} | "
            f"{value(r.limit, r.unit, r.actual)} | {cell(r.why)} |"
        )
    failing = [r for r in report.failures if r.details]
    for r in failing:
        lines += ["", f"<details><summary>{html.escape(printable(r.name))}</summary>", ""]
        lines += [f"- {code(d)}" for d in r.details]
        lines += ["", "</details>"]
    b = report.baseline
    if b is not None:
        lines += [
            "",
            f"Against the baseline {code(b.source)}:",
            "",
            "| | Before | After | Delta |",
            "| --- | ---: | ---: | ---: |",
            f"| content size | {value(b.size_before, 'bytes')} | {value(b.size_after, 'bytes')} | {signed(b.delta)} |",
            f"| compressed | {value(b.compressed_before, 'bytes')} | {value(b.compressed_after, 'bytes')} | "
            f"{'-' if b.compressed_delta is None else signed(b.compressed_delta)} |",
        ]
        for d in b.layers:
            if d.delta:
                lines.append(
                    f"| layer {d.index} | {value(d.before, 'bytes')} | {value(d.after, 'bytes')} | {signed(d.delta)} |"
                )
    if report.notes:
        lines += [""] + [f"> {cell(n)}" for n in report.notes]
    return "\n".join(lines) + "\n"
