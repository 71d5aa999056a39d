"""Version ordering, to tell an upgrade from a downgrade: Debian's algorithm (also used, as an approximation,
for rpm and apk versions), SemVer 2.0.0 for npm and PEP 440 (via ``packaging``) for Python."""

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


_SEMVER = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?")


def compare_semver(a: str, b: str) -> int | None:
    """-1, 0 or 1 as SemVer 2.0.0 orders ``a`` and ``b`` (section 11: a pre-release is below its release, build
    metadata is ignored); None when either is no SemVer version."""
    ma, mb = _SEMVER.fullmatch(a), _SEMVER.fullmatch(b)
    if ma is None or mb is None:
        return None
    core_a, core_b = tuple(map(int, ma.group(1, 2, 3))), tuple(map(int, mb.group(1, 2, 3)))
    if core_a != core_b:
        return -1 if core_a < core_b else 1
    pre_a, pre_b = ma.group(4), mb.group(4)
    if pre_a is None or pre_b is None:
        return (pre_a is None) - (pre_b is None)
    for x, y in zip(pre_a.split("."), pre_b.split("."), strict=False):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit() != y.isdigit():
            return -1 if x.isdigit() else 1  # numeric identifiers have lower precedence
        return -1 if x < y else 1
    count_a, count_b = pre_a.count("."), pre_b.count(".")
    return (count_a > count_b) - (count_a < count_b)


def compare(ecosystem: str, a: str, b: str) -> int:
    """-1, 0 or 1: how version ``a`` orders against ``b`` in ``ecosystem``."""
    if ecosystem == "npm":
        semver = compare_semver(a, b)
        if semver is not None:
            return semver
    if ecosystem == "pypi":
        from packaging.version import InvalidVersion, Version

        try:
            va, vb = Version(a), Version(b)
        except InvalidVersion:
            return compare_debian(a, b)
        return (va > vb) - (va < vb)
    return compare_debian(a, b)
