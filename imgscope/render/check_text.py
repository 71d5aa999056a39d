"""Words and numbers shared by the check renderers: values by unit, status labels, the verdict line."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from imgscope.text import printable
from imgscope.units import format_percent, format_size

if TYPE_CHECKING:
    from imgscope.budget.check import CheckReport, RuleResult

LABELS = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}


def value(v: int | float | None, unit: str, against: int | float | None = None) -> str:
    """A rule's actual or limit, for people: ``1.2 MB``, ``4.5%``, ``5``; a ratio shown beside ``against`` gets
    the decimals that tell the two apart (``units.format_percent``)."""
    if v is None:
        return "-"
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if isinstance(v, float) and math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if unit == "bytes":
        return format_size(int(v))
    if unit == "ratio":
        return format_percent(v, against=against)
    return f"{int(v):,}"


def signed(delta: int) -> str:
    """A byte delta with its sign: ``+2.1 MB``, ``-300 B``."""
    return ("+" if delta > 0 else "") + value(delta, "bytes")


def label(result: RuleResult) -> str:
    """``PASS``, ``FAIL`` or ``SKIP``."""
    return LABELS[result.status.value]


def verdict(report: CheckReport) -> str:
    """``FAIL: 2 of 9 rules failed (1 skipped)`` or ``PASS: 9 rules passed``."""
    from imgscope.budget.check import RuleStatus

    failed, skipped, passed = (
        report.count(RuleStatus.FAIL),
        report.count(RuleStatus.SKIP),
        report.count(RuleStatus.PASS),
    )
    skip = f" ({skipped} skipped)" if skipped else ""
    if failed:
        return f"FAIL: {failed} of {len(report.results)} rules failed{skip}"
    return f"PASS: {passed} rule{'s' if passed != 1 else ''} passed{skip}"


def image_label(report: CheckReport) -> str:
    """``samples/app.tar (localhost/app:1)``: the path checked, and the image's name when it has one."""
    if report.image == report.source:
        return printable(report.source)
    return printable(f"{report.source} ({report.image})")
