"""Every ``imgscope`` command line quoted in README.md and docs/*.md runs against the samples, so the docs stay
true (the convention is documented in docs/cli.md, "Command lines in these docs").

What is a command line:

* in a fenced block tagged ``sh``, ``bash``, ``shell``, ``yaml`` or ``make``: a line that starts (after its
  indentation, a ``$ ``, a YAML ``run: `` or ``- ``) with ``imgscope ``; in a ``console`` block, only ``$ `` lines
  (the rest is output);
* in the text, an inline code span ``imgscope …`` that names an image (a placeholder below, or a path); a span
  with synopsis brackets (``[--json]``) or without an image (``imgscope check``, a command's name) is prose.

Placeholders are replaced, word by word, by samples (``PLACEHOLDERS``); a path the docs give (``samples/…``,
``docs/examples/…``) is used as it is. The lines of one file run in order in one directory holding ``samples`` and
``docs`` (so a file written by one line, ``baseline.json``, serves the next). A command passes when it exits 0 or 1
(1: a check or advise that fails, as the examples show) with no traceback. A trailing ``# docs-test: exit N`` says
another exit code is meant; ``# docs-test: skip (why)`` on the line, or ``<!-- docs-test: skip -->`` on the line
before a block (or on the line of an inline span), leaves it out. ``> FILE`` writes stdout to FILE; only the part
before a ``|`` runs. An interactive command (``explore``) runs with ``--help`` (it needs a terminal).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CASES = "samples/cases/docker-archive.tar"
TINY_A = "samples/two-images.tar:localhost/tiny-a:1"
TINY_B = "samples/two-images.tar:localhost/tiny-b:1"
PLACEHOLDERS = {
    "PATH": CASES,
    "IMAGE": CASES,
    "myapp.tar": CASES,
    "app.tar": CASES,
    "image.tar": CASES,
    "old.tar": CASES,
    "new.tar": "samples/cases-vfs/docker-archive.tar",
    "new-oci-dir": "samples/cases/oci-gzip",
    "two-images.tar": "samples/two-images.tar",
    "images.txt": "samples/two-images.tar",  # batch: a list of sources, or the sources themselves
    "multi-arch-oci/": "samples/multi-platform",
    "multi/": "samples/multi-platform",
    "A": TINY_A,
    "B": TINY_B,
    "app.tar:app:1": TINY_A,
    "app.tar:app:2": TINY_B,
    "app:1": "localhost/tiny-a:1",
    "app:2": "localhost/tiny-b:1",
}
INTERACTIVE = {"explore"}  # needs a terminal: its lines are checked with --help instead
SHELL_BLOCKS = {"sh", "bash", "shell", "yaml", "yml", "make", "makefile"}
SKIP = "docs-test: skip"
_EXIT = re.compile(r"#\s*docs-test:\s*exit\s+(\d+)")
_FENCE = re.compile(r"^\s*```\s*([\w-]*)")
_COMMAND = re.compile(r"^\s*(?:\$ |run: |- )?(imgscope\s.*)$")
_INLINE = re.compile(r"`(imgscope [^`]+)`")
_SYNOPSIS = re.compile(r"[\[\]…]|\\\|")


@dataclass(frozen=True)
class Line:
    file: str
    number: int
    command: str  # as written
    exit_code: int | None  # a code the docs say is meant, else 0 or 1


def _strip_comment(command: str) -> str:
    words = shlex.split(command, comments=True)
    return shlex.join(words)


def command_lines(path: Path) -> list[Line]:
    """The command lines of one Markdown file, in order."""
    out: list[Line] = []
    lang: str | None = None
    skip_next_block = skip_block = False
    previous = ""
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        fence = _FENCE.match(text)
        if fence:
            if lang is None:
                lang = fence.group(1).lower()
                skip_block = skip_next_block or SKIP in previous
                skip_next_block = False
            else:
                lang = None
            previous = text
            continue
        if lang is not None:
            match = _COMMAND.match(text)
            console_output = lang == "console" and not text.lstrip().startswith("$ ")
            shell = lang in SHELL_BLOCKS or lang == "console"
            if match and shell and not skip_block and not console_output and SKIP not in text:
                code = _EXIT.search(text)
                out.append(Line(path.name, number, match.group(1), int(code.group(1)) if code else None))
        else:
            skip_next_block = SKIP in text
            if SKIP not in text:
                for span in _INLINE.findall(text):
                    if _runnable_span(span):
                        out.append(Line(path.name, number, span, None))
        previous = text
    return out


def _runnable_span(span: str) -> bool:
    if _SYNOPSIS.search(span):
        return False  # a synopsis: [--json], a|b, …
    words = span.split()[1:]
    return "--help" in words or any(w in PLACEHOLDERS or "/" in w or w.endswith(".tar") for w in words)


def to_argv(command: str) -> tuple[list[str], str | None]:
    """The arguments after ``imgscope`` with placeholders replaced, and the file ``> FILE`` names."""
    words = shlex.split(command.split(" | ")[0], comments=True)
    assert words[0] == "imgscope"
    redirect = None
    if ">" in words:
        at = words.index(">")
        redirect, words = words[at + 1], words[:at]
    argv = [PLACEHOLDERS.get(w, w) for w in words[1:]]
    if argv and argv[0] in INTERACTIVE:
        argv = [argv[0], "--help"]
    return argv, redirect


def _workdir(tmp_path: Path) -> Path:
    (tmp_path / "samples").symlink_to(ROOT / "samples")
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    return tmp_path


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_command_line_in_the_docs_runs(doc: Path, tmp_path: Path) -> None:
    cwd = _workdir(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "GITHUB_STEP_SUMMARY")}
    env.update(PYTHONPATH=str(ROOT), COLUMNS="120", NO_COLOR="1")
    failures = []
    for line in command_lines(doc):
        argv, redirect = to_argv(line.command)
        try:
            done = subprocess.run(
                [sys.executable, "-m", "imgscope", *argv],
                cwd=cwd,
                env=env,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=120,
                check=False,
            )
        except subprocess.TimeoutExpired:
            failures.append(f"{line.file}:{line.number}: {line.command}: no end after 120 s (mark it {SKIP!r}?)")
            continue
        if redirect:
            (cwd / redirect).write_bytes(done.stdout)
        output = (done.stdout + done.stderr).decode(errors="replace")
        allowed = (line.exit_code,) if line.exit_code is not None else (0, 1)
        if done.returncode not in allowed or "Traceback" in output or "internal error" in output:
            failures.append(
                f"{line.file}:{line.number}: {line.command}\n  ran: imgscope {shlex.join(argv)}\n"
                f"  exit {done.returncode}: {done.stderr.decode(errors='replace').strip()[-500:]}"
            )
    assert not failures, "\n".join(failures)


def test_the_docs_quote_command_lines() -> None:
    """The extraction finds what it should (a regression here would silently test nothing)."""
    readme = command_lines(ROOT / "README.md")
    assert len(readme) >= 10 and all(line.command.startswith("imgscope ") for line in readme)
    ci = command_lines(ROOT / "docs" / "ci.md")
    assert any("--format github" in line.command for line in ci)
    assert not any("FAIL: 2 of 2" in line.command for line in ci)  # console output is not a command
    assert not any(_SYNOPSIS.search(line.command) for doc in DOCS for line in command_lines(doc))


def test_markers_and_placeholders(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Run `imgscope analyze PATH --json` or `imgscope check` (a name) or `imgscope tree PATH [--json]`.\n"
        "```sh\nimgscope analyze app.tar   # the report\nimgscope explore app.tar  # docs-test: skip (a TUI)\n"
        "imgscope check app.tar --max-size 1  # docs-test: exit 1\n```\n"
        "<!-- docs-test: skip -->\n```sh\nimgscope analyze nothing.tar\n```\n"
        "```console\n$ imgscope ls two-images.tar\nimgscope ls output line\n```\n"
    )
    lines = command_lines(page)
    assert [line.command.split()[1] for line in lines] == ["analyze", "analyze", "check", "ls"]
    assert lines[2].exit_code == 1
    assert to_argv("imgscope diff A B --json > d.json") == (["diff", TINY_A, TINY_B, "--json"], "d.json")
