"""Naming an image's source: the containers-transports(5) syntax, Docker's reference rules, and ``--source``.

Every command that takes an image takes one *source name*:

==============================  ===============================================================
``docker-archive:PATH[:REF]``   a ``docker save`` tar; REF picks a tag, digest or ``@N`` (index)
``oci:DIR[:REF]``               an OCI layout directory; REF an ``org.opencontainers.image.ref.name``
``oci-archive:PATH[:REF]``      an OCI layout in a tar
``dir:PATH``                    skopeo's directory layout (``manifest.json`` + blobs named by hex)
``docker-daemon:NAME[:TAG]``    the Docker Engine (``DOCKER_HOST``); NAME may be an image id
``podman:NAME[:TAG]``           Podman's Docker-compatible API socket
``docker://REF``                a registry: ``[HOST[:PORT]/]REPO[:TAG|@DIGEST]``
``-``                           a ``docker save`` stream or OCI archive on stdin
``PATH[:REF]`` / ``REF``        bare: an existing path first, else an image reference (registry)
==============================  ===============================================================

``--source docker|podman|registry|archive`` (dive's flag) forces one reading of a bare name.
Nothing here touches the network: it only parses and looks at the filesystem.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from imgscope.errors import UsageError, option, option_given

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
MAX_NAME_LENGTH = 255

# distribution/reference's grammar (reference/regexp.go), spelled out.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_DOMAIN_RE = re.compile(_DOMAIN)
_PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_TAG_RE = re.compile(_TAG)
_DIGEST_RE = re.compile(_DIGEST)
_IMAGE_ID_RE = re.compile(r"(?:sha256:)?[0-9a-f]{64}")

TRANSPORTS = ("docker-archive", "oci", "oci-archive", "dir", "docker-daemon", "podman", "docker")
SOURCE_CHOICES = ("docker", "podman", "registry", "archive")
_SOURCE_TRANSPORTS = {
    "docker": ("docker-daemon",),
    "podman": ("podman",),
    "registry": ("docker",),
    "archive": ("path", "docker-archive", "oci", "oci-archive", "dir", "stdin"),
}
_FILE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".tzst", ".oci", ".json")


class ReferenceError(UsageError):
    """A source name or image reference that cannot be parsed, or that reads two ways."""


@dataclass(frozen=True)
class ImageReference:
    """A normalised image reference: ``docker.io/library/nginx:latest``.

    At least one of ``tag`` and ``digest`` is set (``latest`` when neither was written).

    Attributes:
        domain: the registry as users write it (``docker.io``, ``ghcr.io``, ``localhost:5000``)
        repository: the path below it (``library/nginx``)
        tag: the tag, or None for a reference by digest alone
        digest: the manifest digest (``sha256:…``) when pinned
    """

    domain: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``domain/repository``, without tag or digest."""
        return f"{self.domain}/{self.repository}"

    @property
    def reference(self) -> str:
        """What the manifest is fetched by: the digest when there is one, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    @property
    def familiar(self) -> str:
        """The short form Docker shows: ``nginx:latest``, ``ghcr.io/org/app:1``."""
        name = self.name
        if self.domain == DEFAULT_DOMAIN:
            name = self.repository.removeprefix(OFFICIAL_REPO_PREFIX)
        return name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def _split_domain(name: str) -> tuple[str, str]:
    """Docker's rule: the first component is a registry when it has ``.`` or ``:``, is ``localhost``, or has
    upper-case letters; otherwise the name lives on Docker Hub (``library/`` for one-component names)."""
    first, slash, rest = name.partition("/")
    if slash and (("." in first or ":" in first) or first == "localhost" or first.lower() != first):
        domain, remainder = first, rest
    else:
        domain, remainder = DEFAULT_DOMAIN, name
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse_reference(text: str) -> ImageReference:
    """Parse and normalise an image reference (``nginx`` -> ``docker.io/library/nginx:latest``).

    Raises ``ReferenceError`` naming the reference and what is wrong with it.
    """
    ref = _try_parse_reference(text)
    if isinstance(ref, str):
        raise ReferenceError(text or "''", ref)
    return ref


def _try_parse_reference(text: str) -> ImageReference | str:
    """The reference, or why ``text`` is not one."""
    if not text:
        return "empty image reference"
    if len(text) > 4096 or any(ch.isspace() or not ch.isprintable() for ch in text):
        return "not an image reference (spaces or control characters)"
    remainder, at, digest = text.partition("@")
    if at and not _DIGEST_RE.fullmatch(digest):
        return f"invalid digest {digest[:80]!r} (expected algorithm:hex, e.g. sha256:…)"
    tag = None
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            return f"invalid tag {tag[:80]!r}"
    if not remainder:
        return "no repository name"
    domain, path = _split_domain(remainder)
    if domain != DEFAULT_DOMAIN and not _DOMAIN_RE.fullmatch(domain):
        return f"invalid registry host {domain[:80]!r}"
    if not _PATH_RE.fullmatch(path):
        if path.lower() != path and _PATH_RE.fullmatch(path.lower()):
            return "repository names must be lowercase"
        return f"invalid repository name {path[:80]!r}"
    if len(domain) + 1 + len(path) > MAX_NAME_LENGTH:
        return f"repository name longer than {MAX_NAME_LENGTH} characters"
    if tag is None and not at:
        tag = DEFAULT_TAG
    return ImageReference(domain, path, tag, digest if at else None)


@dataclass(frozen=True)
class Source:
    """Where an image is, as parsed from a source name (nothing opened yet).

    Attributes:
        transport: ``path`` (a bare existing path: its format is detected), ``docker-archive``, ``oci``,
            ``oci-archive``, ``dir``, ``stdin`` (files), ``docker-daemon``, ``podman`` (engines) or ``docker``
            (a registry)
        text: the source name as given
        path: the file or directory, for the file transports
        image: the REF picking one image inside an archive or layout (a tag or digest), or for the engines the
            NAME[:TAG] or image id as written
        reference: the normalised reference for ``docker`` and, when NAME is not an image id, for the engines
    """

    transport: str
    text: str
    path: str | None = None
    image: str | None = None
    reference: ImageReference | None = None

    @property
    def is_file(self) -> bool:
        """True for the transports read from the filesystem or stdin."""
        return self.transport in ("path", "docker-archive", "oci", "oci-archive", "dir", "stdin")

    def __str__(self) -> str:
        """The canonical transport:name form (a bare path stays as written)."""
        if self.transport == "stdin":
            return "-"
        if self.transport == "docker":
            return f"docker://{self.reference}"
        if self.transport in ("docker-daemon", "podman"):
            shown = str(self.reference) if self.reference is not None else (self.image or "")
            return f"{self.transport}:{shown}"
        suffix = f":{self.image}" if self.image else ""
        if self.transport == "path":
            return f"{self.path}{suffix}"
        return f"{self.transport}:{self.path}{suffix}"


def split_path_ref(text: str) -> tuple[str, str | None]:
    """``PATH[:REF]``: the whole text when it exists; else the longest prefix before a ``:`` that exists; else the
    text up to its first ``:`` (so the error names the path the user meant)."""
    if os.path.exists(text):
        return text, None
    position = len(text)
    while True:
        position = text.rfind(":", 0, position)
        if position <= 0:
            break
        if os.path.exists(text[:position]):
            return text[:position], text[position + 1 :] or None
    head, colon, tail = text.partition(":")
    return (head, tail or None) if colon and head else (text, None)


def _engine_source(transport: str, name: str, text: str) -> Source:
    if not name:
        raise ReferenceError(text, f"{transport}: needs an image name or id")
    if _IMAGE_ID_RE.fullmatch(name):
        return Source(transport, text, image=name)
    return Source(transport, text, image=name, reference=parse_reference(name))


def _prefixed(text: str) -> Source | None:
    """A source name with an explicit transport, or None."""
    if text.startswith("docker://"):
        return Source("docker", text, reference=parse_reference(text[len("docker://") :]))
    transport, colon, rest = text.partition(":")
    if not colon or transport not in TRANSPORTS or transport == "docker":
        if colon and transport in ("containers-storage", "docker", "ostree", "sif", "tarball"):
            raise ReferenceError(text, f"the {transport}: transport is not supported (use {' '.join(TRANSPORTS)})")
        return None
    if transport in ("docker-daemon", "podman"):
        return _engine_source(transport, rest, text)
    if not rest:
        raise ReferenceError(text, f"{transport}: needs a path")
    if transport == "dir":
        return Source("dir", text, path=rest)
    path, ref = split_path_ref(rest)
    return Source(transport, text, path=path, image=ref)


def _looks_like_file(text: str) -> bool:
    """A name meant as a path: a file suffix, a path prefix, or a first component that is a directory here."""
    if text.lower().endswith(_FILE_SUFFIXES) or text.startswith(("/", "./", "../", "~")):
        return True
    first, slash, _ = text.partition("/")
    return bool(slash) and os.path.isdir(first)


def resolve_source(name: str, source: str | None = None) -> Source:
    """Parse a source name (see the module docstring); ``source`` is ``--source`` (dive's flag) or None.

    Raises ``ReferenceError`` (a ``UsageError``) for a name that cannot be parsed, a transport that
    contradicts ``--source``, or a bare name that reads two ways (the message names both readings).
    """
    if source is not None and source not in SOURCE_CHOICES:
        raise ReferenceError(option("source"), f"unknown source {source!r} (choose from {', '.join(SOURCE_CHOICES)})")
    text = os.fspath(name)
    if not text:
        raise ReferenceError("''", "empty source name")
    found = Source("stdin", text) if text == "-" else _prefixed(text)
    if found is not None:
        if source is not None and found.transport not in _SOURCE_TRANSPORTS[source]:
            raise ReferenceError(
                text, f"names a {found.transport}: source, but {option_given('source', source)} was given"
            )
        return found
    if source == "docker":
        return _engine_source("docker-daemon", text, text)
    if source == "podman":
        return _engine_source("podman", text, text)
    if source == "registry":
        return Source("docker", text, reference=parse_reference(text))
    path, ref = split_path_ref(text)
    exists = os.path.exists(path)
    if source == "archive":
        return Source("path", text, path=path, image=ref)
    reading = _try_parse_reference(text)
    if exists:
        explicit = isinstance(reading, ImageReference) and path == text and ("@" in text or ":" in text)
        if explicit and isinstance(reading, ImageReference):
            raise ReferenceError(
                text,
                f"is both a file here and the image reference {reading}; write ./{text} (or docker-archive:/oci:) "
                f"for the file, docker://{text} for the registry",
            )
        return Source("path", text, path=path, image=ref)
    if isinstance(reading, str):
        if _looks_like_file(text):
            raise ReferenceError(text, "no such file or directory")
        raise ReferenceError(text, f"no such file or directory, and not an image reference: {reading}")
    if _looks_like_file(text):
        raise ReferenceError(
            text, f"no such file or directory (as an image reference it would be {reading}: write docker://{text})"
        )
    return Source("docker", text, reference=reading)


ByteProgress = Callable[[str, int, "int | None"], None]
"""``(what, bytes_done, bytes_total)``: called as a blob downloads (``what`` names the blob)."""


@dataclass(frozen=True)
class SourceOptions:
    """How to reach sources beyond the filesystem.

    Attributes:
        insecure: do not check a registry's certificate, and ask it in plain HTTP when it does not speak TLS
            (a registry on this machine always may be)
        cache_dir: the blob cache's place (default ``$XDG_CACHE_HOME/imgscope``)
        use_cache: False neither reads nor fills the blob cache
        cache_max_bytes: the cache's size cap (default 10 GiB)
        on_bytes: ``(what, done, total)``, called as a blob downloads
        timeout: each network wait, in seconds
    """

    insecure: bool = False
    cache_dir: str | None = None
    use_cache: bool = True
    cache_max_bytes: int | None = None
    on_bytes: ByteProgress | None = field(default=None, compare=False)
    timeout: float = 60.0
