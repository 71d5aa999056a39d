"""dive's CI rules: imgscope gives dive 0.13.1's verdicts, messages and tallies on the same .dive-ci files.

The expected outputs are dive's own, recorded by ``samples/dive/ci/record.sh`` (``CI=true dive --source
docker-archive SAMPLE --ci-config CASE.yaml [flags]``, colour codes removed) into ``samples/dive/ci/<sample>.txt``.
Neither dive nor the network is needed here.
"""

from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from imgscope.budget.check import check
from imgscope.budget.config import load_budget
from imgscope.dive import ci as dive_ci
from imgscope.dive import golang
from imgscope.dive.figures import format_ci_figures
from imgscope.errors import UsageError
from imgscope.render.check_dive import dive_results
from tests.conftest import SAMPLES, analysis_of

CI_DIR = SAMPLES / "dive" / "ci"
RECORDS = {
    "cases-docker-archive.txt": "cases/docker-archive.tar",
    "cases-docker25.txt": "cases/docker25.tar",
    "cases-vfs-docker-archive.txt": "cases-vfs/docker-archive.tar",
    "multi-tag.txt": "multi-tag.tar",
}
_FLAG_NAMES = {  # dive's flags, as imgscope check's settings keys
    "--lowestEfficiency": "lowest-efficiency",
    "--highestWastedBytes": "highest-wasted-bytes",
    "--highestUserWastedPercent": "highest-user-wasted-percent",
}


@dataclass(frozen=True)
class DiveRun:
    sample: str
    case: str
    command: str
    figures: tuple[str, ...]
    results: tuple[str, ...]  # "Results:" .. the "Result:" tally or "CI Misconfigured"
    exit_code: int


def _runs() -> list[DiveRun]:
    runs = []
    for record, sample in RECORDS.items():
        for block in (CI_DIR / record).read_text().split("### ")[1:]:
            lines = block.strip().splitlines()
            case, command = lines[0], lines[1].removeprefix("$ ")
            body = lines[2:-1]
            start = body.index("Results:")
            runs.append(
                DiveRun(sample, case, command, tuple(body[:start]), tuple(body[start:]), int(lines[-1].split()[-1]))
            )
    return runs


RUNS = _runs()
MISSPELT = "misspelt-key"  # dive ignores an unknown rule; imgscope too, with a warning (an error with --strict)


def _budget(run: DiveRun, tmp_path: Path) -> object:
    words = shlex.split(run.command)
    config = words[words.index("--ci-config") + 1]
    options = {_FLAG_NAMES[words[i]]: words[i + 1] for i in range(len(words)) if words[i] in _FLAG_NAMES}
    dive_file = CI_DIR / config if (CI_DIR / config).is_file() else False
    return load_budget(options, start=tmp_path, dive_ci_file=dive_file).budget


def test_records_cover_every_case() -> None:
    cases = {p.stem for p in CI_DIR.glob("*.yaml")} | {"default"}
    for record in RECORDS:
        assert {r.case for r in RUNS if r.sample == RECORDS[record]} == cases
    assert len(RUNS) == 4 * len(cases)


@pytest.mark.parametrize(
    "run",
    [r for r in RUNS if "CI Misconfigured" not in r.results],
    ids=lambda r: f"{r.sample}:{r.case}",
)
def test_same_verdicts_and_messages_as_dive(run: DiveRun, tmp_path: Path) -> None:
    analysis = analysis_of(run.sample)
    report = check(analysis, _budget(run, tmp_path))  # type: ignore[arg-type]
    assert tuple(format_ci_figures(analysis.dive)) == run.figures
    assert tuple(dive_results(report)) == run.results
    assert (0 if report.passed else 1) == run.exit_code


@pytest.mark.parametrize(
    "run", [r for r in RUNS if "CI Misconfigured" in r.results], ids=lambda r: f"{r.sample}:{r.case}"
)
def test_misconfigured_for_dive_is_a_usage_error_naming_the_rule(run: DiveRun, tmp_path: Path) -> None:
    assert run.exit_code == 1  # dive: "CI Misconfigured", exit 1; imgscope: exit 2 with the rule and the value
    bad = [line.split(":")[1].strip() for line in run.results if line.startswith("  MISCONFIGURED:")]
    values = re.findall(r"(?:config value \(|given )'([^']*)'", "\n".join(run.results))
    with pytest.raises(UsageError) as caught:
        _budget(run, tmp_path)
    message = str(caught.value)
    assert any(rule in message for rule in bad)
    assert any(repr(value) in message for value in values), (message, values)  # the value as dive read it
    assert "\n" not in message


def test_misspelt_rule_is_ignored_as_dive_does_with_a_warning_and_refused_with_strict(tmp_path: Path) -> None:
    run = next(r for r in RUNS if r.case == MISSPELT)
    assert run.exit_code == 0  # dive checked its default instead of the 0.99 meant
    loaded = load_budget({}, start=tmp_path, dive_ci_file=CI_DIR / "misspelt-key.yaml")
    assert loaded.budget.dive == dive_ci.DiveThresholds(0.9, None, 0.7)  # dive's default, as dive checks
    (warning,) = loaded.warnings
    assert "unknown rule 'lowestEfficency'" in warning and "did you mean lowestEfficiency?" in warning
    assert warning in loaded.budget.notes  # also in the report, for a CI log that drops stderr
    with pytest.raises(UsageError, match=r"unknown rule 'lowestEfficency'.*did you mean lowestEfficiency"):
        load_budget({}, start=tmp_path, dive_ci_file=CI_DIR / "misspelt-key.yaml", strict=True)


def test_go_float_parsing_and_printing() -> None:
    assert golang.go_parse_float("0.9") == 0.9
    assert golang.go_parse_float(".5") == 0.5
    assert golang.go_parse_float("1e-1") == 0.1
    assert golang.go_parse_float("0x1p-2") == 0.25
    assert math.isnan(golang.go_parse_float("NaN"))
    assert golang.go_parse_float("0.9_9") == 0.99 and golang.go_parse_float("1_000.5") == 1000.5  # underscoreOK
    assert golang.go_parse_float("0x_1p-2") == 0.25
    for bad in ("5%", " 0.5", "_1", "1_", "1__0", "1_.5", "1e400", "+nan", "", "0.5.1"):
        with pytest.raises(ValueError):
            golang.go_parse_float(bad)
    assert [golang.go_format(v) for v in (1.0, 0.1, 1e-05, 1e21, 123.0, 0.6963277871435901)] == [
        "1",
        "0.1",
        "1e-05",
        "1e+21",
        "123",
        "0.6963277871435901",
    ]
    # Go's %v: the exponent from 1e6 (dive prints "%-user-wasted-bytes=2e+06")
    assert [golang.go_format(v) for v in (100000.0, 999999.5, 2000000.0, 1234567.0, 1e20, 0.0001)] == [
        "100000",
        "999999.5",
        "2e+06",
        "1.234567e+06",
        "1e+20",
        "0.0001",
    ]
    assert [golang.yaml_to_go_string(v) for v in (0.9, 1e-7, 114000, True, 1500000.0)] == [
        "0.9",
        "0.0000001",
        "114000",
        "true",
        "1500000",
    ]


def test_dive_ci_needs_pyyaml_with_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_yaml(name: str, *args: object, **kwargs: object) -> object:
        if name == "yaml":
            raise ImportError("no yaml")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_yaml)
    with pytest.raises(UsageError, match=re.escape("needs PyYAML: pip install pyyaml")):
        dive_ci.read_dive_ci(CI_DIR / "pass-all.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: 5\n", "'rules' must be a table"),
        ("rules:\n  a: [\n", "not valid YAML"),
        ("- 1\n", "holds a 'rules' table"),
        ("rules:\n  lowestEfficiency: [1]\n", "not a list"),
    ],
)
def test_malformed_dive_ci(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / ".dive-ci"
    path.write_text(text)
    with pytest.raises(UsageError, match=re.escape(message)):
        dive_ci.read_dive_ci(path)


def test_dive_ci_found_in_the_start_directory_as_dive_does(tmp_path: Path) -> None:
    (tmp_path / ".dive-ci").write_text("rules:\n  lowestEfficiency: 0.99\n")
    found = load_budget({}, start=tmp_path)
    assert found.budget.dive == dive_ci.DiveThresholds(0.99, None, 0.1)
    assert found.sources == (str(tmp_path / ".dive-ci"),)
    assert load_budget({"max-size": "1GB"}, start=tmp_path, dive_ci_file=False).budget.dive is None
