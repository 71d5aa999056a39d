"""Rules of the terminal output that issue 17 listed, checked directly (the goldens of tests/test_cli_golden.py show
them too): a path loses its middle, never its ends; advise's wrapped sentences keep a hanging indent."""

from __future__ import annotations

import itertools
import re

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from imgscope.cli import main
from imgscope.text import cell_width, middle_ellipsis
from tests.conftest import SAMPLES

PATHS = st.lists(st.text(alphabet="abcdefghij-_.0123456789", min_size=1, max_size=30), min_size=1, max_size=8).map(
    lambda parts: "/" + "/".join(parts)
)


@given(PATHS, st.integers(min_value=3, max_value=80))
def test_a_cut_path_keeps_its_start_and_its_end(path: str, width: int) -> None:
    cut = middle_ellipsis(path, width)
    if len(path) <= width:
        assert cut == path
        return
    assert len(cut) == width and cut.count("…") == 1
    head, tail = cut.split("…")
    assert path.startswith(head) and path.endswith(tail) and head and tail
    last = path[path.rfind("/") :]
    if len(last) <= (width - 1) * 2 // 3:
        assert tail == last  # the file's name is kept whole when it fits


WIDE_PATHS = st.lists(
    st.text(alphabet="日本語ファイル名中文🐳\uff21\uff22e\u0301-_.ab", min_size=1, max_size=20), min_size=1, max_size=6
).map(lambda parts: "/" + "/".join(parts))


@given(WIDE_PATHS, st.integers(min_value=3, max_value=60))
def test_a_wide_character_path_is_cut_in_cells(path: str, width: int) -> None:
    """CJK, full-width and emoji characters take two cells: the cut is measured in cells, so rich never crops
    its end (a second ``…``, the file's name lost)."""
    cut = middle_ellipsis(path, width)
    if cell_width(path) <= width:
        assert cut == path
        return
    assert width - 1 <= cell_width(cut) <= width and cut.count("…") == 1
    head, tail = cut.split("…")
    assert path.startswith(head) and path.endswith(tail)


def test_an_older_rich_is_served_by_code_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyproject allows rich 13, whose ``rich.cells`` has no ``split_graphemes`` (14.3+): a cut is then made by
    code point, as that rich draws; it crashed every narrow table with an ImportError. Without combining marks
    or joiners, the two agree."""
    import rich.cells

    path = "/app/日本語のファイル名/サブディレクトリ/名前です.txt"
    cuts = [middle_ellipsis(path, width) for width in range(3, 50)]
    monkeypatch.delattr(rich.cells, "split_graphemes", raising=False)
    assert [middle_ellipsis(path, width) for width in range(3, 50)] == cuts


def test_a_cjk_file_name_keeps_its_extension() -> None:
    cut = middle_ellipsis("/app/日本語のファイル名/サブディレクトリ/名前です.txt", 30)
    assert cut == "/app/日本語のフ…/名前です.txt" and cell_width(cut) == 29  # a 2-cell character does not fit the 30th


def test_the_site_packages_example_is_cut_in_the_middle() -> None:
    assert middle_ellipsis("/usr/lib/python3.12/site-packages/tornado/test/test.key", 30) == (
        "/usr/lib/python3.12/…/test.key"
    )


@pytest.mark.parametrize("mode", ["piped", "tty"])
def test_advise_wraps_with_a_hanging_indent(mode: str) -> None:
    env = {"COLUMNS": "80", "NO_COLOR": None, "FORCE_COLOR": "1" if mode == "tty" else None}
    result = CliRunner().invoke(
        main, ["advise", "--image", "localhost/wasteful:latest", str(SAMPLES / "advise.tar")], env=env
    )
    assert result.exit_code == 0
    lines = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).splitlines()
    findings = lines[lines.index("") + 1 :]  # after the header
    wrapped_fix = 0
    for previous, line in itertools.pairwise(findings):
        if not line or re.match(r"(ERROR|WARNING|INFO) ", line) or line.startswith("Could save"):
            continue
        assert line.startswith("  "), f"a wrapped line without its indent: {line!r}"
        continues = previous.lstrip().startswith(("fix:", "paths:")) or previous.startswith("       ")
        if continues and line.startswith("       ") and not line.lstrip().startswith(("fix:", "paths:")):
            wrapped_fix += 1
    assert wrapped_fix > 0  # some fix wrapped at 80 columns, under its text, not under "fix:"


@pytest.mark.parametrize("width", [40, 60])
def test_advise_folds_a_fix_command_it_cannot_fit_rather_than_cut_it(width: int) -> None:
    result = CliRunner().invoke(main, ["advise", str(SAMPLES / "advise.tar")], env={"COLUMNS": str(width)})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    fix = next(i for i, line in enumerate(lines) if "--mount=type=secret,id=aws" in line)
    joined = "".join(line.strip() for line in lines[fix : fix + 3])
    assert "--mount=type=secret,id=aws,target=/root/.aws/credentials" in joined, lines[fix : fix + 3]
    assert not any(line.rstrip().endswith("…") for line in lines if line.startswith("       ")), lines
