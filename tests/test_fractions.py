"""A fraction is named a fraction: ``Summary.wasted_fraction`` (0.0447 is 4.47 %), in the library and the JSON;
the old ``wasted_percent`` still reads, with a DeprecationWarning; a budget's percent limits take ``10%`` or
``0.1`` alike, on the command line and in settings files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import imgscope
from imgscope.budget.baseline import Baseline
from imgscope.budget.config import Budget, load_budget
from tests.conftest import ROOT, SAMPLES, analysis_of

CASES = "cases/docker-archive.tar"


def test_summary_names_the_fraction_a_fraction() -> None:
    s = analysis_of(CASES).summary
    assert s.wasted_fraction == s.wasted_bytes / s.size
    assert 0 < s.wasted_fraction < 1
    assert "wasted_fraction" in imgscope.Summary.__doc__  # type: ignore[operator]


def test_old_name_reads_with_a_deprecation_warning() -> None:
    s = analysis_of(CASES).summary
    with pytest.warns(DeprecationWarning, match="wasted_fraction"):
        old = s.wasted_percent
    assert old == s.wasted_fraction
    with pytest.raises(AttributeError):
        s.wasted_percent = 0.5  # type: ignore[misc]


def test_old_name_is_taken_as_a_keyword_with_a_deprecation_warning() -> None:
    """Code written before the rename that makes a Summary by keyword still runs, and warns."""
    import dataclasses

    s = analysis_of(CASES).summary
    fields = dataclasses.asdict(s)
    fields["wasted_percent"] = fields.pop("wasted_fraction")
    with pytest.warns(DeprecationWarning, match="wasted_fraction"):
        old = imgscope.Summary(**fields)
    assert old == s
    assert imgscope.Summary(*dataclasses.astuple(s)) == s  # by position, as before
    assert dataclasses.replace(s, wasted_fraction=0.5).wasted_fraction == 0.5
    with pytest.raises(TypeError, match="both"):
        imgscope.Summary(**fields, wasted_fraction=0.1)
    import inspect

    assert "wasted_fraction" in inspect.signature(imgscope.Summary).parameters  # help() shows the fields


def test_json_document_carries_the_new_name_and_version() -> None:
    doc = analysis_of(CASES).to_dict()
    assert doc["schema_version"] == imgscope.analysis.SCHEMA_VERSION == 2
    assert "wasted_percent" not in doc["summary"]
    assert doc["summary"]["wasted_fraction"] == doc["summary"]["wasted_bytes"] / doc["summary"]["size"]
    assert "user_wasted_percent" in doc["dive"]  # dive's own key (userWastedPercent) keeps dive's name


def test_a_version_1_report_still_serves_as_a_baseline() -> None:
    doc = json.loads(json.dumps(analysis_of(CASES).to_dict()))
    doc["schema_version"] = 1
    doc["summary"]["wasted_percent"] = doc["summary"].pop("wasted_fraction")
    old = Baseline.from_dict(doc, "old.json")
    assert old.size == analysis_of(CASES).summary.size


def test_fleet_row_and_summary_agree() -> None:
    pytest.importorskip("pyarrow")
    from imgscope.fleet.plan import ImageJob
    from imgscope.fleet.rows import image_rows

    a = analysis_of(CASES)
    (row,) = image_rows(ImageJob("r", str(SAMPLES / CASES)), a).tables["images"]
    assert row["wasted_fraction"] == a.summary.wasted_fraction


@pytest.mark.parametrize("written", ["10%", "0.1", " 10 % ", 0.1])
def test_percent_limits_take_a_percent_or_a_fraction(written: str | float) -> None:
    assert Budget(max_wasted_percent=written).max_wasted_percent == pytest.approx(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ['"10%"', "0.1", '"0.1"'])
def test_settings_file_takes_a_percent_or_a_fraction(tmp_path: Path, value: str) -> None:
    (tmp_path / ".imgscope.toml").write_text(f"[check]\nmax-wasted-percent = {value}\n")
    config = load_budget(start=tmp_path)
    assert config.budget.max_wasted_percent == pytest.approx(0.1)


@pytest.mark.parametrize("written", ["4%", "0.04"])
def test_cli_percent_limit_judges_the_wasted_fraction(written: str) -> None:
    """cases wastes 4.47 % of its content: 4% (or 0.04) fails, as the rendered figure says."""
    proc = subprocess.run(
        [sys.executable, "-m", "imgscope", "check", str(SAMPLES / CASES), "--max-wasted-percent", written, "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    (result,) = [r for r in json.loads(proc.stdout)["results"] if r["rule"] == "max-wasted-percent"]
    assert result["unit"] == "ratio" and result["limit"] == pytest.approx(0.04)
    assert result["actual"] == pytest.approx(analysis_of(CASES).summary.wasted_fraction)
