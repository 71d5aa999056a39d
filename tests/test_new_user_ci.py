"""What a new user trips over in CI (issue 17): dive's own example .dive-ci, PyYAML, progress in logs, several
images in one input, a growth rule with no baseline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from imgscope.budget.config import load_budget
from imgscope.cli import main
from imgscope.dive.ci import read_dive_ci
from imgscope.errors import UsageError
from tests.conftest import ROOT, SAMPLES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# dive's own example, .data/.dive-ci of github.com/wagoodman/dive (commit ba7b39c5), copied byte for byte; dive
# 0.13.1 reads it and judges the image (CI=true dive --source docker-archive samples/cases/docker-archive.tar).
DIVE_EXAMPLE = ROOT / "tests" / "data" / "dive-example.dive-ci"
CASES = str(SAMPLES / "cases" / "docker-archive.tar")


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _empty_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def test_dive_example_dive_ci_is_read_as_dive_reads_it_with_warnings(tmp_path: Path) -> None:
    warnings: list[str] = []
    rules = read_dive_ci(DIVE_EXAMPLE, warnings=warnings)
    assert rules == {"lowestEfficiency": "0.95", "highestWastedBytes": "20Mb", "highestUserWastedPercent": "0.5"}
    assert len(warnings) == 2
    assert "unknown key 'plugins'" in warnings[0] and "unknown rule 'plugin1/rule1'" in warnings[1]
    assert not any("did you mean" in w for w in warnings)  # nothing near a rule name: no guess
    (tmp_path / ".dive-ci").write_bytes(DIVE_EXAMPLE.read_bytes())
    code, out, err = run("check", CASES)
    assert code == 1  # as dive: highestUserWastedPercent 0.696 > 0.5 fails, the rest passes
    assert "highestUserWastedPercent" in out and "FAIL: 1 of 3 rules failed" in out
    assert err.count("imgscope: warning:") == 2 and "plugin1/rule1" in err
    code, _, err = run("check", "--strict", CASES)
    assert code == 2 and "unknown key 'plugins'" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("key", "hint"),
    [("highestWastedByte", "highestWastedBytes"), ("lowest_efficiency", "lowestEfficiency"), ("rule", "rules")],
)
def test_near_misses_get_a_did_you_mean(tmp_path: Path, key: str, hint: str) -> None:
    path = tmp_path / "near.yaml"
    text = f"{key}:\n  lowestEfficiency: 0.5\n" if key == "rule" else f"rules:\n  {key}: 0.5\n"
    path.write_text(text)
    warnings: list[str] = []
    read_dive_ci(path, warnings=warnings)
    assert len(warnings) == 1 and f"did you mean {hint}?" in warnings[0]
    with pytest.raises(UsageError, match=f"did you mean {hint}"):
        read_dive_ci(path, strict=True)


def test_pyyaml_is_a_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(dep.lower().startswith("pyyaml") for dep in project["dependencies"])


def test_growth_rule_without_baseline_is_a_usage_error() -> None:
    code, out, err = run("check", "--no-dive-ci", "--max-growth", "1MB", CASES)
    assert code == 2 and out == ""
    assert "needs a baseline" in err and "--baseline-optional" in err
    with pytest.raises(UsageError, match="max-growth-percent needs a baseline"):
        load_budget({"max-growth-percent": "10%"}, dive_ci_file=False)


def test_baseline_optional_skips_growth_rules_when_there_is_none(tmp_path: Path) -> None:
    code, out, _ = run("check", "--no-dive-ci", "--max-growth", "1MB", "--baseline-optional", CASES)
    assert code == 0 and "SKIP" in out
    missing = str(tmp_path / "first-build.json")
    code, out, _ = run(
        "check", "--no-dive-ci", "--max-growth", "1MB", "--baseline-optional", "--baseline", missing, "--json", CASES
    )
    doc = json.loads(out)
    assert code == 0 and [r["status"] for r in doc["results"]] == ["skip"]
    assert any("not found" in n and "--baseline-optional" in n for n in doc["notes"])
    # a baseline that is there is used
    code, out, _ = run("analyze", "--json", CASES)
    (tmp_path / "prev.json").write_text(out)
    code, out, _ = run(
        "check", "--no-dive-ci", "--max-growth", "1MB", "--baseline-optional", "--baseline", "prev.json", CASES
    )
    assert code == 0 and "PASS: 1 rule passed" in out


def test_check_refuses_an_input_of_several_images_without_image() -> None:
    two = str(SAMPLES / "two-images.tar")
    code, out, err = run("check", "--no-dive-ci", "--max-size", "1GB", two)
    assert code == 2 and out == ""
    assert "2 images here" in err and "localhost/tiny-a:1" in err and "localhost/tiny-b:1" in err
    assert "--image" in err
    code, out, _ = run("check", "--no-dive-ci", "--max-size", "1GB", "--image", "localhost/tiny-b:1", two)
    assert code == 0 and "tiny-b" in out
    # several tags of one image, several platforms of one index: one image
    code, _, _ = run("check", "--no-dive-ci", "--max-size", "1GB", str(SAMPLES / "multi-tag.tar"))
    assert code == 0
    code, out, _ = run("check", "--no-dive-ci", "--max-size", "1GB", "--json", str(SAMPLES / "multi-platform"))
    assert code == 0 and any("2 platforms here" in n for n in json.loads(out)["notes"])


@pytest.mark.parametrize("command", ["advise", "history", "check", "analyze", "tree"])
def test_every_command_says_which_image_it_picked(command: str) -> None:
    two = str(SAMPLES / "two-images.tar")
    args = [command, two]
    if command == "check":  # check refuses to pick: the platform of an index is what it may pick
        args = [command, "--no-dive-ci", "--max-size", "1GB", str(SAMPLES / "multi-platform")]
    code, out, _ = run(*args, env={"COLUMNS": "200"})
    assert code == 0
    expected = "2 platforms here" if command == "check" else "2 images here; analyzing the first, localhost/tiny-a:1"
    assert expected in " ".join(out.split())
    if command in ("advise", "history", "check"):
        code, out, _ = run(*[*args, "--json"], env={"COLUMNS": "200"})
        assert code == 0 and any(expected in n for n in json.loads(out)["notes"])


def test_advise_sarif_says_which_image_it_picked() -> None:
    code, out, _ = run("advise", "--format", "sarif", str(SAMPLES / "two-images.tar"))
    notes = json.loads(out)["runs"][0]["properties"]["notes"]
    assert code == 0 and any("2 images here" in n for n in notes)


def _check_stdin(sample: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    with open(sample, "rb") as fh:
        return subprocess.run(
            [sys.executable, "-m", "imgscope", "check", "--no-dive-ci", "--max-size", "1GB", *args, "-"],
            stdin=fh,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
            check=False,
        )


def test_check_of_a_stream_is_not_read_before_the_analysis(tmp_path: Path) -> None:
    done = _check_stdin(SAMPLES / "cases" / "docker-archive.tar")
    assert done.returncode == 0, done.stderr
    done = _check_stdin(SAMPLES / "two-images.tar")  # read once: refused after the analysis, not passed
    assert done.returncode == 2 and b"--image" in done.stderr
    assert _check_stdin(SAMPLES / "two-images.tar", "--image", "localhost/tiny-b:1").returncode == 0
    fifo = tmp_path / "image.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as out:
            out.write((SAMPLES / "cases" / "docker-archive.tar").read_bytes())

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    code, _out, err = run("check", "--no-dive-ci", "--max-size", "1GB", str(fifo))
    writer.join(timeout=60)
    assert code == 0, err
