"""dive's own CI text for its three rules (``Results:`` section of ``CI=true dive``), for teams that grep it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgscope.dive.figures import format_ci_figures

if TYPE_CHECKING:
    from imgscope.analysis.result import Analysis
    from imgscope.budget.check import CheckReport

_DIVE_LABELS = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}


def dive_results(report: CheckReport) -> list[str]:
    """dive 0.13.1's ``Results:`` lines and ``Result:`` tally for the dive rules of ``report`` (colour aside)."""
    rows = [r for r in report.results if r.rule.startswith("dive.")]
    lines = ["Results:"]
    for r in rows:
        name = r.rule.removeprefix("dive.")
        status = _DIVE_LABELS[r.status.value]
        lines.append(f"  {status}: {name}" + ("" if r.status.value == "pass" else f": {r.why}"))
    passed = sum(1 for r in rows if r.status.value == "pass")
    failed = sum(1 for r in rows if r.status.value == "fail")
    skipped = sum(1 for r in rows if r.status.value == "skip")
    verdict = "FAIL" if failed else "PASS"
    lines.append(
        f"Result:{verdict} [Total:{len(rows)}] [Passed:{passed}] [Failed:{failed}] [Warn:0] [Skipped:{skipped}]"
    )
    return lines


def render_dive(report: CheckReport, analysis: Analysis) -> str:
    """The figures and results as ``CI=true dive`` prints them (its inefficient-files table left out; dive's
    ``Results:`` and tally only when the budget has dive's rules); then, when the budget has rules of imgscope's
    own, theirs (each with its subject: ``forbid **/.git/**``) and the verdict of every rule, so that the text
    never says PASS where the exit status says a rule failed."""
    lines = ["Analyzing image...", *format_ci_figures(analysis.dive)]
    if any(r.rule.startswith("dive.") for r in report.results):
        lines += dive_results(report)
    own = [r for r in report.results if not r.rule.startswith("dive.")]
    if own:
        lines.append("imgscope's rules:")
        for r in own:
            status = _DIVE_LABELS[r.status.value]
            lines.append(f"  {status}: {r.name}" + ("" if r.status.value == "pass" else f": {r.why}"))
        lines.append(f"Result of every rule: {'PASS' if report.passed else 'FAIL'}")
    return "\n".join(lines) + "\n"
