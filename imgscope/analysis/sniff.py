"""Recognise secrets from a file's first bytes while its content streams past; keep only the verdict.

``Sniffer`` is a content observer of the tar reader (``sources.tar_stream.ContentObserver``): it asks for the
first bytes of each small regular file (the whole file for credential files) and judges them once the member is
read: a private key in PEM at the start, or as a string of a JSON document (a Google Cloud service account key,
whatever its name), or a known credential file that holds a token or password. Only a verdict for a flagged file
is kept: ``(path, layer, kind)``. The bytes seen are dropped at once and a secret's value is never stored, so
nothing can print it.

May import: the bottom modules, and the tar reader's ``HeadFilter`` (it is plugged in by ``analysis.scan``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import ClassVar

from imgscope.sources.tar_stream import HeadFilter

#: Files larger than this are never looked at (private keys and credential files are a few KB).
MAX_SNIFF_SIZE = 64 * 1024
#: A file not named like a credential file is judged only when its first ``_KEY_WINDOW`` bytes hold this: 1 KiB
#: searched in C, less than its sha256 costs; few files hold it (in a Debian /usr, 0.21 % of those up to 64 KiB,
#: against 0.16 % in their first 64 bytes). A service account key's PEM starts ~160 bytes in, ~430 with its fields
#: sorted.
_KEY_HEADER = b"-----BEGIN"
_KEY_WINDOW = 1024
#: Bytes kept of a file not named like a credential file: the window, and enough beyond it for the first base64 of a
#: key whose header ends the window (``_JSON_PEM`` tells a key from a placeholder by it).
HEAD_BYTES = _KEY_WINDOW + 128

# Credential files recognised by name, then confirmed by content: name -> kind.
_CONFIG_FILES = {
    ".npmrc": "npm-token",
    ".pypirc": "pypi-password",
    ".netrc": "netrc-password",
    "_netrc": "netrc-password",
    ".git-credentials": "git-credentials",
    "credentials": "aws-credentials",  # only under .aws/
    "config.json": "docker-auth",  # only under .docker/
    "application_default_credentials.json": "gcp-user-credentials",  # gcloud auth application-default login
    "adc.json": "gcp-user-credentials",  # gcloud auth login: legacy_credentials/ACCOUNT/adc.json
}
_PRIVATE_KEY = re.compile(rb"\A\s*-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
#: A JSON document: an object (after white space, or a UTF-8 byte order mark). Code that holds the same text
#: (``module.exports = {...}``) is no credential file.
_JSON_OBJECT = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*\{")
# A member (its name group 1) whose string is a PEM private key, line breaks escaped (\n or \r\n), then its
# base64: 40 characters, so that a documentation's placeholder ("...\nPRIVATE_KEY\n...") or a schema's pattern is
# none. An encrypted PEM's headers (Proc-Type, DEK-Info) may come first.
_JSON_PEM = re.compile(
    rb'"([^"\\]{1,64})"\s*:\s*"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:\\r)?\\n'
    rb'(?:[A-Za-z-]+: [^"\\]*(?:\\r)?\\n)*(?:(?:\\r)?\\n)?[A-Za-z0-9+/]{40}'
)
_SERVICE_ACCOUNT = re.compile(rb'"type"\s*:\s*"service_account"')
# Each names a secret's value as group 1; a value that is only a placeholder is no secret (``_holds_value``).
# A line's leading blanks are `[^\S\r\n]*`, never `\s*`: run on across blank lines, it was tried again from each of
# them, time growing with their number's square (a hostile 64 KiB .npmrc of newlines took 76 s).
_NPM = re.compile(rb"(?im)^[^\S\r\n]*(?:\S*:)?_(?:authToken|auth|password)\s*=[ \t]*(\S[^\r\n]*)")
_PYPIRC = re.compile(rb"(?im)^[^\S\r\n]*password\s*[=:][ \t]*(\S[^\r\n]*)")
_NETRC = re.compile(rb"(?i)(?:^|\s)password\s+(\S+)")
_GIT_CREDENTIALS = re.compile(rb"(?m)^[a-z][a-z0-9+.-]*://[^:/@\s]+:([^@\s]+)@")
_AWS = re.compile(rb"(?im)^[^\S\r\n]*aws_(?:secret_access_key|session_token)\s*=[ \t]*(\S[^\r\n]*)")
#: ``${NPM_TOKEN}`` (quoted or not): read from the environment when the tool runs, as npm recommends
_PLACEHOLDER = re.compile(rb"""(["']?)\$\{[A-Za-z_][A-Za-z0-9_]*\??\}\1""")


@dataclass(frozen=True, slots=True)
class SniffedFile:
    """A file whose content looks like a secret: where it was stored, and what it looked like (never its value).

    Attributes:
        path: "/"-rooted, as the layer's tar names it
        layer: the layer that stored it
        kind: what it looked like (never its value): private-key | gcp-service-account-key | npm-token |
            pypi-password | netrc-password | git-credentials | aws-credentials | docker-auth | gcp-user-credentials
    """

    path: str
    layer: int
    kind: str


def config_kind(path: str) -> str | None:
    """The kind of credential file ``path`` is by its name and folder (``aws-credentials``, ``docker-auth`` ...),
    which the sniffer reads whole and judges by content; None for any other file."""
    parent, _, name = path.rpartition("/")
    kind = _CONFIG_FILES.get(name)
    if kind == "aws-credentials" and not parent.endswith(".aws"):
        return None
    if kind == "docker-auth" and not parent.endswith(".docker"):
        return None
    if name == "adc.json" and not parent.rpartition("/")[0].endswith("legacy_credentials"):
        return None
    return kind


def verdict(path: str, head: bytes) -> str | None:
    """What ``head`` (a file's first bytes, the whole file for credential files) says ``path`` holds, or None."""
    if _PRIVATE_KEY.match(head):
        return "private-key"
    if _JSON_OBJECT.match(head):
        key = _JSON_PEM.search(head)
        if key is not None:
            gcp = key[1] == b"private_key" and _SERVICE_ACCOUNT.search(head) is not None
            return "gcp-service-account-key" if gcp else "private-key"
    kind = config_kind(path)
    if kind is None:
        return None
    if kind == "docker-auth":
        return kind if _docker_auths(head) else None
    if kind == "gcp-user-credentials":
        return kind if _gcp_user_credentials(head) else None
    pattern = {
        "npm-token": _NPM,
        "pypi-password": _PYPIRC,
        "netrc-password": _NETRC,
        "git-credentials": _GIT_CREDENTIALS,
        "aws-credentials": _AWS,
    }[kind]
    return kind if _holds_value(pattern, head) else None


def _holds_value(pattern: re.Pattern[bytes], data: bytes) -> bool:
    """True when one of ``pattern``'s values in ``data`` is more than an environment placeholder."""
    return any(not _PLACEHOLDER.fullmatch(m[1].rstrip()) for m in pattern.finditer(data))


def _json_object(data: bytes) -> dict[str, object] | None:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def _docker_auths(data: bytes) -> bool:
    doc = _json_object(data)
    auths = doc.get("auths") if doc is not None else None
    if not isinstance(auths, dict):
        return False
    return any(
        isinstance(entry, dict) and any(entry.get(k) for k in ("auth", "password", "identitytoken", "registrytoken"))
        for entry in auths.values()
    )


def _gcp_user_credentials(data: bytes) -> bool:
    """A user's refresh token, as ``gcloud auth application-default login`` writes it (under
    ``source_credentials`` with ``--impersonate-service-account``). A workload identity configuration
    (``external_account``) holds no secret."""
    doc = _json_object(data)
    if doc is not None and doc.get("type") == "impersonated_service_account":
        source = doc.get("source_credentials")
        doc = source if isinstance(source, dict) else None
    return doc is not None and doc.get("type") == "authorized_user" and bool(doc.get("refresh_token"))


@dataclass
class Sniffer:
    """Collects the verdicts of one image's pass; set ``layer`` before each layer is read."""

    layer: int = 0
    found: list[SniffedFile] = field(default_factory=list)
    #: ``observe`` looks further only at a file with a key header in its first KiB, or named like a credential
    #: file: the reader asks about no other (``sources.tar_stream.HeadFilter``)
    head_filter: ClassVar[HeadFilter | None] = HeadFilter(
        _KEY_HEADER, _KEY_WINDOW, MAX_SNIFF_SIZE, tuple(_CONFIG_FILES)
    )

    def wants(self, name: str, size: int) -> int:
        """The first bytes to see of a regular file of ``size`` bytes named ``name`` in the tar (0: none)."""
        if size > MAX_SNIFF_SIZE:
            return 0
        return MAX_SNIFF_SIZE if name.rpartition("/")[2] in _CONFIG_FILES else HEAD_BYTES

    def observe(self, path: str, size: int, content: bytes) -> None:
        """Record ``path`` when its first bytes look like a secret; the bytes are dropped either way."""
        if content.find(_KEY_HEADER, 0, _KEY_WINDOW) < 0 and path.rpartition("/")[2] not in _CONFIG_FILES:
            return  # the common case, decided without a regex: no key header, not a credential file
        kind = verdict(path, content)
        if kind is not None:
            self.found.append(SniffedFile("/" + path, self.layer, kind))
