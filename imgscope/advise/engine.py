"""The advice pass: every rule, in order, over one image; the settings that drop findings; the total saved."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from imgscope.advise import hygiene, packages, secrets, size
from imgscope.advise.context import Context
from imgscope.advise.model import Advice, Finding, Rule
from imgscope.analysis import Analysis
from imgscope.errors import UsageError
from imgscope.globs import Glob
from imgscope.model import Image
from imgscope.packages import ImagePackages, scan_packages
from imgscope.settings import find_settings, load_settings, section
from imgscope.units import parse_percent, parse_size

#: Every rule, by id (``docs/advice.md``; SARIF lists them in this order).
RULES: tuple[Rule, ...] = (
    size.cleanup_in_later_layer,
    size.package_cache,
    size.python_bytecode,
    size.build_context_junk,
    size.build_toolchain,
    size.metadata_only_rewrite,
    size.duplicate_content,
    size.many_layers,
    size.large_base,
    size.identical_rewrite,
    packages.docs_locales,
    packages.npm_dev_dependencies,
    secrets.secret_file,
    secrets.secret_in_config,
    hygiene.runs_as_root,
    hygiene.unpinned_tag,
    hygiene.no_healthcheck,
    hygiene.setuid_setgid,
    hygiene.world_writable,
)
RULES_BY_ID = {r.id: r for r in RULES}
RULES_BY_NAME = {r.name: r for r in RULES}

#: The order the rules run in: the rules that claim stored copies (secrets, caches, bytecode, junk) before the
#: cleanup rule, which leaves the claimed copies out.
EVALUATION_ORDER: tuple[Rule, ...] = (
    secrets.secret_file,
    secrets.secret_in_config,
    size.package_cache,
    size.python_bytecode,
    size.build_context_junk,
    size.cleanup_in_later_layer,
    size.metadata_only_rewrite,
    size.identical_rewrite,
    size.build_toolchain,
    size.duplicate_content,
    size.many_layers,
    size.large_base,
    packages.docs_locales,
    packages.npm_dev_dependencies,
    hygiene.runs_as_root,
    hygiene.unpinned_tag,
    hygiene.no_healthcheck,
    hygiene.setuid_setgid,
    hygiene.world_writable,
)
assert sorted(r.id for r in EVALUATION_ORDER) == [r.id for r in RULES]


@dataclass(frozen=True)
class AdviseSettings:
    """``[tool.imgscope.advise]``: ``ignore`` (ids or names), ``allow`` (path globs), the large-base thresholds.

    Attributes:
        ignore: finding ids or names to drop
        allow: path globs no finding names
        large_base: bytes from which the base counts as large (IS109)
        large_base_share: share of the image's bytes from which the base counts as large (IS109)
    """

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
            if item not in RULES_BY_ID and item not in RULES_BY_NAME:
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


Source = Analysis | Image | ImagePackages | str | os.PathLike[str] | IO[bytes]


def advise(
    source: Source, settings: AdviseSettings | None = None, *, image: str | None = None, platform: str | None = None
) -> list[Finding]:
    """The findings for an image (a path, an ``Image`` or an ``Analysis``), most severe first, then largest saving
    (see ``advice`` for the total)."""
    return list(advice(source, settings, image=image, platform=platform).findings)


def advice(
    source: Source, settings: AdviseSettings | None = None, *, image: str | None = None, platform: str | None = None
) -> Advice:
    """Every finding for an image (a path, an ``Image``, an ``Analysis`` or an ``ImagePackages``), sorted, with the
    total saving and the base image found. A path or an ``Image`` is read once, its package databases with it;
    an ``Analysis`` alone carries no package databases, so the package rules (IS111, IS112, IS105's packages)
    need an ``ImagePackages`` (``imgscope.scan_packages``) instead."""
    scanned: ImagePackages | None
    if isinstance(source, ImagePackages):
        scanned = source
        analysis = source.analysis
    elif isinstance(source, Analysis):
        scanned = None
        analysis = source
    else:
        scanned = scan_packages(source, image=image, platform=platform)
        analysis = scanned.analysis
    settings = settings or AdviseSettings()
    ctx = Context(analysis, settings, scanned)
    found: list[Finding] = []
    ignored = 0
    for rule in EVALUATION_ORDER:
        if not settings.ignores(rule):
            found.extend(rule.findings(ctx))
            continue
        # counted, but its copies stay unclaimed: the cleanup rule (IS101) reports them instead
        claimed = set(ctx.claimed)
        ignored += sum(1 for _finding in rule.findings(ctx))
        ctx.claimed = claimed
    # the most severe first (the secrets), then the largest saving: in the terminal, the JSON and SARIF alike
    found.sort(key=lambda f: (-f.severity.rank, -(f.bytes_saved or 0), f.id, f.layers, f.paths))
    unique: dict[tuple[int, str], int] = {}
    for f in found:
        for copy in f.copies:
            unique[(copy.layer, copy.path)] = copy.size
    return Advice(tuple(found), sum(unique.values()), analysis.summary.size, ctx.base, ignored, analysis.image.notes)
