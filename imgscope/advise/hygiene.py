"""The runtime hygiene rules (``IS3xx``): how the container runs (user, tags, health check, file modes)."""

from __future__ import annotations

from collections.abc import Iterator

from imgscope.advise.context import Context
from imgscope.advise.model import MAX_PATHS, Finding, Rule, Severity, rule
from imgscope.analysis import FileRecord
from imgscope.model import EntryType

_WRITABLE_KINDS = frozenset({EntryType.FILE, EntryType.HARDLINK, EntryType.DIR})


@rule(
    "IS301",
    "runs-as-root",
    Severity.WARNING,
    title="Container runs as root",
    why="A process escaping the application runs with root's rights inside the container.",
    fix="Create an unprivileged user and `USER 10001:10001` before CMD.",
)
def runs_as_root(rule: Rule, ctx: Context) -> Iterator[Finding]:
    user = ctx.runtime.user.strip()
    name = user.split(":", 1)[0]
    if name not in ("", "root", "0"):
        return
    said = f"User is {user!r}" if user else "no User is set"
    fix = (
        "Create an unprivileged user and switch to it: `RUN adduser -D -u 10001 app` (Debian: `useradd -r -u "
        "10001 app`) then `USER 10001:10001` before CMD."
    )
    yield ctx.finding(
        rule, f"The container runs as root: {said} in the image config.", [], [], fix, saves=False, paths=[]
    )


@rule(
    "IS302",
    "unpinned-tag",
    Severity.WARNING,
    title="Image or base tagged 'latest' or not at all",
    why="'latest' moves: the same Dockerfile builds something else tomorrow, and nobody can tell which.",
    fix="Tag each build with a version and pin the base (`FROM debian:12.5-slim@sha256:...`).",
)
def unpinned_tag(rule: Rule, ctx: Context) -> Iterator[Finding]:
    img = ctx.a.image
    problems: list[str] = []
    if not img.tags:
        problems.append("the image has no tag")
    elif all(_tag_of(t) == "latest" for t in img.tags):
        problems.append(f"the image is tagged only {', '.join(img.tags)}")
    base_name = ctx.base.name if ctx.base else None
    if base_name and _tag_of(base_name) in ("latest", None) and "@" not in base_name:
        problems.append(f"the base is {base_name} (FROM without a pinned tag)")
    if not problems:
        return
    fix = (
        "Tag each build with a version (`-t app:1.4.2` or the git commit), and pin the base: "
        "`FROM debian:12.5-slim` or, better, `FROM debian:12.5-slim@sha256:...`."
    )
    yield ctx.finding(rule, "; ".join(problems).capitalize() + ".", [], [], fix, saves=False, paths=[])


@rule(
    "IS303",
    "no-healthcheck",
    Severity.INFO,
    title="No HEALTHCHECK",
    why="Without one, the runtime cannot tell a hung container from a working one.",
    fix="`HEALTHCHECK CMD <a command that fails when the service is unhealthy>`.",
)
def no_healthcheck(rule: Rule, ctx: Context) -> Iterator[Finding]:
    check = ctx.runtime.healthcheck
    test = check.get("Test") if isinstance(check, dict) else None
    if isinstance(test, list) and test and test[0] != "NONE":
        return
    # OCI configs have no Healthcheck field: skopeo drops it, the history keeps the step.
    if not isinstance(test, list) and any(h.command.startswith("HEALTHCHECK") for h in ctx.a.history):
        return
    fix = "Add `HEALTHCHECK --interval=30s --timeout=3s CMD <a command that fails when the service is unhealthy>`."
    yield ctx.finding(rule, "The image defines no HEALTHCHECK.", [], [], fix, saves=False, paths=[])


@rule(
    "IS304",
    "setuid-setgid",
    Severity.WARNING,
    title="setuid/setgid files",
    why="A setuid or setgid binary runs with its owner's rights: a way up for anyone who can run it.",
    fix="Drop the bits where the file is made: `chmod u-s,g-s FILE` in the same RUN, or `COPY --chmod=0755`.",
)
def setuid_setgid(rule: Rule, ctx: Context) -> Iterator[Finding]:
    special: list[FileRecord] = []
    for f in ctx.final_own_files():
        if f.type is EntryType.SYMLINK:
            continue
        if f.type is not EntryType.DIR and f.mode & 0o6000:
            special.append(f)
    if special:
        layers = sorted({f.layer for f in special})
        listing = ", ".join(f"{f.path} ({f.mode:04o})" for f in special[:MAX_PATHS])
        fix = "Drop the bits where the file is made: `chmod u-s,g-s FILE` in the same RUN, or `COPY --chmod=0755`."
        yield ctx.finding(
            rule,
            f"{len(special)} setuid/setgid file{'s' * (len(special) != 1)}: {listing}.",
            layers,
            [],
            fix,
            saves=False,
            paths=[f.path for f in special],
        )


@rule(
    "IS305",
    "world-writable",
    Severity.WARNING,
    title="World-writable files or directories without the sticky bit",
    why="Any user in the container can change these files, or replace other users' files in these directories.",
    fix="Give directories to the user that writes them, or add the sticky bit; `chmod o-w` for files.",
)
def world_writable(rule: Rule, ctx: Context) -> Iterator[Finding]:
    writable: list[FileRecord] = []
    for f in ctx.final_own_files():
        if f.type is EntryType.SYMLINK:
            continue
        # Files and directories only: device nodes (/dev/null, /dev/zero) and fifos are 0666 by design.
        if f.type in _WRITABLE_KINDS and f.mode & 0o002 and not (f.type is EntryType.DIR and f.mode & 0o1000):
            writable.append(f)
    if writable:
        layers = sorted({f.layer for f in writable})
        listing = ", ".join(f"{f.path} ({f.type.value} {f.mode:04o})" for f in writable[:MAX_PATHS])
        fix = (
            "Give the directory to the user that writes it (`COPY --chown=app:app`, `chown app: DIR`, "
            "mode 0755/0750), or add the sticky bit to shared directories (`chmod 1777 DIR`, as /tmp); "
            "files: `chmod o-w FILE`."
        )
        yield ctx.finding(
            rule,
            f"{len(writable)} world-writable path{'s' * (len(writable) != 1)} without the sticky bit: {listing}.",
            layers,
            [],
            fix,
            saves=False,
            paths=[f.path for f in writable],
        )


def _tag_of(ref: str) -> str | None:
    last = ref.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None
