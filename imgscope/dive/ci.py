"""dive 0.13.1's CI rules, read and judged as dive does: ``.dive-ci`` files, thresholds, verdicts and messages.

What dive does (``runtime/ci/rule.go`` and ``evaluator.go`` of dive 0.13.1, checked against the binary on the
samples, ``samples/dive/ci/``):

* A ``.dive-ci`` is YAML with a ``rules`` table of three keys, matched case-insensitively (viper): ``lowestEfficiency``
  (default ``0.9``), ``highestWastedBytes`` (default ``disabled``), ``highestUserWastedPercent`` (default ``0.1``).
  A key given no value keeps its default. dive's ``--lowestEfficiency`` (etc.) flags win over the file.
* Scalars resolve as yaml.v3 resolves them (YAML 1.2 with Go's number syntax): ``1e5`` is a number, ``yes``/``off``
  are strings, ``1:30`` is a string (YAML 1.1's sexagesimal 90), ``0o17`` and ``017`` are 15, underscores are
  dropped from a number (``1_000.5``, ``0.9_5``). Only the first YAML document is read. Every value is then
  read as a string (a YAML number ``0.9`` becomes ``"0.9"``, ``1e5`` becomes ``"100000"``). Exactly
  ``disabled`` turns a rule off (``Disabled``, ``off`` or an empty string are errors).
* The two ratios are parsed with Go's ``strconv.ParseFloat`` (``5%`` is an error; ``"0.9_9"`` is 0.99) and must
  lie in 0..1;
  ``highestWastedBytes`` with go-humanize's ``ParseBytes`` (``20MB`` = 20,000,000; ``20MiB`` = 20,971,520).
* Comparisons are strict: a value equal to its threshold passes. ``lowestEfficiency`` fails when
  ``threshold > efficiency``, ``highestWastedBytes`` when ``wasted > threshold``, ``highestUserWastedPercent``
  when ``userWasted > threshold`` (a NaN figure never fails).
* A bad value makes dive print ``CI Misconfigured`` and exit 1; imgscope exits 2 with the rule and the value.

The figures judged are dive's own (``Analysis.dive``), equal to dive's to the last digit.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from imgscope.dive.golang import go_format, go_parse_float, go_parse_int, yaml_to_go_string
from imgscope.errors import UsageError
from imgscope.text import printable
from imgscope.units import parse_size

LOWEST_EFFICIENCY = "lowestEfficiency"
HIGHEST_WASTED_BYTES = "highestWastedBytes"
HIGHEST_USER_WASTED_PERCENT = "highestUserWastedPercent"
DIVE_RULES = (LOWEST_EFFICIENCY, HIGHEST_WASTED_BYTES, HIGHEST_USER_WASTED_PERCENT)
DIVE_DEFAULTS = {LOWEST_EFFICIENCY: "0.9", HIGHEST_WASTED_BYTES: "disabled", HIGHEST_USER_WASTED_PERCENT: "0.1"}
DISABLED = "disabled"
DIVE_CI_FILE = ".dive-ci"


@dataclass(frozen=True)
class DiveThresholds:
    """dive's three thresholds; None for a rule that is disabled."""

    lowest_efficiency: float | None = 0.9
    highest_wasted_bytes: int | None = None
    highest_user_wasted_percent: float | None = 0.1

    @classmethod
    def parse(cls, values: dict[str, str], where: dict[str, str] | None = None) -> DiveThresholds:
        """From dive's strings (missing rules take dive's defaults); UsageError naming the rule and the value."""
        merged = {**DIVE_DEFAULTS, **values}
        origin = where or {}
        return cls(
            lowest_efficiency=parse_ratio(LOWEST_EFFICIENCY, merged[LOWEST_EFFICIENCY], origin.get(LOWEST_EFFICIENCY)),
            highest_wasted_bytes=parse_bytes(merged[HIGHEST_WASTED_BYTES], origin.get(HIGHEST_WASTED_BYTES)),
            highest_user_wasted_percent=parse_ratio(
                HIGHEST_USER_WASTED_PERCENT,
                merged[HIGHEST_USER_WASTED_PERCENT],
                origin.get(HIGHEST_USER_WASTED_PERCENT),
            ),
        )


def parse_ratio(rule: str, value: str, where: str | None = None) -> float | None:
    """A ratio threshold as dive reads it: ``disabled`` -> None; else a Go float from 0 to 1."""
    if value == DISABLED:
        return None
    place = where or f"dive rule {rule}"
    try:
        threshold = go_parse_float(value)
    except ValueError as exc:
        hint = _percent_hint(value)
        raise UsageError(place, f"{rule}: invalid value {value!r}: {exc}{hint}") from None
    if threshold < 0 or threshold > 1:
        raise UsageError(place, f"{rule}: {value!r} is outside the allowed range 0-1")
    return threshold


def _percent_hint(value: str) -> str:
    """For ``95%``: " (dive takes a ratio: write 0.95 for 95%)"; nothing for what is not a percent."""
    text = value.strip()
    if not text.endswith("%"):
        return ""
    try:
        ratio = Decimal(text[:-1].strip()) / 100
    except (ArithmeticError, InvalidOperation):
        return " (dive takes a ratio from 0 to 1, not a percent)"
    return f" (dive takes a ratio: write {format(ratio.normalize(), 'f')} for {text})"


def parse_bytes(value: str, where: str | None = None) -> int | None:
    """``highestWastedBytes`` as dive reads it: ``disabled`` -> None; else go-humanize's ``ParseBytes``."""
    if value == DISABLED:
        return None
    if not value[:1].isdigit() and value[:1] not in (".", ","):  # ParseBytes reads the number first
        raise UsageError(
            where or f"dive rule {HIGHEST_WASTED_BYTES}",
            f"{HIGHEST_WASTED_BYTES}: {value!r} does not start with a number",
        )
    try:
        return parse_size(value)
    except ValueError as exc:
        raise UsageError(where or f"dive rule {HIGHEST_WASTED_BYTES}", f"{HIGHEST_WASTED_BYTES}: {exc}") from None


def read_dive_ci(
    path: str | os.PathLike[str], *, strict: bool = False, warnings: list[str] | None = None
) -> dict[str, str]:
    """The rules a ``.dive-ci`` file sets, as dive's strings (rules given no value are left out).

    Keys dive does not use (dive's own example file has ``plugins:`` and a ``plugin1/rule1`` rule) are ignored as
    dive ignores them, each with a warning appended to ``warnings`` ("did you mean" for a near-miss of a rule
    name); with ``strict`` they are a UsageError instead. Needs PyYAML (a dependency of imgscope). UsageError for
    unreadable or malformed files.
    """
    where = os.fspath(path)
    try:
        import yaml
    except ImportError:
        raise UsageError(where, "reading a .dive-ci file needs PyYAML: pip install pyyaml") from None
    try:
        with open(path, "rb") as fh:  # yaml.v3's Unmarshal, which viper calls, reads the first document alone
            data = next(iter(yaml.load_all(fh, Loader=_dive_loader(yaml))), None)
    except OSError as exc:
        raise UsageError(where, f"cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise UsageError(where, f"not valid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise UsageError(where, "not a .dive-ci: nested too deeply") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(where, f"a .dive-ci holds a 'rules' table, not {type(data).__name__}")

    def unknown(message: str, name: str, candidates: tuple[str, ...]) -> None:
        close = difflib.get_close_matches(name.lower(), [c.lower() for c in candidates], n=1, cutoff=0.75)
        hint = next((f" (did you mean {c}?)" for c in candidates if close and c.lower() == close[0]), "")
        if strict:
            raise UsageError(where, f"{message}{hint}")
        if warnings is not None:
            warnings.append(printable(f"{where}: {message}{hint}; ignored, as dive ignores it"))

    for key in data:
        if str(key).lower() != "rules":
            unknown(f"unknown key {str(key)!r} (a .dive-ci holds 'rules')", str(key), ("rules",))
    rules = next((v for k, v in data.items() if str(k).lower() == "rules"), None)
    if rules is None:
        return {}
    if not isinstance(rules, dict):
        raise UsageError(where, f"'rules' must be a table of {', '.join(DIVE_RULES)}, not {type(rules).__name__}")
    by_lower = {name.lower(): name for name in DIVE_RULES}
    out: dict[str, str] = {}
    for key, value in rules.items():
        name = by_lower.get(str(key).lower())
        if name is None:
            unknown(f"unknown rule {str(key)!r} (dive knows {', '.join(DIVE_RULES)})", str(key), DIVE_RULES)
            continue
        if value is None:
            continue
        if isinstance(value, (list, dict)):
            raise UsageError(where, f"{name}: expected a number, a size or 'disabled', not a {type(value).__name__}")
        out[name] = yaml_to_go_string(value)
    return out


_YAML_BOOL = "tag:yaml.org,2002:bool"
_YAML_FLOAT = "tag:yaml.org,2002:float"
_YAML_INT = "tag:yaml.org,2002:int"
_YAML12_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
#: A plain scalar yaml.v3 may read as a number (its resolve table: a digit, a sign or a dot first).
_V3_NUMBER_TAG = "tag:imgscope,2024:yaml.v3-number"
_V3_NUMBER_START = re.compile(r"^[-+0-9.]")
_V3_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")  # yaml.v3's yamlStyleFloat
_V3_SPECIAL = {
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}


def _dive_loader(yaml: Any) -> Any:
    """PyYAML's SafeLoader resolving scalars as dive's YAML library (yaml.v3, YAML 1.2) does: ``1e5`` is a
    number (PyYAML's YAML 1.1 wants ``1.0e5``), ``off``/``yes`` are strings (1.1 makes them booleans), numbers
    are Go's (``_yaml_v3_number``: no sexagesimal ``1:30``, ``0o17`` octal, underscores anywhere in a number)."""

    class DiveLoader(yaml.SafeLoader):  # type: ignore[misc]
        pass

    dropped = (_YAML_BOOL, _YAML_FLOAT, _YAML_INT)
    DiveLoader.yaml_implicit_resolvers = {
        first: [(tag, regex) for tag, regex in resolvers if tag not in dropped]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    DiveLoader.add_implicit_resolver(_YAML_BOOL, _YAML12_BOOL, list("tTfF"))
    # after the timestamp resolver, which stays: yaml.v3 also tries a timestamp first
    DiveLoader.add_implicit_resolver(_V3_NUMBER_TAG, _V3_NUMBER_START, list("-+0123456789."))
    DiveLoader.add_constructor(_V3_NUMBER_TAG, lambda loader, node: _yaml_v3_number(loader.construct_scalar(node)))
    return DiveLoader


def _yaml_v3_number(text: str) -> int | float | str:
    """A plain scalar starting with a digit, a sign or a dot, as yaml.v3's ``resolve`` reads it: a Go int
    (``strconv.ParseInt(plain, 0, 64)``, then ``ParseUint``), a float of ``yamlStyleFloat``, ``0b``/``0o``
    digits, with every ``_`` dropped first; one starting with a dot is Go's ``ParseFloat`` of it as written; else
    the string as written."""
    if text in _V3_SPECIAL:
        return _V3_SPECIAL[text]
    if text.startswith("."):
        try:
            return go_parse_float(text)
        except ValueError:
            return text
    plain = text.replace("_", "")
    number = go_parse_int(plain, 0)
    if number is None:
        number = go_parse_int(plain, 0, unsigned=True)
    if number is not None:
        return number
    if _V3_FLOAT.match(plain):
        try:
            return go_parse_float(plain)
        except ValueError:  # out of range
            pass
    for prefix, base in (("0b", 2), ("0o", 8)):
        digits = plain[2:] if plain.startswith(prefix) else "-" + plain[3:] if plain.startswith("-" + prefix) else None
        if digits is not None:
            number = go_parse_int(digits, base)
            if number is None and not digits.startswith("-"):
                number = go_parse_int(digits, base, unsigned=True)
            if number is not None:
                return number
    return text


def failure_message(rule: str, actual: float, threshold: float) -> str:
    """dive's message for a failed rule, verbatim."""
    if rule == LOWEST_EFFICIENCY:
        return f"image efficiency is too low (efficiency={go_format(actual)} < threshold={go_format(threshold)})"
    if rule == HIGHEST_WASTED_BYTES:
        return f"too many bytes wasted (wasted-bytes={int(actual)} > threshold={int(threshold)})"
    return (
        "too many bytes wasted, relative to the user bytes added "
        f"(%-user-wasted-bytes={go_format(actual)} > threshold={go_format(threshold)})"
    )


def fails(rule: str, actual: float, threshold: float) -> bool:
    """dive's comparison for ``rule`` (strict: equal to the threshold passes; NaN never fails)."""
    if rule == LOWEST_EFFICIENCY:
        return threshold > actual
    return actual > threshold
