"""Images straight from a registry (the OCI distribution API), no daemon: manifests, indexes, blobs.

``open_registry_image(ref)`` resolves a tag or digest to one image manifest (choosing a platform of an index
as the file sources do), fetches and verifies the config, and returns a ``model.Image`` whose layers open as
HTTP streams: each blob is hashed while it streams, checked against its digest and size at the end, and
kept in the blob cache (``sources/cache.py``) only when it is whole and correct. Analyses read these images
exactly as they read files.

HTTP is httpx: one client per image, connection reuse, streamed bodies, proxies and CA bundles from the
environment (``HTTPS_PROXY``, ``SSL_CERT_FILE``), and an auth flow (``registry_auth.RegistryAuth``) that
answers the registry's challenges. Blob redirects to another host (object storage) are followed without
the Authorization header. Every registry is asked over HTTPS first; one on this machine (or any, with
``insecure``) is asked in plain HTTP when it turns out not to speak TLS, as docker, skopeo and crane do; ``insecure``
also leaves the registry's own certificate unchecked (its host and port only, ``_InsecureTransport``).
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import hashlib
import io
import json
import os
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import IO, Any, cast

import httpx

from imgscope.errors import (
    CorruptLayerError,
    ImageFormatError,
    ImageNotFoundError,
    ImgscopeError,
    NotAnImageError,
    RegistryError,
    option_given,
)
from imgscope.model import Digest, Image, ImageFormat, ImageRef, LayerBlob, Platform
from imgscope.sources import blobs
from imgscope.sources.cache import BlobCache
from imgscope.sources.config import check_digest, expect, layer_media_type, opt_str, parse_config
from imgscope.sources.oci_layout import artifact_type_of, describe_artifact
from imgscope.sources.reference import ImageReference, SourceOptions
from imgscope.sources.store import parse_json

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
MAX_MANIFEST_BYTES = 4 << 20  # the distribution spec's own limit
MAX_CONFIG_BYTES = 32 << 20
MAX_INDEX_DEPTH = 4
MAX_REDIRECTS = 5
USER_AGENT = "imgscope"
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def api_host(domain: str) -> str:
    """The host the API lives on (Docker Hub's is ``registry-1.docker.io``)."""
    return "registry-1.docker.io" if domain == "docker.io" else domain


def is_local(domain: str) -> bool:
    """True for a registry on this machine (asked in plain HTTP when it does not speak TLS, as Docker does)."""
    host = domain.rsplit(":", 1)[0] if not domain.endswith("]") else domain
    return host in _LOCAL_HOSTS or host.startswith("127.")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _host_port(url: httpx.URL, port: bool = False) -> str:
    """``url``'s host as a reference writes it (an IPv6 address in brackets), with its port if it names one, or with
    ``port``, the scheme's (a registry named without one asked on both 443 and 80)."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    number = url.port or ((443 if url.scheme == "https" else 80) if port else None)
    return f"{host}:{number}" if number else host


def _retry_after(value: str | None) -> str:
    if not value:
        return ""
    if value.strip().isdigit():
        return f"; retry after {int(value)} s"
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return ""
    return f"; retry after {max(0, round(when - time.time()))} s"


def _registry_error_code(response: httpx.Response) -> str:
    """The registry's own error code (``MANIFEST_UNKNOWN``) from a small JSON body, if any."""
    try:
        body = response.read()[:65536]
        doc = json.loads(body)
        first = doc["errors"][0]
        code, message = str(first.get("code", ""))[:60], str(first.get("message", ""))[:120]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, httpx.HTTPError):
        return ""
    return f": {code} {message}".rstrip() if code or message else ""


def _plain_needs() -> str:
    return f"a registry over plain HTTP needs {option_given('insecure', True)}"


def _untrusted(host: str, insecure_helps: bool = True) -> str:
    """``insecure_helps``: ``host`` is the registry's own (``insecure`` leaves no other certificate unchecked)."""
    hint = f", or {option_given('insecure', True)} not to check it" if insecure_helps else ""
    return (
        f"TLS failed with {host}: its certificate is not trusted here (self-signed, or from a private CA?); give"
        f" the CA in SSL_CERT_FILE{hint}"
    )


#: OpenSSL's verify codes (``X509_V_ERR_*``) of a certificate no CA here vouches for, and of one for other names.
_UNTRUSTED_CODES = frozenset({2, 18, 19, 20, 21})
_MISMATCH_CODES = frozenset({62, 64})
_EXPIRED_CODES = {9: "is not valid yet", 10: "has expired"}


def _certificate_problem(exc: ssl.SSLCertVerificationError, host: str, name: str, insecure_helps: bool = True) -> str:
    code = getattr(exc, "verify_code", None)  # set by the handshake, absent from one made by hand
    if code is None or code in _UNTRUSTED_CODES:
        return _untrusted(host, insecure_helps)
    if code in _MISMATCH_CODES:
        return f"TLS failed with {host}: its certificate is not for {name} (hostname mismatch)"
    if code in _EXPIRED_CODES:
        return f"TLS failed with {host}: its certificate {_EXPIRED_CODES[code]}"
    return f"TLS failed with {host}: certificate verify failed ({getattr(exc, 'verify_message', None) or exc.reason})"


def _plain_may_answer(exc: Exception, url: httpx.URL) -> bool:
    """True when ``url`` failed over HTTPS in a way plain HTTP may not: the handshake was answered by something that
    speaks no TLS (a plain HTTP server answers it with text), a proxy refused to tunnel to it (plain HTTP goes through
    a proxy as a GET, no tunnel: squid tunnels only to 443), or, ``url`` naming no port, nothing listens on 443 or it
    drops packets (a connect timeout: plain HTTP is port 80). False for a certificate refused, which only a TLS server
    sends, and for a timeout once connected."""
    if isinstance(exc, httpx.ProxyError):
        return True
    if isinstance(exc, httpx.ConnectTimeout):
        return url.port is None
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return False
        if isinstance(cause, (ssl.SSLError, ConnectionResetError)):
            return True
        if isinstance(cause, ConnectionRefusedError):
            return url.port is None
        cause = cause.__cause__ or cause.__context__
    return False


def _failed_url(exc: httpx.HTTPError, url: httpx.URL) -> httpx.URL:
    """The URL of the request that failed: ``url``'s, or the token service's the auth flow sent for it."""
    with contextlib.suppress(RuntimeError):  # an error raised without its request
        return exc.request.url
    return url


def _connect_problem(exc: Exception, host: str, name: str | None = None, insecure_helps: bool = True) -> str:
    """``exc`` (a connection to ``host``, HOST[:PORT], failed) in words; ``name``: the host name asked for;
    ``insecure_helps``: ``host`` is the registry's own, whose certificate ``insecure`` would leave unchecked."""
    name = name or host
    if isinstance(exc, httpx.ProxyError):  # the proxy's answer to CONNECT ("403 Forbidden"), or a SOCKS proxy's
        return f"the proxy refused to tunnel to {host} ({str(exc)[:80] or 'ProxyError'})"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return f"unknown host {host}"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused by {host}"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return _certificate_problem(cause, host, name, insecure_helps)
        if isinstance(cause, ssl.SSLError):
            reason = cause.reason or "handshake"
            if "CERTIFICATE_VERIFY_FAILED" in str(cause) or reason == "CERTIFICATE_VERIFY_FAILED":
                return _untrusted(host, insecure_helps)
            return f"TLS failed with {host} ({reason}); {_plain_needs()}"
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if "Name or service not known" in text or "nodename nor servname" in text or "name resolution" in text:
        return f"unknown host {host}"
    if "Connection refused" in text:
        return f"connection refused by {host}"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return _untrusted(host, insecure_helps)
    if "SSL" in text or "CERTIFICATE" in text.upper():
        return f"TLS failed with {host}; {_plain_needs()}"
    return f"cannot connect to {host} ({type(exc).__name__})"


class _InsecureTransport(httpx.BaseTransport):
    """The transport of an insecure registry's client: certificates checked on every origin but the registry's own
    (https, its host, its port: 443 when it was named without one), as docker's insecure-registries; each request
    through the proxy the environment names for it, by httpx's own reading and matching (``HTTPS_PROXY``,
    ``ALL_PROXY``, ``NO_PROXY``: what ``httpx.Client(trust_env=True)`` does when given no transport). Not mounts: a
    ``NO_PROXY`` entry for the registry's name would outrank a mount for its origin, and it would be checked."""

    def __init__(self, host: str, port: int | None) -> None:
        from httpx._utils import URLPattern, get_environment_proxies  # httpx's own, so the two cannot disagree

        self._own = (host, port or 443)
        found = {URLPattern(k): None if v is None else httpx.Proxy(url=v) for k, v in get_environment_proxies().items()}
        self._proxies = sorted(found.items())  # the most specific first, as httpx orders its mounts
        self._pools: dict[tuple[str | None, bool], httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def pool_for(self, url: httpx.URL) -> httpx.HTTPTransport:
        proxy = next((p for pattern, p in self._proxies if pattern.matches(url)), None)
        verify = not (url.scheme == "https" and (url.host, url.port or 443) == self._own)
        key = (None if proxy is None else str(proxy.url), verify)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = httpx.HTTPTransport(verify=verify, trust_env=True, proxy=proxy)
            return pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.pool_for(request.url).handle_request(request)

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()


@dataclass
class _Found:
    """An index entry or manifest seen while resolving a reference."""

    ref: ImageRef
    descriptor: dict[str, Any] = field(default_factory=dict)


#: Every live ``Registry``: a forked process (a layer-scan worker, ``analysis.scan.scan_layers``) gives each a client
#: of its own (``_new_clients_after_fork``).
_OPEN: weakref.WeakSet[Registry] = weakref.WeakSet()


def _new_clients_after_fork() -> None:
    """In a forked child: a new client (no connection yet) for every registry. The parent's idle keep-alive
    connections were inherited; two processes sending on one socket read each other's answers (a blob cut short).
    The old client is dropped, not closed: closing is the parent's."""
    for registry in list(_OPEN):
        registry.client = registry._client()


os.register_at_fork(after_in_child=_new_clients_after_fork)


class Registry:
    """One repository on one registry: manifests and blobs, with auth, redirects, the cache."""

    def __init__(self, ref: ImageReference, options: SourceOptions | None = None) -> None:
        from imgscope.sources.registry_auth import CredentialError, RegistryAuth, lookup_credentials

        self.ref = ref
        self.options = options or SourceOptions()
        self.where = str(ref)
        self.host = api_host(ref.domain)
        # HTTPS first; plain HTTP only where a downgrade is no one else's to make: this machine, or insecure
        self.plain_fallback = self.options.insecure or is_local(ref.domain)
        self.base = httpx.URL(f"https://{self.host}/v2/{ref.repository}/")
        try:
            credentials = lookup_credentials(ref.domain, ref.repository)
        except CredentialError as exc:
            raise RegistryError(self.where, str(exc)) from None
        self.credentials_origin = credentials.origin if credentials is not None else None
        self.auth = RegistryAuth(credentials, ref.repository)
        self.client = self._client()
        self.cache = BlobCache(self.options.cache_dir, self.options.cache_max_bytes) if self.options.use_cache else None
        self.blob_requests = 0  # blob GETs sent (the cache's hits send none)
        weakref.finalize(self, self.client.close)  # layers keep the registry alive; its connections go with it
        _OPEN.add(self)

    def _client(self) -> httpx.Client:
        transport = None
        if self.options.insecure:  # the registry's own origin only: its token service and blob storage stay checked
            own = self.base.copy_with(scheme="https")
            transport = _InsecureTransport(own.host, own.port)
        return httpx.Client(
            trust_env=True,  # proxies; and SSL_CERT_FILE / SSL_CERT_DIR, a private CA's certificates
            transport=transport,
            follow_redirects=False,
            timeout=httpx.Timeout(self.options.timeout, connect=min(self.options.timeout, 30.0)),
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self.client.close()

    # -- HTTP ------------------------------------------------------------------------------------

    def get(self, url: httpx.URL, *, headers: dict[str, str] | None = None, what: str) -> httpx.Response:
        """GET ``url`` streamed; redirects followed (Authorization only to the registry's own origin);
        any answer but 200 is a ``RegistryError`` naming the image and the problem."""
        from imgscope.sources.registry_auth import AuthFailed

        if url.scheme == "https" and _origin(url) == _origin(self.base.copy_with(scheme="https")) != _origin(self.base):
            url = url.copy_with(scheme="http")  # made before the registry turned out to speak plain HTTP
        own = _origin(self.base)
        https_said = ""  # why HTTPS failed, while plain HTTP has not answered yet: said if plain HTTP fails too
        tunnel_refused = False  # ... by a proxy, whose own answer to the plain GET may follow
        for _hop in range(MAX_REDIRECTS + 1):
            request = self.client.build_request("GET", url, headers=headers)
            try:
                response = self.client.send(request, stream=True, auth=self.auth if _origin(url) == own else None)
            except AuthFailed as exc:
                if exc.status == 401:  # the token service's 401 means what the registry's own would
                    raise RegistryError(self.where, self._unauthorized(), 401) from None
                raise RegistryError(self.where, f"{self.host}: {exc}", exc.status) from None
            except httpx.ConnectTimeout as exc:  # the HTTPS wait is the connect timeout: the whole is at most twice it
                if self._plain_instead(url, exc):
                    https_said = f" in plain HTTP; over HTTPS, {_host_port(url, True)}: timed out connecting"
                    url, own = url.copy_with(scheme="http"), _origin(self.base)
                    continue
                raise RegistryError(
                    self.where, f"{_host_port(url, bool(https_said))}: timed out ({what}){https_said}"
                ) from None
            except httpx.TimeoutException:
                raise RegistryError(
                    self.where, f"{_host_port(url, bool(https_said))}: timed out ({what}){https_said}"
                ) from None
            except (httpx.ConnectError, httpx.ProxyError, httpx.UnsupportedProtocol) as exc:
                if self._plain_instead(url, exc):
                    https_said = f" in plain HTTP; over HTTPS, {self._connect_failed(url, exc, port=True)}"
                    tunnel_refused = isinstance(exc, httpx.ProxyError)
                    url, own = url.copy_with(scheme="http"), _origin(self.base)
                    continue
                said = https_said if _origin(_failed_url(exc, url)) == _origin(url) else ""  # not the token service's
                raise RegistryError(self.where, self._connect_failed(url, exc, port=bool(said)) + said) from None
            except httpx.HTTPError as exc:
                problem = f"{_host_port(url, bool(https_said))}: {type(exc).__name__} ({what})"
                raise RegistryError(self.where, problem + https_said) from None
            if _origin(url) == own:
                self.plain_fallback = False  # it answered: what it speaks is settled
            if response.is_redirect and "location" in response.headers:
                response.close()
                url = response.url.join(response.headers["location"])
                https_said = ""
                continue
            if response.status_code == 200:
                return response
            # a proxy's own answer (403, 407, 5xx) to the plain GET after refusing the tunnel, or a TLS server's 400 to
            # plain HTTP: say both
            proxy_said = tunnel_refused and response.status_code in (400, 403, 407, 502, 503, 504)
            self._fail(response, what, https_said if proxy_said else "")
        raise RegistryError(self.where, f"more than {MAX_REDIRECTS} redirects ({what})")

    def _connect_failed(self, url: httpx.URL, exc: httpx.HTTPError, port: bool = False) -> str:
        """Why a request for ``url`` could not connect: to ``url``'s host, or (a request of the auth flow) to the
        token service's; ``port``: name the scheme's port where the URL names none."""
        failed = _failed_url(exc, url)
        # the port said: a wrong one is the usual cause
        host = _host_port(failed, port)
        if _origin(failed) != _origin(url):
            host = f"{host} (the token service)"
        own = _origin(failed) == _origin(self.base.copy_with(scheme="https"))
        return _connect_problem(exc, host, failed.host, insecure_helps=own)

    def _plain_instead(self, url: httpx.URL, exc: httpx.HTTPError) -> bool:
        """True, and the registry asked in plain HTTP from now on, when ``url`` is the registry's own over HTTPS, it
        may be asked in plain HTTP, and ``exc`` says plain HTTP may answer."""
        if not self.plain_fallback or url.scheme != "https" or _origin(url) != _origin(self.base):
            return False
        if _origin(_failed_url(exc, url)) != _origin(url):  # a token service's failure is not the registry's
            return False
        if not _plain_may_answer(exc, url):
            return False
        self.base = self.base.copy_with(scheme="http")
        self.plain_fallback = False
        return True

    def _fail(self, response: httpx.Response, what: str, after: str = "") -> None:
        """Raise for ``response`` (not a 200); ``after``: what HTTPS said before, to end the message with."""
        status = response.status_code
        detail = _registry_error_code(response)
        retry = _retry_after(response.headers.get("Retry-After"))
        response.close()
        if status == 401:
            problem = self._unauthorized()
        elif status == 403:
            problem = f"access denied by {self.host} (403{detail})"
        elif status == 404:
            problem = f"{what} not found (404{detail})"
        elif status == 429:
            problem = f"too many requests to {self.host} (429){retry}"
        else:
            problem = f"{self.host} answered {status} {response.reason_phrase} for {what}{detail}"
        raise RegistryError(self.where, problem + after, status)

    def _unauthorized(self) -> str:
        """What a 401 means here: no credentials were found, or which file's were refused."""
        if self.credentials_origin is None:
            return (
                f"authentication required by {self.host} and no credentials found "
                "(docker login, podman login, or REGISTRY_AUTH_FILE)"
            )
        return f"{self.host} refused the credentials from {self.credentials_origin} (401)"

    def _read_small(self, response: httpx.Response, limit: int, what: str) -> bytes:
        pieces, total = [], 0
        try:
            for piece in response.iter_bytes():
                total += len(piece)
                if total > limit:
                    raise RegistryError(self.where, f"{what} larger than {limit} bytes")
                pieces.append(piece)
        except httpx.HTTPError as exc:
            raise RegistryError(self.where, f"{what} cut short ({type(exc).__name__})") from None
        finally:
            response.close()
        return b"".join(pieces)

    # -- manifests -------------------------------------------------------------------------------

    def manifest(self, reference: str) -> tuple[dict[str, Any], str, str]:
        """The manifest or index ``reference`` (tag or digest) names: (document, media type, digest).

        A digest reference is verified against the bytes received.
        """
        what = f"manifest {reference}" if Digest.is_valid(reference) else f"tag {reference}"
        response = self.get(self.base.join(f"manifests/{reference}"), headers={"Accept": MANIFEST_ACCEPT}, what=what)
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        body = self._read_small(response, MAX_MANIFEST_BYTES, "the manifest")
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        if Digest.is_valid(reference):
            algorithm, _, expected = reference.partition(":")
            if hashlib.new(algorithm, body).hexdigest() != expected:
                raise CorruptLayerError(self.where, f"the manifest does not match its digest {reference}")
            digest = reference
        doc = parse_json(body, f"{self.where} manifest")  # UTF-8 only, nesting bounded: as from a file
        expect(doc, dict, self.where, "the manifest")
        media_type = doc.get("mediaType") if isinstance(doc.get("mediaType"), str) else None
        media_type = media_type or content_type
        if media_type not in INDEX_TYPES | MANIFEST_TYPES:
            if "manifests" in doc and not doc.get("mediaType"):
                media_type = OCI_INDEX
            elif "config" in doc and "layers" in doc and not doc.get("mediaType"):
                media_type = OCI_MANIFEST
            elif media_type in DOCKER_SCHEMA1 or doc.get("schemaVersion") == 1:
                raise ImageFormatError(
                    self.where, "a Docker schema 1 manifest (deprecated, unsigned layers): not supported"
                )
            else:
                raise ImageFormatError(self.where, f"unknown manifest media type {str(media_type)[:100]!r}")
        return doc, media_type, digest

    def blob_url(self, digest: str) -> httpx.URL:
        return self.base.join(f"blobs/{digest}")

    def open_blob(self, digest: str, size: int | None) -> IO[bytes]:
        """The blob's bytes: from the cache, else streamed from the registry (verified while it streams)."""
        if self.cache is not None:
            cached = self.cache.open(digest, size)  # a damaged copy drops itself: the next run fetches it again
            if cached is not None:
                return cast(IO[bytes], cached)  # the caller closes it
        self.blob_requests += 1
        response = self.get(self.blob_url(digest), what=f"blob {digest}")
        writer = None
        if self.cache is not None:
            try:
                writer = self.cache.writer(digest)
            except OSError:  # a cache we cannot write to: read the blob without keeping it
                writer = None
        return cast(IO[bytes], BlobDownload(self, response, digest, size, writer))

    def read_blob(self, digest: str, size: int | None, limit: int, what: str) -> bytes:
        """A small blob (the config), whole and verified."""
        if size is not None and size > limit:
            raise ImageFormatError(self.where, f"{what} is {size} bytes, more than {limit}")
        pieces: list[bytes] = []
        total = 0
        with self.open_blob(digest, size) as raw:
            while piece := raw.read(blobs.CHUNK):  # to the end: the download checks itself and enters the cache there
                total += len(piece)
                if total > limit:
                    raise ImageFormatError(self.where, f"{what} larger than {limit} bytes")
                pieces.append(piece)
            data = b"".join(pieces)
            algorithm, _, expected = digest.partition(":")
            if hashlib.new(algorithm, data).hexdigest() != expected:  # also a cached file
                raise CorruptLayerError(self.where, f"{what} does not match its digest {digest}")
            return data

    # -- resolving a reference to images --------------------------------------------------------

    def list_images(self) -> list[ImageRef]:
        """What the reference names: each platform's image of an index, and the artifacts beside them."""
        doc, media_type, digest = self.manifest(self.ref.reference)
        found: list[_Found] = []
        self._walk(doc, media_type, digest, 0, found)
        refs = []
        for f in found:  # each entry's own manifest says its config, and whether it is an artifact after all
            ref = f.ref
            if ref.config_digest is None and ref.digest and ref.media_type in MANIFEST_TYPES:
                child, child_type, child_digest = self.manifest(ref.digest)
                if child_type in MANIFEST_TYPES:
                    own = self._manifest_ref(child, child_type, child_digest, ref.platform, ref.tags)
                    ref = own if ref.artifact_type is None else replace(own, artifact_type=ref.artifact_type)
                    if ref.subject is None and f.ref.subject is not None:
                        ref = replace(ref, subject=f.ref.subject)
            refs.append(self._with_platform(ref))
        return refs

    def platforms(self) -> list[Platform]:
        """The platforms ``open_image(platform)`` chooses among: those of the container images of the index the
        reference names, in its order, each once; none when it names one manifest, or an index of which an image
        states no platform (that image could not be chosen by one). One request (more for nested indexes)."""
        doc, media_type, digest = self.manifest(self.ref.reference)
        if media_type not in INDEX_TYPES:
            return []
        found: list[_Found] = []
        self._walk(doc, media_type, digest, 0, found)
        stated = [f.ref.platform for f in found if f.ref.artifact_type is None]
        if any(p is None for p in stated):
            return []
        return list(dict.fromkeys(p for p in stated if p is not None))

    def _with_platform(self, ref: ImageRef) -> ImageRef:
        """``ref`` with its config's platform where the index states none (a tag naming one manifest), as local
        sources list them; the ref as it is when the config cannot be read (listing does not fail for it)."""
        if ref.platform is not None or ref.artifact_type is not None or ref.config_digest is None:
            return ref
        try:
            raw = self.read_blob(ref.config_digest, None, MAX_CONFIG_BYTES, "the config")
            platform = parse_config(parse_json(raw, f"{self.where} config"), f"{self.where} config")[2]
        except (ImgscopeError, ValueError):
            return ref
        return ref if platform is None else replace(ref, platform=platform)

    def _walk(self, doc: dict[str, Any], media_type: str, digest: str, depth: int, out: list[_Found]) -> None:
        where = f"{self.where}@{digest}"
        tag_names = (self._name(),) if self.ref.tag else ()
        if media_type in MANIFEST_TYPES:
            out.append(_Found(self._manifest_ref(doc, media_type, digest, None, tag_names), {}))
            return
        if depth >= MAX_INDEX_DEPTH:
            raise ImageFormatError(where, "image indexes nested too deeply")
        for desc in expect(doc.get("manifests", []), list, where, "manifests"):
            expect(desc, dict, where, "manifests[]")
            child = check_digest(desc.get("digest"), where, "manifests[].digest")
            child_type = opt_str(desc, "mediaType", where, "manifests[]")
            platform = _platform(desc.get("platform"))
            annotations = desc.get("annotations") if isinstance(desc.get("annotations"), dict) else {}
            artifact_type = opt_str(desc, "artifactType", where, "manifests[]")
            if annotations.get("vnd.docker.reference.type") == "attestation-manifest" or (
                platform is not None and platform.os == "unknown" and platform.architecture == "unknown"
            ):
                artifact_type = artifact_type or str(annotations.get("vnd.docker.reference.type", "attestation"))
                subject = annotations.get("vnd.docker.reference.digest")
                out.append(
                    _Found(
                        ImageRef(None, (), child, None, None, child_type, artifact_type, str(subject or "") or None),
                        desc,
                    )
                )
                continue
            if child_type in INDEX_TYPES:
                sub, sub_type, sub_digest = self.manifest(child)
                self._walk(sub, sub_type, sub_digest, depth + 1, out)
                continue
            if artifact_type or (child_type is not None and child_type not in MANIFEST_TYPES):
                out.append(
                    _Found(ImageRef(None, (), child, None, platform, child_type, artifact_type or child_type), desc)
                )
                continue
            name = tag_names[0] if tag_names else None
            out.append(_Found(ImageRef(name, tag_names, child, None, platform, child_type), desc))

    def _name(self) -> str:
        return f"{self.ref.name}:{self.ref.tag}" if self.ref.tag else f"{self.ref.name}@{self.ref.digest}"

    def _manifest_ref(
        self, doc: dict[str, Any], media_type: str, digest: str, platform: Platform | None, names: tuple[str, ...]
    ) -> ImageRef:
        where = f"{self.where}@{digest}"
        config = expect(doc.get("config"), dict, where, "config")
        config_digest = check_digest(config.get("digest"), where, "config.digest")
        artifact = artifact_type_of(doc)
        subject = doc.get("subject")
        subject_digest = subject.get("digest") if isinstance(subject, dict) else None
        return ImageRef(
            names[0] if names and artifact is None else None,
            names if artifact is None else (),
            digest,
            config_digest,
            platform,
            media_type,
            artifact,
            subject_digest if isinstance(subject_digest, str) else None,
        )

    def open_image(self, platform: Platform | None = None) -> Image:
        """The image the reference names (one platform of an index: ``platform``, else this machine's, else
        the first), its config fetched and verified, its layers ready to stream."""
        from imgscope.sources.detect import host_platform

        doc, media_type, digest = self.manifest(self.ref.reference)
        notes: list[str] = []
        stated: Platform | None = None  # the platform the index entry chosen states
        if media_type in INDEX_TYPES:
            found: list[_Found] = []
            self._walk(doc, media_type, digest, 0, found)
            images = [f for f in found if f.ref.artifact_type is None]
            if not images:
                kinds = ", ".join(sorted({str(f.ref.artifact_type) for f in found})) or "nothing"
                raise NotAnImageError(self.where, f"the index holds no container image, only artifacts ({kinds})")
            pool = images
            platforms = {f.ref.platform for f in images if f.ref.platform}
            if platform is not None:
                pool = [f for f in images if f.ref.platform is None or f.ref.platform.matches(platform)]
                if not pool:
                    known = ", ".join(sorted(str(p) for p in platforms))
                    raise ImageNotFoundError(self.where, f"no image for platform {platform}; platforms here: {known}")
            elif len(platforms) > 1:
                host = host_platform()
                native = [f for f in images if f.ref.platform and f.ref.platform.matches(host)]
                pool = native or images
                why = "this machine's" if native else "the first"
                notes.append(
                    f"{len(platforms)} platforms here; analyzing {pool[0].ref.platform} ({why}); "
                    f"choose with {option_given('platform')}"
                )
            chosen = pool[0]
            stated = chosen.ref.platform
            child = chosen.ref.digest or ""
            doc, media_type, digest = self.manifest(child)
            if media_type not in MANIFEST_TYPES:
                raise ImageFormatError(f"{self.where}@{child}", f"the index entry is a {media_type}, not a manifest")
        own = self._manifest_ref(doc, media_type, digest, None, ())
        if own.artifact_type is not None:
            raise NotAnImageError(self.where, describe_artifact(own))
        img = self._build(doc, media_type, digest, notes)
        if platform is not None and stated is None and img.platform is not None and not img.platform.matches(platform):
            # Nothing but the config says the platform: a manifest alone, or an index entry without one.
            raise ImageNotFoundError(self.where, f"no image for platform {platform}; platforms here: {img.platform}")
        return img

    def _build(self, doc: dict[str, Any], media_type: str, digest: str, notes: list[str]) -> Image:
        where = f"{self.where}@{digest}"
        config_desc = expect(doc.get("config"), dict, where, "config")
        config_digest = check_digest(config_desc.get("digest"), where, "config.digest")
        config_size = config_desc.get("size")
        raw_config = self.read_blob(
            config_digest, config_size if isinstance(config_size, int) else None, MAX_CONFIG_BYTES, "the config"
        )
        config = parse_json(raw_config, f"{where} config")
        diff_ids, history, platform, config_notes = parse_config(config, f"{self.where} config")
        layer_descs = expect(doc.get("layers", []), list, where, "layers")
        if len(layer_descs) != len(diff_ids):
            raise ImageFormatError(
                where, f"the manifest lists {len(layer_descs)} layers, the config {len(diff_ids)} diff_ids"
            )
        layers = []
        for i, desc in enumerate(layer_descs):
            expect(desc, dict, where, "layers[]")
            layer_digest = check_digest(desc.get("digest"), where, "layers[].digest")
            layer_type = layer_media_type(desc, i, where)
            size = desc.get("size")
            size = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
            annotations = desc.get("annotations")
            layers.append(
                LayerBlob(
                    index=i,
                    digest=layer_digest,
                    diff_id=diff_ids[i],
                    media_type=layer_type,
                    size=size,
                    member=f"{self.ref.name}@{layer_digest}",
                    opener=functools.partial(self.open_blob, layer_digest, size),
                    annotations={str(k): str(v) for k, v in annotations.items()}
                    if isinstance(annotations, dict)
                    else {},
                )
            )
        annotations = doc.get("annotations")
        name = self._name()
        return Image(
            source=f"docker://{self.ref}",
            format=ImageFormat.REGISTRY,
            name=name,
            tags=(name,) if self.ref.tag else (),
            digest=digest,
            config_digest=config_digest,
            platform=platform,
            config=config,
            layers=tuple(layers),
            history=tuple(history),
            manifest_media_type=media_type,
            annotations={str(k): str(v) for k, v in annotations.items()} if isinstance(annotations, dict) else {},
            notes=tuple(notes + config_notes),
        )


def _platform(value: Any) -> Platform | None:
    if not isinstance(value, dict):
        return None
    os_name, arch = value.get("os"), value.get("architecture")
    if not isinstance(os_name, str) or not isinstance(arch, str):
        return None
    variant = value.get("variant")
    return Platform(os_name, arch, variant if isinstance(variant, str) and variant else None)


class BlobDownload(io.RawIOBase):
    """A blob streaming from the registry: hashed and counted as it is read, written to the cache's
    temporary file; at the end its size and digest are checked, and only then does it enter the cache.
    Closed early (or failing), nothing is kept."""

    def __init__(
        self, registry: Registry, response: httpx.Response, digest: str, size: int | None, writer: Any
    ) -> None:
        super().__init__()
        self._registry, self._response, self._digest, self._size = registry, response, digest, size
        self._writer = writer
        self._chunks: Iterator[bytes] = response.iter_bytes(blobs.CHUNK)
        self._pending = memoryview(b"")
        self._hasher = hashlib.new(digest.partition(":")[0])
        self._count = 0
        self._done = False
        self._on_bytes = registry.options.on_bytes
        self._label = digest[:19]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            if self._done:
                return 0
            try:
                chunk = next(self._chunks, None)
            except httpx.HTTPError as exc:
                self._abandon()
                raise CorruptLayerError(self._where(), self._short(type(exc).__name__)) from None
            if chunk is None:
                self._finish()
                return 0
            self._take(chunk)
            self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _where(self) -> str:
        return f"{self._registry.where} blob {self._digest}"

    def _short(self, why: str) -> str:
        of = f" of {self._size}" if self._size is not None else ""
        return f"blob cut short after {self._count}{of} bytes ({why})"

    def _take(self, chunk: bytes) -> None:
        self._count += len(chunk)
        if self._size is not None and self._count > self._size:
            self._abandon()
            raise CorruptLayerError(self._where(), f"blob longer than the {self._size} bytes its descriptor says")
        self._hasher.update(chunk)
        if self._writer is not None:
            self._writer.write(chunk)
        if self._on_bytes is not None:
            self._on_bytes(self._label, self._count, self._size)

    def _finish(self) -> None:
        self._done = True
        self._response.close()
        if self._size is not None and self._count < self._size:
            self._abandon()
            raise CorruptLayerError(self._where(), self._short("the connection ended"))
        got = f"{self._digest.partition(':')[0]}:{self._hasher.hexdigest()}"
        if got != self._digest:
            self._abandon()
            raise CorruptLayerError(self._where(), f"blob does not match its digest: got {got}")
        if self._writer is not None:
            self._writer.commit()
            self._writer = None

    def _abandon(self) -> None:
        self._done = True
        self._pending = memoryview(b"")
        if self._writer is not None:
            self._writer.discard()
            self._writer = None
        self._response.close()

    def close(self) -> None:
        if not self.closed:
            if self._writer is not None:
                self._abandon()  # not read to the end: keep nothing
            self._response.close()
        super().close()


def open_registry_image(
    ref: ImageReference, *, platform: str | Platform | None = None, options: SourceOptions | None = None
) -> Image:
    """Open the image ``ref`` names on its registry (see the module docstring)."""
    if isinstance(platform, str):
        platform = Platform.parse(platform)
    registry = Registry(ref, options)
    return registry.open_image(platform)


def list_registry_images(ref: ImageReference, *, options: SourceOptions | None = None) -> list[ImageRef]:
    """The images (per platform) and artifacts ``ref`` names."""
    registry = Registry(ref, options)
    try:
        return registry.list_images()
    finally:
        registry.close()


def registry_platforms(ref: ImageReference, *, options: SourceOptions | None = None) -> list[Platform]:
    """The platforms of the index ``ref`` names, each opened by ``open_registry_image(ref, platform=...)``; none
    when it names one image (see ``Registry.platforms``)."""
    registry = Registry(ref, options)
    try:
        return registry.platforms()
    finally:
        registry.close()
