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


def _build(
    b: Buildah, context: Path, tag: str, containerfile: str = "FROM scratch\nCOPY . /app/\n"
) -> tuple[imgscope.Analysis, list[Finding]]:
    (context / "Containerfile").write_text(containerfile)
    b(*("bud", "-q", "--layers", "--format", "docker", "-t", tag, "-f", str(context / "Containerfile"), str(context)))
    a = imgscope.analyze(b.push(tag, context.parent / f"{tag.rpartition(':')[2]}.tar"))
    return a, [f for f in advice(a).findings if f.id == "IS104"]


def _stored(a: imgscope.Analysis) -> int:
    return sum(c.size for c in a.layers[-1].changes if c.kind is not ChangeKind.REMOVED)


@needs_buildah
def test_the_dockerignore_lines_keep_out_exactly_the_bytes_saved(tmp_path: Path) -> None:
    b = Buildah(tmp_path)
    context = tmp_path / "ctx"
    for name, size in CONTEXT.items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_bytes(b"x" * size)
    before, (junk,) = _build(b, context, "localhost/junk:1")
    lines = junk.fix.splitlines()[1:]
    assert {"**/.git", "**/.idea", "**/.vscode", "**/.tox", "**/.hg", "**/.svn", "**/Containerfile*"} <= set(lines)
    # the lines and .dockerignore itself, which Docker and buildah read without copying it when it is listed
    (context / ".dockerignore").write_text("\n".join([*lines, ".dockerignore"]) + "\n")
    after, again = _build(b, context, "localhost/junk:2")
    assert again == []
    assert _stored(before) - _stored(after) == junk.bytes_saved
    kept = {f.path for f in after.files if f.type is imgscope.EntryType.FILE}
    assert kept == {"/app/app.py", "/app/lib/util.py"}


@needs_buildah
def test_a_copy_of_a_subdirectory_gets_lines_that_keep_its_tests_out(tmp_path: Path) -> None:
    """``COPY src/ /app/``: the image records the source as ``dir:<hash>``, so which directory of the context
    ``/app/tests`` came from cannot be known; ``tests`` (the context's root) would not keep ``src/tests`` out."""
    b = Buildah(tmp_path)
    context = tmp_path / "ctx"
    for name, size in {"src/app.py": 2000, "src/tests/test_app.py": 700, "src/Dockerfile.dev": 90}.items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_bytes(b"x" * size)
    containerfile = "FROM scratch\nCOPY src/ /app/\n"
    before, (junk,) = _build(b, context, "localhost/sub:1", containerfile)
    head, *lines = junk.fix.splitlines()
    assert set(lines) == {"**/tests", "**/Dockerfile*"} and junk.bytes_saved == 790
    assert "not record" in head and "any depth" in head
    (context / ".dockerignore").write_text("\n".join([*lines, ".dockerignore", "Containerfile"]) + "\n")
    after, again = _build(b, context, "localhost/sub:2", containerfile)
    assert again == []
    assert _stored(before) - _stored(after) == junk.bytes_saved


def _copy_image(tmp_path: Path, history: list[str], files: dict[str, int]) -> imgscope.Analysis:
    from tests.hostile.make_corpus import directory, docker_archive, member, tar

    dirs = sorted({"/".join(p.split("/")[:i]) + "/" for p in files for i in range(1, p.count("/") + 1)})
    layer = tar(*(directory(d) for d in dirs), *(member(p, b"x" * n) for p, n in files.items()))

    def config(cfg: dict[str, object]) -> dict[str, object]:
        cfg["history"] = [{"created_by": h, "empty_layer": "COPY" not in h} for h in history]
        return cfg

    path = tmp_path / "copy.tar"
    path.write_bytes(docker_archive([layer], config=config))
    return imgscope.analyze(path)


@pytest.mark.parametrize(
    ("history", "files", "expected"),
    [
        # BuildKit records the source: the lines are anchored where it is in the context
        (["COPY src/ /app/ # buildkit"], {"app/tests/t.py": 5, "app/Dockerfile": 3}, {"src/tests", "src/Dockerfile*"}),
        (["COPY ./svc/api /srv # buildkit"], {"srv/test/t.py": 5, "srv/a.py": 1}, {"svc/api/test"}),
        (["COPY . /app # buildkit"], {"app/tests/t.py": 5, "app/a.py": 1}, {"tests"}),
        # a relative destination is the WORKDIR's: svc/tests is below the context's top, a library's own tests
        (
            ["WORKDIR /app", "COPY . . # buildkit"],
            {"app/svc/a.py": 1, "app/svc/tests/t.py": 5, "app/svc/.DS_Store": 2},
            {"**/.DS_Store"},
        ),
        (["WORKDIR /srv", "WORKDIR app", "COPY . . # buildkit"], {"srv/app/tests/t.py": 5}, {"tests"}),
        # a single file: its own directory in the context
        (["COPY deploy/Dockerfile.prod /app/ # buildkit"], {"app/Dockerfile.prod": 5}, {"deploy/Dockerfile*"}),
        # several sources, a glob, or a content hash: where the context's root is cannot be known
        (["COPY src/ lib/ /app/ # buildkit"], {"app/tests/t.py": 5}, {"**/tests"}),
        (["COPY src* /app/ # buildkit"], {"app/tests/t.py": 5}, {"**/tests"}),
        (["/bin/sh -c #(nop) COPY dir:0123 in /app "], {"app/tests/t.py": 5, "app/a.py": 1}, {"**/tests"}),
    ],
)
def test_the_top_level_lines_are_anchored_where_the_copy_took_the_files(
    tmp_path: Path, history: list[str], files: dict[str, int], expected: set[str]
) -> None:
    (junk,) = [f for f in advice(_copy_image(tmp_path, history, files)).findings if f.id == "IS104"]
    assert set(junk.fix.splitlines()[1:]) == expected
