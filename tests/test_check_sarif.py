"""``advise --format sarif`` as GitHub code scanning reads it: every result needs a physical location with a region
(at least ``region.startLine``; sarif-sdk's GitHub rule GH1003) and a path it can map into the checkout."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from click.testing import CliRunner

from imgscope.cli import main
from tests.conftest import SAMPLES

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


def _sarif(path: str) -> Any:
    result = CliRunner().invoke(main, ["advise", path, "--image", "wasteful", "--format", "sarif"])
    assert result.exit_code == 0
    log = json.loads(result.stdout)
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(log)
    return log


def test_every_result_has_a_region_github_can_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(SAMPLES / "advise.tar", tmp_path / "image.tar")
    monkeypatch.chdir(tmp_path)
    log = _sarif("image.tar")
    results = log["runs"][0]["results"]
    assert results
    for result in results:
        (location,) = result["locations"]
        assert location["physicalLocation"] == {"artifactLocation": {"uri": "image.tar"}, "region": {"startLine": 1}}


def test_an_absolute_path_inside_the_working_directory_is_written_relative_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A workflow that passes ``$GITHUB_WORKSPACE/build/image.tar`` gets a path code scanning maps to the checkout,
    not ``file:///home/runner/...``; a path outside the working directory stays a file URI."""
    (tmp_path / "build").mkdir()
    shutil.copy(SAMPLES / "advise.tar", tmp_path / "build" / "image.tar")
    monkeypatch.chdir(tmp_path)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in _sarif(str(tmp_path / "build" / "image.tar"))["runs"][0]["results"]
    }
    assert uris == {"build/image.tar"}
    monkeypatch.chdir(tmp_path / "build")
    outside = SAMPLES.resolve() / "advise.tar"
    log = _sarif(str(outside))
    assert log["runs"][0]["artifacts"][0]["location"]["uri"] == outside.as_uri()


def test_a_working_directory_reached_through_a_link_still_gives_a_relative_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cd`` through a symbolic link (``$PWD`` keeps the link, ``getcwd()`` resolves it) and ``$PWD/image.tar``:
    still the path relative to the checkout, not ``file:///...``."""
    (tmp_path / "real").mkdir()
    shutil.copy(SAMPLES / "advise.tar", tmp_path / "real" / "image.tar")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.chdir(tmp_path / "link")
    log = _sarif(str(tmp_path / "link" / "image.tar"))
    assert log["runs"][0]["artifacts"][0]["location"]["uri"] == "image.tar"
