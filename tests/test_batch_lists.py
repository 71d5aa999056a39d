"""imgscope batch's list files: a list naming another list is refused in one line; any other text file a list
names (a note, an empty file, a word) is a failed image as before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from imgscope.errors import UsageError
from imgscope.fleet.plan import expand_sources
from tests.conftest import SAMPLES

SAMPLE = str(SAMPLES / "two-images.tar")


@pytest.mark.parametrize(
    "inner_text",
    [
        f"{SAMPLE}\n",
        f"# the registry's images\n{SAMPLE}  # local\n\nregistry.example:5000/app:1.2\ndocker://busybox\n",
        "localhost:5000/app@sha256:" + "a" * 64 + "\n",
    ],
)
def test_a_list_naming_a_list_is_refused_in_one_line(tmp_path: Path, inner_text: str) -> None:
    inner = tmp_path / "inner.txt"
    inner.write_text(inner_text)
    outer = tmp_path / "outer.txt"
    outer.write_text(f"{SAMPLE}\n{inner}\n")
    with pytest.raises(UsageError, match="list files do not nest") as raised:
        expand_sources([str(outer)])
    assert str(inner) in str(raised.value) and "\n" not in str(raised.value)
    cmd = [sys.executable, "-m", "imgscope", "batch", "--out", str(tmp_path / "o"), "-j", "1", str(outer)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("imgscope: error: ") and f"list files do not nest: {inner}" in done.stderr


@pytest.mark.parametrize(
    "text",
    [
        "",  # an empty file
        "notes\n",  # a bare word: no path here, and written as no reference
        "todo: rebuild the base image\n",
        f"{SAMPLE}\nand this line is prose\n",  # one line that names nothing: no list
    ],
)
def test_any_other_text_file_in_a_list_is_still_a_failed_image(tmp_path: Path, text: str) -> None:
    other = tmp_path / "other.txt"
    other.write_text(text)
    outer = tmp_path / "outer.txt"
    outer.write_text(f"{SAMPLE}\n{other}\n")
    jobs = expand_sources([str(outer)])
    assert [job.source for job in jobs][-1] == str(other)


def test_a_list_naming_itself_says_so(tmp_path: Path) -> None:
    """Not "name it on the command line beside itself": the list names itself, whatever the spelling."""
    outer = tmp_path / "self.txt"
    outer.write_text(f"{SAMPLE}\n{tmp_path}/./self.txt\n")
    with pytest.raises(UsageError, match=r"the list names itself") as raised:
        expand_sources([str(outer)])
    assert "beside" not in str(raised.value)
