"""IS104's .dockerignore lines keep out what the finding counts: buildah builds ``COPY . /app/`` of a context with
junk at the top and nested below it, then again with the lines the finding gives in a .dockerignore."""

from __future__ import annotations

from pathlib import Path

import pytest

import imgscope
from imgscope.advise import Finding, advice
from imgscope.union.filesystem import ChangeKind
from tests.buildah import Buildah, needs_buildah

CONTEXT = {
    "app.py": 2000,
    "lib/util.py": 900,
    ".git/HEAD": 20,
    "vendor/lib/.git/objects/pack/pack-1.pack": 5000,  # a nested checkout: `.git` alone does not exclude it
    "web/.idea/workspace.xml": 700,
    ".idea/misc.xml": 300,
    "web/.vscode/settings.json": 150,
    "tools/.tox/py311/log": 400,
    "third_party/x/.hg/store/data": 600,
    "third_party/y/.svn/entries": 250,
    "frontend/node_modules/left-pad/index.js": 800,
}


def _build(b: Buildah, context: Path, tag: str) -> tuple[imgscope.Analysis, list[Finding]]:
    (context / "Containerfile").write_text("FROM scratch\nCOPY . /app/\n")
    b(*("bud", "-q", "--layers", "--format", "docker", "-t", tag, "-f", str(context / "Containerfile"), str(context)))
    a = imgscope.analyze(b.push(tag, context.parent / f"{tag.rpartition(':')[2]}.tar"))
    return a, [f for f in advice(a).findings if f.id == "IS104"]


def _stored(a: imgscope.Analysis) -> int:
    return sum(c.size for c in a.layers[-1].changes if c.kind is not ChangeKind.REMOVED)


@needs_buildah
def test_the_dockerignore_lines_keep_out_exactly_the_bytes_saved(tmp_path: Path) -> None:
    if needs_buildah.args[0]:
        pytest.skip("buildah is not installed")
    b = Buildah(tmp_path)
    context = tmp_path / "ctx"
    for name, size in CONTEXT.items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_bytes(b"x" * size)
    before, (junk,) = _build(b, context, "localhost/junk:1")
    lines = junk.fix.splitlines()[1:]
    assert {"**/.git", "**/.idea", "**/.vscode", "**/.tox", "**/.hg", "**/.svn", "Containerfile*"} <= set(lines)
    # the lines and .dockerignore itself, which Docker and buildah read without copying it when it is listed
    (context / ".dockerignore").write_text("\n".join([*lines, ".dockerignore"]) + "\n")
    after, again = _build(b, context, "localhost/junk:2")
    assert again == []
    assert _stored(before) - _stored(after) == junk.bytes_saved
    kept = {f.path for f in after.files if f.type is imgscope.EntryType.FILE}
    assert kept == {"/app/app.py", "/app/lib/util.py"}
