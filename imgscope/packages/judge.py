"""What the package figures say about an image: which packages build software (``advise``), the rules ``check``
applies, and the package delta ``diff`` shows. Pure functions of ``PackageReport``s."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from imgscope.packages.report import Package, PackageReport
from imgscope.packages.versions import compare

if TYPE_CHECKING:
    pass

#: OS packages that build software and have no business in a final image (names, fnmatch globs).
BUILD_TOOLS = (
    "build-essential",
    "gcc",
    "gcc-[0-9]*",
    "g++",
    "g++-[0-9]*",
    "cpp",
    "cpp-[0-9]*",
    "clang",
    "clang-[0-9]*",
    "llvm",
    "llvm-[0-9]*",
    "binutils",
    "binutils-*",
    "make",
    "cmake",
    "autoconf",
    "automake",
    "libtool",
    "gfortran",
    "gfortran-*",
    "rustc",
    "cargo",
    "golang",
    "golang-[0-9]*",
    "golang-go",
    "musl-dev",
    "linux-headers",
    "libc6-dev",
    "libc-dev",
    "linux-libc-dev",
    "dpkg-dev",
    "pkg-config",
    "pkgconf",
    "gcc-c++",
    "glibc-devel",
    "kernel-headers",
    "build-base",
)
_DEV = re.compile(r".+-(dev|devel)$")
#: Where Debian packages put what ``path-exclude`` in /etc/dpkg/dpkg.cfg.d/ usually drops.
DOC_DIRS = (
    "/usr/share/doc/",
    "/usr/share/man/",
    "/usr/share/info/",
    "/usr/share/locale/",
    "/usr/share/lintian/",
    "/usr/share/help/",
)


def is_build_tool(p: Package) -> bool:
    """A compiler, a build tool or a development-headers package (OS packages only)."""
    if not p.is_os:
        return False
    return bool(_DEV.match(p.name)) or any(fnmatch.fnmatchcase(p.name, g) for g in BUILD_TOOLS)


def too_large(report: PackageReport, limit: int) -> list[Package]:
    """Present packages above ``limit`` bytes, largest first."""
    return [p for p in report.packages if p.size > limit]


def forbidden(report: PackageReport, patterns: Sequence[str]) -> list[Package]:
    """Present packages whose name matches one of ``patterns`` (shell globs, case-sensitive: ``gcc*``)."""
    pats = [p.strip() for p in patterns if p.strip()]
    return [p for p in report.packages if any(fnmatch.fnmatchcase(p.name, g) for g in pats)]


@dataclass(frozen=True, slots=True)
class PackageChange:
    """One package that differs between two images."""

    change: str  # added | removed | upgraded | downgraded | changed (same version order, other bytes/spelling)
    ecosystem: str
    name: str
    location: str
    version_a: str | None
    version_b: str | None
    size_a: int
    size_b: int
    arch: str = ""  # when the database says: a package for two architectures is two packages

    @property
    def delta(self) -> int:
        return self.size_b - self.size_a

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "delta": self.delta}


def diff_packages(a: PackageReport, b: PackageReport) -> list[PackageChange]:
    """Packages added, removed, up- or downgraded (or resized) from ``a`` to ``b``; largest byte change first."""

    def key(p: Package) -> tuple[str, str, str, str]:
        return (p.ecosystem, p.name, p.location, p.arch)

    old = {key(p): p for p in a.packages}
    new = {key(p): p for p in b.packages}
    out = []
    for k in sorted(old.keys() | new.keys()):
        pa, pb = old.get(k), new.get(k)
        eco, name, location, arch = k
        if pa is None and pb is not None:
            out.append(PackageChange("added", eco, name, location, None, pb.version, 0, pb.size, arch))
        elif pb is None and pa is not None:
            out.append(PackageChange("removed", eco, name, location, pa.version, None, pa.size, 0, arch))
        elif pa is not None and pb is not None and (pa.version != pb.version or pa.size != pb.size):
            order = compare(eco, pb.version, pa.version)
            change = "upgraded" if order > 0 else "downgraded" if order < 0 else "changed"
            out.append(PackageChange(change, eco, name, location, pa.version, pb.version, pa.size, pb.size, arch))
    return sorted(out, key=lambda c: (-abs(c.delta), c.name))
