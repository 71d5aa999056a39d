"""What an image may weigh: the ``Budget`` that ``imgscope check`` judges, and where it is read from.

A budget comes from, highest precedence first: command-line options; ``[tool.imgscope.check]`` in
``pyproject.toml`` or ``[check]`` in ``.imgscope.toml`` (or the file given with ``--config``); a ``.dive-ci``
file (dive's three rules only); dive's defaults. Scalar values of a higher source replace lower ones; lists
(``forbid``, ``forbid-in-layers``, ``ignore``) and the per-path table (``paths``) are combined.

Every value is checked when the budget is built: a bad one raises ``UsageError`` naming where it came from,
the rule, and the value (the CLI turns that into exit code 2).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from imgscope.dive import ci as dive_ci
from imgscope.dive import golang
from imgscope.dive.ci import DiveThresholds
from imgscope.errors import ImgscopeError, UsageError, option, option_given
from imgscope.globs import Glob
from imgscope.settings import find_settings, load_settings, section
from imgscope.sources.reference import resolve_source
from imgscope.units import format_percent, parse_percent, parse_size

_DIGEST = re.compile(r"^(?:sha256:)?[0-9a-f]{12,64}$")

#: Settings keys and the kind of value each takes.
SIZE_KEYS = (
    "max-size",
    "max-compressed-size",
    "max-final-size",
    "max-layer-size",
    "max-wasted",
    "max-growth",
    "max-layer-growth",
    "max-package-size",
)
GROWTH_KEYS = ("max-growth", "max-growth-percent", "max-layer-growth", "max-layer-growth-percent")
PERCENT_KEYS = ("max-wasted-percent", "max-growth-percent", "max-layer-growth-percent")
GLOB_KEYS = ("forbid", "forbid-in-layers", "ignore")
#: Lists of package-name globs (``gcc*``; shell-style, case-sensitive; commas separate several in one item).
PACKAGE_KEYS = ("forbid-package",)
DIVE_KEYS = {
    "lowest-efficiency": dive_ci.LOWEST_EFFICIENCY,
    "highest-wasted-bytes": dive_ci.HIGHEST_WASTED_BYTES,
    "highest-user-wasted-percent": dive_ci.HIGHEST_USER_WASTED_PERCENT,
}
OTHER_KEYS = ("max-layers", "exclude-base", "base-layers", "paths")
FILE_KEYS = ("baseline", "dive-ci")  # settings that name files, not limits
ALL_KEYS = (*SIZE_KEYS, *PERCENT_KEYS, *GLOB_KEYS, *PACKAGE_KEYS, *DIVE_KEYS, *OTHER_KEYS, *FILE_KEYS)


@dataclass(frozen=True)
class PathLimit:
    """At most ``max_bytes`` of regular-file content under ``glob`` in the final filesystem.

    Attributes:
        glob: the paths it limits
        max_bytes: the most bytes they may hold
    """

    glob: Glob
    max_bytes: int


@dataclass(frozen=True)
class Budget:
    """The limits an image must keep; every one optional (None or empty: not checked).

    Sizes are bytes, percents fractions (0.05 is 5 %). ``exclude_base`` is a layer count or ``"auto"`` (find the
    base from the image's history, ``imgscope.history.base_image.find_base``); ``base_layers`` lists digests or
    diff_ids of base layers. Both only affect the waste rules. ``dive`` holds dive's three thresholds when
    dive's rules are to be checked.

    Attributes:
        max_size: most content bytes stored in all layers
        max_compressed_size: most bytes of the layer blobs as stored
        max_final_size: most bytes visible in the final filesystem
        max_layer_size: most content bytes in any one layer
        max_layers: most layers
        max_wasted: most wasted bytes (base layers and ignored paths excluded)
        max_wasted_percent: most wasted share of the stored bytes, a fraction (written ``10%`` or ``0.1``)
        exclude_base: layers left out of waste: a count, or ``auto`` for the base found
        base_layers: diff_ids of the base image's layers, left out of waste
        paths: most bytes under each glob
        forbid: globs that must not be in the final image
        forbid_in_layers: globs that must not be in any layer
        ignore: globs left out of the waste, path and forbid rules
        max_growth: most growth of the content size over the baseline
        max_growth_percent: most growth over the baseline, as a share
        max_layer_growth: most growth of any layer position over the baseline
        max_layer_growth_percent: most growth of any layer position, as a share
        max_package_size: most bytes any one package may own (``imgscope.packages``)
        forbid_package: package-name globs (``gcc*``) that must not be in the final image
        dive: dive's CI rules and their thresholds
        notes: what the budget's sources said while it was read
        origins: where each setting was written, (key, place) pairs (``options['max-size']``, or the command
            line's ``--max-size``; ``pyproject.toml [tool.imgscope.check] max-size``), so that an error names it; a
            key not listed names itself
    """

    max_size: int | None = None
    max_compressed_size: int | None = None
    max_final_size: int | None = None
    max_layer_size: int | None = None
    max_layers: int | None = None
    max_wasted: int | None = None
    max_wasted_percent: float | None = None
    exclude_base: int | Literal["auto"] | None = None
    base_layers: tuple[str, ...] = ()
    paths: tuple[PathLimit, ...] = ()
    forbid: tuple[Glob, ...] = ()
    forbid_in_layers: tuple[Glob, ...] = ()
    ignore: tuple[Glob, ...] = ()
    max_growth: int | None = None
    max_growth_percent: float | None = None
    max_layer_growth: int | None = None
    max_layer_growth_percent: float | None = None
    max_package_size: int | None = None  # bytes any one package may own (imgscope.packages)
    forbid_package: tuple[str, ...] = ()  # package names (globs) that must not be in the final image
    dive: DiveThresholds | None = None
    notes: tuple[str, ...] = field(default=(), compare=False)
    origins: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        self._coerce()
        for name in (k.replace("-", "_") for k in (*SIZE_KEYS, "max-layers")):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise UsageError(self.where(_key(name)), f"{value!r} is not a size in bytes (zero or more)")
        for name in (k.replace("-", "_") for k in PERCENT_KEYS):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise UsageError(self.where(_key(name)), f"{value!r} is not a fraction (zero or more)")
        if self.max_wasted_percent is not None and self.max_wasted_percent > 1:
            shown = format_percent(self.max_wasted_percent)
            raise UsageError(
                self.where("max-wasted-percent"), f"{shown} is above 100% (no image wastes more than all of it)"
            )
        base = self.exclude_base
        if base is not None and base != "auto" and (isinstance(base, bool) or not isinstance(base, int) or base < 0):
            raise UsageError(self.where("exclude-base"), f"{base!r} is not a layer count or 'auto'")
        if self.base_layers and base is not None:
            raise UsageError(
                self.where("exclude-base"),
                f"exclude-base and base-layers ({self.where('base-layers')}) both name the base: give one",
            )
        for digest in self.base_layers:
            if not _DIGEST.match(digest):
                raise UsageError(self.where("base-layers"), f"{digest!r} is not a sha256 digest")
        for limit in self.paths:
            if limit.max_bytes < 0:
                raise UsageError(self.where("paths"), f"{limit.glob}: {limit.max_bytes} is negative")

    def where(self, key: str) -> str:
        """Where the setting ``key`` (``max-size``) was written, for an error message: the option, the settings
        file and key, or the key itself."""
        return dict(self.origins).get(key, key)

    def _coerce(self) -> None:
        """Accept what people write: ``Budget(max_size="150MB", forbid=("**/.git/**",))``."""
        if isinstance(self.forbid_package, str) or any("," in p for p in self.forbid_package):
            object.__setattr__(self, "forbid_package", package_globs(self.forbid_package))
        try:
            for key in (*SIZE_KEYS, *PERCENT_KEYS):
                name = key.replace("-", "_")
                if isinstance(getattr(self, name), str):
                    object.__setattr__(self, name, _convert(key, getattr(self, name)))
            for key in GLOB_KEYS:
                name = key.replace("-", "_")
                globs = getattr(self, name)
                if any(isinstance(g, str) for g in globs):
                    object.__setattr__(self, name, tuple(Glob(g) if isinstance(g, str) else g for g in globs))
        except ValueError as exc:
            raise UsageError(self.where(key), str(exc)) from None

    @property
    def empty(self) -> bool:
        """True when no rule at all is set (what the waste and path rules leave out, or count as the base, is no
        rule)."""
        return all(
            getattr(self, f.name) in (None, ())
            for f in fields(self)
            if f.name not in ("exclude_base", "base_layers", "ignore", "notes", "origins")
        )


def package_globs(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Package-name globs from ``"build-essential,gcc*"`` or a list of such items; empty items dropped."""
    items = [value] if isinstance(value, str) else list(value)
    out = [g.strip() for item in items for g in str(item).split(",") if g.strip()]
    return tuple(dict.fromkeys(out))


def _key(name: str) -> str:
    return name.replace("_", "-")


@dataclass(frozen=True)
class BudgetConfig:
    """A budget and the files it came from: what ``load_budget`` returns.

    Attributes:
        budget: the budget read
        baseline: a baseline report or image named in the settings or options
        sources: the files read, for the report
        warnings: what was read but ignored (a .dive-ci's keys dive does not use)
    """

    budget: Budget
    baseline: str | None
    sources: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def load_budget(
    options: Mapping[str, Any] | None = None,
    *,
    config: str | os.PathLike[str] | None = None,
    start: str | os.PathLike[str] = ".",
    dive_ci_file: str | os.PathLike[str] | bool | None = None,
    strict: bool = False,
    baseline_optional: bool = False,
    option_names: Mapping[str, str] | None = None,
) -> BudgetConfig:
    """Build a budget from options (settings keys, e.g. ``{"max-size": "150MB"}``) over the settings file over a
    ``.dive-ci``.

    ``config`` names the settings file (else it is looked for from ``start``, ``imgscope.settings``).
    ``dive_ci_file``: a path to read; False to read none; None to read ``start/.dive-ci`` when it exists and
    the settings do not say otherwise (as dive reads ``.dive-ci`` in the current directory). A ``.dive-ci``'s
    keys dive does not use are ignored with a warning (``BudgetConfig.warnings``, also in the budget's notes), or
    a UsageError with ``strict``.

    A growth rule with no baseline is a UsageError (a CI job must not pass on a rule it never checked), unless
    ``baseline_optional``: then the growth rules are skipped, also when the baseline named is not there (a first
    build has none).

    ``option_names`` names the option a key of ``options`` was given with (the command line's flags: ``--max-size``;
    its ``--base-image`` gives ``base-layers``), for error messages; a key it does not name is ``options['KEY']``.
    """
    opts = {k: v for k, v in (options or {}).items() if v not in (None, ())}
    names = dict(option_names or {})
    _check_keys(opts, "options", repr)
    settings_file = Path(config) if config is not None else find_settings(start)
    table: dict[str, Any] = {}
    sources: list[str] = []
    if settings_file is not None:
        if not settings_file.is_file():
            raise UsageError(str(settings_file), "no such settings file")
        name = "[tool.imgscope.check]" if settings_file.name == "pyproject.toml" else "[check]"
        table = section(load_settings(settings_file), "check", str(settings_file))
        _check_keys(table, f"{settings_file} {name}", lambda k: k)
        if table:
            sources.append(f"{settings_file} {name}")
    layers: list[tuple[str, Mapping[str, Any]]] = []
    dive_values: dict[str, str] = {}
    dive_where: dict[str, str] = {}
    warnings: list[str] = []
    dive_file = _dive_ci_path(dive_ci_file, table, settings_file, start)
    if dive_file is not None:
        for rule, value in dive_ci.read_dive_ci(dive_file, strict=strict, warnings=warnings).items():
            dive_values[rule] = value
            dive_where[rule] = f"{dive_file} rules.{rule}"
        sources.append(str(dive_file))
    if settings_file is not None:
        layers.append((f"{settings_file} {name}", table))
    layers.append(("", opts))
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    for origin, layer in layers:
        for key, value in layer.items():
            place = f"{origin} {key}" if origin else names.get(key, f"options[{key!r}]")
            if key in GLOB_KEYS or key in PACKAGE_KEYS or key == "base-layers":
                values[key] = [*values.get(key, []), *_string_list(value, place)]
                where[key] = place
            elif key == "paths":
                values[key] = {**values.get(key, {}), **_path_table(value, place)}
                where[key] = place
            elif key in DIVE_KEYS:
                dive_values[DIVE_KEYS[key]] = _dive_string(value, place)
                dive_where[DIVE_KEYS[key]] = place
            elif key not in FILE_KEYS:
                values[key] = value
                where[key] = place
    budget = _build(values, where)
    notes: list[str] = list(warnings)
    dive_thresholds: DiveThresholds | None = None
    if dive_values or dive_file is not None:
        dive_thresholds = DiveThresholds.parse(dive_values, dive_where)
    elif budget.empty:
        dive_thresholds = DiveThresholds()
        notes.append("no rule configured: checking dive's default CI rules (as `dive --ci` does)")
    baseline = opts.get("baseline", table.get("baseline"))
    if baseline is not None and not isinstance(baseline, str):
        given = names.get("baseline", "options['baseline']")
        place = given if "baseline" in opts else f"{settings_file} {name} baseline"
        raise UsageError(place, f"{baseline!r} is not a path")
    if baseline is not None and "baseline" not in opts and settings_file is not None:
        baseline = str(settings_file.parent / baseline)
    growth = [key for key in GROWTH_KEYS if getattr(budget, key.replace("-", "_")) is not None]
    if growth and baseline is None and not baseline_optional:
        raise UsageError(
            where[growth[0]],
            f"{growth[0]} needs a baseline: give {option('baseline')} REPORT|IMAGE (or baseline in the settings), "
            f"or {option_given('baseline_optional', True)} to skip the growth rules when there is none",
        )
    if baseline_optional and baseline is not None and _missing_file(baseline):
        notes.append(f"baseline {baseline} not found: growth rules skipped ({option_given('baseline_optional', True)})")
        baseline = None
    final = Budget(**{**_as_kwargs(budget), "dive": dive_thresholds, "notes": tuple(notes)})
    return BudgetConfig(final, baseline, tuple(sources), tuple(warnings))


def _missing_file(name: str) -> bool:
    """True when a baseline names a file that is not there (a registry or daemon image is not a file)."""
    try:
        src = resolve_source(name)
    except ImgscopeError:
        return True
    return src.is_file and src.transport != "stdin" and not os.path.exists(src.path or name)


def _as_kwargs(budget: Budget) -> dict[str, Any]:
    return {f.name: getattr(budget, f.name) for f in fields(budget)}


def _dive_ci_path(
    given: str | os.PathLike[str] | bool | None,
    table: Mapping[str, Any],
    settings_file: Path | None,
    start: str | os.PathLike[str],
) -> Path | None:
    if given is False:
        return None
    if given is not None and given is not True:
        path = Path(given)
        if not path.is_file():
            raise UsageError(str(path), "no such .dive-ci file")
        return path
    setting = table.get("dive-ci")
    if setting is False:
        return None
    if isinstance(setting, str):
        path = (settings_file.parent if settings_file else Path(start)) / setting
        if not path.is_file():
            raise UsageError(f"{settings_file} dive-ci", f"{setting!r}: no such .dive-ci file")
        return path
    if setting is not None:
        raise UsageError(f"{settings_file} dive-ci", f"{setting!r} is not a path or false")
    found = Path(start) / dive_ci.DIVE_CI_FILE
    return found if found.is_file() else None


def _check_keys(table: Mapping[str, Any], where: str, show: Any) -> None:
    for key in table:
        if key not in ALL_KEYS:
            close = difflib.get_close_matches(str(key), ALL_KEYS, n=1)
            hint = f" (did you mean {show(close[0])}?)" if close else ""
            raise UsageError(where, f"unknown setting {show(key)}{hint}")


def _string_list(value: Any, where: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise UsageError(where, f"expected a list of strings, not {value!r}")
    return list(items)


def _path_table(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    out: dict[str, Any] = {}
    for item in _string_list(value, where):  # "GLOB=SIZE" or "GLOB<=SIZE", as on the command line
        glob, sep, size = item.rpartition("=")
        if not sep or not glob.strip():
            raise UsageError(where, f"{item!r} is not GLOB=SIZE (e.g. '/usr/lib/**=150MB')")
        out[glob.removesuffix("<").strip()] = size.strip()
    return out


def _dive_string(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return golang.yaml_to_go_string(value)
    raise UsageError(where, f"{value!r} is not a number, a size or 'disabled'")


def _build(values: dict[str, Any], where: dict[str, str]) -> Budget:
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        place = where[key]
        try:
            kwargs[key.replace("-", "_")] = _convert(key, value)
        except ValueError as exc:
            raise UsageError(place, str(exc)) from None
    return Budget(**kwargs, origins=tuple(where.items()))


def _convert(key: str, value: Any) -> Any:
    if key in SIZE_KEYS:
        return _size(value)
    if key in PERCENT_KEYS:
        return parse_percent(value)
    if key == "max-layers":
        return _count(value)
    if key == "exclude-base":
        return "auto" if value == "auto" else _count(value)
    if key == "base-layers":
        digests = tuple(v.strip().lower() for v in value)
        for digest in digests:
            if not _DIGEST.match(digest):
                raise ValueError(f"{digest!r} is not a sha256 digest (sha256:<hex>, 12 hex digits at least)")
        return digests
    if key in GLOB_KEYS:
        return tuple(Glob(v) for v in dict.fromkeys(value))
    if key in PACKAGE_KEYS:
        return package_globs(value)
    if key == "paths":
        limits = []
        for pattern, size in value.items():
            try:
                limits.append(PathLimit(Glob(pattern), _size(size)))
            except ValueError as exc:
                raise ValueError(f"{pattern!r}: {exc}") from None
        return tuple(limits)
    raise ValueError(f"unknown setting {key}")  # pragma: no cover - keys are checked before


def _size(value: Any) -> int:
    if isinstance(value, (int, float, str)) and str(value).strip().startswith("-"):
        raise ValueError(f"{value!r} is negative: a size is zero or more")
    return parse_size(value)


def _count(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a count")
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and value >= 0:
        return value
    raise ValueError(f"{value!r} is not a count (a whole number, zero or more)")
