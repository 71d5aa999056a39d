"""A check report as GitHub Actions workflow commands: an ``::error`` annotation per failed rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgscope.render.check_text import image_label, verdict
from imgscope.text import printable

if TYPE_CHECKING:
    from imgscope.budget.check import CheckReport


def _data(text: str) -> str:
    """A workflow command's message, escaped as the runner expects."""
    return printable(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: CheckReport) -> str:
    """One ``::error`` line per failed rule, a ``::notice`` per note, then the verdict as plain text."""
    lines = []
    for r in report.failures:
        detail = f" ({'; '.join(r.details[:3])})" if r.details and not r.rule.startswith("forbid") else ""
        lines.append(f"::error title={_property('imgscope check: ' + r.name)}::{_data(r.why + detail)}")
    for note in report.notes:
        lines.append(f"::notice title={_property('imgscope check')}::{_data(note)}")
    lines.append(f"imgscope check {image_label(report)}: {verdict(report)}")
    return "\n".join(lines) + "\n"
