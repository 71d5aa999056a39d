"""Images held by a Docker engine or Podman, read through the Docker Engine API (``GET /images/{name}/get``).

The export is a ``docker save`` stream; ``stream_archive`` reads it in one pass, scanning each layer as it
goes by, so nothing is written to disk. The API version is negotiated (``/_ping``'s ``API-Version``
header, else ``/version``), never hard-coded: Docker 29 refuses API versions below 1.44.

Where the engine is: ``DOCKER_HOST`` (``unix://PATH``, ``tcp://HOST:PORT``, with TLS when
``DOCKER_TLS_VERIFY`` is set, certificates from ``DOCKER_CERT_PATH``) or ``/var/run/docker.sock``;
for Podman ``CONTAINER_HOST``, ``$XDG_RUNTIME_DIR/podman/podman.sock``, ``/run/podman/podman.sock``.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from imgscope.errors import ImageFormatError, ImageNotFoundError, UsageError, option
from imgscope.sources import blobs
from imgscope.text import printable

DOCKER_SOCKET = "/var/run/docker.sock"
PODMAN_SOCKETS = ("{xdg}/podman/podman.sock", "/run/podman/podman.sock")
_VERSION_RE = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}")
#: Connect fast; an engine may think a while before the first byte of a large export.
#: Pings and inspections answer at once; an engine that accepts the connection and stays silent is not waited for.
TIMEOUT = httpx.Timeout(connect=10.0, read=15.0, write=60.0, pool=10.0)
#: An export may take a while to start (the engine assembles the tar) and pauses between layers.
EXPORT_TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=60.0, pool=10.0)


@dataclass(frozen=True)
class Engine:
    """Where an engine's API is: ``kind`` is ``docker`` or ``podman``; ``url`` as the user would write it."""

    kind: str
    url: str  # unix:///path or tcp://host:port
    env: str  # the variable that points elsewhere: DOCKER_HOST / CONTAINER_HOST
    tls: bool = False
    cert_path: str | None = None

    @property
    def name(self) -> str:
        return "Docker" if self.kind == "docker" else "Podman"

    @property
    def shown(self) -> str:
        """``url`` as messages show it: without user, password or query (``tcp://user:pw@host`` has a secret)."""
        parts = urlsplit(self.url)
        host = parts.netloc.rpartition("@")[2]
        if parts.scheme == "unix":  # urlunsplit writes unix:///x.sock as unix:/x.sock
            return printable(f"unix://{host}{parts.path}")
        return printable(urlunsplit((parts.scheme, host, parts.path, "", "")))


def find_engine(kind: str, environ: dict[str, str] | None = None) -> Engine:
    """The engine of ``kind`` (``docker`` or ``podman``) this environment points at."""
    env = dict(os.environ if environ is None else environ)
    if kind == "docker":
        host = env.get("DOCKER_HOST") or f"unix://{DOCKER_SOCKET}"
        tls = bool(env.get("DOCKER_TLS_VERIFY"))
        cert = env.get("DOCKER_CERT_PATH") or (os.path.join(os.path.expanduser("~"), ".docker") if tls else None)
        return _checked(Engine("docker", host, "DOCKER_HOST", tls, cert))
    if kind != "podman":
        raise UsageError(option("source"), f"unknown engine {kind!r}")
    host = env.get("CONTAINER_HOST") or ""
    if not host:
        xdg = env.get("XDG_RUNTIME_DIR")
        paths = [p.format(xdg=xdg) for p in PODMAN_SOCKETS if xdg or "{xdg}" not in p]
        found = next((p for p in paths if os.path.exists(p)), paths[-1])
        host = f"unix://{found}"
    return _checked(Engine("podman", host, "CONTAINER_HOST"))


def _checked(engine: Engine) -> Engine:
    scheme = urlsplit(engine.url).scheme
    if scheme not in ("unix", "tcp", "http", "https"):
        raise UsageError(
            engine.env,
            f"{engine.shown}: only unix:// and tcp:// engine addresses are read ({scheme or 'no'} scheme)",
        )
    return engine


def _client(engine: Engine) -> httpx.Client:
    parts = urlsplit(engine.url)
    if parts.scheme == "unix":
        path = parts.path or parts.netloc
        return httpx.Client(transport=httpx.HTTPTransport(uds=path), base_url="http://localhost", timeout=TIMEOUT)
    host = parts.netloc or parts.path
    https = engine.tls or parts.scheme == "https"
    verify: ssl.SSLContext | bool = True
    if https and engine.cert_path:
        ca = os.path.join(engine.cert_path, "ca.pem")
        cert, key = os.path.join(engine.cert_path, "cert.pem"), os.path.join(engine.cert_path, "key.pem")
        try:
            ctx = ssl.create_default_context(cafile=ca)
            if os.path.exists(cert) or os.path.exists(key):
                ctx.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(
                "DOCKER_CERT_PATH",
                f"cannot load the TLS certificates in {printable(engine.cert_path)} (ca.pem, cert.pem, key.pem): "
                f"{printable(getattr(exc, 'strerror', None) or str(exc))}",
            ) from None
        verify = ctx
    return httpx.Client(base_url=f"{'https' if https else 'http'}://{host}", verify=verify, timeout=TIMEOUT)


def _unreachable(engine: Engine, label: str, exc: Exception) -> ImageFormatError:
    text = str(exc)
    if isinstance(exc.__context__, ssl.SSLError) or "SSL" in text or "certificate" in text.lower():
        return ImageFormatError(
            label,
            f"TLS with the {engine.name} daemon at {engine.shown} failed ({printable(text)[:160]}); "
            "check DOCKER_TLS_VERIFY and the certificates in DOCKER_CERT_PATH",
        )
    if isinstance(exc, httpx.ConnectError):
        why = "not running, or not reachable"
    elif engine.url.startswith("tcp://") and not engine.tls:
        why = f"no answer ({type(exc).__name__}; if it speaks TLS, set DOCKER_TLS_VERIFY=1)"
    else:
        why = f"no answer ({type(exc).__name__})"
    return ImageFormatError(
        label,
        f"cannot reach the {engine.name} daemon at {engine.shown}: {why}; start it, or set {engine.env} "
        f"to point at another (e.g. {engine.env}=unix:///path/to/{engine.kind}.sock)",
    )


def negotiate(client: httpx.Client, engine: Engine, label: str, environ: dict[str, str] | None = None) -> str:
    """The API version to speak: ``DOCKER_API_VERSION`` if set, else the engine's own (``/_ping``, ``/version``)."""
    env = os.environ if environ is None else environ
    forced = env.get("DOCKER_API_VERSION", "").removeprefix("v")
    if forced:
        if not _VERSION_RE.fullmatch(forced):
            raise UsageError("DOCKER_API_VERSION", f"{printable(forced)!r} is not an API version like 1.44")
        return forced
    try:
        ping = client.get("/_ping")
        version = ping.headers.get("API-Version", "")
        if not _VERSION_RE.fullmatch(version):
            answer = client.get("/version")
            body = answer.json() if answer.status_code == 200 else {}
            version = str(body.get("ApiVersion", "")) if isinstance(body, dict) else ""
    except httpx.HTTPError as exc:
        raise _unreachable(engine, label, exc) from None
    except ValueError:  # /version's body is not JSON
        version = ""
    if not _VERSION_RE.fullmatch(version):
        raise ImageFormatError(
            label,
            f"{engine.shown} does not answer as a Docker Engine API (no API version in /_ping or /version)",
        )
    return str(version)


def normalize_name(name: str) -> str:
    """``app`` -> ``app:latest``; a name with a tag or digest, or an image id, as given."""
    last = name.rpartition("/")[2]
    if "@" in name or ":" in last or re.fullmatch(r"(sha256:)?[0-9a-f]{12,64}", name):
        return name
    return name + ":latest"


class _Body:
    """An HTTP response body as a file-like object; transport failures are one-line errors naming the image."""

    def __init__(self, chunks: Iterator[bytes], label: str, engine: Engine) -> None:
        self._chunks, self._label, self._engine = chunks, label, engine
        self._buf = b""
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            try:
                chunk = next(self._chunks, b"")
            except httpx.HTTPError as exc:
                raise ImageFormatError(
                    self._label, f"the {self._engine.name} daemon's export broke off ({type(exc).__name__})"
                ) from None
            if not chunk:
                break
            self._buf += chunk
        if n < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        self.count += len(out)
        return out


@contextmanager
def export(name: str, kind: str = "docker", environ: dict[str, str] | None = None) -> Iterator[IO[bytes]]:
    """The ``docker save`` stream of image ``name`` from the engine of ``kind``, as a file-like object.

    Raises ``ImageFormatError`` when the engine cannot be reached, ``ImageNotFoundError`` when it does
    not hold the image; both name the image (``docker-daemon:NAME`` / ``podman:NAME``).
    """
    label = f"{'docker-daemon' if kind == 'docker' else 'podman'}:{name}"
    if not name:
        raise UsageError(label, "no image name")
    engine = find_engine(kind, environ)
    with _client(engine) as client:
        version = negotiate(client, engine, label, environ)
        path = f"/v{version}/images/{quote(normalize_name(name), safe='/:@')}/get"
        try:
            with client.stream("GET", path, timeout=EXPORT_TIMEOUT) as response:
                if response.status_code != 200:
                    response.read()
                    raise _http_error(response, label, engine)
                yield _Body(response.iter_bytes(blobs.CHUNK), label, engine)  # type: ignore[misc]
        except httpx.HTTPError as exc:
            raise _unreachable(engine, label, exc) from None


def _http_error(response: httpx.Response, label: str, engine: Engine) -> Exception:
    try:
        body = response.json()
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
    except ValueError:
        message = response.text[:200]
    message = printable(message.strip().splitlines()[0] if message.strip() else "")
    lower = message.lower()
    if response.status_code == 404 or "no such image" in lower or "does not exist" in lower or "not known" in lower:
        return ImageNotFoundError(
            label, f"the {engine.name} daemon has no such image" + (f" ({message})" if message else "")
        )
    return ImageFormatError(
        label, f"the {engine.name} daemon answered {response.status_code}" + (f": {message}" if message else "")
    )
