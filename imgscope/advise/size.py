"""The size rules (``IS1xx``): bytes a Dockerfile change would not store.

They look at the Dockerfile's own layers only (what the base brought is ``large-base``). The bytes a finding saves
are the stored copies the fix would not write (``Copy``); ``Advice.total_saved`` counts each copy once.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from imgscope.advise.context import Context
from imgscope.advise.model import Copy, Finding, Rule, Severity, rule
from imgscope.advise.packages import build_packages, package_names
from imgscope.analysis.result import LayerReport
from imgscope.globs import Glob
from imgscope.model import EntryType
from imgscope.text import first_layers
from imgscope.union.filesystem import ChangeKind, WasteReason
from imgscope.units import format_percent

_CACHES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (
        "apt package lists",
        re.compile(r"^/var/lib/apt/lists/"),
        "End the RUN that calls `apt-get update` with `&& rm -rf /var/lib/apt/lists/*`.",
    ),
    (
        "apt package archives",
        re.compile(r"^/var/cache/apt/"),
        "Run `apt-get install --no-install-recommends ... && apt-get clean && rm -rf /var/lib/apt/lists/*` in one RUN.",
    ),
    (
        "apk cache",
        re.compile(r"^/(?:var/cache/apk|etc/apk/cache)/"),
        "Use `apk add --no-cache ...` (or end the RUN with `&& rm -rf /var/cache/apk/*`).",
    ),
    (
        "dnf/yum cache",
        re.compile(r"^/var/cache/(?:dnf|yum)/"),
        "End the RUN that installs with `&& dnf clean all` (`yum clean all`), or pass `--setopt=keepcache=0`.",
    ),
    ("pip cache", re.compile(r"/\.cache/pip/"), "Use `pip install --no-cache-dir ...` (or `ENV PIP_NO_CACHE_DIR=1`)."),
    (
        "npm cache",
        re.compile(r"/\.npm/_cacache/"),
        "Run `npm ci && npm cache clean --force` in one RUN (or `RUN --mount=type=cache,target=/root/.npm npm ci`).",
    ),
    (
        "yarn cache",
        re.compile(r"/\.cache/yarn/|/\.yarn-cache/|/\.yarn/berry/cache/"),
        "Run `yarn install --frozen-lockfile && yarn cache clean` in one RUN.",
    ),
    (
        "Go build cache",
        re.compile(r"/\.cache/go-build/|/go/pkg/mod/cache/"),
        "Build in a separate stage, or use `RUN --mount=type=cache,target=/root/.cache/go-build go build ...`.",
    ),
)
_PYCACHE = re.compile(r"/__pycache__/[^/]+\.py[co]$")
# One search per path (after a cheap test: most paths are no cache); the first cache that matches names it.
_ANY_CACHE = re.compile("|".join(f"(?P<c{i}>{pattern.pattern})" for i, (_l, pattern, _f) in enumerate(_CACHES)))

# Build-context junk: a directory name anywhere in the path -> the .dockerignore line that keeps it out. A line is
# anchored at the context's root (`.git` keeps out ./.git alone), so a name counted at any depth needs `**/`.
_JUNK_DIRS = {
    ".git": "**/.git",
    ".hg": "**/.hg",
    ".svn": "**/.svn",
    "node_modules": "**/node_modules",
    ".vscode": "**/.vscode",
    ".idea": "**/.idea",
    "__pycache__": "**/__pycache__",
    ".pytest_cache": "**/.pytest_cache",
    ".mypy_cache": "**/.mypy_cache",
    ".tox": "**/.tox",
    "tests": "tests",
    "test": "test",
    "__tests__": "**/__tests__",
}
_JUNK_FILES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r".*\.log$"), "**/*.log"),
    (re.compile(r"^\.DS_Store$"), "**/.DS_Store"),
    (re.compile(r"^Thumbs\.db$"), "**/Thumbs.db"),
    (re.compile(r"^\.env(?:\..*)?$"), "**/.env*"),
    (re.compile(r"^Dockerfile.*$"), "Dockerfile*"),
    (re.compile(r"^Containerfile.*$"), "Containerfile*"),
    (re.compile(r"^\.dockerignore$"), ".dockerignore"),
    (re.compile(r"^docker-compose.*\.ya?ml$"), "docker-compose*.yml"),
)
# Names that are junk only at the top of the build context: libraries ship their own tests/ and Dockerfiles.
_TOP_LEVEL_ONLY = frozenset(
    {"tests", "test", "__tests__", "Dockerfile*", "Containerfile*", ".dockerignore", "docker-compose*.yml"}
)
_ENV_EXAMPLE = re.compile(r"\.(?:example|sample|template|dist|defaults)$")
_TOP_LEVEL_ONLY_ANYWHERE = frozenset("**/" + line for line in _TOP_LEVEL_ONLY)

# Compilers, headers and build tools: anchored patterns (one `match` per path), then Rust's, wherever it lives.
_TOOLCHAIN = re.compile(
    r"/usr/(?:local/)?bin/(?:gcc|g\+\+|cc|c\+\+|cpp|clang|clang\+\+|make|cmake|ninja|go|gofmt|rustc|cargo|javac"
    r"|(?:[a-z0-9_]+-)*(?:gcc|g\+\+|c\+\+|cpp)(?:-\d+(?:\.\d+)*)?)$"
    r"|/usr/include/|/usr/lib/gcc/|/usr/libexec/gcc/|/usr/local/go/|/usr/lib/go(?:-[0-9.]+)?/"
    r"|/usr/share/doc/build-essential/|/usr/lib/jvm/[^/]*-jdk[^/]*/"
)
_RUST_TOOLCHAIN = re.compile(r"/\.?rustup/toolchains/|/(?:usr/local/cargo|\.cargo)/bin/(?:cargo|rustc)$")


def _is_toolchain(path: str) -> bool:
    if _TOOLCHAIN.match(path):
        return True
    return ("rustup" in path or "cargo" in path) and _RUST_TOOLCHAIN.search(path) is not None


@rule(
    "IS101",
    "cleanup-in-later-layer",
    Severity.WARNING,
    title="Files removed or replaced in a later layer",
    why="A file deleted or overwritten by a later step still takes its bytes in the layer that wrote it.",
    fix="Do the work and the cleanup in the same RUN, or build in a stage and COPY --from only what is kept.",
)
def cleanup_in_later_layer(rule: Rule, ctx: Context) -> Iterator[Finding]:
    pairs: dict[tuple[int, int], list[Copy]] = defaultdict(list)
    for w in ctx.a.wasted_files:
        if w.layer < ctx.first or w.reason in (WasteReason.METADATA_ONLY, WasteReason.IDENTICAL):
            continue
        if (w.layer, w.path) in ctx.claimed or ctx.settings.allowed(w.path):
            continue
        pairs[(w.layer, w.hidden_by)].append(Copy(w.layer, w.path, w.size))
    for (written, hidden), copies in sorted(pairs.items()):
        if not any(c[2] for c in copies):
            continue
        n = len(copies)
        text = (
            f"{n} file{'s' * (n != 1)} written by {ctx.where(written)} and removed or replaced by "
            f"{ctx.where(hidden)}: the bytes stay in layer {written}."
        )
        if _is_copy(ctx.a.layers[written].command):
            fix = (
                "Do not COPY what a later step removes: mount it for the step that uses it "
                "(`RUN --mount=type=bind,source=FILE,target=/tmp/FILE ...`), or COPY it into a build stage and "
                "COPY --from only the result."
            )
        else:
            fix = (
                f"Do the work of both steps in the same RUN (layer {written}'s and layer {hidden}'s), removing "
                "the files before the RUN ends, or produce them in a build stage and COPY --from only what is kept."
            )
        yield ctx.finding(rule, text, [written, hidden], copies, fix)


@rule(
    "IS102",
    "package-cache",
    Severity.WARNING,
    title="Package-manager cache left in a layer",
    why="Caches of apt, apk, dnf/yum, pip, npm, yarn and Go are only needed while the step runs.",
    fix="Clean the cache in the RUN that fills it (`apt-get clean`, `apk add --no-cache`, `pip --no-cache-dir`).",
)
def package_cache(rule: Rule, ctx: Context) -> Iterator[Finding]:
    for layer in ctx.own_layers():
        groups: dict[str, list[Copy]] = defaultdict(list)
        for path, size in ctx.stored(layer):
            if size == 0:
                continue
            if "__pycache__" in path and _PYCACHE.search(path):
                continue  # python-bytecode's
            match = _ANY_CACHE.search(path) if "cache" in path or "/apt/lists/" in path else None
            if match is not None and match.lastgroup is not None:
                groups[_CACHES[int(match.lastgroup[1:])][0]].append(Copy(layer.index, path, size))
        for label, copies in groups.items():
            ctx.claimed.update((c.layer, c.path) for c in copies)
            gone = ctx.gone(copies)
            later = (
                f"; removed in {', '.join(ctx.where(g) for g in gone)}, but the bytes stay in layer {layer.index}"
                if gone
                else ""
            )
            n = len(copies)
            text = f"{label}: {n} file{'s' * (n != 1)} left by {ctx.where(layer.index)}{later}."
            fix = next(f for lb, _p, f in _CACHES if lb == label)
            if gone:
                fix += " A later `rm` saves nothing: the earlier layer keeps the bytes."
            yield ctx.finding(
                rule,
                text,
                [layer.index, *gone],
                copies,
                fix,
                title=f"{label[0].upper()}{label[1:]} left in a layer",
            )


@rule(
    "IS103",
    "python-bytecode",
    Severity.INFO,
    title="__pycache__ written at build time",
    why="Python writes bytecode again when it needs it; built into a layer it is bytes every pull carries.",
    fix="`ENV PYTHONDONTWRITEBYTECODE=1` before the RUN, or remove `__pycache__` in the same RUN.",
)
def python_bytecode(rule: Rule, ctx: Context) -> Iterator[Finding]:
    for layer in ctx.own_layers():
        if _is_copy(layer.command):
            continue  # copied bytecode is build-context junk (IS104)
        copies = [
            Copy(layer.index, path, size)
            for path, size in ctx.stored(layer)
            if size and "__pycache__" in path and _PYCACHE.search(path)
        ]
        if not copies:
            continue
        ctx.claimed.update((c.layer, c.path) for c in copies)
        gone = ctx.gone(copies)
        later = (
            f"; removed in {', '.join(ctx.where(g) for g in gone)}, but the bytes stay in layer {layer.index}"
            if gone
            else ""
        )
        n = len(copies)
        text = f"__pycache__: {n} file{'s' * (n != 1)} left by {ctx.where(layer.index)}{later}."
        fix = (
            "Set `ENV PYTHONDONTWRITEBYTECODE=1` before the RUN that installs or runs Python, or end "
            "it with "
            "`&& find / -name __pycache__ -prune -exec rm -rf {} +` (keep them if start-up time matters "
            "more than size)"
        )
        yield ctx.finding(rule, text, [layer.index, *gone], copies, fix)


@rule(
    "IS104",
    "build-context-junk",
    Severity.WARNING,
    title="Build-context junk copied into the image",
    why="COPY/ADD took files a .dockerignore would have kept out: VCS data, host dependencies, logs, editor files.",
    fix="A .dockerignore next to the Dockerfile that keeps these paths out of the build context.",
)
def build_context_junk(rule: Rule, ctx: Context) -> Iterator[Finding]:
    # not another stage's, an image's nor a URL's files: a .dockerignore does not reach those
    from_context = [x for x in ctx.own_layers() if _is_copy(x.command) and not _from_elsewhere(ctx, x.index)]
    named = _named_in_context(from_context)
    breaks: dict[str, bool] = {}  # line -> it would keep out a path a COPY names, which would break that COPY
    for layer in from_context:
        lines: dict[str, list[Copy]] = defaultdict(list)
        stored = list(ctx.stored(layer))
        if not stored:
            continue
        # Where the COPY put the context; test folders and Dockerfiles count only at its top level, so a
        # library's own tests/ copied from a build stage are not taken for build-context junk.
        root, source = _copied_from(ctx, layer.index, [p for p, _ in stored])
        if source and _absolute_buildkit_copy(ctx, layer.index):
            source = None  # a folder of the context, or another stage's copy of the context: which is not known
        for path, size in stored:
            line = _junk_line(path[len(root) :] if root != "/" else path)
            if line is not None:
                if line in _TOP_LEVEL_ONLY and not line.startswith("**/"):
                    # A line without **/ is anchored at the context's root: where the COPY took these from.
                    line = "**/" + line if source is None else source + line
                if line not in breaks:
                    breaks[line] = _keeps_out(line, named)
                if not breaks[line]:
                    lines[line].append(Copy(layer.index, path, size))
        if not lines:
            continue
        copies = [c for group in lines.values() for c in group]
        ctx.claimed.update((c.layer, c.path) for c in copies)  # the fix is .dockerignore, not a later rm
        parts = ", ".join(
            f"{line} ({len(g)} file{'s' * (len(g) != 1)}, {sum(c[2] for c in g):,} bytes)"
            for line, g in sorted(lines.items(), key=lambda kv: -sum(c[2] for c in kv[1]))
        )
        text = f"{ctx.where(layer.index)} copied files a .dockerignore would keep out: {parts}."
        fix = "Add a .dockerignore next to the Dockerfile with:"
        if source is None and any(line in _TOP_LEVEL_ONLY_ANYWHERE for line in lines):
            fix = (
                "Add a .dockerignore next to the Dockerfile with the lines below. The image does not record which "
                "directory of the build context this COPY took, so the lines for what counts only at its top "
                "(tests, Dockerfiles) match at any depth (`**/tests`), which also keeps out such folders deeper in "
                "the context; anchor them at that directory (`src/tests`) if you know it:"
            )
        fix += "\n" + "\n".join(sorted(lines))
        yield ctx.finding(rule, text, [layer.index], copies, fix)


@rule(
    "IS105",
    "build-toolchain",
    Severity.WARNING,
    title="Build toolchain in the final image",
    why="Compilers, headers and build tools are needed to build, not to run; a multi-stage build leaves them behind.",
    fix="A multi-stage build: build in a `FROM ... AS build` stage, `COPY --from=build` only the artefacts.",
)
def build_toolchain(rule: Rule, ctx: Context) -> Iterator[Finding]:
    found: list[Copy] = []
    records: set[int] = set()  # hard links share one stored copy (Alpine's gcc and its triplet name)
    for f in ctx.final_own_files():
        if f.type in (EntryType.FILE, EntryType.SYMLINK, EntryType.HARDLINK) and _is_toolchain(f.path):
            first = f.record < 0 or f.record not in records
            records.add(f.record)
            found.append(Copy(f.layer, f.path, f.size if f.type is not EntryType.SYMLINK and first else 0))
    tools_pkgs, pkg_copies = build_packages(ctx)  # what the package databases say builds software
    seen = {(c.layer, c.path) for c in found}
    found += [c for c in pkg_copies if (c.layer, c.path) not in seen]
    if not found:
        return
    layers = sorted({c[0] for c in found})
    tools = sorted({c[1].rpartition("/")[2] for c in found if "/bin/" in c[1]})
    headers = sum(1 for c in found if c[1].startswith("/usr/include/"))
    what = ", ".join(tools) if tools else "toolchain files"
    if headers:
        what += f", {headers} header{'s' * (headers != 1)} under /usr/include"
    text = (
        f"Build tools in the final image ({what}), {len(found)} paths from {', '.join(ctx.where(i) for i in layers)}."
    )
    if tools_pkgs:
        text += f" Packages: {package_names(tools_pkgs)}."
    fix = (
        "Use a multi-stage build: install the toolchain and build in a `FROM ... AS build` stage, then start the "
        "final stage from a runtime base and `COPY --from=build` only the built artefacts."
    )
    yield ctx.finding(
        rule,
        text,
        layers,
        [c for c in found if c[2]],
        fix,
        paths=[c[1] for c in sorted(found, key=lambda c: (-c[2], c[1]))],
    )


@rule(
    "IS106",
    "metadata-only-rewrite",
    Severity.WARNING,
    title="Files copied again only to change mode or owner",
    why="chmod/chown in a later step copies the whole file into the new layer; the old copy stays too.",
    fix="Set mode and owner where the file is made: `COPY --chmod --chown`, or chmod/chown in the same RUN.",
)
def metadata_only_rewrite(rule: Rule, ctx: Context) -> Iterator[Finding]:
    # Only copies whose mode or owner did change: the same bytes with the same metadata are IS110's.
    for (written, hidden), rewrite in sorted(_rewrites(ctx, WasteReason.METADATA_ONLY).items()):
        copies = rewrite.copies
        n = len(copies) + len(rewrite.counted)
        if written < ctx.first:
            text = (
                f"{n} file{'s' * (n != 1)} of the base image ({ctx.where(written)}) copied whole again by "
                f"{ctx.where(hidden)} only to change mode or owner (the same bytes): layer {hidden} stores a second "
                f"copy of {'each' if n != 1 else 'it'}."
            )
            fix = (
                "Do not chmod/chown the base image's files in a later layer (a `chown -R` or `chmod -R` over a tree "
                "the base wrote stores all of it again): change only what must change (chown just the directories "
                "the app writes to), or set mode and owner where the files are made (`COPY --chown=app:app "
                "--chmod=0755`, or a build stage whose result you `COPY --from=build --chown=app:app`)."
            )
        else:
            text = (
                f"{n} file{'s' * (n != 1)} of {ctx.where(written)} copied whole again by {ctx.where(hidden)} "
                "only to change mode or owner (the same bytes); both copies are stored."
            )
            fix = (
                "Set mode and owner where the file is made: `COPY --chmod=0755 --chown=app:app src dst`, or "
                f"chmod/chown in the same RUN that writes the file (layer {written}), not in a later one."
            )
        text += _counted_note(rewrite) + _again_note(rewrite)
        paths = list(
            dict.fromkeys(c.path for c in sorted([*copies, *rewrite.counted], key=lambda c: (-c.size, c.path)))
        )
        yield ctx.finding(rule, text, [written, hidden, *rewrite.again], copies, fix, paths=paths)


@rule(
    "IS110",
    "identical-rewrite",
    Severity.WARNING,
    title="Files written again unchanged",
    why="A later step that writes a file again with the same bytes, mode and owner (`cp -a` over it, a repeated "
    "COPY) stores a second copy and changes nothing.",
    fix="Write each file once: drop the step that copies it again, or copy only what is new.",
)
def identical_rewrite(rule: Rule, ctx: Context) -> Iterator[Finding]:
    for (written, hidden), rewrite in sorted(_rewrites(ctx, WasteReason.IDENTICAL).items()):
        copies = rewrite.copies
        if not any(c.size for c in [*copies, *rewrite.counted]):
            continue
        n = len(copies) + len(rewrite.counted)
        whose = f"the base image ({ctx.where(written)})" if written < ctx.first else ctx.where(written)
        text = (
            f"{n} file{'s' * (n != 1)} of {whose} written again by {ctx.where(hidden)} with the same "
            "bytes, mode and owner; the second copy changes nothing, and both are stored."
        )
        fix = (
            f"Drop what writes these files again in layer {hidden} (a `cp -a` over existing files, a COPY of what "
            f"layer {written} already holds), or limit it to the files that change."
        )
        text += _counted_note(rewrite) + _again_note(rewrite)
        paths = list(
            dict.fromkeys(c.path for c in sorted([*copies, *rewrite.counted], key=lambda c: (-c.size, c.path)))
        )
        yield ctx.finding(rule, text, [written, hidden, *rewrite.again], copies, fix, paths=paths)


_SAME_BYTES = (WasteReason.METADATA_ONLY, WasteReason.IDENTICAL)


class _Rewrite(NamedTuple):
    copies: list[Copy]  # the copies this pair's finding saves
    counted: list[Copy]  # its other copies: an earlier pair's finding saves them (the same stored bytes)
    counted_by: list[tuple[int, int]]  # those earlier pairs
    # later layers that write this finding's copies again, where that pair would save nothing more (a chmod -R
    # after the chown -R of the base's files): layer -> (reason, copies), said here instead of in a finding of 0 B
    again: dict[int, tuple[WasteReason, int]]


def _rewrites(ctx: Context, reason: WasteReason) -> dict[tuple[int, int], _Rewrite]:
    """The files one of the Dockerfile's layers stored again with the same bytes (``reason``), by (layer that
    wrote the copy, layer that wrote it again). The copy to save is the earlier one, or, when the base image
    wrote it, the Dockerfile's own: the base's stays whatever the Dockerfile does.

    A base file written again twice (``chown -R``, then ``chmod -R``) has its first rewrite's copy named by both
    pairs: it is saved by the earlier pair's finding (IS106 or IS110 alike), and only counted by the later one's.
    A later pair whose every copy an earlier finding saves has no finding of its own (it would save 0 B): the
    earlier finding says that the later layer writes its files again (``again``).
    """
    pairs: dict[tuple[int, int], list[tuple[Copy, WasteReason]]] = defaultdict(list)
    for w in ctx.a.wasted_files:
        if w.hidden_by < ctx.first or w.reason not in _SAME_BYTES or ctx.settings.allowed(w.path):
            continue
        stored = w.layer if w.layer >= ctx.first else w.hidden_by
        pairs[(w.layer, w.hidden_by)].append((Copy(stored, w.path, w.size), w.reason))
    # (layer, path) -> the pair, and its rule's reason, whose finding saves it
    saved_by: dict[tuple[int, str], tuple[tuple[int, int], WasteReason]] = {}
    found: dict[tuple[tuple[int, int], WasteReason], _Rewrite] = {}  # both rules' pairs: one may fold into other's
    for pair, pair_copies in sorted(pairs.items()):
        for copy, why in pair_copies:
            mine = found.setdefault((pair, why), _Rewrite([], [], [], {}))
            earlier, _ = saved_by.setdefault((copy.layer, copy.path), (pair, why))
            if earlier == pair:
                mine.copies.append(copy)
            else:
                mine.counted.append(copy)
                if earlier not in mine.counted_by:
                    mine.counted_by.append(earlier)
    out: dict[tuple[int, int], _Rewrite] = {}
    for (pair, why), mine in found.items():
        if not mine.copies:  # every copy is an earlier finding's: say so there
            for copy in mine.counted:
                saver = found[saved_by[(copy.layer, copy.path)]]
                _, count = saver.again.get(pair[1], (why, 0))
                saver.again[pair[1]] = (why, count + 1)
        elif why is reason:
            out[pair] = mine
    return out


def _again_note(rewrite: _Rewrite) -> str:
    """What a message says of the later layers that write its files again, where no finding of theirs would save
    more (``_Rewrite.again``)."""
    out = ""
    for layer, (why, n) in sorted(rewrite.again.items()):
        what = "this file" if n == 1 else "these files" if n == len(rewrite.copies) else f"{n} of these files"
        how = (
            "only to change mode or owner: make both changes in one step"
            if why is WasteReason.METADATA_ONLY
            else "with the same bytes, mode and owner: drop that step too"
        )
        out += f" Layer {layer} then writes {what} again, {how} (the saving above is what that saves)."
    return out


def _counted_note(rewrite: _Rewrite) -> str:
    """What a message says of the copies an earlier finding saves, naming that finding's layers."""
    n = len(rewrite.counted)
    if not n:
        return ""
    stored = ", ".join(map(str, sorted({c.layer for c in rewrite.counted})))
    those = ", ".join(f"layers {w} and {h}" for w, h in sorted(rewrite.counted_by))
    what = "this file" if n == 1 else "these files" if not rewrite.copies else f"{n} of these files"
    return (
        f" Layer {stored} wrote {what} again from the base image: {'its' if n == 1 else 'their'} bytes in layer "
        f"{stored} are what the finding for {those} saves, counted once, there."
    )


@rule(
    "IS107",
    "duplicate-content",
    Severity.INFO,
    title="Same bytes stored under several paths",
    why="Identical files in the final filesystem take their bytes once per path.",
    fix="Keep one copy: a link instead of `cp`, or COPY the file once.",
)
def duplicate_content(rule: Rule, ctx: Context) -> Iterator[Finding]:
    by_path = {f.path: f for f in ctx.a.files}
    copies: list[Copy] = []
    groups = 0
    for g in ctx.a.duplicates:
        records = sorted((by_path[p] for p in g.paths if p in by_path), key=lambda f: (f.layer, f.path))
        extra = [f for f in records[1:] if f.layer >= ctx.first and not ctx.settings.allowed(f.path)]
        if not extra:
            continue
        groups += 1
        copies.extend(Copy(f.layer, f.path, g.size) for f in extra)
    if not copies:
        return
    layers = sorted({c[0] for c in copies})
    text = (
        f"{len(copies)} path{'s' * (len(copies) != 1)} in the final image "
        f"{'hold' if len(copies) != 1 else 'holds'} "
        "the same bytes as another path "
        f"({groups} group{'s' * (groups != 1)}), written by {', '.join(ctx.where(i) for i in layers)}."
    )
    fix = (
        "Keep one copy: replace `cp a b` by `ln -s a b` (or a hard link made in the same RUN), or COPY the file "
        "once and point the other users to it."
    )
    yield ctx.finding(rule, text, layers, copies, fix)


@rule(
    "IS108",
    "many-layers",
    Severity.INFO,
    title="RUN steps that could be one",
    why="Each RUN makes a layer; consecutive RUN steps can share one, and clean up after each other in it.",
    fix="Join consecutive RUN steps with `&&` (or a heredoc), cleaning up before the RUN ends.",
)
def many_layers(rule: Rule, ctx: Context) -> Iterator[Finding]:
    start = ctx.base.history_count if ctx.base else 0
    runs: list[list[int]] = []
    current: list[int] = []
    for h in ctx.a.history[start:]:
        if h.layer_index is None:
            continue  # empty-layer steps (ENV, LABEL...) can move
        if h.command.startswith("RUN "):
            current.append(h.layer_index)
        else:
            if len(current) > 1:
                runs.append(current)
            current = []
    if len(current) > 1:
        runs.append(current)
    for run in runs:
        text = (
            f"{len(run)} RUN steps in a row (layers {run[0]}-{run[-1]}) make {len(run)} layers; they could be 1, "
            f"and {len(run) - 1} fewer layers to pull and store."
        )
        fix = "Join them into one RUN with `&&` (or a heredoc `RUN <<EOF`), cleaning up before it ends."
        yield ctx.finding(rule, text, run, [], fix, saves=False, paths=[])


@rule(
    "IS109",
    "large-base",
    Severity.INFO,
    title="Large base image",
    why="Most of the image is its base; a -slim, alpine or distroless base is often a fraction of the size.",
    fix="A smaller base: the `-slim` variant, alpine, or distroless for the final stage.",
)
def large_base(rule: Rule, ctx: Context) -> Iterator[Finding]:
    if ctx.base is None:
        return
    base_bytes = sum(r.size for r in ctx.a.layers[: ctx.base.layer_count])
    size = ctx.a.summary.size
    share = base_bytes / size if size else 0.0
    if base_bytes < ctx.settings.large_base or share < ctx.settings.large_base_share:
        return
    name = ctx.base.name or "the base image"
    text = (
        f"{name} makes {base_bytes:,} bytes of the image's {size:,} ({format_percent(share)}), "
        f"in {first_layers(ctx.base.layer_count)}; found by: {ctx.base.evidence}."
    )
    fix = (
        "Consider a smaller base: the `-slim` variant of the same image, alpine, or a distroless image for the "
        "final stage of a multi-stage build."
    )
    yield ctx.finding(rule, text, range(ctx.base.layer_count), [], fix, saves=False, paths=[])


def _is_copy(command: str) -> bool:
    return command.startswith(("COPY ", "ADD "))


_HASHED_SOURCE = re.compile(r"^(?:file|dir|multi):")  # classic and buildah record a content hash, not the source
_OUTSIDE_CONTEXT = re.compile(r"://|^git@|^<<")  # a URL, a git repository, a heredoc (BuildKit: `<<EOF`)
_GLOB = re.compile(r"[*?[\\]")


def _copy_words(command: str) -> tuple[list[str], list[str]]:
    """A COPY/ADD command's flags (``--chown=1000``) and its other words: the sources, then the destination."""
    words = command.split()[1:]
    flags = [w for w in words if w.startswith("--")]
    words = [w for w in words if not w.startswith("--")]
    if len(words) > 2 and words[-2] == "in":  # classic and buildah: COPY dir:<sha256> in /dest
        del words[-2]
    return flags, words


def _from_elsewhere(ctx: Context, index: int) -> bool:
    """Whether the history says COPY/ADD layer ``index`` took its files from outside the build context: from
    another stage or an image (``--from``, which kaniko records as written; ADD has no ``--from``), a URL, a git
    repository or a heredoc; or, most likely, another stage: a BuildKit COPY of absolute sources (see
    ``_absolute_buildkit_copy``) that stored nothing only a build context holds at its top. False where it does not
    say: the classic builder and buildah record a hash."""
    layer = ctx.a.layers[index]
    flags, words = _copy_words(layer.command)
    if any(f.startswith("--from=") for f in flags):
        return True
    sources = words[:-1]
    if not sources:
        return False
    if all(_OUTSIDE_CONTEXT.search(s) for s in sources):
        return True
    if not _absolute_buildkit_copy(ctx, index):
        return False
    stored = [p for p, _ in ctx.stored(layer)]
    if not stored:
        return True
    root, _ = _copied_from(ctx, index, stored)
    return not any(_context_mark(p[len(root) :] if root != "/" else p) for p in stored)


def _absolute_buildkit_copy(ctx: Context, index: int) -> bool:
    """Whether layer ``index`` is a BuildKit COPY whose sources are all absolute: another stage's files
    (``COPY --from=build /src/dist /app``) or the context's (``COPY / /app/``). BuildKit writes a COPY's sources as
    the Dockerfile does, and never ``--from`` (dockerfile2llb's dispatchCopy): both are ``COPY /src /app # buildkit``;
    a context path is mostly written relative."""
    layer = ctx.a.layers[index]
    if not layer.command.startswith("COPY ") or layer.history is None:
        return False
    if not (layer.history.created_by or "").rstrip().endswith("# buildkit"):
        return False
    sources = _copy_words(layer.command)[1][:-1]
    return bool(sources) and all(s.startswith("/") for s in sources)


# What only a build context holds at its top (a stage makes none of them): a repository's .git, a Dockerfile.
_CONTEXT_MARKS = frozenset({"Dockerfile*", "Containerfile*", ".dockerignore", "docker-compose*.yml"})


def _context_mark(relative: str) -> bool:
    """Whether ``relative`` (a path below where a COPY put its files) is what only a build context holds at its top:
    a file in ``.git/``, a Dockerfile, a Containerfile, a .dockerignore, a docker-compose file."""
    parts = relative.strip("/").split("/")
    if len(parts) > 1:
        return parts[0] == ".git"
    return _junk_line(parts[0]) in _CONTEXT_MARKS


class _Named(NamedTuple):
    """A path of the build context a COPY names: ``path`` in the context (``deploy/Dockerfile``), or None where
    the history records only a hash (one file, ``file:<sha256>``: then ``name`` is the name it is stored under)."""

    path: str | None
    name: str


def _named_in_context(copies: Iterable[LayerReport]) -> list[_Named]:
    """The paths of the build context that ``copies`` (the COPY/ADD layers that took the context's files) name
    (globs, URLs and folders the history records as a hash left out): a .dockerignore that keeps one out breaks
    that step."""
    named: list[_Named] = []
    for layer in copies:
        for source in _copy_words(layer.command)[1][:-1]:
            if source.startswith("file:"):
                files = [c.path for c in layer.changes if c.kind is not ChangeKind.REMOVED and c.type is EntryType.FILE]
                if len(files) == 1:
                    named.append(_Named(None, files[0].rpartition("/")[2]))
            elif not (_HASHED_SOURCE.match(source) or _OUTSIDE_CONTEXT.search(source) or _GLOB.search(source)):
                path = posixpath.normpath("/" + source).lstrip("/")  # a source is relative to the context, "/" too
                if path:
                    named.append(_Named(path, path.rpartition("/")[2]))
    return named


def _keeps_out(line: str, named: list[_Named]) -> bool:
    """Whether .dockerignore ``line`` keeps any of ``named`` out of the build context: it matches its path or a
    folder above it; where only the name is known (in some folder), the line's last part matches the name.
    IS104's lines are ``**/NAME`` (one name, at any depth) or a path without ``**`` (``tests``, ``src/tests``), so
    each path is read once (a hostile history's may be thousands of folders deep): the first tested at each name,
    the second at the one folder as deep as itself."""
    if not named:
        return False
    try:
        glob = Glob(line)
        last = Glob(line.rpartition("/")[2])
    except ValueError:  # a line no glob reads (a source holding `]`): leave it out rather than risk the build
        return True
    head, _, rest = line.partition("/")
    segments = [s for s in line.split("/") if s]
    for n in named:
        if n.path is None:
            hit = last.matches("/" + n.name)
        else:
            parts = n.path.split("/")
            if head == "**" and "/" not in rest:
                hit = any(last.matches("/" + part) for part in parts)
            elif "**" not in segments:
                depth = len(segments)
                hit = depth <= len(parts) and glob.matches("/" + "/".join(parts[:depth]))
            else:  # a ** inside a line (none of IS104's): tested at each folder
                hit = any(glob.matches("/" + "/".join(parts[:i])) for i in range(1, len(parts) + 1))
        if hit:
            return True
    return False


def _copied_from(ctx: Context, index: int, stored: list[str]) -> tuple[str, str | None]:
    """Where COPY layer ``index`` put the files it took from the build context (the destination; else the
    deepest folder holding all of ``stored``), and the context directory they came from as a .dockerignore
    prefix (``""`` for its root, ``"src/"``), or None when the image does not tell it."""
    _, words = _copy_words(ctx.a.layers[index].command)
    dest = _destination(ctx, index, words[-1]) if len(words) > 1 else None
    if dest is None or not all(p.startswith(dest.rstrip("/") + "/") for p in stored):
        return posixpath.commonpath([posixpath.dirname(p) for p in stored]), None
    if len(words) != 2:
        return dest, None  # several sources: which one's top is not known
    source = words[0]
    if _HASHED_SOURCE.match(source) or _OUTSIDE_CONTEXT.search(source) or _GLOB.search(source):
        return dest, None
    source = posixpath.normpath("/" + source).lstrip("/")  # a source is relative to the context, "/" too
    name = source.rpartition("/")[2]
    if len(stored) == 1 and stored[0] == f"{dest.rstrip('/')}/{name}" and not words[0].endswith("/"):
        source = posixpath.dirname(source)  # one file copied into the destination: the file's own folder
    return dest, f"{source}/" if source else ""


def _destination(ctx: Context, index: int, dest: str) -> str | None:
    """``dest`` of layer ``index``'s COPY as an absolute path: a relative one is the WORKDIR's in effect (None
    when no WORKDIR step before it is in the history)."""
    if not dest.startswith("/"):
        workdir = None
        for h in ctx.a.history:
            if h.layer_index is not None and h.layer_index >= index:
                break
            if h.command.startswith("WORKDIR "):
                workdir = posixpath.join(workdir or "/", h.command[8:].strip())
        if workdir is None or not workdir.startswith("/"):
            return None
        dest = posixpath.join(workdir, dest)
    dest = posixpath.normpath(dest)
    return "/" + dest.lstrip("/")


def _junk_line(relative: str) -> str | None:
    """The .dockerignore line that keeps ``relative`` (a path below the COPY's destination) out, or None."""
    parts = relative.strip("/").split("/")
    for depth, part in enumerate(parts[:-1]):
        if part in _JUNK_DIRS and (depth == 0 or part not in _TOP_LEVEL_ONLY):
            return _JUNK_DIRS[part]
    name = parts[-1]
    for pattern, line in _JUNK_FILES:
        if line in _TOP_LEVEL_ONLY and len(parts) > 1:
            continue
        if pattern.match(name) and not (line == "**/.env*" and _ENV_EXAMPLE.search(name)):
            return line
    return None
