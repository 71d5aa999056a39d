"""Registry credentials (auth files, credential helpers) and the challenge-driven auth flow for httpx.

Credentials are looked up the way podman/skopeo and docker do (first file with an entry for the registry wins):
``$REGISTRY_AUTH_FILE``, ``$XDG_RUNTIME_DIR/containers/auth.json``, ``~/.config/containers/auth.json``,
``$DOCKER_CONFIG/config.json`` (``~/.docker/config.json``). In each: ``credHelpers[host]``, else an ``auths``
entry, else ``credsStore`` (a helper run as ``docker-credential-NAME get``, the server on stdin).

Secrets never reach a message: ``Credentials`` hides them from ``repr``, and errors name the registry only.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HELPER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Credentials:
    """A user name and secret for one registry (``identity_token`` for OAuth2 refresh tokens)."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    registry_token: str = field(default="", repr=False)
    origin: str = ""  # which file or helper gave them, for messages

    @property
    def has_basic(self) -> bool:
        return bool(self.username and self.password)


class CredentialError(Exception):
    """An auth file or credential helper that could not be used (the message holds no secret)."""


def auth_files() -> list[Path]:
    """Where credentials are looked for, in order."""
    files: list[Path] = []
    explicit = os.environ.get("REGISTRY_AUTH_FILE")
    if explicit:
        files.append(Path(explicit))
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        files.append(Path(runtime) / "containers" / "auth.json")
    home = Path.home()
    config_home = os.environ.get("XDG_CONFIG_HOME")
    files.append((Path(config_home) if config_home else home / ".config") / "containers" / "auth.json")
    docker_config = os.environ.get("DOCKER_CONFIG")
    files.append((Path(docker_config) if docker_config else home / ".docker") / "config.json")
    return files


def _server_keys(host: str, repository: str) -> list[str]:
    """The ``auths`` keys that can name this registry, most specific first (containers' namespaced keys)."""
    keys = []
    parts = repository.split("/")
    for i in range(len(parts), 0, -1):
        keys.append(f"{host}/{'/'.join(parts[:i])}")
    keys.append(host)
    if host == "docker.io":
        keys += [DOCKER_HUB_KEY, "index.docker.io", "registry-1.docker.io"]
    return keys


def _normalise_key(key: str) -> str:
    if key == DOCKER_HUB_KEY:
        return key
    key = re.sub(r"^[a-z]+://", "", key)
    if key.endswith("/v1/") or key.endswith("/v2/"):
        key = key[:-4]
    return key.rstrip("/")


def _helper_get(helper: str, server: str, origin: str) -> Credentials | None:
    if not _HELPER_NAME_RE.fullmatch(helper):
        raise CredentialError(f"{origin}: credential helper name {helper[:40]!r} is not valid")
    program = shutil.which(f"docker-credential-{helper}")
    if program is None:
        raise CredentialError(f"{origin}: credential helper docker-credential-{helper} is not installed")
    try:
        done = subprocess.run(
            [program, "get"], input=server.encode(), capture_output=True, timeout=30, check=False, env=os.environ.copy()
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CredentialError(f"docker-credential-{helper} failed ({type(exc).__name__})") from None
    if done.returncode != 0:
        if b"credentials not found" in done.stdout.lower() + done.stderr.lower():
            return None
        raise CredentialError(f"docker-credential-{helper} get exited with {done.returncode}")
    try:
        doc = json.loads(done.stdout)
    except ValueError:
        raise CredentialError(f"docker-credential-{helper} get did not print JSON") from None
    if not isinstance(doc, dict):
        raise CredentialError(f"docker-credential-{helper} get did not print a JSON object")
    username, secret = str(doc.get("Username") or ""), str(doc.get("Secret") or "")
    origin = f"docker-credential-{helper}"
    if username == "<token>":
        return Credentials(identity_token=secret, origin=origin)
    return Credentials(username, secret, origin=origin)


def _from_entry(entry: Any, origin: str) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    username, password = str(entry.get("username") or ""), str(entry.get("password") or "")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            username, _, password = base64.b64decode(encoded, validate=False).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise CredentialError(f"{origin}: an 'auth' value is not base64 of user:password") from None
    identity = str(entry.get("identitytoken") or "")
    registry_token = str(entry.get("registrytoken") or "")
    if not (username or identity or registry_token):
        return None
    return Credentials(username, password, identity, registry_token, origin)


def lookup_credentials(host: str, repository: str) -> Credentials | None:
    """The credentials configured for ``host`` (``docker.io`` for Docker Hub), or None."""
    server = DOCKER_HUB_KEY if host == "docker.io" else host
    keys = _server_keys(host, repository)
    for path in auth_files():
        try:
            text = path.read_text()
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise CredentialError(f"{path}: {exc.strerror or exc}") from None
        try:
            doc = json.loads(text)
        except ValueError:
            raise CredentialError(f"{path}: not valid JSON") from None
        if not isinstance(doc, dict):
            continue
        helpers = doc.get("credHelpers")
        if isinstance(helpers, dict):
            for key in keys:
                helper = helpers.get(key)
                if isinstance(helper, str) and helper:
                    return _helper_get(helper, server, str(path))
        auths = doc.get("auths")
        if isinstance(auths, dict):
            normalised = {_normalise_key(str(k)): v for k, v in auths.items()}
            for key in keys:
                if key in normalised:
                    found = _from_entry(normalised[key], str(path))
                    if found is not None:
                        return found
        store = doc.get("credsStore")
        if isinstance(store, str) and store:
            found = _helper_get(store, server, str(path))
            if found is not None:
                return found
    return None


@dataclass(frozen=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` header."""

    scheme: str  # lower case: bearer | basic
    params: dict[str, str]


_PARAM_RE = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def parse_challenge(header: str) -> Challenge | None:
    """``Bearer realm="https://auth/token",service="reg",scope="repository:x:pull"`` -> its parts."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params: dict[str, str] = {}
    for match in _PARAM_RE.finditer(rest):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value or "")
    return Challenge(scheme.lower(), params)


def basic_header(creds: Credentials) -> str:
    """The ``Authorization`` value for HTTP Basic auth."""
    return "Basic " + base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()


class AuthFailed(Exception):
    """The registry's token service refused or failed (the message holds no secret)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class RegistryAuth(httpx.Auth):
    """Anonymous first; on a 401, answer the challenge: Basic with the credentials, or a Bearer token from
    the realm (with the challenge's service and scope; Basic credentials or a refresh token sent to it).

    The token is kept and sent with the next requests; a 401 later in the pull (an expired token) fetches
    a fresh one once and retries. Only requests to ``origin`` (scheme, host, port) get the header: the
    caller sends cross-host redirects (blob storage) without this auth.
    """

    requires_response_body = False  # bodies are streamed: the flow reads only 401s and token answers

    def __init__(self, credentials: Credentials | None, repository: str, verify: bool | str = True) -> None:
        self.credentials = credentials
        self.repository = repository
        self._header: str | None = None
        if credentials is not None and credentials.registry_token:
            self._header = f"Bearer {credentials.registry_token}"
        self.token_requests = 0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._header is not None:
            request.headers["Authorization"] = self._header
        response = yield request
        for _attempt in range(2):
            if response.status_code != 401:
                return
            challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
            if challenge is None:
                return
            response.read()
            if challenge.scheme == "basic":
                creds = self.credentials
                header = basic_header(creds) if creds is not None and creds.has_basic else None
                if header is None or request.headers.get("Authorization") == header:
                    return  # no credentials, or they were refused
                self._header = header
            elif challenge.scheme == "bearer":
                token_request = self._token_request(challenge)
                if token_request is None:
                    return
                token_response = yield token_request
                self.token_requests += 1
                self._header = f"Bearer {self._read_token(token_response)}"
            else:
                return
            request.headers["Authorization"] = self._header
            response = yield request

    def _token_request(self, challenge: Challenge) -> httpx.Request | None:
        realm = challenge.params.get("realm")
        if not realm or not realm.startswith(("https://", "http://")):
            return None
        params = {k: v for k, v in challenge.params.items() if k in ("service", "scope") and v}
        if "scope" not in params:
            params["scope"] = f"repository:{self.repository}:pull"
        creds = self.credentials
        if creds is not None and creds.identity_token:
            form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token, "client_id": "imgscope"}
            form.update(params)
            return httpx.Request("POST", realm, data=form)
        headers = {}
        if creds is not None and creds.has_basic:
            headers["Authorization"] = basic_header(creds)
        return httpx.Request("GET", realm, params=params, headers=headers)

    @staticmethod
    def _read_token(response: httpx.Response) -> str:
        response.read()
        status = response.status_code
        if status in (401, 403):
            raise AuthFailed(status, f"the token service refused the credentials ({status})")
        if response.status_code != 200:
            raise AuthFailed(response.status_code, f"the token service answered {response.status_code}")
        try:
            doc = response.json()
        except ValueError:
            raise AuthFailed(response.status_code, "the token service did not answer JSON") from None
        token = doc.get("token") or doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthFailed(response.status_code, "the token service gave no token")
        return token
