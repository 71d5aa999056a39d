"""Real registries for tests: Debian's ``docker-registry`` (CNCF distribution) on a free localhost port.

``start_registry`` writes a config into a temp dir and starts the server (anonymous, htpasswd Basic auth, or
token auth); ``TokenIssuer`` is a small token service that signs RS256 JWTs with a key made for the test, in
the form the registry's ``auth.token`` checks (``kid`` = libtrust's key id of the certificate's key). Images
go in with ``skopeo copy``. The registry's access log counts the requests (blob GETs) each test makes.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import http.server
import json
import os
import re
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import require_tool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    """A token service: ``GET /token?service=&scope=`` with Basic credentials -> ``{"token": JWT}``.

    ``expired_first`` hands out one already expired token first (to make the client refresh);
    ``requests`` counts the tokens asked for, ``refused`` the requests without the credentials; with ``tls``, it
    serves HTTPS at ``https://localhost:PORT/token`` with that certificate.
    """

    def __init__(self, directory: Path, username: str, password: str, tls: ServerTLS | None = None) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imgscope test token issuer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self._key, hashes.SHA256())
        )
        self.cert_path = directory / "token-cert.pem"
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
        self._kid = ":".join(b32[i : i + 4] for i in range(0, 48, 4))
        self._credentials = f"{username}:{password}"
        self.expired_first = False
        self.requests = 0
        self.refused = 0
        self.port = free_port()
        self.realm = f"https://localhost:{self.port}/token" if tls else f"http://127.0.0.1:{self.port}/token"
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer._serve(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if tls is not None:  # a handshake the client gives up on is the server's OSError, dropped by socketserver
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls.cert, tls.key)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _sign(self, claims: dict[str, Any]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header = {"typ": "JWT", "alg": "RS256", "kid": self._kid}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def _serve(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        from urllib.parse import parse_qs, urlparse

        query = parse_qs(urlparse(handler.path).query)
        given = handler.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(self._credentials.encode()).decode()
        if given != expected:
            self.refused += 1
            handler.send_response(401)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        self.requests += 1
        access = []
        for scope in query.get("scope", []):
            kind, _, rest = scope.partition(":")
            repo, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": repo, "actions": actions.split(",")})
        now = int(time.time())
        expired = self.expired_first and self.requests == 1
        claims = {
            "iss": "imgscope-test-issuer",
            "sub": self._credentials.partition(":")[0],
            "aud": query.get("service", [""])[0],
            "exp": now - 7200 if expired else now + 600,
            "nbf": now - 7260 if expired else now - 60,
            "iat": now - 7260 if expired else now - 60,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        body = json.dumps({"token": self._sign(claims)}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class RegistryServer:
    """A running registry: its port, storage and log; ``push`` copies an image in with skopeo."""

    port: int
    root: Path
    log: Path
    process: subprocess.Popen[bytes]
    creds: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    tls: ServerTLS | None = None  # HTTPS with this certificate

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"

    def push(self, source: str, dest: str, *args: str) -> None:
        command = [require_tool("skopeo"), "copy", "--quiet", "--dest-tls-verify=false", *args]
        if self.creds:
            command += ["--dest-creds", self.creds]
        subprocess.run([*command, source, f"docker://{self.host}/{dest}"], check=True, capture_output=True)

    def requests(self, pattern: str) -> list[str]:
        """Access-log lines whose request matches ``pattern`` (a regex on ``METHOD PATH``)."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            m = re.search(r'"([A-Z]+ \S+) HTTP/[0-9.]+" (\d+)', line)
            if m and re.search(pattern, m.group(1)):
                found.append(f"{m.group(1)} {m.group(2)}")
        return found

    def blob_gets(self, repo: str) -> list[str]:
        return self.requests(rf"^GET /v2/{re.escape(repo)}/blobs/")

    def blob_path(self, digest: str) -> Path:
        hexpart = digest.partition(":")[2]
        return self.root / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass(frozen=True)
class ServerTLS:
    """A CA made for the test and a server certificate it signed: PEM files."""

    ca: Path
    cert: Path
    key: Path


def make_tls(directory: Path, names: tuple[str, ...] = ("localhost",)) -> ServerTLS:
    """A CA and a certificate for ``names`` (DNS names or IP addresses) signed by it, in ``directory``."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imgscope test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    tls = ServerTLS(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    tls.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tls.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return tls


def start_registry(
    directory: Path,
    auth: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    tls: ServerTLS | None = None,
) -> RegistryServer:
    """Start ``docker-registry serve`` on a free port with storage in ``directory`` and wait until it answers
    (``extra``: more of the registry's configuration, such as ``{"catalog": {"maxentries": 2}}``; ``tls``: serve
    HTTPS with that certificate)."""
    registry = require_tool("docker-registry")
    require_tool("skopeo")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": False}},
        "storage": {"filesystem": {"rootdirectory": str(directory / "data")}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "imgscope-test"},
    }
    if auth:
        config["auth"] = auth
    if tls is not None:
        config["http"]["tls"] = {"certificate": str(tls.cert), "key": str(tls.key)}
    config.update(extra or {})
    (directory / "config.yml").write_text(json.dumps(config))  # YAML is a superset of JSON
    log = directory / "registry.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [registry, "serve", str(directory / "config.yml")], stdout=out, stderr=subprocess.STDOUT
        )
    server = RegistryServer(port, directory / "data", log, process, tls=tls)
    verify: ssl.SSLContext | bool = True
    if tls is not None:
        verify = ssl.create_default_context(cafile=tls.ca)
        verify.check_hostname = False  # asked at 127.0.0.1; the certificate may be for other names
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{server.scheme}://{server.host}/v2/", timeout=2, trust_env=False, verify=verify)
            return server
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"docker-registry did not start: {log.read_text()[-2000:]}")
        time.sleep(0.05)


@contextlib.contextmanager
def isolated_credentials(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No credentials from the machine: HOME and every auth-file variable pointed into ``home``."""
    for name in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "DOCKER_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield home


def write_auth_file(path: Path, host: str, user: str, password: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {host: {"auth": token}}}))
    return path


def htpasswd_file(directory: Path, user: str, password: str) -> Path:
    htpasswd = require_tool("htpasswd")
    path = directory / "htpasswd"
    done = subprocess.run([htpasswd, "-Bbn", user, password], check=True, capture_output=True)
    path.write_bytes(done.stdout)
    return path


def env_without_proxies() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


class FrontServer:
    """A small HTTP front for a registry, as CDNs and object stores put in front of real ones.

    Requests are passed to the registry (headers included) except: blob GETs are answered with a 307 to
    ``storage`` (a second server on another origin, ``localhost`` rather than ``127.0.0.1``) that serves the
    same bytes and records the headers it was sent; with ``throttle`` set, manifest GETs get a 429 with that
    ``Retry-After`` (only the next ``throttle_count`` of them when that is set). ``manifest_gets`` counts the
    manifest GETs asked for, throttled or not.
    """

    def __init__(self, registry: RegistryServer) -> None:
        self.registry = registry
        self.throttle: str | None = None
        self.throttle_count: int | None = None
        self.manifest_gets = 0
        self.storage_headers: list[dict[str, str]] = []
        self.port, self.storage_port = free_port(), free_port()
        front = self

        class Front(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                front._front(self)

            def do_HEAD(self) -> None:
                front._front(self)

            def log_message(self, *args: Any) -> None:
                pass

        class Storage(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                front._storage(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._servers = [
            http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Front),
            http.server.ThreadingHTTPServer(("127.0.0.1", self.storage_port), Storage),
        ]
        for server in self._servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _front(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        path = handler.path
        if handler.command == "GET" and "/manifests/" in path:
            self.manifest_gets += 1
        if self.throttle is not None and "/manifests/" in path and self.throttle_count != 0:
            if self.throttle_count is not None:
                self.throttle_count -= 1
            handler.send_response(429)
            handler.send_header("Retry-After", self.throttle)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if handler.command == "GET" and "/blobs/sha256:" in path:
            handler.send_response(307)
            handler.send_header("Location", f"http://localhost:{self.storage_port}/storage{path}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        headers = {k: v for k, v in handler.headers.items() if k.lower() in ("authorization", "accept")}
        answer = httpx.request(
            handler.command, f"http://{self.registry.host}{path}", headers=headers, trust_env=False, timeout=30
        )
        handler.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() in ("content-type", "www-authenticate", "docker-content-digest"):
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(answer.content)))
        handler.end_headers()
        if handler.command == "GET":
            handler.wfile.write(answer.content)

    def _storage(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        self.storage_headers.append({k.lower(): v for k, v in handler.headers.items()})
        digest = handler.path.rpartition("/")[2]
        data = self.registry.blob_path(digest).read_bytes()
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()


class ForwardProxy:
    """An HTTP proxy that forwards plain GETs (``GET http://HOST:PORT/...``) and refuses every ``CONNECT`` with a 403,
    as squid does for a port other than 443: HTTPS cannot go through it, plain HTTP can. ``upstream`` maps a HOST:PORT
    asked for to where it really is (a name only the proxy knows); a GET it cannot pass on is answered 502.
    ``connects`` and ``gets`` list what was asked."""

    def __init__(self, upstream: dict[str, str] | None = None) -> None:
        self.upstream = upstream or {}
        self.connects: list[str] = []
        self.gets: list[str] = []
        self.port = free_port()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_CONNECT(self) -> None:
                proxy.connects.append(self.path)
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.close_connection = True

            def do_GET(self) -> None:
                proxy._forward(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _forward(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        from urllib.parse import urlsplit

        self.gets.append(handler.path)
        asked = urlsplit(handler.path)
        target = self.upstream.get(asked.netloc, asked.netloc)
        headers = {k: v for k, v in handler.headers.items() if k.lower() in ("authorization", "accept")}
        try:
            answer = httpx.get(
                f"http://{target}{asked.path}{'?' + asked.query if asked.query else ''}",
                headers=headers,
                trust_env=False,
                timeout=30,
            )
        except httpx.HTTPError:
            handler.send_response(502)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() in ("content-type", "www-authenticate", "docker-content-digest", "location"):
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(answer.content)))
        handler.end_headers()
        handler.wfile.write(answer.content)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def add_sbom(layout: Path, subject_ref: str, ref_name: str) -> str:
    """Attach an SBOM (an OCI 1.1 artifact: ``artifactType``, an empty config, ``subject``) to the image tagged
    ``subject_ref`` in the OCI layout ``layout``, tagged ``ref_name`` there, as ORAS or cosign attach one; its
    manifest digest."""
    index_path = layout / "index.json"
    index = json.loads(index_path.read_text())
    name_key = "org.opencontainers.image.ref.name"
    [subject] = [m for m in index["manifests"] if m.get("annotations", {}).get(name_key) == subject_ref]

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (layout / "blobs/sha256" / digest).write_bytes(data)
        return "sha256:" + digest

    empty, sbom = b"{}", b'{"spdxVersion": "SPDX-2.3"}'
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/example.sbom",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": put(empty), "size": len(empty)},
            "layers": [{"mediaType": "application/spdx+json", "digest": put(sbom), "size": len(sbom)}],
            "subject": {k: subject[k] for k in ("mediaType", "digest", "size")},
        }
    ).encode()
    digest = put(manifest)
    index["manifests"].append(
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/example.sbom",
            "digest": digest,
            "size": len(manifest),
            "annotations": {name_key: ref_name},
        }
    )
    index_path.write_text(json.dumps(index))
    return digest
