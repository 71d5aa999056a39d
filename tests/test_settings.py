"""The settings file: found upward from a folder, pyproject's [tool.imgscope] or .imgscope.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgscope.errors import UsageError
from imgscope.settings import find_settings, load_settings, section


def test_pyproject_table_found_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.imgscope.check]\nmax-size = "150MB"\n')
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert find_settings(sub) == tmp_path / "pyproject.toml"
    assert section(load_settings(start=sub), "check", "x") == {"max-size": "150MB"}


def test_pyproject_without_imgscope_is_skipped(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.other]\nx = 1\n")
    assert find_settings(tmp_path) is None
    assert load_settings(start=tmp_path) == {}


def test_own_file_wins_and_search_stops_at_repository_root(tmp_path: Path) -> None:
    (tmp_path / ".imgscope.toml").write_text("[check]\nmax-layers = 3\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".git").mkdir()
    assert find_settings(repo) is None  # the file above the repository root does not apply
    (repo / "pyproject.toml").write_text("[tool.imgscope.check]\nmax-layers = 9\n")
    (repo / ".imgscope.toml").write_text("[check]\nmax-layers = 5\n")
    assert load_settings(start=repo) == {"check": {"max-layers": 5}}


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / ".imgscope.toml"
    bad.write_text("[check\n")
    with pytest.raises(UsageError, match=r"\.imgscope\.toml: not valid TOML"):
        load_settings(bad)


def test_section_must_be_a_table() -> None:
    with pytest.raises(UsageError, match=r"\[check\] must be a table"):
        section({"check": 3}, "check", "f.toml")
