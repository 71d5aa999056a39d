"""A check report as JUnit XML: one test suite, one test case per rule (GitLab, Jenkins, GitHub reporters)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from imgscope.render.check_text import image_label, value
from imgscope.text import printable

if TYPE_CHECKING:
    from imgscope.budget.check import CheckReport


def render_junit(report: CheckReport) -> str:
    """The XML document, UTF-8, with its declaration."""
    from imgscope.budget.check import RuleStatus

    suites = ET.Element("testsuites", name="imgscope check")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"imgscope check {image_label(report)}",
        tests=str(len(report.results)),
        failures=str(report.count(RuleStatus.FAIL)),
        errors="0",
        skipped=str(report.count(RuleStatus.SKIP)),
        time="0",
    )
    classname = f"imgscope.check.{printable(report.image)}"
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname=classname, name=printable(r.name), time="0")
        text = (
            f"{printable(r.why)}\nactual: {value(r.actual, r.unit, r.limit)}\nlimit: {value(r.limit, r.unit, r.actual)}"
        )
        if r.details:
            text += "\n" + "\n".join(printable(d) for d in r.details)
        if r.status is RuleStatus.FAIL:
            failure = ET.SubElement(case, "failure", message=printable(r.why), type=r.rule)
            failure.text = text
        elif r.status is RuleStatus.SKIP:
            ET.SubElement(case, "skipped", message=printable(r.why))
        else:
            ET.SubElement(case, "system-out").text = text
    if report.notes:
        ET.SubElement(suite, "system-out").text = "\n".join(printable(n) for n in report.notes)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
