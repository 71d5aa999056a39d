"""Recognise secrets from a file's first bytes while its content streams past; keep only the verdict.

``tar_stream.iter_entries`` asks ``Sniffer.tee`` for a sink for each small regular file, feeds it the
file's bytes together with the content hash (no second read), then calls ``Sniffer.judge``. Only a
verdict for a flagged file is kept: ``(path, layer, kind)``. The bytes seen are dropped at once and a
secret's value is never stored, so nothing can print it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Protocol

#: Files larger than this are never looked at (private keys and credential files are a few KB).
MAX_SNIFF_SIZE = 64 * 1024
#: Bytes kept of a file not named like a credential file: enough for a PEM / OpenSSH header.
HEAD_BYTES = 256

# Credential files recognised by name, then confirmed by content: name -> kind.
_CONFIG_FILES = {
    ".npmrc": "npm-token",
    ".pypirc": "pypi-password",
    ".netrc": "netrc-password",
    "_netrc": "netrc-password",
    ".git-credentials": "git-credentials",
    "credentials": "aws-credentials",  # only under .aws/
    "config.json": "docker-auth",  # only under .docker/
}
_PRIVATE_KEY = re.compile(rb"\A\s*-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_NPM = re.compile(rb"(?im)^\s*(?:\S*:)?_(?:authToken|auth|password)\s*=\s*\S")
_PYPIRC = re.compile(rb"(?im)^\s*password\s*[=:]\s*\S")
_NETRC = re.compile(rb"(?i)(?:^|\s)password\s+\S")
_GIT_CREDENTIALS = re.compile(rb"(?m)^[a-z][a-z0-9+.-]*://[^:/@\s]+:[^@\s]+@")
_AWS = re.compile(rb"(?im)^\s*aws_(?:secret_access_key|session_token)\s*=\s*\S")


@dataclass(frozen=True, slots=True)
class SniffedFile:
    """A file whose content looks like a secret: where it was stored, and what it looked like (never its value)."""

    path: str  # "/"-rooted, as the layer's tar names it
    layer: int
    # private-key | npm-token | pypi-password | netrc-password | git-credentials | aws-credentials | docker-auth
    kind: str


class _Hasher(Protocol):
    def update(self, data: memoryview, /) -> None: ...


class Tee:
    """A sink that forwards every chunk to the content hasher and keeps the first ``limit`` bytes."""

    __slots__ = ("hasher", "head", "limit")

    def __init__(self, hasher: _Hasher, limit: int) -> None:
        self.hasher = hasher
        self.limit = limit
        self.head = bytearray()

    def update(self, data: memoryview) -> None:
        """Hash ``data`` and keep what still fits of it."""
        self.hasher.update(data)
        room = self.limit - len(self.head)
        if room > 0:
            self.head += data[:room]


def _config_kind(path: str) -> str | None:
    parent, _, name = path.rpartition("/")
    kind = _CONFIG_FILES.get(name)
    if kind == "aws-credentials" and not parent.endswith(".aws"):
        return None
    if kind == "docker-auth" and not parent.endswith(".docker"):
        return None
    return kind


def verdict(path: str, head: bytes) -> str | None:
    """What ``head`` (a file's first bytes, the whole file for credential files) says ``path`` holds, or None."""
    if _PRIVATE_KEY.match(head):
        return "private-key"
    kind = _config_kind(path)
    if kind is None:
        return None
    if kind == "docker-auth":
        return kind if _docker_auths(head) else None
    pattern = {
        "npm-token": _NPM,
        "pypi-password": _PYPIRC,
        "netrc-password": _NETRC,
        "git-credentials": _GIT_CREDENTIALS,
        "aws-credentials": _AWS,
    }[kind]
    return kind if pattern.search(head) else None


def _docker_auths(data: bytes) -> bool:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return False
    auths = doc.get("auths") if isinstance(doc, dict) else None
    if not isinstance(auths, dict):
        return False
    return any(
        isinstance(entry, dict) and any(entry.get(k) for k in ("auth", "password", "identitytoken", "registrytoken"))
        for entry in auths.values()
    )


@dataclass
class Sniffer:
    """Collects the verdicts of one image's pass; set ``layer`` before each layer is read."""

    layer: int = 0
    found: list[SniffedFile] = field(default_factory=list)

    def tee(self, name: str, size: int, hasher: _Hasher) -> Tee | None:
        """A sink for a regular file of ``size`` bytes named ``name`` in the tar, or None to hash only."""
        if size > MAX_SNIFF_SIZE:
            return None
        return Tee(hasher, MAX_SNIFF_SIZE if name.rpartition("/")[2] in _CONFIG_FILES else HEAD_BYTES)

    def judge(self, path: str, tee: Tee) -> None:
        """Record ``path`` when what the tee saw looks like a secret; the bytes are dropped either way."""
        head, tee.head = tee.head, bytearray()
        if tee.limit == HEAD_BYTES and b"-----BEGIN" not in head[:64]:
            return  # the common case, decided without a regex: no key header, not a credential file
        kind = verdict(path, bytes(head))
        if kind is not None:
            self.found.append(SniffedFile("/" + path, self.layer, kind))
