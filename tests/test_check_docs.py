"""The examples of docs/ci.md run as written: every ``imgscope`` command line in it, from a copy of the repository
layout (``samples/`` and ``docs/``), with the outcome the page promises."""

from __future__ import annotations

import json
import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from imgscope.cli import main
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "ci.md").read_text()
COMMAND = re.compile(r"^\s*(?:- |run: |entry: |\$ )?(imgscope (?:check|analyze) \S+ --.+)$", re.MULTILINE)
COMMANDS = COMMAND.findall(DOC)


def blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", DOC, re.MULTILINE | re.DOTALL)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("samples", "docs"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(line: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    words = shlex.split(line)
    target = None
    if ">" in words:
        at = words.index(">")
        words, target = words[:at], words[at + 1]
    result = CliRunner().invoke(main, words[1:], env=env)
    assert result.exit_code in (0, 1), result.output
    if target:
        Path(target).write_text(result.stdout)
    return result.exit_code, result.stdout


def test_the_page_has_every_promised_example() -> None:
    assert len(COMMANDS) == 6
    for where in ("run: imgscope check", "- imgscope check", "\timgscope check", "entry: imgscope check"):
        assert where in DOC


def test_yaml_examples_are_valid_yaml() -> None:
    docs = [yaml.safe_load(b) for b in blocks("yaml")]
    assert docs[0]["jobs"]["image-budget"]["steps"][3]["run"].startswith("imgscope check")
    assert docs[1]["image-budget"]["artifacts"]["reports"]["junit"] == "imgscope-check.xml"
    assert docs[2]["repos"][0]["hooks"][0]["entry"].startswith("imgscope check")


def test_github_actions_example(repo: Path) -> None:
    line = next(c for c in COMMANDS if "--format github" in c and "--output" in c)
    summary = repo / "summary.md"
    code, out = run(line, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert code == 0, out
    assert "::error" not in out and out.rstrip().endswith("PASS: 5 rules passed")
    assert "| `max-size` | ✅ PASS |" in summary.read_text()
    suite = ET.parse(repo / "imgscope-check.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "5" and suite.get("failures") == "0"
    assert json.loads((repo / "imgscope-check.json").read_text())["passed"] is True


def test_gitlab_example(repo: Path) -> None:
    line = next(c for c in COMMANDS if "junit=" in c and "--config" in c)
    code, out = run(line)
    assert code == 0, out
    cases = ET.parse(repo / "imgscope-check.xml").getroot().iter("testcase")
    assert len(list(cases)) == 12
    assert (repo / "imgscope-check.md").read_text().startswith("### ✅ imgscope check: PASS")


def test_makefile_and_pre_commit_examples(repo: Path) -> None:
    make = blocks("make")[0]
    lines = [c for c in COMMANDS if c in make]
    assert [run(line)[0] for line in lines] == [0, 0]
    _, out = run(lines[1].replace("image-check", ""))
    assert "max-growth" in out and "Against the baseline baseline.json" in out
    entry = next(c for c in COMMANDS if c in blocks("yaml")[2])
    assert run(entry)[0] == 0


def test_the_failing_example_prints_what_the_page_shows(repo: Path) -> None:
    console = blocks("console")[0].splitlines()
    code, out = run(console[0].removeprefix("$ "))
    assert code == 1
    assert out.splitlines() == console[1:]


def test_example_settings_file_uses_only_known_keys(repo: Path) -> None:
    from imgscope.budget.config import load_budget

    config = load_budget({}, config=repo / "docs" / "examples" / "imgscope.toml", dive_ci_file=False)
    assert config.budget.max_layers == 8 and len(config.budget.paths) == 2
    dive = load_budget({}, dive_ci_file=repo / "docs" / "examples" / ".dive-ci", start=repo).budget.dive
    assert dive is not None and dive.highest_wasted_bytes == 200_000
