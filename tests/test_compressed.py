""" "compressed" means what a pull downloads, in every format; the blobs as stored are "stored" (docs/metrics.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import imgscope
from imgscope.budget.check import RuleStatus, check
from imgscope.budget.config import Budget
from imgscope.cli import main
from imgscope.errors import UsageError
from tests.conftest import CASES_FORMATS, SAMPLES, analysis_of


def _blob_bytes(rel: str) -> int:
    return sum(layer.size or 0 for layer in imgscope.open_image(SAMPLES / rel).layers)


def test_stored_is_the_blobs_as_stored_and_compressed_is_unknown_for_plain_tars() -> None:
    a = analysis_of("cases/docker-archive.tar")
    assert a.summary.stored_size == _blob_bytes("cases/docker-archive.tar") > a.summary.size  # tars, headers
    assert a.summary.compressed_size is None and all(r.compressed_size is None for r in a.layers)
    g = analysis_of("cases/oci-gzip")
    assert g.summary.compressed_size == g.summary.stored_size == _blob_bytes("cases/oci-gzip")


def test_gzip_of_plain_layers_is_one_definition_across_formats() -> None:
    docker = imgscope.analyze(SAMPLES / "cases" / "docker-archive.tar", gzip_uncompressed=True)
    plain = imgscope.analyze(SAMPLES / "cases" / "oci-plain", gzip_uncompressed=True)
    gzip = analysis_of("cases/oci-gzip")
    # the same tars, gzipped the same way: the same figure, to the byte
    assert [r.compressed_size for r in docker.layers] == [r.compressed_size for r in plain.layers]
    assert docker.summary.compressed_size is not None and gzip.summary.compressed_size is not None
    assert docker.summary.compressed_size < docker.summary.stored_size / 2
    assert abs(docker.summary.compressed_size - gzip.summary.compressed_size) < 0.1 * gzip.summary.compressed_size
    # a blob already compressed is not gzipped again
    again = imgscope.analyze(SAMPLES / "cases" / "oci-gzip", gzip_uncompressed=True)
    assert again.summary.compressed_size == gzip.summary.compressed_size


def test_library_check_asks_for_the_gzip_figure() -> None:
    with pytest.raises(UsageError, match="gzip_uncompressed=True"):
        check(analysis_of("cases/docker-archive.tar"), Budget(max_compressed_size=1_200_000))
    report = check(analysis_of("cases/docker-archive.tar"), Budget(max_size=10**9))  # other rules need nothing
    assert report.passed


@pytest.mark.parametrize("rel", CASES_FORMATS)
def test_max_compressed_size_gives_one_verdict_for_every_format(rel: str, tmp_path: Path) -> None:
    runner = CliRunner()
    path = str(SAMPLES / rel)
    verdicts = {}
    for limit in ("1.2MB", "900kB"):
        result = runner.invoke(main, ["check", "--no-dive-ci", "--max-compressed-size", limit, "--json", path])
        assert result.exit_code in (0, 1), result.stderr
        (rule,) = json.loads(result.stdout)["results"]
        verdicts[limit] = rule["status"]
        assert 900_000 < rule["actual"] < 1_200_000
    assert verdicts == {"1.2MB": RuleStatus.PASS.value, "900kB": RuleStatus.FAIL.value}


def test_analyze_names_the_figures_for_what_they_are() -> None:
    runner = CliRunner()
    text = runner.invoke(main, ["analyze", str(SAMPLES / "cases" / "docker-archive.tar")], env={"COLUMNS": "200"})
    assert "2.3 MB stored uncompressed" in text.stdout and "2.3 MB compressed" not in text.stdout
    text = runner.invoke(
        main, ["analyze", "--gzip", str(SAMPLES / "cases" / "docker-archive.tar")], env={"COLUMNS": "200"}
    )
    assert "gzipped" in text.stdout
    text = runner.invoke(main, ["analyze", str(SAMPLES / "cases" / "oci-gzip")], env={"COLUMNS": "200"})
    assert "1.1 MB compressed" in text.stdout
