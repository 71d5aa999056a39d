"""One way to show a percent: every figure imgscope prints is ``4.5%`` (``units.format_percent``), in every
command and view; dive's format (``96.1646 %``) only where imgscope prints dive's own text (``check --format
dive``, which must equal dive's output)."""

from __future__ import annotations

import math
import re

import pytest
from click.testing import CliRunner

import imgscope
from imgscope.cli import main
from imgscope.units import format_percent
from tests.conftest import SAMPLES, analysis_of

ANY_PERCENT = re.compile(r"\d[\d,]*(?:\.\d+)?\s*%")
OURS = re.compile(r"^-?\d+\.\d{1,4}%$")
CASES = str(SAMPLES / "cases" / "docker-archive.tar")
ADVISE = str(SAMPLES / "advise.tar")


@pytest.mark.parametrize(
    ("fraction", "against", "shown"),
    [
        (0.0447, None, "4.5%"),
        (0.955267, None, "95.5%"),
        (0.0, None, "0.0%"),
        (1.0, None, "100.0%"),
        (-0.25, None, "-25.0%"),
        (0.0501, 0.05, "5.01%"),
        (0.05, 0.0501, "5.00%"),
        (0.05, 0.05, "5.0%"),  # equal: no more digits
        (0.5000001, 0.5, "50.00001%"),  # as many decimals as it takes to read differently
        (0.1000001, 0.1, "10.00001%"),
        (-1e-9, None, "0.0%"),  # not -0.0%
        (0.0447, 0.04, "4.5%"),
        (math.nan, None, "n/a"),
        (None, None, "n/a"),
        (math.inf, None, "∞%"),
        (0.3, math.inf, "30.0%"),
    ],
)
def test_format_percent(fraction: float | None, against: float | None, shown: str) -> None:
    assert format_percent(fraction, against=against) == shown


def _percents(*args: str) -> list[str]:
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code in (0, 1), result.output
    found = ANY_PERCENT.findall(result.stdout)
    assert found, f"no percent in {args}"
    return found


@pytest.mark.parametrize(
    "args",
    [
        ("analyze", CASES),
        ("advise", "--image", "localhost/wasteful:latest", ADVISE),
        ("advise", CASES),
        ("check", "--no-dive-ci", "--max-wasted-percent", "4%", CASES),
        ("check", "--no-dive-ci", "--max-wasted-percent", "4%", "--format", "markdown", CASES),
        ("check", "--no-dive-ci", "--max-wasted-percent", "4%", "--format", "junit", CASES),
        ("check", "--dive-ci", str(SAMPLES / "dive" / "ci" / "exact-cases.yaml"), CASES),
        ("packages", str(SAMPLES / "packages" / "oci")),
    ],
    ids=lambda a: "-".join(w for w in a if not w.startswith("/"))[:60],
)
def test_every_command_shows_percents_one_way(args: tuple[str, ...]) -> None:
    assert [p for p in _percents(*args) if not OURS.match(p)] == []


def test_a_limit_next_to_its_figure_reads_differently() -> None:
    """A wasted share just above its limit must not read "4.5% exceeds the limit 4.5%"."""
    s = analysis_of("cases/docker-archive.tar").summary
    limit = s.wasted_fraction - 1e-5
    report = imgscope.check(analysis_of("cases/docker-archive.tar"), imgscope.Budget(max_wasted_percent=limit))
    (result,) = report.results
    shown = re.findall(r"\d+\.\d+%", result.why)
    assert len(shown) == 2 and shown[0] != shown[1], result.why


def test_dive_text_keeps_dives_format() -> None:
    """``check --format dive`` prints dive's own lines: dive's digits and its spaced percent."""
    result = CliRunner().invoke(main, ["check", "--format", "dive", "--no-dive-ci", CASES])
    assert "efficiency: 96.1646 %" in result.stdout
    assert "userWastedPercent: 69.6328 %" in result.stdout


def test_analyze_shows_dives_figures_with_dives_digits() -> None:
    """The dive section of ``analyze`` must be comparable with dive's output digit for digit."""
    dive_text = CliRunner().invoke(main, ["check", "--format", "dive", "--no-dive-ci", CASES]).stdout
    report = CliRunner().invoke(main, ["analyze", CASES]).stdout
    for key in ("efficiency", "userWastedPercent"):
        ours = re.search(rf"{key}: (\d+\.\d+)%", report)
        dives = re.search(rf"{key}: (\d+\.\d+) %", dive_text)
        assert ours and dives and ours[1] == dives[1], (key, ours, dives)
