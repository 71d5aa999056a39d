"""The JSON document of a check report (``docs/json.md``, "check report"). Bump CHECK_SCHEMA_VERSION on a
breaking change."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imgscope.checks import CheckReport, RuleResult

CHECK_SCHEMA_VERSION = 1


def _num(v: int | float | None) -> int | float | None:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    return v


def result_to_dict(r: RuleResult) -> dict[str, Any]:
    """One rule's result as in the JSON document (docs/json.md)."""
    return {
        "rule": r.rule,
        "subject": r.subject,
        "name": r.name,
        "status": r.status.value,
        "actual": _num(r.actual),
        "limit": _num(r.limit),
        "unit": r.unit,
        "why": r.why,
        "details": list(r.details),
    }


def report_to_dict(report: CheckReport) -> dict[str, Any]:
    """The JSON document of ``imgscope check --format json`` (docs/json.md); also a baseline."""
    from imgscope.checks import RuleStatus

    s = report.summary
    doc: dict[str, Any] = {
        "schema_version": CHECK_SCHEMA_VERSION,
        "kind": "check",
        "image": {"name": report.image, "source": report.source},
        "passed": report.passed,
        "counts": {status.value: report.count(status) for status in RuleStatus},
        "base_layers": report.base_layers,
        "notes": list(report.notes),
        "results": [result_to_dict(r) for r in report.results],
        "baseline": None,
        "summary": None
        if s is None
        else {
            "size": s.size,
            "stored_size": s.stored_size,
            "compressed_size": s.compressed_size,
            "final_size": s.final_size,
            "layer_count": s.layer_count,
        },
        "layers": [
            {"index": i, "size": size, "compressed_size": compressed}
            for i, (size, compressed) in enumerate(report.layer_sizes)
        ],
    }
    b = report.baseline
    if b is not None:
        doc["baseline"] = {
            "source": b.source,
            "size": {"before": b.size_before, "after": b.size_after, "delta": b.delta},
            "compressed_size": {
                "before": b.compressed_before,
                "after": b.compressed_after,
                "delta": b.compressed_delta,
            },
            "final_size": {"before": b.final_before, "after": b.final_after, "delta": b.final_after - b.final_before},
            "layers": [{"index": d.index, "before": d.before, "after": d.after, "delta": d.delta} for d in b.layers],
        }
    return doc
