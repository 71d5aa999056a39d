"""Docker >= 25 `docker save` of an untagged image: `index.json` with `"manifests": null`, `RepoTags: null`.

The save is assembled from the real docker25.tar by samples/docker25_untagged.py (no packaged tool writes it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import imgscope
from imgscope.cli import main
from tests.conftest import SAMPLES, analysis_of


@pytest.fixture(scope="module")
def untagged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docker25") / "untagged.tar"
    script = SAMPLES / "docker25_untagged.py"
    subprocess.run([sys.executable, str(script), str(SAMPLES / "cases" / "docker25.tar"), str(out)], check=True)
    with tarfile.open(out) as tar:  # the layout as Docker 25 writes it
        assert json.load(tar.extractfile("index.json"))["manifests"] is None  # type: ignore[arg-type]
        assert json.load(tar.extractfile("manifest.json"))[0]["RepoTags"] is None  # type: ignore[arg-type]
    return out


def test_read_through_manifest_json_named_by_config_digest(untagged: Path) -> None:
    result = imgscope.analyze(untagged)
    tagged = analysis_of("cases/docker25.tar")
    assert result.image.config_digest == tagged.image.config_digest
    assert result.image.name == result.image.config_digest[:19]  # type: ignore[index]
    assert result.image.tags == ()
    assert result.summary == tagged.summary
    assert [layer.diff_id for layer in result.layers] == [layer.diff_id for layer in tagged.layers]
    refs = imgscope.list_images(untagged)
    assert len(refs) == 1 and refs[0].config_digest == tagged.image.config_digest


def test_cli_on_the_untagged_save(untagged: Path) -> None:
    result = CliRunner().invoke(main, ["analyze", "--json", str(untagged)])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["image"]["name"].startswith("sha256:")
    short = doc["image"]["config_digest"].removeprefix("sha256:")[:12]
    result = CliRunner().invoke(main, ["inspect", "--image", short, str(untagged)])
    assert result.exit_code == 0, result.stderr
