"""``advise(analysis) -> list[Finding]``: what to change in the Dockerfile, and how many bytes each change saves.

Every rule reads an ``Analysis`` (and the image config it holds); nothing is read from the image again. Rules,
ids and fixes are documented in ``docs/advice.md``. The bytes a finding saves are the stored copies (a file
as one layer stored it) that the fix would not write; ``Advice.total_saved`` counts each copy once, however
many findings name it.

What the base image brought (``imgscope.base_image.find_base``) is not blamed on the Dockerfile: size and
hygiene rules look at the image's own layers only, and the base's share is the ``large-base`` finding.
Secrets are reported wherever they are, the base's included.
"""

from __future__ import annotations

import enum
import functools
import os
import posixpath
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from imgscope.analysis import Analysis, FileRecord, LayerReport
from imgscope.base_image import BaseImage, find_base
from imgscope.errors import UsageError
from imgscope.fstree import ChangeKind, WasteReason
from imgscope.globs import Glob
from imgscope.model import EntryType
from imgscope.secrets import SECRET_WORDS
from imgscope.secrets import redact as redact  # imgscope.advise.redact, as before it moved
from imgscope.settings import find_settings, load_settings, section
from imgscope.text import first_layers
from imgscope.units import parse_percent, parse_size

MAX_PATHS = 10  # paths a finding lists; ``path_count`` says how many there are


class Severity(str, enum.Enum):
    """How much a finding matters: ``error`` (a leak), ``warning`` (fix it), ``info`` (worth knowing)."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """Order of severities: info 0, warning 1, error 2."""
        return _RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        """``info``/``warning``/``error`` (any case); UsageError otherwise."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise UsageError("severity", f"{text!r} is not one of info, warning, error") from None


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(frozen=True)
class Rule:
    """One kind of finding: a stable id (``IS1xx`` size, ``IS2xx`` secrets, ``IS3xx`` runtime hygiene)."""

    id: str
    name: str
    severity: Severity
    title: str
    why: str


RULES: tuple[Rule, ...] = (
    Rule(
        "IS101",
        "cleanup-in-later-layer",
        Severity.WARNING,
        "Files removed or replaced in a later layer",
        "A file deleted or overwritten by a later step still takes its bytes in the layer that wrote it.",
    ),
    Rule(
        "IS102",
        "package-cache",
        Severity.WARNING,
        "Package-manager cache left in a layer",
        "Caches of apt, apk, dnf/yum, pip, npm, yarn and Go are only needed while the step runs.",
    ),
    Rule(
        "IS103",
        "python-bytecode",
        Severity.INFO,
        "__pycache__ written at build time",
        "Python writes bytecode again when it needs it; built into a layer it is bytes every pull carries.",
    ),
    Rule(
        "IS104",
        "build-context-junk",
        Severity.WARNING,
        "Build-context junk copied into the image",
        "COPY/ADD took files a .dockerignore would have kept out: VCS data, host dependencies, logs, editor files.",
    ),
    Rule(
        "IS105",
        "build-toolchain",
        Severity.WARNING,
        "Build toolchain in the final image",
        "Compilers, headers and build tools are needed to build, not to run; a multi-stage build leaves them behind.",
    ),
    Rule(
        "IS106",
        "metadata-only-rewrite",
        Severity.WARNING,
        "Files copied again only to change mode or owner",
        "chmod/chown in a later step copies the whole file into the new layer; the old copy stays too.",
    ),
    Rule(
        "IS107",
        "duplicate-content",
        Severity.INFO,
        "Same bytes stored under several paths",
        "Identical files in the final filesystem take their bytes once per path.",
    ),
    Rule(
        "IS108",
        "many-layers",
        Severity.INFO,
        "RUN steps that could be one",
        "Each RUN makes a layer; consecutive RUN steps can share one, and clean up after each other in it.",
    ),
    Rule(
        "IS109",
        "large-base",
        Severity.INFO,
        "Large base image",
        "Most of the image is its base; a -slim, alpine or distroless base is often a fraction of the size.",
    ),
    Rule(
        "IS201",
        "secret-file",
        Severity.ERROR,
        "Secret stored in a layer",
        "Anyone who can pull the image can read every layer; a secret deleted later is still in the layer below.",
    ),
    Rule(
        "IS202",
        "secret-in-config",
        Severity.ERROR,
        "Secret-looking ENV or ARG value in the config or history",
        "ENV values and build ARGs are recorded in the image config and history, readable by anyone who pulls it.",
    ),
    Rule(
        "IS301",
        "runs-as-root",
        Severity.WARNING,
        "Container runs as root",
        "A process escaping the application runs with root's rights inside the container.",
    ),
    Rule(
        "IS302",
        "unpinned-tag",
        Severity.WARNING,
        "Image or base tagged 'latest' or not at all",
        "'latest' moves: the same Dockerfile builds something else tomorrow, and nobody can tell which.",
    ),
    Rule(
        "IS303",
        "no-healthcheck",
        Severity.INFO,
        "No HEALTHCHECK",
        "Without one, the runtime cannot tell a hung container from a working one.",
    ),
    Rule(
        "IS304",
        "setuid-setgid",
        Severity.WARNING,
        "setuid/setgid files",
        "A setuid or setgid binary runs with its owner's rights: a way up for anyone who can run it.",
    ),
    Rule(
        "IS305",
        "world-writable",
        Severity.WARNING,
        "World-writable files or directories without the sticky bit",
        "Any user in the container can change these files, or replace other users' files in these directories.",
    ),
)
RULES_BY_ID = {r.id: r for r in RULES}
_RULES_BY_NAME = {r.name: r for r in RULES}


@dataclass(frozen=True)
class Finding:
    """One thing to change: what was found, where, what fixing it saves, and how to fix it."""

    id: str  # e.g. "IS102" (stable; docs/advice.md)
    name: str  # e.g. "package-cache"
    severity: Severity
    title: str
    message: str
    layers: tuple[int, ...]  # the layers involved, in order
    commands: tuple[str, ...]  # the history command of each of ``layers`` (secret values masked)
    paths: tuple[str, ...]  # up to MAX_PATHS, largest first
    path_count: int
    bytes_saved: int | None  # None where the finding is not about size
    fix: str  # in Dockerfile terms
    # The stored copies (layer, path, bytes) the fix would not write: for the total, counted once.
    copies: tuple[tuple[int, str, int], ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True)
class AdviseSettings:
    """``[tool.imgscope.advise]``: ``ignore`` (ids or names), ``allow`` (path globs), the large-base thresholds."""

    ignore: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    large_base: int = 150_000_000
    large_base_share: float = 0.5

    @classmethod
    def from_table(cls, table: dict[str, Any], where: str) -> AdviseSettings:
        """Settings from a TOML table; UsageError naming ``where`` on a bad key or value."""
        known = {"ignore", "allow", "large_base", "large_base_share"}
        unknown = sorted(set(table) - known)
        if unknown:
            raise UsageError(
                where, f"[advise] has unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        ignore = _strings(table.get("ignore", []), where, "ignore")
        for item in ignore:
            if item not in RULES_BY_ID and item not in _RULES_BY_NAME:
                raise UsageError(where, f"[advise] ignore: {item!r} is no finding id or name (see docs/advice.md)")
        allow = tuple(_strings(table.get("allow", []), where, "allow"))
        try:
            _globs(allow)
        except ValueError as exc:
            raise UsageError(where, f"[advise] allow: {exc}") from None
        base = cls()
        large = _setting(table, "large_base", parse_size, base.large_base, where)
        share = _setting(table, "large_base_share", parse_percent, base.large_base_share, where)
        return cls(tuple(ignore), allow, large, share)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, *, start: str | os.PathLike[str] = ".") -> AdviseSettings:
        """``[tool.imgscope.advise]`` (``[advise]`` in ``.imgscope.toml``) of ``path``, or of the file found
        from ``start`` (``imgscope.settings.find_settings``); the defaults when there is none."""
        file = Path(path) if path is not None else find_settings(start)
        if file is None:
            return cls()
        return cls.from_table(section(load_settings(file), "advise", str(file)), str(file))

    def ignores(self, rule: Rule) -> bool:
        """True when the settings drop ``rule``'s findings (by id or name)."""
        return rule.id in self.ignore or rule.name in self.ignore

    def allowed(self, path: str) -> bool:
        """True when ``path`` matches one of the ``allow`` globs (``imgscope.globs``, as ``imgscope check``)."""
        return bool(self.allow) and any(g.matches(path) for g in _globs(self.allow))


_T = TypeVar("_T")


def _setting(table: dict[str, Any], key: str, parse: Callable[[Any], _T], default: _T, where: str) -> _T:
    if key not in table:
        return default
    try:
        return parse(table[key])
    except (ValueError, TypeError, AttributeError) as exc:
        raise UsageError(where, f"[advise] {key}: {exc}") from None


@functools.cache
def _globs(patterns: tuple[str, ...]) -> tuple[Glob, ...]:
    """The ``allow`` patterns compiled once; ValueError names a malformed one."""
    return tuple(Glob(p) for p in patterns)


def _strings(value: object, where: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(where, f"[advise] {key} must be a list of strings")
    return list(value)


@dataclass(frozen=True)
class Advice:
    """All findings for one image, largest saving first, and what fixing them all saves."""

    findings: tuple[Finding, ...]
    total_saved: int  # bytes, each stored copy counted once across findings
    image_size: int  # content bytes stored in all layers (Summary.size)
    base: BaseImage | None
    ignored: int  # findings dropped by settings

    @property
    def saved_fraction(self) -> float:
        """``total_saved`` over the image's stored bytes (0.0 for an empty image)."""
        return self.total_saved / self.image_size if self.image_size else 0.0

    def at_or_above(self, severity: Severity) -> list[Finding]:
        """The findings of ``severity`` or worse (what ``--fail-on`` counts)."""
        return [f for f in self.findings if f.severity.rank >= severity.rank]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document described in ``docs/json.md``."""
        from imgscope.render.advice import advice_to_dict

        return advice_to_dict(self)


def advise(analysis: Analysis, settings: AdviseSettings | None = None) -> list[Finding]:
    """The findings for ``analysis``, largest saving first (see ``advice`` for the total)."""
    return list(advice(analysis, settings).findings)


def advice(analysis: Analysis, settings: AdviseSettings | None = None) -> Advice:
    """Every finding for ``analysis``, sorted, with the total saving and the base image found."""
    settings = settings or AdviseSettings()
    ctx = _Context(analysis, settings)
    found: list[Finding] = []
    ignored = 0
    for finding in ctx.run():
        if settings.ignores(RULES_BY_ID[finding.id]):
            ignored += 1
        else:
            found.append(finding)
    found.sort(key=lambda f: (-(f.bytes_saved or 0), -f.severity.rank, f.id, f.layers, f.paths))
    unique: dict[tuple[int, str], int] = {}
    for f in found:
        for layer, path, size in f.copies:
            unique[(layer, path)] = size
    return Advice(tuple(found), sum(unique.values()), analysis.summary.size, ctx.base, ignored)


# ---------------------------------------------------------------------------- the rules

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

# Build-context junk: a directory name anywhere in the path -> the .dockerignore line that keeps it out
_JUNK_DIRS = {
    ".git": ".git",
    ".hg": ".hg",
    ".svn": ".svn",
    "node_modules": "**/node_modules",
    ".vscode": ".vscode",
    ".idea": ".idea",
    "__pycache__": "**/__pycache__",
    ".pytest_cache": "**/.pytest_cache",
    ".mypy_cache": "**/.mypy_cache",
    ".tox": ".tox",
    "tests": "tests",
    "test": "test",
    "__tests__": "**/__tests__",
}
_JUNK_FILES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r".*\.log$"), "**/*.log"),
    (re.compile(r"^\.DS_Store$"), "**/.DS_Store"),
    (re.compile(r"^Thumbs\.db$"), "**/Thumbs.db"),
    (re.compile(r"^\.env(?:\..*)?$"), "**/.env*"),
    (re.compile(r"^(?:Docker|Container)file.*$"), "Dockerfile*"),
    (re.compile(r"^\.dockerignore$"), ".dockerignore"),
    (re.compile(r"^docker-compose.*\.ya?ml$"), "docker-compose*.yml"),
)
# Names that are junk only at the top of the build context: libraries ship their own tests/ and Dockerfiles.
_TOP_LEVEL_ONLY = frozenset({"tests", "test", "__tests__", "Dockerfile*", ".dockerignore", "docker-compose*.yml"})
_DOTENV = re.compile(r"^\.env(?:\..+)?$")
_ENV_EXAMPLE = re.compile(r"\.(?:example|sample|template|dist|defaults)$")

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


_SSH_KEYS = frozenset({"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk"})
_SECRET_VAR = re.compile(rf"(?i)^(?:.*[_.-])?{SECRET_WORDS}(?:[_.-].*)?$")
_POINTER_VAR = re.compile(r"(?i)_(?:FILE|PATH|DIR|URL|URI|HOST|PORT|NAME|USER|ID)$")
_ARGS_PREFIX = re.compile(r"^\|(\d+)((?: [^\s=]+=\S*)*) ")
_SECRET_KINDS = {
    "private-key": "private key",
    "ssh-private-key": "SSH private key",
    "dotenv": ".env file",
    "npm-token": ".npmrc with an auth token",
    "pypi-password": ".pypirc with a password",
    "netrc-password": ".netrc with a password",
    "git-credentials": ".git-credentials with a password",
    "aws-credentials": "AWS credentials file",
    "docker-auth": "Docker config with registry auths",
}
# The usual way to give each kind to the build without writing it into a layer.
_SECRET_FIXES = {
    "private-key": "mount the key for the step that needs it: `RUN --mount=type=secret,id=tls_key ...`, "
    "or give it to the container at run time (a volume or an orchestrator secret)",
    "ssh-private-key": "use the build's SSH agent instead of a key file: `RUN --mount=type=ssh git clone ...` "
    "(`docker build --ssh default`)",
    "dotenv": "add `**/.env*` to .dockerignore and pass the values at run time (`docker run --env-file .env`)",
    "npm-token": "`RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci`",
    "pypi-password": "`RUN --mount=type=secret,id=pypirc,target=/root/.pypirc pip install ...`",
    "netrc-password": "`RUN --mount=type=secret,id=netrc,target=/root/.netrc ...`",
    "git-credentials": "`RUN --mount=type=secret,id=gitcreds,target=/root/.git-credentials git clone ...`",
    "aws-credentials": "`RUN --mount=type=secret,id=aws,target=/root/.aws/credentials aws s3 cp ...`, "
    "or an IAM role at run time",
    "docker-auth": "`RUN --mount=type=secret,id=dockercfg,target=/root/.docker/config.json ...`",
}


class _Context:
    """What every rule needs: the analysis, the settings, the base, and indexes built once."""

    def __init__(self, analysis: Analysis, settings: AdviseSettings) -> None:
        self.a = analysis
        self.settings = settings
        self.base = find_base(analysis.image)
        self.first = self.base.layer_count if self.base else 0  # the first layer of the Dockerfile's own
        self.hidden_by = {(w.layer, w.path): w.hidden_by for w in analysis.wasted_files}
        self.claimed: set[tuple[int, str]] = set()  # copies a cache or secret finding already names

    def run(self) -> Iterator[Finding]:
        yield from self.secret_files()
        yield from self.secret_config()
        yield from self.caches()
        yield from self.junk()
        yield from self.cleanup()
        yield from self.metadata_rewrites()
        yield from self.toolchain()
        yield from self.duplicates()
        yield from self.many_layers()
        yield from self.large_base()
        yield from self.root_user()
        yield from self.tags()
        yield from self.healthcheck()
        yield from self.modes()

    # -- helpers ---------------------------------------------------------------

    def command(self, layer: int) -> str:
        return redact(self.a.layers[layer].command) if 0 <= layer < len(self.a.layers) else ""

    def where(self, layer: int) -> str:
        cmd = " ".join(self.command(layer).split())
        short = cmd if len(cmd) <= 60 else cmd[:59] + "…"
        return f"layer {layer} (`{short}`)" if short else f"layer {layer}"

    def stored(self, layer: LayerReport) -> Iterator[tuple[str, int]]:
        """The regular files ``layer`` stores (path, bytes), allowlisted paths left out."""
        for c in layer.changes:
            if c.kind is not ChangeKind.REMOVED and c.type is EntryType.FILE and not self.settings.allowed(c.path):
                yield c.path, c.size

    def own_layers(self) -> Iterable[LayerReport]:
        return self.a.layers[self.first :]

    def finding(
        self,
        rule_id: str,
        message: str,
        layers: Iterable[int],
        copies: list[tuple[int, str, int]],
        fix: str,
        *,
        saves: bool = True,
        paths: list[str] | None = None,
        title: str | None = None,
    ) -> Finding:
        rule = RULES_BY_ID[rule_id]
        ordered = sorted(copies, key=lambda c: (-c[2], c[1], c[0]))
        listed = paths if paths is not None else list(dict.fromkeys(c[1] for c in ordered))
        layer_tuple = tuple(sorted(set(layers)))
        return Finding(
            id=rule.id,
            name=rule.name,
            severity=rule.severity,
            title=title or rule.title,
            message=message,
            layers=layer_tuple,
            commands=tuple(self.command(i) for i in layer_tuple),
            paths=tuple(listed[:MAX_PATHS]),
            path_count=len(listed),
            bytes_saved=sum(c[2] for c in copies) if saves else None,
            fix=fix,
            copies=tuple(ordered) if saves else (),
        )

    # -- secrets -----------------------------------------------------------------

    def secret_files(self) -> Iterator[Finding]:
        # By name: SSH keys and .env files; by content (imgscope.sniff): private keys, credential files.
        kinds: dict[tuple[int, str], str] = {}
        for layer in self.a.layers:
            for path, _size in self.stored(layer):
                name = path.rpartition("/")[2]
                if name in _SSH_KEYS:
                    kinds[(layer.index, path)] = "ssh-private-key"
                elif _DOTENV.match(name) and not _ENV_EXAMPLE.search(name):
                    kinds[(layer.index, path)] = "dotenv"
        for s in self.a.sniffed:
            if not self.settings.allowed(s.path):
                kinds.setdefault((s.layer, s.path), s.kind)
        groups: dict[tuple[int, str], list[tuple[int, str, int]]] = defaultdict(list)
        for (layer_index, path), kind in kinds.items():
            groups[(layer_index, kind)].append((layer_index, path, 0))
        for (layer_index, kind), copies in sorted(groups.items()):
            self.claimed.update((c[0], c[1]) for c in copies)
            gone = sorted({self.hidden_by[(c[0], c[1])] for c in copies if (c[0], c[1]) in self.hidden_by})
            label = _SECRET_KINDS[kind]
            n = len(copies)
            text = f"{n} {label}{'s' if n > 1 and not label.endswith('s') else ''} stored in {self.where(layer_index)}"
            if gone:
                text += (
                    f"; removed again in layer {', '.join(map(str, gone))}, but still in layer {layer_index}: "
                    "anyone who pulls the image can extract it from that layer's tar"
                )
            if layer_index < self.first:
                text += " (this layer comes from the base image)"
            text += ". The content is not shown."
            fix = (
                f"Never COPY or write secrets into a layer; {_SECRET_FIXES[kind]}. Keep secrets out of the build "
                "context with .dockerignore. Rotate this one: it has been published with the image."
            )
            yield self.finding(
                "IS201",
                text,
                [layer_index, *gone],
                copies,
                fix,
                saves=False,
                title=f"{label[0].upper()}{label[1:]} in a layer",
            )

    def secret_config(self) -> Iterator[Finding]:
        names: dict[str, set[str]] = defaultdict(set)  # variable -> where
        runtime = self.a.image.config.get("config")
        env = runtime.get("Env") if isinstance(runtime, dict) else None
        for item in env if isinstance(env, list) else []:
            if isinstance(item, str) and "=" in item:
                name, value = item.split("=", 1)
                if value and _is_secret_var(name):
                    names[f"ENV {name}"].add("the image config")
        layers: set[int] = set()
        for position, h in enumerate(self.a.history):
            created_by = (h.created_by or "").strip()
            if created_by.startswith("RUN "):
                created_by = created_by[4:]
            match = _ARGS_PREFIX.match(created_by)
            if match:
                for pair in match.group(2).split():
                    name, _, value = pair.partition("=")
                    if value and _is_secret_var(name):
                        names[f"ARG {name}"].add(f"history entry {position}")
                        if h.layer_index is not None:
                            layers.add(h.layer_index)
            command = h.command
            if command.startswith("ENV "):
                for name, value in _env_pairs(command[4:]):
                    if value and _is_secret_var(name):
                        names[f"ENV {name}"].add(f"history entry {position}")
        if not names:
            return
        described = "; ".join(f"{var} (in {_places(w)})" for var, w in sorted(names.items()))
        fix = (
            "Do not pass secrets with ENV or ARG: use `RUN --mount=type=secret,id=NAME` at build time and inject "
            "them at run time (`docker run --env-file`, orchestrator secrets). Rotate the values: they are published."
        )
        yield self.finding(
            "IS202",
            f"Secret-looking variables with values recorded in the image: {described}. The values are not shown.",
            layers,
            [],
            fix,
            saves=False,
            paths=sorted(names),
        )

    # -- size ----------------------------------------------------------------------

    def caches(self) -> Iterator[Finding]:
        for layer in self.own_layers():
            is_copy = _is_copy(layer.command)
            groups: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
            for path, size in self.stored(layer):
                if size == 0:
                    continue
                if "__pycache__" in path and _PYCACHE.search(path):
                    if not is_copy:
                        groups["__pycache__"].append((layer.index, path, size))
                    continue
                match = _ANY_CACHE.search(path) if "cache" in path or "/apt/lists/" in path else None
                if match is not None and match.lastgroup is not None:
                    groups[_CACHES[int(match.lastgroup[1:])][0]].append((layer.index, path, size))
            for label, copies in groups.items():
                self.claimed.update((c[0], c[1]) for c in copies)
                gone = sorted({self.hidden_by[(c[0], c[1])] for c in copies if (c[0], c[1]) in self.hidden_by})
                later = (
                    f"; removed in {', '.join(self.where(g) for g in gone)}, but the bytes stay in layer {layer.index}"
                    if gone
                    else ""
                )
                n = len(copies)
                text = f"{label}: {n} file{'s' * (n != 1)} left by {self.where(layer.index)}{later}."
                if label == "__pycache__":
                    fix = (
                        "Set `ENV PYTHONDONTWRITEBYTECODE=1` before the RUN that installs or runs Python, or end "
                        "it with "
                        "`&& find / -name __pycache__ -prune -exec rm -rf {} +` (keep them if start-up time matters "
                        "more than size)"
                    )
                    yield self.finding("IS103", text, [layer.index, *gone], copies, fix)
                else:
                    fix = next(f for lb, _p, f in _CACHES if lb == label)
                    if gone:
                        fix += " A later `rm` saves nothing: the earlier layer keeps the bytes."
                    yield self.finding(
                        "IS102",
                        text,
                        [layer.index, *gone],
                        copies,
                        fix,
                        title=f"{label[0].upper()}{label[1:]} left in a layer",
                    )

    def junk(self) -> Iterator[Finding]:
        for layer in self.own_layers():
            if not _is_copy(layer.command):
                continue
            lines: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
            stored = list(self.stored(layer))
            if not stored:
                continue
            # Where the COPY put the context; test folders and Dockerfiles count only at its top level, so a
            # library's own tests/ copied from a build stage are not taken for build-context junk.
            root = _copy_destination(layer.command)
            if root is None or not all(p.startswith(root.rstrip("/") + "/") for p, _ in stored):
                root = posixpath.commonpath([posixpath.dirname(p) for p, _ in stored])
            for path, size in stored:
                line = _junk_line(path[len(root) :] if root != "/" else path)
                if line is not None:
                    lines[line].append((layer.index, path, size))
            if not lines:
                continue
            copies = [c for group in lines.values() for c in group]
            self.claimed.update((c[0], c[1]) for c in copies)  # the fix is .dockerignore, not a later rm
            parts = ", ".join(
                f"{line} ({len(g)} file{'s' * (len(g) != 1)}, {sum(c[2] for c in g):,} bytes)"
                for line, g in sorted(lines.items(), key=lambda kv: -sum(c[2] for c in kv[1]))
            )
            text = f"{self.where(layer.index)} copied files a .dockerignore would keep out: {parts}."
            fix = "Add a .dockerignore next to the Dockerfile with:\n" + "\n".join(sorted(lines))
            yield self.finding("IS104", text, [layer.index], copies, fix)

    def cleanup(self) -> Iterator[Finding]:
        pairs: dict[tuple[int, int], list[tuple[int, str, int]]] = defaultdict(list)
        for w in self.a.wasted_files:
            if w.layer < self.first or w.reason in (WasteReason.METADATA_ONLY, WasteReason.IDENTICAL):
                continue
            if (w.layer, w.path) in self.claimed or self.settings.allowed(w.path):
                continue
            pairs[(w.layer, w.hidden_by)].append((w.layer, w.path, w.size))
        for (written, hidden), copies in sorted(pairs.items()):
            if not any(c[2] for c in copies):
                continue
            n = len(copies)
            text = (
                f"{n} file{'s' * (n != 1)} written by {self.where(written)} and removed or replaced by "
                f"{self.where(hidden)}: the bytes stay in layer {written}."
            )
            if _is_copy(self.a.layers[written].command):
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
            yield self.finding("IS101", text, [written, hidden], copies, fix)

    def metadata_rewrites(self) -> Iterator[Finding]:
        pairs: dict[tuple[int, int], list[tuple[int, str, int]]] = defaultdict(list)
        same: set[tuple[int, int]] = set()
        for w in self.a.wasted_files:
            if w.layer < self.first or w.reason not in (WasteReason.METADATA_ONLY, WasteReason.IDENTICAL):
                continue
            if self.settings.allowed(w.path):
                continue
            pairs[(w.layer, w.hidden_by)].append((w.layer, w.path, w.size))
            if w.reason is WasteReason.IDENTICAL:
                same.add((w.layer, w.hidden_by))
        for (written, hidden), copies in sorted(pairs.items()):
            n = len(copies)
            how = (
                "with the same bytes (only mode/owner changed, or nothing)"
                if (written, hidden) in same
                else "only to change mode or owner"
            )
            text = (
                f"{n} file{'s' * (n != 1)} of {self.where(written)} copied whole again by {self.where(hidden)} "
                f"{how}; both copies are stored."
            )
            fix = (
                "Set mode and owner where the file is made: `COPY --chmod=0755 --chown=app:app src dst`, or "
                f"chmod/chown in the same RUN that writes the file (layer {written}), not in a later one."
            )
            yield self.finding("IS106", text, [written, hidden], copies, fix)

    def toolchain(self) -> Iterator[Finding]:
        found: list[tuple[int, str, int]] = []
        records: set[int] = set()  # hard links share one stored copy (Alpine's gcc and its triplet name)
        for f in self.final_own_files():
            if f.type in (EntryType.FILE, EntryType.SYMLINK, EntryType.HARDLINK) and _is_toolchain(f.path):
                first = f.record < 0 or f.record not in records
                records.add(f.record)
                found.append((f.layer, f.path, f.size if f.type is not EntryType.SYMLINK and first else 0))
        if not found:
            return
        layers = sorted({c[0] for c in found})
        tools = sorted({c[1].rpartition("/")[2] for c in found if "/bin/" in c[1]})
        headers = sum(1 for c in found if c[1].startswith("/usr/include/"))
        what = ", ".join(tools) if tools else "toolchain files"
        if headers:
            what += f", {headers} header{'s' * (headers != 1)} under /usr/include"
        text = (
            f"Build tools in the final image ({what}), {len(found)} paths from "
            f"{', '.join(self.where(i) for i in layers)}."
        )
        fix = (
            "Use a multi-stage build: install the toolchain and build in a `FROM ... AS build` stage, then start the "
            "final stage from a runtime base and `COPY --from=build` only the built artefacts."
        )
        yield self.finding(
            "IS105",
            text,
            layers,
            [c for c in found if c[2]],
            fix,
            paths=[c[1] for c in sorted(found, key=lambda c: (-c[2], c[1]))],
        )

    def final_own_files(self) -> Iterator[FileRecord]:
        for f in self.a.files:
            if f.layer >= self.first and not self.settings.allowed(f.path):
                yield f

    def duplicates(self) -> Iterator[Finding]:
        by_path = {f.path: f for f in self.a.files}
        copies: list[tuple[int, str, int]] = []
        groups = 0
        for g in self.a.duplicates:
            records = sorted((by_path[p] for p in g.paths if p in by_path), key=lambda f: (f.layer, f.path))
            extra = [f for f in records[1:] if f.layer >= self.first and not self.settings.allowed(f.path)]
            if not extra:
                continue
            groups += 1
            copies.extend((f.layer, f.path, g.size) for f in extra)
        if not copies:
            return
        layers = sorted({c[0] for c in copies})
        text = (
            f"{len(copies)} path{'s' * (len(copies) != 1)} in the final image "
            f"{'hold' if len(copies) != 1 else 'holds'} "
            "the same bytes as another path "
            f"({groups} group{'s' * (groups != 1)}), written by {', '.join(self.where(i) for i in layers)}."
        )
        fix = (
            "Keep one copy: replace `cp a b` by `ln -s a b` (or a hard link made in the same RUN), or COPY the file "
            "once and point the other users to it."
        )
        yield self.finding("IS107", text, layers, copies, fix)

    def many_layers(self) -> Iterator[Finding]:
        start = self.base.history_count if self.base else 0
        runs: list[list[int]] = []
        current: list[int] = []
        for h in self.a.history[start:]:
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
            yield self.finding("IS108", text, run, [], fix, saves=False, paths=[])

    def large_base(self) -> Iterator[Finding]:
        if self.base is None:
            return
        base_bytes = sum(r.size for r in self.a.layers[: self.base.layer_count])
        size = self.a.summary.size
        share = base_bytes / size if size else 0.0
        if base_bytes < self.settings.large_base or share < self.settings.large_base_share:
            return
        name = self.base.name or "the base image"
        text = (
            f"{name} makes {base_bytes:,} bytes of the image's {size:,} ({100 * share:.1f} %), "
            f"in {first_layers(self.base.layer_count)}; found by: {self.base.evidence}."
        )
        fix = (
            "Consider a smaller base: the `-slim` variant of the same image, alpine, or a distroless image for the "
            "final stage of a multi-stage build."
        )
        yield self.finding("IS109", text, range(self.base.layer_count), [], fix, saves=False, paths=[])

    # -- runtime hygiene -------------------------------------------------------------

    def runtime(self) -> dict[str, Any]:
        value = self.a.image.config.get("config")
        return value if isinstance(value, dict) else {}

    def root_user(self) -> Iterator[Finding]:
        user = str(self.runtime().get("User") or "").strip()
        name = user.split(":", 1)[0]
        if name not in ("", "root", "0"):
            return
        said = f"User is {user!r}" if user else "no User is set"
        fix = (
            "Create an unprivileged user and switch to it: `RUN adduser -D -u 10001 app` (Debian: `useradd -r -u "
            "10001 app`) then `USER 10001:10001` before CMD."
        )
        yield self.finding(
            "IS301", f"The container runs as root: {said} in the image config.", [], [], fix, saves=False, paths=[]
        )

    def tags(self) -> Iterator[Finding]:
        img = self.a.image
        problems: list[str] = []
        if not img.tags:
            problems.append("the image has no tag")
        elif all(_tag_of(t) == "latest" for t in img.tags):
            problems.append(f"the image is tagged only {', '.join(img.tags)}")
        base_name = self.base.name if self.base else None
        if base_name and _tag_of(base_name) in ("latest", None) and "@" not in base_name:
            problems.append(f"the base is {base_name} (FROM without a pinned tag)")
        if not problems:
            return
        fix = (
            "Tag each build with a version (`-t app:1.4.2` or the git commit), and pin the base: "
            "`FROM debian:12.5-slim` or, better, `FROM debian:12.5-slim@sha256:...`."
        )
        yield self.finding("IS302", "; ".join(problems).capitalize() + ".", [], [], fix, saves=False, paths=[])

    def healthcheck(self) -> Iterator[Finding]:
        check = self.runtime().get("Healthcheck")
        test = check.get("Test") if isinstance(check, dict) else None
        if isinstance(test, list) and test and test[0] != "NONE":
            return
        # OCI configs have no Healthcheck field: skopeo drops it, the history keeps the step.
        if not isinstance(test, list) and any(h.command.startswith("HEALTHCHECK") for h in self.a.history):
            return
        fix = "Add `HEALTHCHECK --interval=30s --timeout=3s CMD <a command that fails when the service is unhealthy>`."
        yield self.finding("IS303", "The image defines no HEALTHCHECK.", [], [], fix, saves=False, paths=[])

    def modes(self) -> Iterator[Finding]:
        special: list[FileRecord] = []
        writable: list[FileRecord] = []
        for f in self.final_own_files():
            if f.type is EntryType.SYMLINK:
                continue
            if f.type is not EntryType.DIR and f.mode & 0o6000:
                special.append(f)
            # Files and directories only: device nodes (/dev/null, /dev/zero) and fifos are 0666 by design.
            if f.type in _WRITABLE_KINDS and f.mode & 0o002 and not (f.type is EntryType.DIR and f.mode & 0o1000):
                writable.append(f)
        if special:
            layers = sorted({f.layer for f in special})
            listing = ", ".join(f"{f.path} ({f.mode:04o})" for f in special[:MAX_PATHS])
            fix = "Drop the bits where the file is made: `chmod u-s,g-s FILE` in the same RUN, or `COPY --chmod=0755`."
            yield self.finding(
                "IS304",
                f"{len(special)} setuid/setgid file{'s' * (len(special) != 1)}: {listing}.",
                layers,
                [],
                fix,
                saves=False,
                paths=[f.path for f in special],
            )
        if writable:
            layers = sorted({f.layer for f in writable})
            listing = ", ".join(f"{f.path} ({f.type.value} {f.mode:04o})" for f in writable[:MAX_PATHS])
            fix = (
                "Give the directory to the user that writes it (`COPY --chown=app:app`, `chown app: DIR`, "
                "mode 0755/0750), or add the sticky bit to shared directories (`chmod 1777 DIR`, as /tmp); "
                "files: `chmod o-w FILE`."
            )
            yield self.finding(
                "IS305",
                f"{len(writable)} world-writable path{'s' * (len(writable) != 1)} without the sticky bit: {listing}.",
                layers,
                [],
                fix,
                saves=False,
                paths=[f.path for f in writable],
            )


_WRITABLE_KINDS = frozenset({EntryType.FILE, EntryType.HARDLINK, EntryType.DIR})


def _is_copy(command: str) -> bool:
    return command.startswith(("COPY ", "ADD "))


def _is_secret_var(name: str) -> bool:
    return bool(_SECRET_VAR.match(name)) and not _POINTER_VAR.search(name)


def _env_pairs(text: str) -> Iterator[tuple[str, str]]:
    """``A=1 B="x y"`` (or the legacy ``A 1``) as name/value pairs; values are only tested, never kept."""
    if "=" not in text.split(" ", 1)[0]:
        name, _, value = text.partition(" ")
        yield name, value.strip()
        return
    for match in re.finditer(r"([^\s=]+)=(\"(?:[^\"\\]|\\.)*\"|'[^']*'|\S*)", text):
        yield match.group(1), match.group(2).strip("\"'")


_COPY_DEST = re.compile(r"^(?:COPY|ADD) (?:.* in (/\S*)|.* (/\S*))\s*$")


def _copy_destination(command: str) -> str | None:
    """The absolute destination of ``COPY ... in /dest`` (classic, buildah) or ``COPY src /dest`` (BuildKit)."""
    match = _COPY_DEST.match(" ".join(command.split()))
    if match is None:
        return None
    dest = posixpath.normpath(match[1] or match[2])
    return None if dest.endswith(("/.", "/..")) else dest


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


def _tag_of(ref: str) -> str | None:
    last = ref.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def _places(where: set[str]) -> str:
    entries = sorted(int(w.rpartition(" ")[2]) for w in where if w.startswith("history entry "))
    named = sorted(w for w in where if not w.startswith("history entry "))
    if entries:
        named.insert(0, f"history entr{'y' if len(entries) == 1 else 'ies'} {_ranges(entries)}")
    return ", ".join(named)


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 5]`` as ``1-3, 5``."""
    out: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(out)
