"""What each command prints, through the CLI, at 80 and 120 columns, piped and on a terminal, against
tests/golden/cli/*.txt, plus rules every such output keeps (no trailing spaces when piped, lines within the width,
digests never split, paths cut in the middle rather than folded).

"On a terminal" is what rich does when it believes stdout is one (FORCE_COLOR=1; the colour codes are removed
before comparing: the layout is what is checked). Regenerate after an intended change, as tests/test_tree_golden.py
says: ``IMGSCOPE_UPDATE_GOLDEN=1 pytest tests/test_cli_golden.py`` rewrites the files and fails on purpose; review
``git diff tests/golden/cli`` and commit.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from imgscope.cli import main
from tests.conftest import SAMPLES

GOLDEN = Path(__file__).parent / "golden" / "cli"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
S = "samples"  # a link to the repository's samples/ in the test's directory: paths as a user types them
COMMANDS: dict[str, list[str]] = {
    "analyze-docker": ["analyze", f"{S}/cases/docker-archive.tar"],
    "analyze-oci": ["analyze", "--top", "3", f"{S}/cases/oci-gzip"],
    "check-fail": [
        *("check", "--no-dive-ci", "--max-size", "2MB", "--max-layers", "3", "--forbid", "**/*.sh"),
        f"{S}/cases/docker-archive.tar",
    ],
    "check-dive": ["check", "--dive-ci", f"{S}/dive/ci/exact-cases.yaml", f"{S}/cases/docker-archive.tar"],
    "advise": ["advise", "--image", "localhost/wasteful:latest", f"{S}/advise.tar"],
    "history": ["history", f"{S}/cases/docker-archive.tar"],
    "inspect": ["inspect", f"{S}/cases/docker25.tar"],
    "tree": ["tree", "--depth", "2", "--limit", "4", f"{S}/cases/oci-gzip"],
    "tree-long-names": [
        *("tree", "--image", "localhost/wasteful:latest", "--layer", "1", "--depth", "8", "--path", "/var/lib"),
        f"{S}/advise.tar",
    ],
    "diff": ["diff", f"{S}/two-images.tar:tiny-a:1", f"{S}/two-images.tar:tiny-b:1"],
    "ls": ["ls", f"{S}/multi-platform"],
}
MODES = ("piped", "tty")
LOGGED = ("check-fail", "check-dive", "advise")  # read in CI logs: one line per rule or sentence
WIDTHS = (80, 120)


def run(args: list[str], width: int | None, mode: str) -> str:
    """``mode``: ``tty`` (rich believes stdout is a terminal), ``piped`` (a pipe with COLUMNS set), ``log`` (a
    file or a CI log: no COLUMNS)."""
    columns = str(width) if width is not None and mode != "log" else None
    env = {"COLUMNS": columns, "NO_COLOR": None, "FORCE_COLOR": "1" if mode == "tty" else None}
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code in (0, 1), result.stderr
    return result.stdout


@pytest.fixture(autouse=True)
def _empty_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "samples").symlink_to(SAMPLES)
    monkeypatch.chdir(tmp_path)  # no .dive-ci, no settings file


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_cli_golden(name: str, width: int, mode: str) -> None:
    out = run(COMMANDS[name], width, mode)
    if mode == "piped":
        assert "\x1b" not in out
        assert all(line == line.rstrip() for line in out.splitlines()), "trailing spaces in piped output"
    text = ANSI.sub("", out)
    if mode == "tty":
        text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
    path = GOLDEN / f"{name}-{width}-{mode}.txt"
    if os.environ.get("IMGSCOPE_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        pytest.fail(f"{path} rewritten: review `git diff {path}`, then run without IMGSCOPE_UPDATE_GOLDEN")
    assert path.exists(), f"no golden file {path}; make it with IMGSCOPE_UPDATE_GOLDEN=1"
    assert text == path.read_text()


@pytest.mark.parametrize("name", LOGGED)
def test_cli_golden_log(name: str) -> None:
    out = run(COMMANDS[name], None, "log")
    assert all(line == line.rstrip() for line in out.splitlines()), "trailing spaces in a log"
    path = GOLDEN / f"{name}-log.txt"
    if os.environ.get("IMGSCOPE_UPDATE_GOLDEN"):
        path.write_text(out)
        pytest.fail(f"{path} rewritten: review `git diff {path}`, then run without IMGSCOPE_UPDATE_GOLDEN")
    assert out == path.read_text()


def test_check_in_a_log_is_one_line_per_rule_at_its_natural_width() -> None:
    out = run(COMMANDS["check-fail"], None, "log")
    table = [line for line in out.splitlines() if line.startswith(("┏", "│", "└"))]
    assert len(table) == 3 + 2  # the top border, the three rules, the bottom border: no wrapped reason
    widths = {len(line) for line in table}
    assert len(widths) == 1 and widths.pop() < 150  # as wide as its content, not a fixed 150


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_layout_rules(name: str, width: int, mode: str) -> None:
    text = ANSI.sub("", run(COMMANDS[name], width, mode))
    lines = text.splitlines()
    for line in lines:
        digests = re.findall(r"sha256:([0-9a-f]+)", line)
        assert all(len(d) in (12, 64) for d in digests), f"a digest cut or split: {line!r}"
        if name in ("advise", "check-fail", "check-dive") and mode == "piped":
            continue  # a log gets whole lines: a finding's sentence, a rule's reason
        whole_digest = any(len(d) == 64 for d in digests) and not line.startswith(("│", "┃"))
        assert len(line) <= width or whole_digest, f"wider than {width}: {line!r}"
    # a path is never folded across lines: no line of a table starts with the rest of a path
    assert not any(re.match(r"^│\s*│?\s*[a-z_-]+\.(txt|sh|py|pem)\b", line) for line in lines)


@pytest.mark.parametrize("width", [56, 60, 66, 77, 78, 80])
def test_ls_keeps_its_name_column_on_a_narrow_terminal(width: int) -> None:
    """The name is what ``--image`` takes: a narrow terminal drops the image ID rather than cut the name."""
    lines = run(COMMANDS["ls"], width, "piped").splitlines()
    assert all(len(line) <= width for line in lines), lines
    header = next(line for line in lines if "Platform" in line)
    assert "Name" in header and "Manifest digest" in header
    rows = [line for line in lines if "linux/amd64" in line]
    assert len(rows) == 1 and re.match(r"^│ multi-\S+:1 +│", rows[0]), rows
    assert ("Image ID" in header) == (width >= 78) == ("sha256:5fd710827f08" in rows[0])


def test_plurals_and_units() -> None:
    out = run(COMMANDS["check-fail"], 120, "piped")
    assert "by 2 layers" in out and "1 forbidden path in" in out and "(s)" not in out
    out = run(COMMANDS["diff"], 120, "piped")
    assert "1 file differs" in out and "33 B" in out and "Bytes" not in out
    out = run(["check", "--no-dive-ci", "--max-size", "2146056", f"{S}/cases/docker-archive.tar"], 120, "piped")
    assert "exceeds the limit by 1 byte" in out and "1 bytes" not in out


def test_history_only_rows_are_marked_without_colour() -> None:
    out = run(COMMANDS["analyze-docker"], 120, "piped")
    rows = [line for line in out.splitlines() if "ENV APP_HOME" in line or "LABEL org.example" in line]
    assert len(rows) == 2 and all(row.startswith("│ · │") for row in rows)


def test_oci_image_named_by_layout_and_tag() -> None:
    out = run(COMMANDS["analyze-oci"], 120, "piped")
    assert "Image     oci-gzip:1" in out
