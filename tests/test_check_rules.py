"""``imgscope.check`` rule by rule on the real samples: passing, failing, and at the boundary (equal passes)."""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import imgscope
from imgscope.budget.baseline import Baseline, load_baseline
from imgscope.budget.check import RuleResult, RuleStatus, check
from imgscope.budget.config import Budget, PathLimit, load_budget
from imgscope.errors import UsageError
from imgscope.globs import Glob
from imgscope.render import json as json_report
from tests.conftest import SAMPLES, analysis_of

CASES = "cases/docker-archive.tar"


def only(budget: Budget, sample: str = CASES, baseline: Baseline | None = None) -> RuleResult:
    report = check(analysis_of(sample), budget, baseline)
    assert len(report.results) == 1, report.results
    return report.results[0]


def with_limit(field: str, limit: int) -> Budget:
    kwargs: dict[str, Any] = {field: limit}
    return Budget(**kwargs)


def truth_files(name: str = "cases") -> list[tuple[str, int]]:
    with (SAMPLES / "truth" / f"{name}.tsv").open() as fh:
        return [(row["path"], int(row["size"])) for row in csv.DictReader(fh, delimiter="\t") if row["type"] == "file"]


@pytest.mark.parametrize(
    ("field", "actual"),
    [
        ("max_size", 2146057),
        ("max_final_size", 2050057),
        ("max_layer_size", 1982341),  # layer 0, the base's busybox
        ("max_layers", 5),
        ("max_wasted", 96000),
    ],
)
def test_limit_rules_pass_at_the_limit_and_fail_one_below(field: str, actual: int) -> None:
    s = analysis_of(CASES).summary
    assert actual in (s.size, s.final_size, s.layer_count, s.wasted_bytes, 1982341)
    at = only(with_limit(field, actual))
    assert (at.status, at.actual, at.limit) == (RuleStatus.PASS, actual, actual)
    below = only(with_limit(field, actual - 1))
    assert below.status is RuleStatus.FAIL
    assert "exceeds the limit" in below.why
    assert only(with_limit(field, actual * 2)).status is RuleStatus.PASS


def test_wasted_percent_is_imgscopes_figure() -> None:
    s = analysis_of(CASES).summary
    assert only(Budget(max_wasted_percent=s.wasted_fraction)).status is RuleStatus.PASS
    assert only(Budget(max_wasted_percent=math.nextafter(s.wasted_fraction, 0))).status is RuleStatus.FAIL
    assert only(Budget(max_wasted_percent=0.0), sample="multi-tag.tar").status is RuleStatus.PASS  # no waste at all


def test_excluding_the_base_keeps_only_waste_stored_by_the_images_own_layers() -> None:
    a = analysis_of(CASES)
    own = sum(w.size for w in a.wasted_files if w.layer >= 1)
    stored = sum(r.size for r in a.layers[1:])
    for base in (1, "auto"):
        report = check(a, Budget(max_wasted=own, max_wasted_percent=own / stored, exclude_base=base))
        assert report.base_layers == 1
        assert [r.status for r in report.results] == [RuleStatus.PASS, RuleStatus.PASS]
        assert report.results[1].actual == pytest.approx(own / stored)
    assert any("FROM localhost/imgscope-base:1" in n for n in check(a, Budget(exclude_base="auto")).notes)
    # Everything counted as base: nothing of the image's own is stored, so nothing is wasted.
    all_base = check(a, Budget(max_wasted=0, exclude_base=5))
    assert all_base.passed and all_base.results[0].actual == 0
    with pytest.raises(UsageError, match="the image has 5"):
        check(a, Budget(exclude_base=6))


def test_base_layers_by_digest_and_by_base_image() -> None:
    a = analysis_of(CASES)
    first = a.layers[0]
    assert first.diff_id is not None
    assert check(a, Budget(base_layers=(first.diff_id,))).base_layers == 1
    assert check(a, Budget(base_layers=(first.diff_id.removeprefix("sha256:")[:12],))).base_layers == 1
    with pytest.raises(UsageError, match="follows a non-base layer"):
        check(a, Budget(base_layers=(a.layers[2].diff_id or "",)))
    with pytest.raises(UsageError, match="not a layer of"):
        check(a, Budget(base_layers=("sha256:" + "0" * 64,)))


def test_ignored_paths_leave_the_waste_rules() -> None:
    a = analysis_of(CASES)
    dir_gone = sum(w.size for w in a.wasted_files if w.path.startswith("/app/dir-gone/"))
    assert dir_gone == 18000
    result = only(Budget(max_wasted=96000 - dir_gone, ignore=(Glob("/app/dir-gone/**"),)))
    assert (result.status, result.actual) == (RuleStatus.PASS, 96000 - dir_gone)


@pytest.mark.parametrize("pattern", ["/app/**", "/srv/**", "/bin/**", "/**", "/app/*.txt", "**/*.sh"])
def test_path_budget_sums_the_final_files_under_the_glob(pattern: str) -> None:
    expected = sum(size for path, size in truth_files() if Glob(pattern).matches(path))
    assert expected > 0
    at = only(Budget(paths=(PathLimit(Glob(pattern), expected),)))
    assert (at.status, at.actual, at.subject) == (RuleStatus.PASS, expected, pattern)
    assert only(Budget(paths=(PathLimit(Glob(pattern), expected - 1),))).status is RuleStatus.FAIL


def test_path_budget_matches_umoci_tree_by_prefix() -> None:
    """The glob's sum equals a plain prefix sum over umoci's unpacked tree (samples/truth)."""
    by_prefix = sum(size for path, size in truth_files() if path.startswith("/app/"))
    assert only(Budget(paths=(PathLimit(Glob("/app/**"), 10**9),))).actual == by_prefix


def test_forbidden_paths_in_the_final_image() -> None:
    hit = only(Budget(forbid=(Glob("**/*.sh"),)))
    assert (hit.status, hit.actual, hit.details) == (RuleStatus.FAIL, 1, ("/app/chmod-me.sh",))
    gone = only(Budget(forbid=(Glob("/app/deleted.txt"),)))  # deleted by layer 3: not in the final image
    assert (gone.status, gone.actual) == (RuleStatus.PASS, 0)
    assert only(Budget(forbid=(Glob("**/*.sh"),), ignore=(Glob("/app/**"),))).status is RuleStatus.PASS


def test_forbidden_paths_in_any_layer_see_deleted_files() -> None:
    result = only(Budget(forbid_in_layers=(Glob("/app/deleted.txt"),)))
    assert (result.status, result.details) == (RuleStatus.FAIL, ("/app/deleted.txt (layer 1)",))
    rewritten = only(Budget(forbid_in_layers=(Glob("/app/overwritten.txt"),)))
    assert rewritten.details == ("/app/overwritten.txt (layer 1, 3)",)
    assert only(Budget(forbid_in_layers=(Glob("**/.git/**"),))).status is RuleStatus.PASS


def test_baseline_growth_overall_and_per_layer(tmp_path: Path) -> None:
    old = analysis_of("multi-tag.tar")
    report_file = tmp_path / "old.json"
    report_file.write_text(json_report.dumps(old.to_dict()))
    baseline = load_baseline(report_file)
    assert baseline == Baseline.from_analysis(old, str(report_file))
    new = analysis_of(CASES)
    grow = new.summary.size - old.summary.size
    report = check(new, Budget(max_growth=grow, max_growth_percent=grow / old.summary.size), baseline)
    assert [r.status for r in report.results] == [RuleStatus.PASS, RuleStatus.PASS]
    assert report.baseline is not None and report.baseline.delta == grow
    assert [(d.index, d.before, d.after) for d in report.baseline.layers][:3] == [
        (0, 18, 1982341),
        (1, 15, 105000),
        (2, None, 7012),
    ]
    over = check(new, Budget(max_growth=grow - 1), baseline).results[0]
    assert over.status is RuleStatus.FAIL and "grew by" in over.why
    layer = check(new, Budget(max_layer_growth=1982341 - 18), baseline).results[0]
    assert (layer.status, layer.actual) == (RuleStatus.PASS, 1982341 - 18)
    layer = check(new, Budget(max_layer_growth=1982341 - 19), baseline).results[0]
    assert layer.status is RuleStatus.FAIL and layer.details[0].startswith("layer 0:")
    # A layer position the baseline lacks grows from nothing: any percent limit fails on it.
    percent = check(new, Budget(max_layer_growth_percent=10.0), baseline).results[0]
    assert percent.status is RuleStatus.FAIL and "new" in percent.why


def test_same_image_as_baseline_has_no_growth() -> None:
    a = analysis_of(CASES)
    report = check(a, Budget(max_growth=0, max_growth_percent=0.0, max_layer_growth=0), Baseline.from_analysis(a))
    assert report.passed and all(r.actual == 0 for r in report.results)


def test_growth_rules_without_a_baseline_are_skipped() -> None:
    result = only(Budget(max_growth=0))
    assert (result.status, result.why) == (RuleStatus.SKIP, "no baseline given")


def test_baseline_from_another_image_and_bad_reports(tmp_path: Path) -> None:
    assert load_baseline(SAMPLES / "multi-tag.tar").layer_sizes == (18, 15)
    bad = tmp_path / "bad.json"
    for text, message in [
        ("{", "not valid JSON"),
        ('{"schema_version": 1}', "not an imgscope report"),
        ('{"schema_version": 9, "summary": {}}', "schema_version 9"),
        ('{"schema_version": 1, "summary": {"size": -1}, "layers": []}', "'size' is -1"),
    ]:
        bad.write_text(text)
        with pytest.raises(UsageError, match=message):
            load_baseline(bad)


def test_a_check_report_serves_as_the_next_baseline() -> None:
    a = analysis_of(CASES)
    doc = check(a, Budget(max_size=1)).to_dict()
    assert Baseline.from_dict(doc, "last.json") == Baseline.from_analysis(a, "last.json")


def test_check_is_pure_and_budget_is_frozen() -> None:
    a = analysis_of(CASES)
    budget = Budget(max_size=1, forbid=(Glob("**/*.sh"),))
    assert check(a, budget) == check(a, budget)
    with pytest.raises(AttributeError):
        budget.max_size = 2  # type: ignore[misc]
    assert replace(budget, max_size=None).max_size is None
    assert imgscope.check is check


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_size": -1}, "max-size"),
        ({"max_layers": 1.5}, "max-layers"),
        ({"max_wasted_percent": 1.5}, "above 1"),
        ({"max_growth_percent": -0.1}, "max-growth-percent"),
        ({"exclude_base": "some"}, "exclude-base"),
        ({"base_layers": ("xyz",)}, "base-layers"),
        ({"base_layers": ("sha256:" + "a" * 64,), "exclude_base": 1}, "give one"),
    ],
)
def test_a_budget_checks_its_own_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Budget(**kwargs)  # type: ignore[arg-type]


def test_no_budget_checks_dives_defaults(tmp_path: Path) -> None:
    config = load_budget({}, start=tmp_path)
    assert config.budget.dive is not None and config.budget.dive.lowest_efficiency == 0.9
    report = check(analysis_of(CASES), config.budget)
    assert [r.rule for r in report.results] == [
        "dive.highestUserWastedPercent",
        "dive.highestWastedBytes",
        "dive.lowestEfficiency",
    ]
    assert not report.passed and "dive's default CI rules" in report.notes[0]


def test_budget_takes_sizes_percents_and_globs_as_people_write_them() -> None:
    budget = Budget(max_size="2,146,057", max_wasted_percent="5%", forbid=("**/*.sh",))  # type: ignore[arg-type]
    assert (budget.max_size, budget.max_wasted_percent, budget.forbid) == (2146057, 0.05, (Glob("**/*.sh"),))
    report = check(analysis_of(CASES), budget)
    assert [r.status for r in report.results] == [RuleStatus.PASS, RuleStatus.PASS, RuleStatus.FAIL]
    with pytest.raises(UsageError, match="forbid"):
        Budget(forbid=("a**",))  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="max-size"):
        Budget(max_size="-1")  # type: ignore[arg-type]


def test_base_digest_annotation_is_reported_not_used_as_a_layer_count() -> None:
    a = analysis_of(CASES)
    digest = "sha256:" + "b" * 64
    annotated = replace(a, image=replace(a.image, annotations={"org.opencontainers.image.base.digest": digest}))
    report = check(annotated, Budget(max_wasted=96000))
    assert report.base_layers == 0 and report.passed
    assert any(digest in note and "not used" in note for note in report.notes)
    assert check(annotated, Budget(exclude_base="auto")).base_layers == 1  # the history still tells


def test_largest_layer_command_is_shown_with_secret_values_masked(tmp_path: Path) -> None:
    """The max-layer-size line quotes the largest layer's command: it goes to CI logs and PR comments."""
    from tests.hostile.make_corpus import base_config, docker_archive

    def config(cfg: dict[str, Any]) -> dict[str, Any]:
        cfg = base_config(cfg["rootfs"]["diff_ids"])
        for entry in cfg["history"][1:]:  # every layer's step
            entry["created_by"] = "RUN GITHUB_TOKEN=ghp_SECRETVALUE make install"
        return cfg

    image = tmp_path / "token.tar"
    image.write_bytes(docker_archive(config=config))
    analysis = imgscope.analyze(image)
    largest = max(analysis.layers, key=lambda r: r.size)
    assert "SECRETVALUE" in largest.command  # the image does hold it
    result = check(analysis, Budget(max_layer_size=1)).results[0]
    assert result.rule == "max-layer-size" and result.failed
    assert "SECRETVALUE" not in result.why and "GITHUB_TOKEN=***" in result.why


def test_dive_nan_figure_is_explained_not_shown_as_a_comparison(tmp_path: Path) -> None:
    """A one-layer image has no user bytes: dive's user-wasted ratio is NaN, which passes (as in dive)."""
    from tests.hostile.make_corpus import LAYER0, docker_archive

    image = tmp_path / "one-layer.tar"
    image.write_bytes(docker_archive([LAYER0]))
    report = check(imgscope.analyze(image), load_budget({}, dive_ci_file=False, start=tmp_path).budget)
    result = next(r for r in report.results if r.rule == "dive.highestUserWastedPercent")
    assert result.status is RuleStatus.PASS and isinstance(result.actual, float) and math.isnan(result.actual)
    assert "NaN <=" not in result.why and "never a failure" in result.why


def test_the_library_default_is_dive_default_rules_like_the_cli() -> None:
    """check(analysis) with no budget judges what `imgscope check` with no budget does: dive's three CI rules."""
    from click.testing import CliRunner

    from imgscope.cli import main

    report = imgscope.check(SAMPLES / "advise.tar", image="wasteful")
    assert {r.rule for r in report.results} == {
        "dive.lowestEfficiency",
        "dive.highestWastedBytes",
        "dive.highestUserWastedPercent",
    }
    cli = CliRunner().invoke(main, ["check", str(SAMPLES / "advise.tar"), "--image", "wasteful", "--no-dive-ci"])
    assert report.passed is (cli.exit_code == 0) and cli.exit_code in (0, 1)


def test_an_image_smaller_than_its_baseline_shrank_and_every_figure_keeps_its_sign() -> None:
    """The report's example: multi-tag.tar checked against the larger cases image. "grew by -2.1 MB (2,146,024
    bytes)" read as +2,146,024 bytes in its parenthesis."""
    old, new = analysis_of(CASES), analysis_of("multi-tag.tar")
    shrink = old.summary.size - new.summary.size
    budget = Budget(max_growth=0, max_growth_percent=0.0)
    growth, ratio = check(new, budget, Baseline.from_analysis(old)).results
    assert growth.status is RuleStatus.PASS and growth.actual == -shrink
    assert growth.why.startswith(f"shrank by 2.1 MB ({shrink:,} bytes) (2.1 MB (") and "grew" not in growth.why
    assert ratio.why.startswith("shrank by 100.0% (") and "-" not in ratio.why.partition("(")[0]
    from imgscope.budget.check import size

    assert (size(-shrink), size(-999), size(1500)) == (f"-2.1 MB (-{shrink:,} bytes)", "-999 B", "1.5 kB (1,500 bytes)")
