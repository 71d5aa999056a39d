"""Version ordering, to tell an upgrade from a downgrade: Debian's algorithm (also used, as an approximation,
for rpm, apk and npm versions) and PEP 440 (via ``packaging``) for Python."""

from __future__ import annotations

import re

_EPOCH = re.compile(r"^(\d+):")


def _order(c: str) -> int:
    if c == "~":
        return -1
    if c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _compare_part(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return -1 if ac < bc else 1
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return -1 if first_diff < 0 else 1
    return 0


def compare_debian(a: str, b: str) -> int:
    """-1, 0 or 1 as dpkg's ``--compare-versions`` orders ``a`` and ``b`` (epoch:upstream-revision)."""
    ea, eb = _EPOCH.match(a), _EPOCH.match(b)
    epoch_a, epoch_b = int(ea.group(1)) if ea else 0, int(eb.group(1)) if eb else 0
    if epoch_a != epoch_b:
        return -1 if epoch_a < epoch_b else 1
    a, b = a[ea.end() :] if ea else a, b[eb.end() :] if eb else b
    ua, _, ra = a.rpartition("-") if "-" in a else (a, "", "")
    ub, _, rb = b.rpartition("-") if "-" in b else (b, "", "")
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def compare(ecosystem: str, a: str, b: str) -> int:
    """-1, 0 or 1: how version ``a`` orders against ``b`` in ``ecosystem``."""
    if ecosystem == "pypi":
        from packaging.version import InvalidVersion, Version

        try:
            va, vb = Version(a), Version(b)
        except InvalidVersion:
            return compare_debian(a, b)
        return (va > vb) - (va < vb)
    return compare_debian(a, b)
