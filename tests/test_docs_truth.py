"""Docs that disagreed with the program (issue 17): file_records' digest, diff's attribute names, the percent hint
of a dive rule, shell completion."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from imgscope.budget.config import load_budget
from imgscope.cli import main
from imgscope.compare import FILE_ATTRIBUTES
from imgscope.errors import UsageError
from tests.conftest import ROOT, SAMPLES, analysis_of


def _final_contents(archive: Path) -> dict[str, bytes]:
    """Each regular file's bytes as the last layer writing it has them, read with tarfile (no whiteouts in the
    paths checked below)."""
    out: dict[str, bytes] = {}
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        for member in manifest[0]["Layers"]:
            layer = outer.extractfile(member)
            assert layer is not None
            with tarfile.open(fileobj=io.BytesIO(layer.read())) as inner:
                for m in inner.getmembers():
                    if m.isfile():
                        data = inner.extractfile(m)
                        assert data is not None
                        out["/" + m.name.removeprefix("./")] = data.read()
    return out


def test_file_records_have_the_digest_the_docs_promise() -> None:
    json_md = (ROOT / "docs" / "json.md").read_text()
    assert "`digest`" in json_md.split("For data frames:")[1].split("\n\n")[0]
    records = {r["path"]: r for r in analysis_of("cases/docker-archive.tar").file_records()}
    contents = _final_contents(SAMPLES / "cases" / "docker-archive.tar")
    for path in ("/bin/busybox", "/srv/config.txt", "/app/overwritten.txt"):
        assert records[path]["digest"] == "sha256:" + hashlib.sha256(contents[path]).hexdigest()
    assert all(r["digest"] is None for r in records.values() if r["type"] != "file")


def test_cli_md_names_what_diff_reports() -> None:
    cli_md = (ROOT / "docs" / "cli.md").read_text()
    diff_row = next(line for line in cli_md.splitlines() if line.startswith("| `imgscope diff"))
    named = re.findall(r"`(\w+)`", diff_row.split("what changed:")[1])
    assert tuple(n for n in named if n in FILE_ATTRIBUTES) == FILE_ATTRIBUTES
    assert "(type, size, content" not in diff_row


def test_a_percent_on_a_dive_rule_says_which_ratio_to_write(tmp_path: Path) -> None:
    path = tmp_path / ".dive-ci"
    path.write_text("rules:\n  lowestEfficiency: 95%\n  highestUserWastedPercent: 12.5%\n")
    with pytest.raises(UsageError, match=r"write 0\.95 for 95%"):
        load_budget({}, dive_ci_file=path)
    with pytest.raises(UsageError, match=r"write 0\.125 for 12\.5%"):
        load_budget({"highest-user-wasted-percent": "12.5%"}, dive_ci_file=False)
    ci_md = (ROOT / "docs" / "ci.md").read_text()
    assert '"write 0.95 for 95%"' in ci_md


def test_completion_script_is_what_the_docs_say() -> None:
    result = CliRunner().invoke(main, [], prog_name="imgscope", env={"_IMGSCOPE_COMPLETE": "bash_source"})
    assert result.exit_code == 0 and "_imgscope_completion()" in result.stdout
    assert "_IMGSCOPE_COMPLETE=bash_source imgscope" in (ROOT / "docs" / "cli.md").read_text()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_completion_in_a_real_bash(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "imgscope"  # the installed script's stand-in: this checkout, as `python -m imgscope`
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m imgscope "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    script = (
        'eval "$(_IMGSCOPE_COMPLETE=bash_source imgscope)"\n'
        'COMP_WORDS=(imgscope an); COMP_CWORD=1; _imgscope_completion imgscope; echo "${COMPREPLY[@]}"\n'
        "COMPREPLY=(); COMP_WORDS=(imgscope check --max-s); COMP_CWORD=2\n"
        '_imgscope_completion imgscope; echo "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["analyze", "--max-size"]


def test_python_m_imgscope_is_the_same_program() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "imgscope", "--help"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.startswith("Usage: imgscope ")


def test_the_library_takes_an_open_file_and_says_what_it_takes() -> None:
    import imgscope

    path = SAMPLES / "cases" / "docker-archive.tar"
    with open(path, "rb") as fh:
        assert imgscope.analyze(fh).summary == analysis_of("cases/docker-archive.tar").summary
    with open(path, "rb") as fh:
        assert [f.id for f in imgscope.advise(fh)] == [f.id for f in imgscope.advise(str(path))]
    with pytest.raises(TypeError, match="expected a path, an Image or an Analysis, not int"):
        imgscope.analyze(3)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        imgscope.analyze(SAMPLES / "no-such.tar")
    assert "a fraction" in (imgscope.Summary.__doc__ or "")
