"""What a package database says, before any byte is attributed: one ``PackageRecord`` per installed package.

Every parser in this package is a pure function over bytes. Malformed or truncated input never raises: the
parser keeps what it could read and says what it could not in ``ParsedDatabase.notes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Precedence of ownership: a path listed by several packages belongs to the first ecosystem in this order
#: (OS package managers before language package managers), then to the first package in database order.
ECOSYSTEMS = ("deb", "rpm", "apk", "pypi", "npm")
OS_ECOSYSTEMS = frozenset({"deb", "rpm", "apk"})


#: A package's identity within one image: (ecosystem, name, where, arch) -- ``PackageRecord.key``.
PackageKey = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class PackageRecord:
    """One installed package as its database describes it.

    ``files`` are ``/``-rooted paths as the database lists them (directories included where it lists them);
    an npm package owns its whole directory ``tree`` instead. ``declared_size`` (bytes) is what the database
    claims, kept only to compare with the bytes actually found.
    """

    ecosystem: str
    name: str
    version: str
    database: str  # the database file (or package directory) it was read from, "/"-rooted
    arch: str = ""
    files: tuple[str, ...] = ()
    tree: str = ""  # npm: the package directory, "/"-rooted
    declared_size: int | None = None
    dev: bool = False  # npm: a lockfile marks it as a dev dependency
    license: str = ""
    source: str = ""  # deb: the source package; rpm: the source rpm

    @property
    def key(self) -> PackageKey:
        """Identity within one image: (ecosystem, name, where, arch) -- two venvs may hold the same name, and one
        database a package for two architectures (Debian's multiarch ``libc6:amd64`` and ``libc6:i386``, rpm's
        multilib ``glibc.x86_64`` and ``glibc.i686``)."""
        return (self.ecosystem, self.name, self.where, self.arch)

    @property
    def where(self) -> str:
        """Which installation: the npm package directory, the python site-packages, or the OS database."""
        if self.tree:
            return self.tree
        if self.ecosystem == "pypi":
            return self.database.rsplit("/", 1)[0]
        return self.database


@dataclass(frozen=True, slots=True)
class ParsedDatabase:
    """The packages one database holds, and what could not be read in it."""

    ecosystem: str
    path: str  # "/"-rooted: the status file, the rpmdb, a site-packages directory ...
    format: str  # "dpkg-status", "dpkg-status.d", "apk-installed", "rpm-sqlite", "rpm-bdb", "rpm-ndb", ...
    packages: tuple[PackageRecord, ...] = ()
    read: bool = True  # False: a format imgscope does not read (package count unknown)
    notes: tuple[str, ...] = field(default=())
