"""docs/json.md against what tree, diff, history and inspect emit: every key a document's example shows is in the
real output, and every key the real output has is shown (so a field added or renamed in code without the docs,
or the other way round, fails here)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from click.testing import CliRunner

from imgscope.cli import main
from tests.conftest import ROOT, SAMPLES

SECTION = "## Exploring: `tree`, `diff`, `history`, `inspect`"
USER_DATA = {"labels", "annotations", "healthcheck"}  # keys below these are the image's, not ours


def _section() -> str:
    text = (ROOT / "docs" / "json.md").read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end >= 0 else len(text)]


def _blocks() -> dict[str, str]:
    """Each documented example, by the command line that introduces it."""
    out: dict[str, str] = {}
    for match in re.finditer(r"\*\*`imgscope ([^`]+)`\*\*(.*?)(?=\*\*`imgscope |\Z)", _section(), re.S):
        out[match.group(1)] = match.group(2)
    return out


def _documented(block: str) -> set[str]:
    """Keys in an example: ``"key": value``, or a bare ``"key"`` in a list of names (``{"image", "text"}``)."""
    return set(re.findall(r'"([a-z_]+)"\s*:', block)) | set(re.findall(r'(?<![:|] )"([a-z_]+)"(?=[,}])', block))


def _emitted(doc: Any, into: set[str] | None = None) -> set[str]:
    keys: set[str] = set() if into is None else into
    if isinstance(doc, dict):
        for key, value in doc.items():
            keys.add(key)
            if key not in USER_DATA:
                _emitted(value, keys)
    elif isinstance(doc, list):
        for item in doc:
            _emitted(item, keys)
    return keys


def _run(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


CASES = str(SAMPLES / "cases" / "docker-archive.tar")
TWO = str(SAMPLES / "two-images.tar")

RUNS: dict[str, list[tuple[str, ...]]] = {
    "tree PATH --json": [
        ("tree", CASES, "--json", "--layer", "3", "--changes"),
        ("tree", CASES, "--json", "--depth", "1", "--limit", "3"),  # collapsed, depth_cut, a symlink
    ],
    "diff A B --json": [
        ("diff", f"{TWO}:localhost/tiny-a:1", f"{TWO}:localhost/tiny-b:1", "--json"),
        ("diff", str(SAMPLES / "packages" / "oci-4"), str(SAMPLES / "packages" / "oci"), "--json"),  # packages
    ],
    "history PATH --json": [("history", CASES, "--json")],
    "history PATH --dockerfile --json": [("history", CASES, "--dockerfile", "--json")],
    "inspect PATH --json": [("inspect", str(SAMPLES / "cases" / "docker25.tar"), "--json")],
}


def test_every_command_is_documented() -> None:
    assert sorted(_blocks()) == sorted(RUNS)


@pytest.mark.parametrize("command", sorted(RUNS))
def test_documented_keys_are_the_emitted_keys(command: str) -> None:
    emitted: set[str] = set()
    for args in RUNS[command]:
        doc = _run(*args)
        assert doc["schema_version"] == 1
        _emitted(doc, emitted)
    documented = _documented(_blocks()[command])
    assert sorted(documented - emitted) == [], "documented but not emitted"
    assert sorted(emitted - documented) == [], "emitted but not documented"
