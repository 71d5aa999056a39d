"""npm: every ``node_modules/<name>/package.json`` (and ``node_modules/@scope/<name>/package.json``) is an
installed package owning its directory (less the packages nested in it). Dev dependencies are known from a
lockfile: the project's ``package-lock.json`` (v2/v3 ``packages`` map) or npm's hidden
``node_modules/.package-lock.json``. Read with the standard library's ``json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from imgscope.packages.records import PackageRecord, ParsedDatabase

NM = "/node_modules/"
HIDDEN_LOCK = ".package-lock.json"


def package_dir(path: str) -> str | None:
    """The package directory ``path`` (a ``package.json``) describes, if it is one of ``node_modules``."""
    head, _, name = path.rpartition("/")
    if name != "package.json":
        return None
    parent, _, base = head.rpartition("/")
    if parent.endswith("/node_modules") and not base.startswith(".") and not base.startswith("@"):
        return head
    grand, _, scope = parent.rpartition("/")
    if scope.startswith("@") and grand.endswith("/node_modules") and not base.startswith("."):
        return head
    return None


def wants(path: str) -> bool:
    """Whether ``path`` is an installed package's ``package.json`` or a lockfile saying which are dev."""
    if path.endswith("/package.json"):
        return package_dir(path) is not None
    if path.endswith("/node_modules/" + HIDDEN_LOCK):
        return True
    return path.endswith("/package-lock.json") and NM not in path


def reduce(path: str, data: bytes) -> bytes:
    """What needs keeping: a package.json's name/version/license; a lockfile's dev entries. Never raises."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return data[:0] if len(data) > 4096 else data  # kept (small) so that parse() reports it
    if not isinstance(doc, dict):
        return b"null"
    if path.endswith("/package.json"):
        keep = {k: doc[k] for k in ("name", "version", "license") if isinstance(doc.get(k), str)}
        return json.dumps(keep).encode()
    packages = doc.get("packages")
    if isinstance(packages, dict):
        dev = sorted(k for k, v in packages.items() if isinstance(v, dict) and v.get("dev") is True)
        return json.dumps({"lockfileVersion": doc.get("lockfileVersion"), "dev": dev}).encode()
    return json.dumps({"lockfileVersion": doc.get("lockfileVersion"), "dev": None}).encode()


def _dev_sets(files: Mapping[str, bytes], notes: list[str]) -> dict[str, set[str]]:
    """Project root -> package paths (``node_modules/a/node_modules/b``, relative) a lockfile marks dev."""
    out: dict[str, set[str]] = {}
    for path in sorted(files):
        if path.endswith("/" + HIDDEN_LOCK):
            root = path[: -len("/node_modules/" + HIDDEN_LOCK)]
        elif path.endswith("/package-lock.json"):
            root = path[: -len("/package-lock.json")]
        else:
            continue
        try:
            doc = json.loads(files[path])
        except (ValueError, RecursionError):
            notes.append(f"{path}: not valid JSON; dev dependencies unknown")
            continue
        dev = doc.get("dev") if isinstance(doc, dict) else None
        if not isinstance(dev, list):
            notes.append(f"{path}: no 'packages' map (lockfile v1?); dev dependencies unknown")
            continue
        out.setdefault(root or "/", set()).update(d for d in dev if isinstance(d, str))
    return out


def parse_npm(files: Mapping[str, bytes]) -> list[ParsedDatabase]:
    """Installed npm packages among ``files`` (``/``-rooted paths to reduced bytes), one database per project."""
    notes: list[str] = []
    dev = _dev_sets(files, notes)
    projects: dict[str, list[PackageRecord]] = {}
    for path in sorted(files):
        tree = package_dir(path)
        if tree is None:
            continue
        root = tree[: tree.index(NM)] or "/"
        try:
            doc = json.loads(files[path])
        except (ValueError, RecursionError):
            doc = None
        if not isinstance(doc, dict):
            notes.append(f"{path}: not a JSON object; the package is listed by its directory name")
            doc = {}
        name = doc.get("name") if isinstance(doc.get("name"), str) else None
        if not name:
            name = tree[tree.rindex(NM) + len(NM) :]
        relative = tree[len(root) :].lstrip("/") if root != "/" else tree.lstrip("/")
        projects.setdefault(root, []).append(
            PackageRecord(
                ecosystem="npm",
                name=name,
                version=str(doc.get("version", "")),
                database=path,
                tree=tree,
                dev=relative in dev.get(root, ()),
                license=str(doc.get("license", ""))[:100],
            )
        )
    out = [
        ParsedDatabase("npm", f"{root.rstrip('/')}/node_modules", "npm-node-modules", tuple(pkgs))
        for root, pkgs in sorted(projects.items())
    ]
    if notes:
        if out:
            first = out[0]
            out[0] = ParsedDatabase(first.ecosystem, first.path, first.format, first.packages, notes=tuple(notes))
        else:
            out.append(ParsedDatabase("npm", "/", "npm-node-modules", (), notes=tuple(notes)))
    return out
