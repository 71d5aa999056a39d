"""IS104's .dockerignore lines keep out what the finding counts: buildah builds ``COPY . /app/`` of a context with
junk at the top and nested below it, then again with the lines the finding gives in a .dockerignore. The lines never
keep out a file a COPY names (the second build would fail), and a COPY from another stage or image, which no
.dockerignore touches, is no build-context junk."""

from __future__ import annotations

import re
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
    return sum(c.size for layer in a.layers for c in layer.changes if c.kind is not ChangeKind.REMOVED)


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


def _copy_image(tmp_path: Path, history: list[str], files: dict[str, int] | list[dict[str, int]]) -> imgscope.Analysis:
    """An image of one layer per COPY/ADD entry of ``history`` (``files``: one layer's, or each layer's)."""
    from tests.hostile.make_corpus import directory, docker_archive, member, tar

    layers = []
    for held in [files] if isinstance(files, dict) else files:
        dirs = sorted({"/".join(p.split("/")[:i]) + "/" for p in held for i in range(1, p.count("/") + 1)})
        layers.append(tar(*(directory(d) for d in dirs), *(member(p, b"x" * n) for p, n in held.items())))

    def config(cfg: dict[str, object]) -> dict[str, object]:
        cfg["history"] = [{"created_by": h, "empty_layer": not re.search(r"\b(?:COPY|ADD)\b", h)} for h in history]
        return cfg

    path = tmp_path / "copy.tar"
    path.write_bytes(docker_archive(layers, config=config))
    return imgscope.analyze(path)


def _junk(a: imgscope.Analysis) -> list[Finding]:
    return [f for f in advice(a).findings if f.id == "IS104"]


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


# what the classic builder and buildah write for a COPY: a content hash (`sha256` of what was copied), no source
HASH, OTHER_HASH = "0123456789abcdef" * 4, "fedcba9876543210" * 4
JUNK = {"app/.git/HEAD": 20, "app/tests/t.py": 5, "app/debug.log": 7, "app/Dockerfile": 3, "app/a.py": 1}
# what a build stage makes (a library's tests, its dependencies, a log), nothing only a build context holds at its top
STAGE_OUTPUT = {"app/node_modules/x/i.js": 9, "app/tests/t.py": 5, "app/debug.log": 7, "app/lib/.git/HEAD": 2}


@pytest.mark.parametrize(
    ("created_by", "files"),
    [
        # kaniko records the instruction as written
        ("COPY --from=builder /src/ /app/", JUNK),
        ("COPY --from=0 /src /app", JUNK),
        # BuildKit records the flags it knows (--chown, --chmod, --parents) and the sources, never --from: these
        # are `COPY --from=builder /src/ /app/` and `COPY --from=builder --chown=app:app /src/dist /app`
        ("COPY /src/ /app/ # buildkit", STAGE_OUTPUT),
        ("COPY --chown=app:app /src/dist /app # buildkit", STAGE_OUTPUT),
        # a git repository, a URL or a heredoc is no build context either
        ("ADD https://github.com/example/repo.git#v1.0 /app # buildkit", JUNK),
        ("ADD git@github.com:example/repo.git /app # buildkit", JUNK),
        ("COPY <<EOF /app/Dockerfile # buildkit", {"app/Dockerfile": 3}),
    ],
)
def test_a_copy_from_another_stage_or_image_is_no_build_context_junk(
    tmp_path: Path, created_by: str, files: dict[str, int]
) -> None:
    assert _junk(_copy_image(tmp_path, [created_by], files)) == []


@pytest.mark.parametrize(
    "created_by",
    [
        "COPY src/ /app/ # buildkit",  # BuildKit writes a context path as the Dockerfile does: relative
        "ADD /src/ /app/ # buildkit",  # ADD has no --from: "/" is the context's root
        "COPY . /app/",  # kaniko, no --from
        "COPY /src/ /app/",  # kaniko writes --from when there is one: "/" is the context's root
        f"/bin/sh -c #(nop) COPY dir:{HASH} in /app ",  # classic and buildah: where from is not recorded
    ],
)
def test_a_copy_the_history_does_not_show_from_elsewhere_is_reported(tmp_path: Path, created_by: str) -> None:
    (junk,) = _junk(_copy_image(tmp_path, [created_by], JUNK))
    assert set(junk.paths) == {"/app/.git/HEAD", "/app/tests/t.py", "/app/debug.log", "/app/Dockerfile"}
    assert junk.bytes_saved == 35


@pytest.mark.parametrize(
    ("history", "layers", "expected"),
    [
        # the Dockerfile a COPY names: `Dockerfile*` would keep it out, from its own layer and from `COPY .`'s
        (
            ["COPY . /app # buildkit", "COPY Dockerfile /srv/Dockerfile # buildkit"],
            [{"app/.git/HEAD": 20, "app/Dockerfile.dev": 5, "app/Dockerfile": 3}, {"srv/Dockerfile": 3}],
            [{"**/.git"}],
        ),
        # `Dockerfile*` is anchored at the context's root: it does not reach deploy/Dockerfile.prod
        (
            ["COPY . /app # buildkit", "COPY deploy/Dockerfile.prod /srv/ # buildkit"],
            [{"app/.git/HEAD": 20, "app/Dockerfile": 3}, {"srv/Dockerfile.prod": 3}],
            [{"**/.git", "Dockerfile*"}],
        ),
        (["COPY deploy/Dockerfile.prod /app/ # buildkit"], [{"app/Dockerfile.prod": 5}], []),
        (["COPY .env.production /app/.env # buildkit"], [{"app/.env": 5}], []),
        # one of several sources (the lines are **/: where the context's root was is not known)
        (
            ["COPY Dockerfile app.py /app/ # buildkit"],
            [{"app/Dockerfile": 3, "app/app.py": 1, "app/.DS_Store": 2}],
            [{"**/.DS_Store"}],
        ),
        # a file BuildKit records with a leading slash: maybe another stage's, maybe the context's (`COPY
        # /docker-compose.yml /srv/`), which the line would break
        (
            ["COPY . /app # buildkit", "COPY /docker-compose.yml /srv/ # buildkit"],
            [{"app/.git/HEAD": 20, "app/docker-compose.yml": 3}, {"srv/docker-compose.yml": 3}],
            [{"**/.git"}],
        ),
        # a folder a COPY names (kaniko): `**/.git` would keep it out
        (
            ["COPY . /app", "COPY .git /srv/.git"],
            [{"app/.git/HEAD": 20, "app/x.log": 3}, {"srv/.git/HEAD": 20}],
            [{"**/*.log"}],
        ),
        # a line no glob reads (a source holding `]`, from a hostile history) is left out, not a crash
        (
            ["COPY we]ird/ /app/ # buildkit", "COPY Dockerfile /srv/ # buildkit"],
            [{"app/tests/t.py": 5, "app/.DS_Store": 2}, {"srv/Dockerfile": 1}],
            [{"**/.DS_Store"}],
        ),
        # the classic builder and buildah: a COPY of one file records `file:<hash>`; the file's name is what it
        # stores, its folder in the context is not known: any line whose name matches would keep it out
        (
            [f"/bin/sh -c #(nop) COPY dir:{HASH} in /app ", f"/bin/sh -c #(nop) COPY file:{OTHER_HASH} in /srv/ "],
            [{"app/.git/HEAD": 20, "app/Dockerfile": 3, "app/docker-compose.yml": 4}, {"srv/docker-compose.yml": 4}],
            [{"**/.git", "**/Dockerfile*"}],
        ),
    ],
)
def test_no_line_keeps_out_a_file_a_copy_names(
    tmp_path: Path, history: list[str], layers: list[dict[str, int]], expected: list[set[str]]
) -> None:
    found = _junk(_copy_image(tmp_path, history, layers))
    assert [set(f.fix.splitlines()[1:]) for f in found] == expected
    assert all(f.layers == (0,) for f in found)  # the layer that names the file has no finding of its own


def test_a_hostile_copy_source_is_judged_in_linear_time(tmp_path: Path) -> None:
    """A COPY of a hostile history naming a path 10,000 folders deep: each line is tested against it in one pass,
    not once per folder from the root (which took its square: 18 s). A `.git` deep in it still takes out `**/.git`."""
    import time

    deep = "/".join(["a"] * 10_000)
    history = ["COPY . /app # buildkit", f"COPY {deep}/.git/config /srv/ # buildkit"]
    a = _copy_image(tmp_path, history, [JUNK, {"srv/config": 1}])
    start = time.process_time()
    (junk,) = _junk(a)
    assert time.process_time() - start < 2
    assert set(junk.fix.splitlines()[1:]) == {"tests", "**/*.log", "Dockerfile*"}


@needs_buildah
def test_the_lines_do_not_break_a_copy_of_the_dockerfile(tmp_path: Path) -> None:
    """buildah records ``COPY Dockerfile /app/meta/Dockerfile`` as ``COPY file:<hash> in /app/meta/Dockerfile``;
    a ``**/Dockerfile*`` line in the .dockerignore makes that COPY fail (``no items matching glob``)."""
    b = Buildah(tmp_path)
    context = tmp_path / "ctx"
    files = {"app.py": 2000, ".git/HEAD": 20, "debug.log": 400, "Dockerfile": 120, "Dockerfile.dev": 90}
    for name, size in {**files, "docker-compose.yml": 60}.items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_bytes(b"x" * size)
    containerfile = (
        "FROM scratch\nCOPY . /app/\nCOPY Dockerfile /app/meta/Dockerfile\nCOPY docker-compose.yml /etc/app/\n"
    )
    before, found = _build(b, context, "localhost/named:1", containerfile)
    lines = [line for f in found for line in f.fix.splitlines()[1:]]
    assert sorted(lines) == ["**/*.log", "**/.git", "**/Containerfile*"]
    (context / ".dockerignore").write_text("\n".join([*lines, ".dockerignore"]) + "\n")
    after, again = _build(b, context, "localhost/named:2", containerfile)
    assert again == []
    assert _stored(before) - _stored(after) == sum(f.bytes_saved or 0 for f in found)
    kept = {f.path for f in after.files if f.type is imgscope.EntryType.FILE}
    assert {"/app/Dockerfile", "/app/Dockerfile.dev", "/app/meta/Dockerfile", "/etc/app/docker-compose.yml"} <= kept


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        # a context COPY written with a leading slash (`COPY / /app/`, `COPY /. ./`): BuildKit writes the source as
        # the Dockerfile does (dockerfile2llb/convert_copy.go), absolute as a stage's; what it stored holds what only
        # a build context holds at its top (.git, a Dockerfile), so it is the context's, from its root
        (["COPY / /app/ # buildkit"], {"**/.git", "tests", "**/*.log", "Dockerfile*"}),
        (["WORKDIR /app", "COPY /. . # buildkit"], {"**/.git", "tests", "**/*.log", "Dockerfile*"}),
        # ... or a folder of it, or another stage's copy of the context: which folder is not known
        (["COPY /src/ /app/ # buildkit"], {"**/.git", "**/tests", "**/*.log", "**/Dockerfile*"}),
    ],
)
def test_a_buildkit_copy_of_absolute_sources_that_holds_the_context_is_reported(
    tmp_path: Path, history: list[str], expected: set[str]
) -> None:
    (junk,) = _junk(_copy_image(tmp_path, history, JUNK))
    assert set(junk.fix.splitlines()[1:]) == expected
    assert junk.bytes_saved == 35
