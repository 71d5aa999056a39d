"""The package rules (``IS111``, ``IS112``; and the packages ``IS105`` adds): what the image's own package
databases say a final stage does not need. They run only when the databases were read (``advice`` on a path
or an ``Image`` reads them in its one pass; for an ``Analysis``, pass the ``ImagePackages`` of
``imgscope.scan_packages`` instead)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from imgscope.advise.context import Context
from imgscope.advise.model import Copy, Finding, Rule, Severity, rule
from imgscope.analysis import FileRecord
from imgscope.model import EntryType
from imgscope.packages import Package
from imgscope.packages.judge import DOC_DIRS, is_build_tool


def own_copies(ctx: Context, files: Iterable[FileRecord], keep: object = None) -> list[Copy]:
    """The final files from the Dockerfile's own layers as stored copies (hard links once, allowlist honoured)."""
    out: list[Copy] = []
    records: set[int] = set()
    for f in files:
        if f.layer < ctx.first or f.type not in (EntryType.FILE, EntryType.HARDLINK) or ctx.settings.allowed(f.path):
            continue
        if f.record >= 0:
            if f.record in records:
                continue
            records.add(f.record)
        out.append(Copy(f.layer, f.path, f.size))
    return out


def package_names(packages: Iterable[Package], limit: int = 8) -> str:
    items = [f"{p.name} {p.version}".strip() for p in packages]
    more = len(items) - limit
    return ", ".join(items[:limit]) + (f" and {more} more" if more > 0 else "")


def build_packages(ctx: Context) -> tuple[list[Package], list[Copy]]:
    """The OS packages that build software (compilers, build tools, -dev headers) and their own-layer copies."""
    if ctx.packages is None:
        return [], []
    tools = [p for p in ctx.packages.report().packages if is_build_tool(p)]
    owned = ctx.packages.files_of(tools)
    copies = own_copies(ctx, (f for files in owned.values() for f in files))
    return tools, copies


def _is_doc(path: str) -> bool:
    # /usr/share/doc/*/copyright stays: path-include keeps it (licences travel with the binaries)
    return path.startswith(DOC_DIRS) and not (path.startswith("/usr/share/doc/") and path.endswith("/copyright"))


@rule(
    "IS111",
    "docs-locales",
    Severity.INFO,
    title="Documentation, man pages and locales of OS packages",
    why="A container reads no man page; docs, info pages and translations installed with packages only add bytes.",
    fix="Exclude them before installing (`path-exclude` in /etc/dpkg/dpkg.cfg.d/) and install with "
    "`--no-install-recommends`; on Alpine, leave out the `-doc` packages.",
)
def docs_locales(rule: Rule, ctx: Context) -> Iterator[Finding]:
    if ctx.packages is None:
        return
    os_packages = [p for p in ctx.packages.report().packages if p.is_os]
    if not os_packages:
        return
    owned = ctx.packages.files_of(os_packages)
    docs = own_copies(ctx, (f for files in owned.values() for f in files if _is_doc(f.path)))
    if not docs:
        return
    layers = sorted({c.layer for c in docs})
    by_dir: dict[str, int] = {}
    for c in docs:
        top = next(d for d in DOC_DIRS if c.path.startswith(d))
        by_dir[top] = by_dir.get(top, 0) + c.size
    where = ", ".join(d.rstrip("/") for d, _ in sorted(by_dir.items(), key=lambda kv: -kv[1]))
    text = (
        f"{len(docs)} documentation, man and locale files of OS packages ({where}) from "
        f"{', '.join(ctx.where(i) for i in layers)}."
    )
    fix = (
        "Before the RUN that installs packages: `RUN printf 'path-exclude /usr/share/doc/*\\npath-include "
        "/usr/share/doc/*/copyright\\npath-exclude /usr/share/man/*\\npath-exclude /usr/share/info/*\\n"
        "path-exclude /usr/share/locale/*\\n' > /etc/dpkg/dpkg.cfg.d/01-nodoc`, then `apt-get install -y "
        "--no-install-recommends ...`. On Alpine, do not install `*-doc` packages."
    )
    yield ctx.finding(rule, text, layers, docs, fix)


@rule(
    "IS112",
    "npm-dev-dependencies",
    Severity.WARNING,
    title="npm dev dependencies in the final image",
    why="Test runners, bundlers and linters are needed to build and test, not to run the application.",
    fix="Install with `npm ci --omit=dev` in the final stage (or `npm prune --omit=dev` in the same RUN).",
)
def npm_dev_dependencies(rule: Rule, ctx: Context) -> Iterator[Finding]:
    if ctx.packages is None:
        return
    dev = [p for p in ctx.packages.report().packages if p.ecosystem == "npm" and p.dev]
    if not dev:
        return
    owned = ctx.packages.files_of(dev)
    copies = own_copies(ctx, (f for files in owned.values() for f in files))
    if not copies:
        return
    layers = sorted({c.layer for c in copies})
    roots = sorted({p.location.rpartition("/node_modules/")[0] or "/" for p in dev})
    text = (
        f"{len(dev)} npm packages a lockfile marks as dev dependencies ({package_names(dev)}) in "
        f"{', '.join(r + '/node_modules' for r in roots)}, from {', '.join(ctx.where(i) for i in layers)}."
    )
    fix = (
        "Install production dependencies only in the final image: `RUN npm ci --omit=dev` (npm 7+; "
        "`--only=production` before), or build in a stage and `COPY --from=build` the app with a pruned "
        "node_modules (`npm prune --omit=dev`)."
    )
    yield ctx.finding(rule, text, layers, copies, fix, paths=[p.location for p in dev])
