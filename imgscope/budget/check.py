"""``check(analysis, budget, baseline) -> CheckReport``: judge an analysed image against a budget. Pure.

Each rule of the budget gives one ``RuleResult``: its status (pass, fail, skip), the actual value, the limit,
and one line saying why. Comparisons are strict, as dive's: a value equal to its limit passes.
"""

from __future__ import annotations

import enum
import math
import os
from dataclasses import dataclass
from typing import Any, NamedTuple

from imgscope._display import Displayable
from imgscope.analysis import Analysis, Summary, analyze
from imgscope.budget.baseline import Baseline
from imgscope.budget.config import Budget
from imgscope.dive import ci as dive_ci
from imgscope.dive import golang
from imgscope.errors import UsageError
from imgscope.globs import Glob
from imgscope.history.base_image import BASE_DIGEST_ANNOTATION, find_base
from imgscope.model import EntryType, Image
from imgscope.packages import ImagePackages, scan_packages
from imgscope.packages.judge import forbidden, too_large
from imgscope.sources.detect import first_of_several
from imgscope.text import one_line, plural, printable
from imgscope.union.filesystem import ChangeKind
from imgscope.units import format_percent, format_size, json_number

#: The version of the check report JSON document (``docs/json.md``); bump it on a breaking change.
CHECK_SCHEMA_VERSION = 1


#: Paths listed in a result's details, at most.
MAX_DETAILS = 10


class RuleStatus(str, enum.Enum):
    """A rule's verdict."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class RuleResult:
    """One rule judged: ``actual`` against ``limit`` (bytes, a fraction, or a count, as ``unit`` says).

    Attributes:
        rule: e.g. "max-size", "max-path-size", "dive.lowestEfficiency"
        status: pass, fail or skip
        actual: the image's value
        limit: the budget's limit
        unit: bytes | ratio | count
        why: one line
        subject: the glob of a per-path rule
        details: e.g. the paths that broke a forbid rule
    """

    rule: str
    status: RuleStatus
    actual: int | float | None
    limit: int | float | None
    unit: str
    why: str
    subject: str | None = None
    details: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The rule and its subject: ``forbid **/.git/**``."""
        return f"{self.rule} {self.subject}" if self.subject else self.rule

    @property
    def failed(self) -> bool:
        """True when the rule failed."""
        return self.status is RuleStatus.FAIL

    def to_dict(self) -> dict[str, Any]:
        """The result as in the JSON document (``results[]``)."""
        return {
            "rule": self.rule,
            "subject": self.subject,
            "name": self.name,
            "status": self.status.value,
            "actual": json_number(self.actual),
            "limit": json_number(self.limit),
            "unit": self.unit,
            "why": self.why,
            "details": list(self.details),
        }


@dataclass(frozen=True)
class LayerDelta:
    """One layer position against the baseline (None where that side has no layer there)."""

    index: int
    before: int | None
    after: int | None

    @property
    def delta(self) -> int:
        """Bytes grown at this position (a missing side counts 0)."""
        return (self.after or 0) - (self.before or 0)


@dataclass(frozen=True)
class BaselineDelta:
    """The image against its baseline: content sizes overall and per layer position."""

    source: str
    size_before: int
    size_after: int
    compressed_before: int | None  # None where a side's compressed size is not known
    compressed_after: int | None
    final_before: int
    final_after: int
    layers: tuple[LayerDelta, ...]

    @property
    def delta(self) -> int:
        """Content bytes grown since the baseline."""
        return self.size_after - self.size_before

    @property
    def compressed_delta(self) -> int | None:
        """Compressed bytes grown since the baseline, when both sides' are known."""
        if self.compressed_before is None or self.compressed_after is None:
            return None
        return self.compressed_after - self.compressed_before


class LayerSize(NamedTuple):
    """A layer's content size and what a pull downloads of it (None when not known, docs/metrics.md)."""

    size: int
    compressed_size: int | None


@dataclass(frozen=True, repr=False)  # repr: one line, from the display registry
class CheckReport(Displayable):
    """Every rule's result for one image. ``passed`` is False when any rule failed.

    Attributes:
        image: the image's name, or its path
        source: the path of the image
        results: every rule's result, in report order
        base_layers: layers excluded from the waste rules as the base's
        notes: what was chosen or assumed, and why
        baseline: the image against its baseline, when one was given
        summary: the image's sizes, so a saved report can serve as the next baseline
        layer_sizes: per layer
    """

    image: str
    source: str
    results: tuple[RuleResult, ...]
    base_layers: int
    notes: tuple[str, ...]
    baseline: BaselineDelta | None
    summary: Summary | None = None
    layer_sizes: tuple[LayerSize, ...] = ()

    @property
    def passed(self) -> bool:
        """True when no rule failed (skipped rules do not fail)."""
        return not any(r.failed for r in self.results)

    @property
    def failures(self) -> tuple[RuleResult, ...]:
        """The failed rules, in report order."""
        return tuple(r for r in self.results if r.failed)

    def count(self, status: RuleStatus) -> int:
        """How many rules ended with ``status``."""
        return sum(1 for r in self.results if r.status is status)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``imgscope check --format json`` (``docs/json.md``, "check report"); also a
        baseline."""
        s = self.summary
        doc: dict[str, Any] = {
            "schema_version": CHECK_SCHEMA_VERSION,
            "kind": "check",
            "image": {"name": self.image, "source": self.source},
            "passed": self.passed,
            "counts": {status.value: self.count(status) for status in RuleStatus},
            "base_layers": self.base_layers,
            "notes": list(self.notes),
            "results": [r.to_dict() for r in self.results],
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
                for i, (size, compressed) in enumerate(self.layer_sizes)
            ],
        }
        b = self.baseline
        if b is not None:
            doc["baseline"] = {
                "source": b.source,
                "size": {"before": b.size_before, "after": b.size_after, "delta": b.delta},
                "compressed_size": {
                    "before": b.compressed_before,
                    "after": b.compressed_after,
                    "delta": b.compressed_delta,
                },
                "final_size": {
                    "before": b.final_before,
                    "after": b.final_after,
                    "delta": b.final_after - b.final_before,
                },
                "layers": [
                    {"index": d.index, "before": d.before, "after": d.after, "delta": d.delta} for d in b.layers
                ],
            }
        return doc


def size(n: int | float | None) -> str:
    """Bytes for a message: ``1.2 MB (1,234,567 bytes)``."""
    if n is None:
        return "-"
    if isinstance(n, float) and math.isinf(n):
        return "unbounded"
    n = int(n)
    sign = "-" if n < 0 else ""
    text = sign + format_size(abs(n))
    if abs(n) >= 1000:
        text += f" ({sign}{_bytes(abs(n))})"
    return text


def percent(x: float | None, against: float | None = None) -> str:
    """A fraction for a message: ``4.5%`` (``units.format_percent``; more decimals when ``against``, shown beside
    it, would otherwise read the same); ``n/a`` for None or NaN."""
    return format_percent(x, against=against)


def _bytes(n: int | float) -> str:
    return plural(int(n), "byte")


def _max_rule(rule: str, actual: int, limit: int | None, what: str, unit: str = "bytes") -> RuleResult | None:
    if limit is None:
        return None
    show = (lambda v: plural(v, "layer")) if unit == "count" else _bytes
    if actual > limit:
        return RuleResult(
            rule, RuleStatus.FAIL, actual, limit, unit, f"{what} exceeds the limit by {show(actual - limit)}"
        )
    why = f"{what} is within the limit ({show(limit - actual)} spare)"
    return RuleResult(rule, RuleStatus.PASS, actual, limit, unit, why)


def _ratio_rule(rule: str, actual: float, limit: float | None, what: str) -> RuleResult | None:
    if limit is None:
        return None
    if actual > limit:
        why = f"{what} {percent(actual, limit)} exceeds the limit {percent(limit, actual)}"
        return RuleResult(rule, RuleStatus.FAIL, actual, limit, "ratio", why)
    return RuleResult(rule, RuleStatus.PASS, actual, limit, "ratio", f"{what} {percent(actual)} is within the limit")


def base_layer_count(analysis: Analysis, budget: Budget) -> tuple[int, list[str]]:
    """How many leading layers the budget counts as the base image's, and notes saying how it was decided."""
    layers = analysis.layers
    notes: list[str] = []
    annotated = analysis.image.annotations.get(BASE_DIGEST_ANNOTATION)
    count = 0
    if budget.base_layers:
        wanted = set(budget.base_layers)

        def is_base(digest: str | None) -> bool:
            hexes = (digest or "").removeprefix("sha256:")
            return any(hexes.startswith(w.removeprefix("sha256:")) for w in wanted) if hexes else False

        for w in sorted(wanted):
            if not any(is_base(r.digest) or is_base(r.diff_id) for r in layers):
                raise UsageError(
                    budget.where("base-layers"),
                    f"{w} is not a layer of {analysis.image.source} (has the base image changed?)",
                )
        while count < len(layers) and (is_base(layers[count].digest) or is_base(layers[count].diff_id)):
            count += 1
        stray = [r.index for r in layers[count:] if is_base(r.digest) or is_base(r.diff_id)]
        if stray:
            raise UsageError(
                budget.where("base-layers"), f"layer {stray[0]} is listed as a base layer but follows a non-base layer"
            )
        notes.append(f"base: {plural(count, 'layer')} matched by digest")
    elif budget.exclude_base == "auto":
        found = find_base(analysis.image)
        if found is None:
            notes.append("base: not found in the image's history; no layer excluded")
        else:
            count = found.layer_count
            label = f" ({found.name})" if found.name else ""
            notes.append(f"base: {plural(count, 'layer')}{label}: {found.evidence}")
    elif isinstance(budget.exclude_base, int):
        count = budget.exclude_base
        if count > len(layers):
            raise UsageError(budget.where("exclude-base"), f"{count} layers requested, but the image has {len(layers)}")
        if count:
            notes.append(f"base: the first {plural(count, 'layer')}, as configured")
    if count and count == len(layers):
        notes.append("base: every layer of the image is the base's: the waste rules have no layer of its own to judge")
    if annotated:
        notes.append(
            f"the image names its base manifest {annotated} ({BASE_DIGEST_ANNOTATION}); a manifest digest does "
            "not say which layers are the base's, so it is reported, not used"
        )
    return count, notes


def _ignored(path: str, ignore: tuple[Glob, ...]) -> bool:
    return any(g.matches(path) for g in ignore)


def _waste_rules(analysis: Analysis, budget: Budget, base: int) -> list[RuleResult]:
    if budget.max_wasted is None and budget.max_wasted_percent is None:
        return []
    wasted = sum(w.size for w in analysis.wasted_files if w.layer >= base and not _ignored(w.path, budget.ignore))
    stored = sum(r.size for r in analysis.layers[base:])
    scope = []
    if base:
        scope.append(f"base's {plural(base, 'layer')} left out")
    if budget.ignore:
        scope.append("ignored paths left out")
    share = "Wasted share of layer content" + (f" ({'; '.join(scope)})" if scope else "")
    what = "wasted bytes" + (f" ({'; '.join(scope)})" if scope else "")
    out = []
    rule = _max_rule("max-wasted", wasted, budget.max_wasted, what.capitalize())
    if rule:
        out.append(rule)
    ratio = wasted / stored if stored else 0.0
    rule = _ratio_rule("max-wasted-percent", ratio, budget.max_wasted_percent, share)
    if rule:
        out.append(rule)
    return out


def _path_rules(analysis: Analysis, budget: Budget) -> list[RuleResult]:
    out = []
    for limit in budget.paths:
        matched = [
            f
            for f in analysis.files
            if f.type is EntryType.FILE and limit.glob.matches(f.path) and not _ignored(f.path, budget.ignore)
        ]
        total = sum(f.size for f in matched)
        status = RuleStatus.FAIL if total > limit.max_bytes else RuleStatus.PASS
        over = (
            f"over the limit by {_bytes(total - limit.max_bytes)}" if status is RuleStatus.FAIL else "within the limit"
        )
        largest = sorted(matched, key=lambda f: (-f.size, f.path))[:MAX_DETAILS]
        out.append(
            RuleResult(
                "max-path-size",
                status,
                total,
                limit.max_bytes,
                "bytes",
                f"{plural(len(matched), 'file')}, {_bytes(total)}: {over}",
                subject=limit.glob.pattern,
                details=tuple(f"{printable(f.path)} {size(f.size)} (layer {f.layer})" for f in largest),
            )
        )
    return out


def _forbid_rules(analysis: Analysis, budget: Budget) -> list[RuleResult]:
    out = []
    for glob in budget.forbid:
        hits = [f.path for f in analysis.files if glob.matches(f.path) and not _ignored(f.path, budget.ignore)]
        out.append(_forbid_result("forbid", glob, hits, "in the final image"))
    for glob in budget.forbid_in_layers:
        found: dict[str, list[int]] = {}
        for layer in analysis.layers:
            for change in layer.changes:
                written = change.kind is not ChangeKind.REMOVED
                if written and glob.matches(change.path) and not _ignored(change.path, budget.ignore):
                    found.setdefault(change.path, []).append(layer.index)
        hits = [f"{path} (layer {', '.join(map(str, idx))})" for path, idx in sorted(found.items())]
        out.append(_forbid_result("forbid-in-layers", glob, hits, "in a layer"))
    return out


def _forbid_result(rule: str, glob: Glob, hits: list[str], where: str) -> RuleResult:
    if not hits:
        return RuleResult(rule, RuleStatus.PASS, 0, 0, "count", f"no path matches {where}", subject=glob.pattern)
    first = printable(hits[0])
    more = f" and {len(hits) - 1:,} more" if len(hits) > 1 else ""
    return RuleResult(
        rule,
        RuleStatus.FAIL,
        len(hits),
        0,
        "count",
        f"{plural(len(hits), 'forbidden path')} {where}: {first}{more}",
        subject=glob.pattern,
        details=tuple(printable(h) for h in hits[:MAX_DETAILS]),
    )


def _growth(before: int, after: int) -> float:
    if before == 0:
        return 0.0 if after <= 0 else math.inf
    return (after - before) / before


def _unit(rule: str) -> str:
    return "ratio" if "percent" in rule else "bytes"


def _baseline_rules(budget: Budget, delta: BaselineDelta | None) -> list[RuleResult]:
    wanted = [
        ("max-growth", budget.max_growth),
        ("max-growth-percent", budget.max_growth_percent),
        ("max-layer-growth", budget.max_layer_growth),
        ("max-layer-growth-percent", budget.max_layer_growth_percent),
    ]
    if delta is None:
        return [
            RuleResult(
                rule, RuleStatus.SKIP, None, limit, "ratio" if "percent" in rule else "bytes", "no baseline given"
            )
            for rule, limit in wanted
            if limit is not None
        ]
    out = []
    overall = f"{size(delta.size_before)} -> {size(delta.size_after)}"
    if budget.max_growth is not None:
        grow = delta.delta
        status = RuleStatus.FAIL if grow > budget.max_growth else RuleStatus.PASS
        verb = "exceeds" if status is RuleStatus.FAIL else "is within"
        why = f"{_grew(grow)} {size(abs(grow))} ({overall}), which {verb} the limit {size(budget.max_growth)}"
        out.append(RuleResult("max-growth", status, grow, budget.max_growth, "bytes", why))
    if budget.max_growth_percent is not None:
        ratio = _growth(delta.size_before, delta.size_after)
        status = RuleStatus.FAIL if ratio > budget.max_growth_percent else RuleStatus.PASS
        verb = "exceeds" if status is RuleStatus.FAIL else "is within"
        limit = budget.max_growth_percent
        why = f"{_grew(ratio)} {percent(abs(ratio), limit)} ({overall}), which {verb} the limit {percent(limit, ratio)}"
        out.append(RuleResult("max-growth-percent", status, ratio, budget.max_growth_percent, "ratio", why))
    if budget.max_layer_growth is not None:
        out.append(_layer_growth(delta, budget.max_layer_growth, "max-layer-growth", lambda d: float(d.delta), _grown))
    if budget.max_layer_growth_percent is not None:
        out.append(
            _layer_growth(
                delta,
                budget.max_layer_growth_percent,
                "max-layer-growth-percent",
                lambda d: _growth(d.before or 0, d.after or 0),
                lambda g: percent(g, budget.max_layer_growth_percent),
            )
        )
    return out


def _grew(n: float) -> str:
    return "shrank by" if n < 0 else "grew by"


def _grown(n: float) -> str:
    return f"{int(n):+,} bytes"


def _layer_growth(delta: BaselineDelta, limit: float, rule: str, measure: Any, show: Any) -> RuleResult:
    rows = [(d, measure(d)) for d in delta.layers if d.after is not None]
    over = [(d, g) for d, g in rows if g > limit]
    worst = max(rows, key=lambda row: row[1], default=None)
    actual = worst[1] if worst else 0.0
    unit = _unit(rule)
    value: int | float = int(actual) if unit == "bytes" else actual
    limit_value: int | float = int(limit) if unit == "bytes" else limit
    shown_limit = _bytes(limit_value) if unit == "bytes" else percent(limit_value, actual)

    def describe(d: LayerDelta, g: float) -> str:
        was = "new" if d.before is None else f"{d.before:,}"
        return f"layer {d.index}: {was} -> {d.after or 0:,} bytes ({show(g)})"

    if over:
        first = describe(*max(over, key=lambda row: row[1]))
        more = f"; {plural(len(over) - 1, 'more layer')} over" if len(over) > 1 else ""
        why = f"{first} exceeds the limit {shown_limit}{more}"
        return RuleResult(
            rule, RuleStatus.FAIL, value, limit_value, unit, why, details=tuple(describe(*r) for r in over)
        )
    where = f" (largest: {describe(*worst)})" if worst else ""
    return RuleResult(rule, RuleStatus.PASS, value, limit_value, unit, f"every layer within {shown_limit}{where}")


def _dive_rules(analysis: Analysis, budget: Budget) -> list[RuleResult]:
    thresholds = budget.dive
    if thresholds is None:
        return []
    d = analysis.dive
    rows: list[tuple[str, float, float | int | None, str]] = [
        (dive_ci.HIGHEST_USER_WASTED_PERCENT, d.user_wasted_percent, thresholds.highest_user_wasted_percent, "ratio"),
        (dive_ci.HIGHEST_WASTED_BYTES, d.wasted_bytes, thresholds.highest_wasted_bytes, "bytes"),
        (dive_ci.LOWEST_EFFICIENCY, d.efficiency, thresholds.lowest_efficiency, "ratio"),
    ]
    out = []
    for rule, actual, limit, unit in rows:  # dive's order: rule names sorted
        value: int | float = int(actual) if unit == "bytes" else actual
        if limit is None:
            out.append(RuleResult(f"dive.{rule}", RuleStatus.SKIP, value, None, unit, "rule disabled"))
            continue
        if dive_ci.fails(rule, actual, limit):
            why = dive_ci.failure_message(rule, actual, limit)
            out.append(RuleResult(f"dive.{rule}", RuleStatus.FAIL, value, limit, unit, why))
            continue
        shown = (lambda v: f"{v:,} bytes") if unit == "bytes" else golang.go_format
        op = ">=" if rule == dive_ci.LOWEST_EFFICIENCY else "<="
        why = f"dive's figure {shown(value)} {op} threshold {shown(limit)}"
        if isinstance(value, float) and math.isnan(value):  # one layer: dive divides by zero user bytes
            why = f"dive's figure is NaN (nothing to divide by): never a failure, as in dive (threshold {shown(limit)})"
        out.append(RuleResult(f"dive.{rule}", RuleStatus.PASS, value, limit, unit, why))
    return out


def baseline_delta(analysis: Analysis, baseline: Baseline) -> BaselineDelta:
    """The image's sizes against the baseline's."""
    count = max(len(analysis.layers), len(baseline.layer_sizes))
    layers = tuple(
        LayerDelta(
            i,
            baseline.layer_sizes[i] if i < len(baseline.layer_sizes) else None,
            analysis.layers[i].size if i < len(analysis.layers) else None,
        )
        for i in range(count)
    )
    s = analysis.summary
    return BaselineDelta(
        baseline.source,
        baseline.size,
        s.size,
        baseline.compressed_size,
        s.compressed_size,
        baseline.final_size,
        s.final_size,
        layers,
    )


def check(
    source: Analysis | Image | ImagePackages | str | os.PathLike[str],
    budget: Budget | None = None,
    baseline: Baseline | None = None,
    *,
    image: str | None = None,
    platform: str | None = None,
    verify: bool = True,
) -> CheckReport:
    """Judge an image (a path, an ``Image``, an ``Analysis`` or an ``ImagePackages``) against ``budget`` (default:
    dive's default CI rules, as ``imgscope check`` with no budget and ``dive --ci`` check) and ``baseline`` (for
    the growth rules). Given an ``Analysis``, reads nothing; writes nothing.
    The package rules (max-package-size, forbid-package) read the package databases in the same pass when given
    a path or an ``Image``; given an ``Analysis`` alone they are skipped (pass ``imgscope.scan_packages(...)``).

    UsageError when the budget does not fit the image (more base layers than it has, a base digest it lacks).
    """
    if budget is None:
        note = "no budget given: checking dive's default CI rules (as `dive --ci` does)"
        budget = Budget(dive=dive_ci.DiveThresholds(), notes=(note,))
    scanned: ImagePackages | None = None
    # max-compressed-size means what a pull downloads in every format: what is stored uncompressed is gzipped as it
    # is read (as imgscope check does; an Analysis given must have been made so)
    read: dict[str, Any] = dict(
        image=image, platform=platform, verify=verify, gzip_uncompressed=budget.max_compressed_size is not None
    )
    if isinstance(source, ImagePackages):
        scanned, analysis = source, source.analysis
    elif not isinstance(source, Analysis) and (budget.max_package_size is not None or budget.forbid_package):
        scanned = scan_packages(source, **read)
        analysis = scanned.analysis
    else:
        analysis = analyze(source, **read)
    if image is None and not isinstance(source, (Analysis, ImagePackages)) and first_of_several(analysis.image):
        # as imgscope check: a budget must not pass on another image than the one meant
        raise UsageError(analysis.image.source, "several images here: choose the one to check with image=")
    s = analysis.summary
    base, notes = base_layer_count(analysis, budget)
    results: list[RuleResult] = []
    largest = max(analysis.layers, key=lambda r: (r.size, -r.index), default=None)
    for rule in (
        _max_rule("max-size", s.size, budget.max_size, "Content stored in all layers"),
        _max_rule(
            "max-compressed-size",
            _compressed(s) if budget.max_compressed_size is not None else 0,
            budget.max_compressed_size,
            "Compressed size (what a pull downloads)",
        ),
        _max_rule("max-final-size", s.final_size, budget.max_final_size, "Content visible in the final image"),
        _max_rule(
            "max-layer-size",
            largest.size if largest else 0,
            budget.max_layer_size,
            f"Largest layer, {largest.index} ({printable(one_line(largest.command, 48) or 'no history')}),"
            if largest
            else "Largest layer",
        ),
        _max_rule("max-layers", s.layer_count, budget.max_layers, "Layer count", unit="count"),
    ):
        if rule is not None:
            results.append(rule)
    results += _waste_rules(analysis, budget, base)
    results += _path_rules(analysis, budget)
    results += _forbid_rules(analysis, budget)
    delta = baseline_delta(analysis, baseline) if baseline is not None else None
    results += _baseline_rules(budget, delta)
    results += _dive_rules(analysis, budget)
    results += _package_rules(scanned, budget)
    return CheckReport(
        image=analysis.image.name or analysis.image.source,
        source=analysis.image.source,
        results=tuple(results),
        base_layers=base,
        notes=(*analysis.image.notes, *budget.notes, *notes),
        baseline=delta,
        summary=s,
        layer_sizes=tuple(LayerSize(r.size, r.compressed_size) for r in analysis.layers),
    )


def _package_rules(scanned: ImagePackages | None, budget: Budget) -> list[RuleResult]:
    """max-package-size and forbid-package, from the package databases read in the same pass."""
    if budget.max_package_size is None and not budget.forbid_package:
        return []
    out: list[RuleResult] = []
    if scanned is None:
        why = "the package databases were not read (check a path, or pass imgscope.scan_packages(...))"
        if budget.max_package_size is not None:
            out.append(RuleResult("max-package-size", RuleStatus.SKIP, None, budget.max_package_size, "bytes", why))
        for glob in budget.forbid_package:
            out.append(RuleResult("forbid-package", RuleStatus.SKIP, None, 0, "count", why, subject=glob))
        return out
    report = scanned.report()
    if budget.max_package_size is not None:
        over = too_large(report, budget.max_package_size)
        largest = report.packages[0] if report.packages else None
        actual = largest.size if largest else 0
        if over:
            why = f"{plural(len(over), 'package')} above {_bytes(budget.max_package_size)}: " + ", ".join(
                printable(f"{p.name} {p.version} ({size(p.size)})") for p in over[:3]
            )
        else:
            what = printable(f"{largest.name} {largest.version}") if largest else "no package"
            why = f"largest package: {what} ({size(actual)})"
        out.append(
            RuleResult(
                "max-package-size",
                RuleStatus.FAIL if over else RuleStatus.PASS,
                actual,
                budget.max_package_size,
                "bytes",
                why,
                details=tuple(
                    printable(f"{p.ecosystem} {p.name} {p.version} {size(p.size)} (layer {p.layer})")
                    for p in over[:MAX_DETAILS]
                ),
            )
        )
    for glob in budget.forbid_package:
        hits = forbidden(report, [glob])
        names = [f"{p.ecosystem} {p.name} {p.version} ({size(p.size)}, layer {p.layer})" for p in hits]
        if not hits:
            out.append(RuleResult("forbid-package", RuleStatus.PASS, 0, 0, "count", "no package matches", subject=glob))
            continue
        more = f" and {len(hits) - 1:,} more" if len(hits) > 1 else ""
        out.append(
            RuleResult(
                "forbid-package",
                RuleStatus.FAIL,
                len(hits),
                0,
                "count",
                f"{plural(len(hits), 'forbidden package')} in the final image: {printable(names[0])}{more}",
                subject=glob,
                details=tuple(printable(n) for n in names[:MAX_DETAILS]),
            )
        )
    return out


def _compressed(s: Summary) -> int:
    """The compressed size the max-compressed-size rule needs (one definition across formats: what a pull
    downloads); a UsageError when layers stored uncompressed were not gzipped by the analysis."""
    if s.compressed_size is None:
        raise UsageError(
            "max-compressed-size",
            "the image stores layers uncompressed (a docker save): analyze it with gzip_uncompressed=True "
            "(imgscope check does) to learn the size a registry would serve",
        )
    return s.compressed_size
