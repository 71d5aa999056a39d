"""Python distributions: ``*.dist-info/METADATA`` + ``RECORD`` and ``*.egg-info`` (``PKG-INFO`` +
``installed-files.txt``) directly in any ``site-packages`` or ``dist-packages`` directory (every interpreter
prefix, venvs included). Read with the standard library (``email`` headers, ``csv``), as ``importlib.metadata``
would, but from bytes captured from the layers rather than from a filesystem.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Mapping

from imgscope.packages._text import LineBudget, decode, lines, rooted
from imgscope.packages.records import PackageRecord, ParsedDatabase

_SITE_DIRS = ("site-packages", "dist-packages")
_DIST_FILES = ("METADATA", "RECORD")
_EGG_FILES = ("PKG-INFO", "installed-files.txt")


def wants(path: str) -> bool:
    """Whether ``path`` is a metadata file of an installed Python distribution."""
    parts = path.rsplit("/", 3)
    if len(parts) < 3:
        return False
    if parts[-2].endswith(".dist-info"):
        return parts[-1] in _DIST_FILES and len(parts) == 4 and parts[-3] in _SITE_DIRS
    if parts[-2].endswith(".egg-info"):
        return parts[-1] in _EGG_FILES and len(parts) == 4 and parts[-3] in _SITE_DIRS
    return parts[-1].endswith(".egg-info") and parts[-2] in _SITE_DIRS  # a single-file egg-info is PKG-INFO


def reduce(path: str, data: bytes) -> bytes:
    """What needs keeping of a captured file: a METADATA/PKG-INFO's header block (not the long description)."""
    if path.endswith(("/METADATA", "/PKG-INFO", ".egg-info")):
        end = data.find(b"\n\n")
        return data if end < 0 else data[: end + 1]
    return data


def _headers(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    last = ""
    for line in decode(data).split("\n"):
        line = line.rstrip("\r")
        if not line:
            break
        if line[0] in " \t":
            if last:
                out[last] += " " + line.strip()
            continue
        key, sep, value = line.partition(":")
        if sep:
            last = key.strip().lower()
            out.setdefault(last, value.strip())
    return out


def parse_python(files: Mapping[str, bytes]) -> list[ParsedDatabase]:
    """The distributions of every site directory among ``files`` (``/``-rooted paths to bytes), one database each."""
    dists: dict[str, dict[str, dict[str, bytes]]] = defaultdict(dict)
    for path, data in files.items():
        if not wants(path):
            continue
        head, _, name = path.rpartition("/")
        if name.endswith(".egg-info"):
            site, meta, name = head, path, "PKG-INFO"
        else:
            site, meta = head.rpartition("/")[0], head
        dists[site].setdefault(meta, {})[name] = data
    out = []
    for site in sorted(dists):
        notes: list[str] = []
        budget = LineBudget()
        packages = []
        for meta in sorted(dists[site]):
            record = _dist(site, meta, dists[site][meta], notes, budget)
            if record is not None:
                packages.append(record)
        out.append(ParsedDatabase("pypi", site, "python-site", tuple(packages), notes=tuple(notes)))
    return out


def _dist(site: str, meta: str, got: dict[str, bytes], notes: list[str], budget: LineBudget) -> PackageRecord | None:
    egg = meta.endswith(".egg-info")
    info = got.get("PKG-INFO" if egg else "METADATA")
    if info is None:
        notes.append(f"{meta}: no {'PKG-INFO' if egg else 'METADATA'}; skipped")
        return None
    headers = _headers(info)
    name = headers.get("name", "")
    if not name:
        notes.append(f"{meta}: metadata without a Name; skipped")
        return None
    version = headers.get("version", "")
    if not version:
        notes.append(f"{meta}: {name} has no Version")
    files: tuple[str, ...]
    if egg:
        listing = got.get("installed-files.txt")
        files = (meta,)
        if listing is not None:
            listed = lines(decode(listing), f"{meta}/installed-files.txt", notes, budget)
            files += tuple(rooted(line.rstrip("\r"), meta) for line in listed if line.strip())
    else:
        rec = got.get("RECORD")
        if rec is None:
            notes.append(f"{meta}: no RECORD; only its .dist-info directory is attributed to {name}")
            files = (meta,)
        else:
            files = _record(rec, site, meta, notes, budget)
    license_ = headers.get("license-expression") or headers.get("license", "")
    return PackageRecord(
        ecosystem="pypi",
        name=name,
        version=version,
        database=meta,
        files=files,
        license=license_ if len(license_) <= 100 else "",
    )


def _record(data: bytes, site: str, meta: str, notes: list[str], budget: LineBudget) -> tuple[str, ...]:
    out = [meta]
    bad = 0
    try:
        for row in csv.reader(line.rstrip("\r") for line in lines(decode(data), f"{meta}/RECORD", notes, budget)):
            if not row or not row[0]:
                continue
            if len(row) > 3:
                bad += 1
            out.append(rooted(row[0], site))
    except csv.Error as exc:
        notes.append(f"{meta}/RECORD: unreadable from line {exc}")
    if bad:
        notes.append(f"{meta}/RECORD: {bad} rows with more than 3 fields; their first field read as the path")
    if data and not data.endswith(b"\n"):
        notes.append(f"{meta}/RECORD: does not end with a newline (truncated?)")
    return tuple(out)
