"""Sizes and percents as people write them: ``150MB``, ``1.5GiB``, ``5%``, ``0.05``.

Sizes follow go-humanize's ``ParseBytes`` (the parser dive uses), so a threshold means the same
here as in a ``.dive-ci`` file: SI units are powers of 1000 (``kB``, ``MB``, ``GB``; also the bare
letters ``k``, ``M``, ``G``), binary units powers of 1024 (``KiB``, ``MiB``, ``GiB``; also ``Ki``,
``Mi``, ``Gi``), case-insensitive, a space allowed before the unit, commas as thousands separators.
"""

from __future__ import annotations

import math
import re

_SI = ["k", "m", "g", "t", "p", "e"]
_UNITS: dict[str, int] = {"": 1, "b": 1}
for _power, _letter in enumerate(_SI, start=1):
    _UNITS[_letter] = _UNITS[_letter + "b"] = 1000**_power
    _UNITS[_letter + "i"] = _UNITS[_letter + "ib"] = 1024**_power

_NUMBER = re.compile(r"^[0-9.,]*")
_MAX_SIZE = 2**63


def parse_size(value: str | int | float) -> int:
    """Bytes from ``150MB``, ``1.5GiB``, ``2,000,000`` or a plain number; ValueError when it is not a size.

    >>> parse_size("1.5 KiB"), parse_size("2MB"), parse_size(512)
    (1536, 2000000, 512)
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size")
    if isinstance(value, (int, float)):
        number, unit = float(value), 1
    else:
        text = value.strip()
        if text.startswith("-"):
            raise ValueError(f"{value!r} is not a size (it must be zero or more)")
        digits = _NUMBER.match(text)
        num = digits.group(0).replace(",", "") if digits else ""
        suffix = text[len(digits.group(0)) if digits else 0 :].strip().lower()
        if suffix not in _UNITS:
            raise ValueError(f"{value!r} is not a size (unknown unit {suffix!r}; use B, kB, MB, GB, KiB, MiB, GiB)")
        try:
            number = float(num)
        except ValueError:
            raise ValueError(f"{value!r} is not a size (expected a number, then a unit)") from None
        unit = _UNITS[suffix]
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{value!r} is not a size (it must be zero or more)")
    total = number * unit
    if total >= _MAX_SIZE:
        raise ValueError(f"{value!r} is too large a size")
    return int(total)


def parse_percent(value: str | int | float) -> float:
    """A fraction from ``5%`` (five percent) or ``0.05`` (a plain number is a fraction from 0 to 1).

    A bare number above 1 is refused rather than guessed: ``5`` could mean 5 % or 500 %.

    >>> parse_percent("5%"), parse_percent("0.05"), parse_percent(1)
    (0.05, 0.05, 1.0)
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a percent")
    percent = isinstance(value, str) and value.strip().endswith("%")
    text = value.strip().removesuffix("%").strip() if isinstance(value, str) else value
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a percent (write 5% or 0.05)") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{value!r} is not a percent (it must be zero or more)")
    if percent:
        return number / 100
    if number > 1:
        raise ValueError(f"{value!r} is ambiguous: write {number:g}% for a percent, or a fraction from 0 to 1")
    return number


def json_number(value: int | float | None) -> int | float | None:
    """A number for a JSON document: NaN and infinity (which JSON lacks) become null."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


_SIZE_UNITS = ("kB", "MB", "GB", "TB", "PB", "EB")


def format_size(n: int | float) -> str:
    """Bytes for people, in decimal units as ``docker images`` shows them: ``1 B``, ``294 B``, ``1.2 kB``,
    ``2.3 MB`` (one decimal from 1 kB on; the sign kept)."""
    sign = "-" if n < 0 else ""
    value = abs(float(n))
    if value < 1000:
        return f"{sign}{int(value)} B"
    for unit in _SIZE_UNITS:
        value /= 1000
        if value < 999.95 or unit == _SIZE_UNITS[-1]:
            return f"{sign}{value:.1f} {unit}"
    raise AssertionError("unreachable")


def format_percent(fraction: float | None, *, against: float | None = None, digits: int = 1) -> str:
    """A fraction for people, the one way imgscope shows a percent: ``4.5%`` (one decimal, no space).

    ``against``: a figure shown beside this one (a limit); when the two differ but would read the same, more
    decimals are shown (as many as it takes) so that they read differently: ``5.01%`` against ``5.00%``. ``digits``: the
    decimals to show at least (dive's figures are shown with dive's four). None and NaN are
    ``n/a``, infinities ``∞%`` and ``-∞%``. (dive's own figures keep dive's format where imgscope prints dive's
    text: ``imgscope.dive``.)

    >>> format_percent(0.0447), format_percent(0.0501, against=0.05), format_percent(1.0), format_percent(None)
    ('4.5%', '5.01%', '100.0%', 'n/a')
    """
    if fraction is None or math.isnan(fraction):
        return "n/a"
    if math.isinf(fraction):
        return "∞%" if fraction > 0 else "-∞%"
    if against is not None and math.isfinite(against) and against != fraction:
        while digits < 17 and f"{100 * fraction:.{digits}f}" == f"{100 * against:.{digits}f}":
            digits += 1
    text = f"{100 * fraction:.{digits}f}"
    if text.startswith("-") and not text.strip("-0."):
        text = text[1:]  # a tiny negative figure is 0.0%, not -0.0%
    return f"{text}%"
