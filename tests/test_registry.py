"""Reading images from a real registry (Debian's docker-registry, started here), against the same images as files.

Every server is started by the test on a free localhost port with a temp storage dir; images are pushed
with skopeo. Nothing here needs the internet.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import imgscope
from imgscope.errors import CorruptLayerError, ImgscopeError, NotAnImageError, RegistryError
from imgscope.sources.cache import BlobCache
from imgscope.sources.reference import SourceOptions, parse_reference
from imgscope.sources.registry import Registry
from imgscope.sources.resolve import list_source, open_source
from imgscope.units import format_size
from tests.registry_server import (
    ForwardProxy,
    FrontServer,
    RegistryServer,
    TokenIssuer,
    free_port,
    htpasswd_file,
    isolated_credentials,
    make_tls,
    start_registry,
    write_auth_file,
)

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
USER, PASSWORD = "alice", "s3cret-pa55word"


@pytest.fixture(scope="module")
def anon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    server = start_registry(tmp_path_factory.mktemp("anon"))
    try:
        server.push(f"oci:{SAMPLES}/cases/oci-gzip:1", "cases:1")
        server.push(f"oci:{SAMPLES}/multi-platform", "multi:1", "--all")
        server.push(f"docker-archive:{SAMPLES}/two-images.tar:localhost/tiny-a:1", "tiny-a:1")
        server.push(f"docker-archive:{SAMPLES}/two-images.tar:localhost/tiny-b:1", "tiny-b:1")
        yield server
    finally:
        server.stop()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with isolated_credentials(tmp_path / "home", monkeypatch) as h:
        yield h


def options(tmp_path: Path, **kw: Any) -> SourceOptions:
    return SourceOptions(cache_dir=str(tmp_path / "cache"), timeout=20, **kw)


def without_source(doc: dict[str, Any]) -> dict[str, Any]:
    image = dict(doc["image"])
    for key in ("source", "format", "name", "tags"):
        image.pop(key)
    return {**doc, "image": image}


def test_registry_image_reads_as_the_file_does(anon: RegistryServer, home: Path, tmp_path: Path) -> None:
    img = open_source(f"docker://{anon.host}/cases:1", options=options(tmp_path))
    assert (img.format, img.source, img.name) == ("registry", f"docker://{anon.host}/cases:1", f"{anon.host}/cases:1")
    from_registry = imgscope.analyze(img).to_dict()
    from_file = imgscope.analyze(SAMPLES / "cases" / "oci-gzip").to_dict()
    assert without_source(from_registry) == without_source(from_file)
    assert from_registry["image"]["source"] == f"docker://{anon.host}/cases:1"


def test_bare_reference_and_platforms(anon: RegistryServer, home: Path, tmp_path: Path) -> None:
    for platform in ("linux/amd64", "linux/arm64"):
        img = open_source(f"{anon.host}/multi:1", platform=platform, options=options(tmp_path))
        assert str(img.platform) == platform
        a = imgscope.analyze(img).to_dict()
        b = imgscope.analyze(SAMPLES / "multi-platform", platform=platform).to_dict()
        assert without_source(a) == without_source(b)
    refs = list_source(f"docker://{anon.host}/multi:1", options=options(tmp_path))
    assert sorted(str(r.platform) for r in refs) == ["linux/amd64", "linux/arm64"]
    assert {r.digest for r in refs} == {r.digest for r in imgscope.list_images(SAMPLES / "multi-platform")}
    with pytest.raises(imgscope.ImageNotFoundError, match="no image for platform linux/s390x; platforms here"):
        open_source(f"{anon.host}/multi:1", platform="linux/s390x", options=options(tmp_path))


def test_platform_of_a_lone_manifest_is_its_configs(anon: RegistryServer, home: Path, tmp_path: Path) -> None:
    """A tag naming one manifest (no index) says its platform only in its config: ``--platform`` is checked
    against it, where it used to be ignored."""
    assert str(open_source(f"{anon.host}/cases:1", platform="linux/amd64", options=options(tmp_path)).platform) == (
        "linux/amd64"
    )
    with pytest.raises(
        imgscope.ImageNotFoundError, match="no image for platform linux/arm64; platforms here: linux/amd64"
    ):
        open_source(f"{anon.host}/cases:1", platform="linux/arm64", options=options(tmp_path))


def test_listing_a_lone_manifest_gives_its_configs_platform(anon: RegistryServer, home: Path, tmp_path: Path) -> None:
    """``ls`` of a tag naming one manifest shows the platform its config states, as every local source does
    (docs/json.md), where it showed none."""
    [ref] = list_source(f"docker://{anon.host}/tiny-a:1", options=options(tmp_path))
    [local] = [r for r in imgscope.list_images(SAMPLES / "two-images.tar") if r.name == "localhost/tiny-a:1"]
    assert ref.platform is not None and ref.platform == local.platform
    listed = run_cli("ls", f"{anon.host}/cases:1", "--json", cache=tmp_path / "cache")
    assert [i["platform"] for i in json.loads(listed.stdout)["images"]] == ["linux/amd64"], listed.stderr


def test_pinned_digest(anon: RegistryServer, home: Path, tmp_path: Path) -> None:
    digest = open_source(f"{anon.host}/cases:1", options=options(tmp_path)).digest
    img = open_source(f"docker://{anon.host}/cases@{digest}", options=options(tmp_path))
    assert img.digest == digest and img.tags == ()


def test_second_pull_hits_the_cache(anon: RegistryServer, home: Path, tmp_path: Path) -> None:
    before = len(anon.blob_gets("cases"))
    first = imgscope.analyze(open_source(f"{anon.host}/cases:1", options=options(tmp_path)))
    fetched = anon.blob_gets("cases")[before:]
    assert len(fetched) == len(first.layers) + 1  # the config and each layer, once
    cache = BlobCache(tmp_path / "cache")
    assert {e.digest for e in cache.entries()} >= {layer.digest for layer in first.layers}
    again = imgscope.analyze(open_source(f"{anon.host}/cases:1", options=options(tmp_path)))
    assert anon.blob_gets("cases")[before + len(fetched) :] == []
    assert again.to_dict() == first.to_dict()


def test_a_damaged_cached_blob_is_fetched_again(anon: RegistryServer, home: Path, tmp_path: Path) -> None:
    """A cached blob cut short is not the descriptor's size: fetched again at once. One damaged in place fails the
    run that reads it (its digest does not match) and drops itself from the cache: the next run fetches it again,
    where every later run used to fail."""
    first = imgscope.analyze(open_source(f"{anon.host}/cases:1", options=options(tmp_path)))
    cache = BlobCache(tmp_path / "cache")
    short, flipped = (cache.path_of(layer.digest or "") for layer in first.layers[:2])
    short.write_bytes(short.read_bytes()[:10])
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0xFF
    flipped.write_bytes(bytes(data))
    before = len(anon.blob_gets("cases"))
    with pytest.raises(imgscope.CorruptLayerError):
        imgscope.analyze(open_source(f"{anon.host}/cases:1", options=options(tmp_path)), jobs=1)
    refetched = {line.split()[1].rpartition("/")[2] for line in anon.blob_gets("cases")[before:]}
    assert first.layers[0].digest in refetched  # the short one, at once
    assert not flipped.exists()  # the damaged one, dropped
    again = imgscope.analyze(open_source(f"{anon.host}/cases:1", options=options(tmp_path)))
    assert again.to_dict() == first.to_dict()
    assert {e.digest for e in cache.entries()} >= {layer.digest for layer in first.layers}


def test_shared_base_layers_are_not_fetched_again(anon: RegistryServer, home: Path, tmp_path: Path) -> None:
    a = open_source(f"{anon.host}/tiny-a:1", options=options(tmp_path))
    imgscope.analyze(a)
    b = open_source(f"{anon.host}/tiny-b:1", options=options(tmp_path))
    before = len(anon.blob_gets("tiny-b"))
    imgscope.analyze(b)
    shared = {x.digest for x in a.layers} & {x.digest for x in b.layers}
    assert shared  # skopeo compressed the same base layers to the same blobs
    fetched = {line.split()[1].rpartition("/")[2] for line in anon.blob_gets("tiny-b")[before:]}
    assert fetched == {x.digest for x in b.layers} - shared  # the config came with open_source


def test_no_cache_keeps_nothing(anon: RegistryServer, home: Path, tmp_path: Path) -> None:
    opts = options(tmp_path, use_cache=False)
    for _ in range(2):
        before = len(anon.blob_gets("cases"))
        result = imgscope.analyze(open_source(f"{anon.host}/cases:1", options=opts))
        assert len(anon.blob_gets("cases")[before:]) == len(result.layers) + 1
    assert not (tmp_path / "cache").exists()


def test_two_concurrent_runs_share_the_cache(anon: RegistryServer, home: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IMGSCOPE_CACHE_DIR": str(tmp_path / "cache")}
    script = (
        "import imgscope, json, sys; from imgscope.sources.resolve import open_source;"
        "print(json.dumps(imgscope.analyze(open_source(sys.argv[1])).to_dict()['summary']))"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, f"{anon.host}/cases:1"], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [r.communicate(timeout=300)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0]
    assert outputs[0] == outputs[1] and json.loads(outputs[0])["layer_count"] == 5
    cache = BlobCache(tmp_path / "cache")
    for entry in cache.entries():  # every blob whole and correct, no temporary file left
        import hashlib

        assert "sha256:" + hashlib.sha256(cache.path_of(entry.digest).read_bytes()).hexdigest() == entry.digest
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []


def test_cache_cap_and_prune(tmp_path: Path) -> None:
    import hashlib

    cache = BlobCache(tmp_path / "c", max_bytes=250)
    digests = []
    for i in range(3):
        data = bytes([i]) * 100
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        writer = cache.writer(digest)
        writer.write(data)
        assert writer.commit()
        digests.append(digest)
        os.utime(cache.path_of(digest), (1000 + i, 1000 + i))
    assert cache.size() <= 250 and cache.get(digests[0]) is None  # the least recently used went
    bad = cache.writer(digests[0])
    bad.write(b"not it")
    assert not bad.commit() and cache.get(digests[0]) is None
    assert cache.prune(0) and cache.entries() == []
    with pytest.raises(ValueError):
        cache.path_of("sha256:../../etc/passwd")


def _corrupt(server: RegistryServer, digest: str, how: str) -> bytes:
    path = server.blob_path(digest)
    original = path.read_bytes()
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    if how == "flip":  # gzip's MTIME field: the layer still decompresses, only the digest tells
        path.write_bytes(original[:4] + bytes([original[4] ^ 1]) + original[5:])
    else:
        path.write_bytes(original[: len(original) // 2])
    return original


@pytest.mark.parametrize(("how", "problem"), [("flip", "does not match its digest"), ("cut", "blob cut short after")])
def test_bad_blobs_are_refused_and_not_cached(
    tmp_path: Path, home: Path, how: str, problem: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = start_registry(tmp_path_factory.mktemp("bad"))
    try:
        server.push(f"oci:{SAMPLES}/cases/oci-gzip:1", "cases:1")
        img = open_source(f"{server.host}/cases:1", options=options(tmp_path))
        victim = img.layers[0].digest
        assert victim is not None
        _corrupt(server, victim, how)
        with pytest.raises(CorruptLayerError, match=problem) as info:
            imgscope.analyze(img, verify=False)  # the download checks itself, whatever the analysis does
        assert victim in str(info.value) and "\n" not in str(info.value)
        cache = BlobCache(tmp_path / "cache")
        assert victim not in {e.digest for e in cache.entries()}
        assert list((tmp_path / "cache" / "tmp").iterdir()) == []
    finally:
        server.stop()


def test_registry_errors(anon: RegistryServer, home: Path, tmp_path: Path) -> None:
    opts = options(tmp_path)
    with pytest.raises(RegistryError, match=r"tag nope not found \(404: MANIFEST_UNKNOWN") as info:
        open_source(f"{anon.host}/cases:nope", options=opts)
    assert str(info.value).startswith(f"{anon.host}/cases:nope: ")
    with pytest.raises(RegistryError, match=r"/no/such/repo:1: tag 1 not found \(404"):
        open_source(f"{anon.host}/no/such/repo:1", options=opts)
    port = free_port()
    with pytest.raises(RegistryError, match=rf"connection refused by 127\.0\.0\.1:{port}$") as refused:
        open_source(f"127.0.0.1:{port}/x:1", options=opts)
    assert refused.value.where == f"127.0.0.1:{port}/x:1"
    with pytest.raises(RegistryError, match=r"unknown host no-such-host\.invalid"):
        open_source("docker://no-such-host.invalid/x:1", options=opts)


def test_artifacts_are_not_images(anon: RegistryServer, home: Path, tmp_path: Path) -> None:
    """An SBOM attached to an image with ``subject`` (OCI 1.1), pushed through the registry's API."""
    image = open_source(f"{anon.host}/cases:1", options=options(tmp_path))
    base = f"http://{anon.host}/v2/cases"
    empty = b"{}"
    sbom = b'{"spdxVersion": "SPDX-2.3"}'
    with httpx.Client(trust_env=False) as client:
        for blob in (empty, sbom):
            import hashlib

            digest = "sha256:" + hashlib.sha256(blob).hexdigest()
            start = client.post(f"{base}/blobs/uploads/")
            location = httpx.URL(base).join(start.headers["Location"])
            client.put(location.copy_merge_params({"digest": digest}), content=blob).raise_for_status()
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/example.sbom",
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": "sha256:" + hashlib.sha256(empty).hexdigest(),
                "size": 2,
            },
            "layers": [
                {
                    "mediaType": "application/spdx+json",
                    "digest": "sha256:" + hashlib.sha256(sbom).hexdigest(),
                    "size": len(sbom),
                }
            ],
            "subject": {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": image.digest,
                "size": 1023,
            },
        }
        client.put(
            f"{base}/manifests/sbom",
            content=json.dumps(manifest).encode(),
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        ).raise_for_status()
    with pytest.raises(NotAnImageError) as info:
        open_source(f"{anon.host}/cases:sbom", options=options(tmp_path))
    assert str(info.value) == (
        f"{anon.host}/cases:sbom: an OCI artifact of type application/example.sbom attached to {image.digest}, "
        "not a container image"
    )
    [ref] = list_source(f"{anon.host}/cases:sbom", options=options(tmp_path))
    assert (ref.artifact_type, ref.subject, ref.name) == ("application/example.sbom", image.digest, None)
    shown = run_cli("ls", f"{anon.host}/cases:sbom", cache=tmp_path / "cache")  # no empty "Images" table
    assert shown.returncode == 0, shown.stderr
    assert "Images in" not in shown.stdout and f"No images in {anon.host}/cases:sbom" in shown.stdout, shown.stdout
    assert "application/example.sbom" in shown.stdout.partition("Artifacts in")[2]


# -- authentication -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def basic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    directory = tmp_path_factory.mktemp("basic")
    passwd = htpasswd_file(directory, USER, PASSWORD)
    server = start_registry(directory, {"htpasswd": {"realm": "imgscope-test", "path": str(passwd)}})
    server.creds = f"{USER}:{PASSWORD}"
    try:
        server.push(f"oci:{SAMPLES}/cases/oci-gzip:1", "cases:1")
        yield server
    finally:
        server.stop()


def test_basic_auth(basic: RegistryServer, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"{basic.host}/cases:1"
    with pytest.raises(RegistryError, match=r"authentication required by .* and no credentials found") as info:
        open_source(name, options=options(tmp_path))
    assert info.value.status == 401
    wrong = write_auth_file(tmp_path / "wrong.json", basic.host, USER, "wrong-password")
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(wrong))
    with pytest.raises(RegistryError, match=f"refused the credentials from {wrong}") as refused:
        open_source(name, options=options(tmp_path))
    assert "wrong-password" not in str(refused.value)
    monkeypatch.delenv("REGISTRY_AUTH_FILE")
    write_auth_file(home / ".docker" / "config.json", basic.host, USER, PASSWORD)
    result = imgscope.analyze(open_source(name, options=options(tmp_path)))
    assert without_source(result.to_dict()) == without_source(imgscope.analyze(SAMPLES / "cases/oci-gzip").to_dict())


def test_credential_helper(basic: RegistryServer, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``credHelpers`` runs ``docker-credential-NAME get`` with the server on stdin (a helper written here)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    asked = tmp_path / "asked"
    helper = bin_dir / "docker-credential-imgscopetest"
    helper.write_text(
        f'#!/bin/sh\n[ "$1" = get ] || exit 1\ncat > {asked}\n'
        f'printf \'%s\' \'{{"ServerURL":"{basic.host}","Username":"{USER}","Secret":"{PASSWORD}"}}\'\n'
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = home / ".docker" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"credHelpers": {basic.host: "imgscopetest"}}))
    img = open_source(f"{basic.host}/cases:1", options=options(tmp_path))
    assert len(img.layers) == 5 and asked.read_text() == basic.host
    config.write_text(json.dumps({"credsStore": "absent-helper"}))
    with pytest.raises(RegistryError, match="docker-credential-absent-helper is not installed"):
        open_source(f"{basic.host}/cases:1", options=options(tmp_path))


def token_auth(issuer: TokenIssuer) -> dict[str, Any]:
    """The registry's ``auth`` settings that send clients to ``issuer`` for tokens and trust its signatures."""
    return {
        "token": {
            "realm": issuer.realm,
            "service": "imgscope-test-registry",
            "issuer": "imgscope-test-issuer",
            "rootcertbundle": str(issuer.cert_path),
        }
    }


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RegistryServer, TokenIssuer]]:
    pytest.importorskip("cryptography", reason="the test token issuer signs with cryptography (the dev extra)")
    directory = tmp_path_factory.mktemp("token")
    issuer = TokenIssuer(directory, USER, PASSWORD)
    auth = token_auth(issuer)
    server = start_registry(directory, auth)
    server.creds = f"{USER}:{PASSWORD}"
    try:
        server.push(f"oci:{SAMPLES}/cases/oci-gzip:1", "cases:1")
        yield server, issuer
    finally:
        server.stop()
        issuer.stop()


def test_token_auth(
    token: tuple[RegistryServer, TokenIssuer], home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, issuer = token
    name = f"{server.host}/cases:1"
    # the same lines as a Basic-auth registry's: none found, or which file's were refused
    with pytest.raises(RegistryError, match=r"authentication required by .* and no credentials found \(docker login"):
        open_source(name, options=options(tmp_path))
    wrong = write_auth_file(tmp_path / "wrong.json", server.host, USER, "not-the-password")
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(wrong))
    with pytest.raises(RegistryError, match=f"{re.escape(server.host)} refused the credentials from {wrong} \\(401\\)"):
        open_source(name, options=options(tmp_path))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(write_auth_file(tmp_path / "auth.json", server.host, USER, PASSWORD)))
    asked = issuer.requests
    result = imgscope.analyze(open_source(name, options=options(tmp_path, use_cache=False)))
    assert issuer.requests == asked + 1  # one token, kept for the manifest, the config and every layer
    assert without_source(result.to_dict()) == without_source(imgscope.analyze(SAMPLES / "cases/oci-gzip").to_dict())


def test_expired_token_is_refreshed(
    token: tuple[RegistryServer, TokenIssuer], home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, issuer = token
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(write_auth_file(tmp_path / "auth.json", server.host, USER, PASSWORD)))
    registry = Registry(parse_reference(f"{server.host}/cases:1"), options(tmp_path, use_cache=False))
    img = registry.open_image()  # a first token
    issuer.requests, issuer.expired_first = 0, True  # the next token handed out is already expired
    registry.auth._header = "Bearer expired.by.server"  # what the client holds is no longer accepted
    before = len(server.blob_gets("cases"))
    result = imgscope.analyze(img)
    assert result.summary.layer_count == 5
    assert issuer.requests == 2  # the expired one, then a good one, part-way through the pull
    assert any(line.endswith(" 401") for line in server.blob_gets("cases")[before:])
    registry.close()


def test_imgscope_error_hierarchy() -> None:
    assert issubclass(RegistryError, ImgscopeError) and issubclass(NotAnImageError, ImgscopeError)


def test_blob_redirects_keep_credentials_home(
    basic: RegistryServer, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blobs redirected to storage on another origin are fetched without the registry's Authorization."""
    front = FrontServer(basic)
    try:
        write_auth_file(home / ".docker" / "config.json", front.host, USER, PASSWORD)
        result = imgscope.analyze(open_source(f"{front.host}/cases:1", options=options(tmp_path, use_cache=False)))
        expected = imgscope.analyze(SAMPLES / "cases/oci-gzip").to_dict()
        assert without_source(result.to_dict()) == without_source(expected)
        assert len(front.storage_headers) == len(result.layers) + 1  # the config and each layer
        assert all("authorization" not in h for h in front.storage_headers)
    finally:
        front.stop()


def test_too_many_requests_says_when_to_retry(anon: RegistryServer, home: Path, tmp_path: Path) -> None:
    front = FrontServer(anon)
    front.throttle = "17"
    try:
        with pytest.raises(RegistryError, match=r"too many requests to 127\.0\.0\.1:\d+ \(429\); retry after 17 s$"):
            open_source(f"{front.host}/cases:1", options=options(tmp_path))
    finally:
        front.stop()


def test_no_secret_in_any_message(
    basic: RegistryServer, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "Zz-very-secret-Zz"
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(write_auth_file(tmp_path / "a.json", basic.host, USER, secret)))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IMGSCOPE_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "imgscope", "--debug", "analyze", f"docker://{basic.host}/cases:1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    encoded = base64.b64encode(f"{USER}:{secret}".encode()).decode()
    for text in (done.stdout, done.stderr):
        assert secret not in text and encoded not in text
    assert "refused the credentials" in done.stderr


# -- the command line -----------------------------------------------------------------------------------------


def run_cli(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IMGSCOPE_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "imgscope", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_cli_every_command_reads_a_registry(anon: RegistryServer, home: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    name = f"docker://{anon.host}/cases:1"
    done = run_cli("analyze", name, "--json", cache=cache)
    assert done.returncode == 0, done.stderr
    from_file = run_cli("analyze", f"oci:{SAMPLES}/cases/oci-gzip:1", "--json", cache=cache)
    assert without_source(json.loads(done.stdout)) == without_source(json.loads(from_file.stdout))
    assert json.loads(done.stdout)["image"]["source"] == name and done.stderr == ""  # no progress off a terminal
    for command in (["inspect"], ["history"], ["tree"], ["advise"], ["check"], ["history", "--dockerfile"]):
        via_registry = run_cli(*command, f"{anon.host}/cases:1", "--json", cache=cache)
        via_file = run_cli(*command, f"{SAMPLES}/cases/oci-gzip", "--json", cache=cache)
        assert via_registry.returncode == via_file.returncode, (command, via_registry.stderr)
        assert via_registry.returncode in (0, 1), via_registry.stderr
    shown = run_cli("diff", f"{SAMPLES}/cases/oci-gzip", name, "--json", cache=cache)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["identical"] is True
    checked = run_cli("check", f"{SAMPLES}/cases/oci-gzip", "--baseline", name, "--max-growth", "0", cache=cache)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_cli_ls_and_cache(anon: RegistryServer, home: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    listed = run_cli("ls", f"{anon.host}/multi:1", "--json", cache=cache)
    assert listed.returncode == 0, listed.stderr
    doc = json.loads(listed.stdout)
    assert sorted(i["platform"] for i in doc["images"]) == ["linux/amd64", "linux/arm64"] and doc["artifacts"] == []
    assert run_cli("analyze", f"{anon.host}/multi:1", "--platform", "linux/arm64", cache=cache).returncode == 0
    entries = json.loads(run_cli("cache", "ls", "--json", cache=cache).stdout)
    assert entries["size"] == sum(b["size"] for b in entries["blobs"]) > 0
    assert {b["digest"] for b in entries["blobs"]} == {e.digest for e in BlobCache(cache).entries()}
    text = run_cli("cache", "ls", cache=cache).stdout  # a head above the table, sizes in every report's units
    head = " ".join(text.partition("┏")[0].split())  # wrapped at 80 columns where the path is long, not in a cell
    assert f": {len(entries['blobs'])} blobs, {format_size(entries['size'])} (cap " in head
    pruned = run_cli("cache", "prune", "--all", cache=cache)
    assert pruned.returncode == 0 and f"removed {len(entries['blobs'])} blobs" in pruned.stdout
    assert BlobCache(cache).entries() == []


def test_cli_errors_are_one_line(anon: RegistryServer, home: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for args, message in [
        (["analyze", f"{anon.host}/cases:nope"], f"imgscope: error: {anon.host}/cases:nope: tag nope not found (404"),
        (["analyze", "docker://Bad Name"], "imgscope: error: Bad Name: not an image reference"),
        (["analyze", f"127.0.0.1:{free_port()}/x:1"], "connection refused by 127.0.0.1"),
        (["analyze", "app", "--source", "registry", "--image", "x"], "--image is for archives and layouts"),
        (["ls", "missing.tar"], "imgscope: error: missing.tar: no such file or directory"),
    ]:
        done = run_cli(*args, cache=cache)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.count("\n") == 1 and message in done.stderr, (args, done.stderr)


def test_an_untrusted_certificate_says_what_helps() -> None:
    """A registry whose certificate is not trusted (self-signed) is told apart from one that speaks plain HTTP: the
    hint is SSL_CERT_FILE (or insecure=True, not to check it), not plain HTTP."""
    import ssl

    from imgscope.sources.registry import _connect_problem

    untrusted = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    untrusted.reason = "CERTIFICATE_VERIFY_FAILED"
    wrapped = ConnectionError("connect failed")
    wrapped.__cause__ = untrusted
    message = _connect_problem(wrapped, "vm:5073")
    assert "not trusted" in message and "SSL_CERT_FILE" in message and message.startswith("TLS failed with vm:5073")
    plain = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    plain.reason = "WRONG_VERSION_NUMBER"
    assert "needs insecure=True" in _connect_problem(plain, "vm:5073")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A registry on localhost speaking HTTPS, its certificate (for ``localhost`` only) from a CA made here."""
    directory = tmp_path_factory.mktemp("tls")
    server = start_registry(directory, tls=make_tls(directory / "certs", ("localhost",)))
    try:
        server.push(f"oci:{SAMPLES}/cases/oci-gzip:1", "cases:1")
        yield server
    finally:
        server.stop()


def no_ca_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def test_a_tls_registry_on_localhost_is_reached_over_https(
    tls: RegistryServer, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """localhost is asked over HTTPS first, as docker, skopeo and crane ask it; its private CA is trusted through
    SSL_CERT_FILE. It was asked in plain HTTP only, and a TLS registry answered that with a 400."""
    assert tls.tls is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.tls.ca))
    img = open_source(f"docker://localhost:{tls.port}/cases:1", options=options(tmp_path))
    from_file = imgscope.analyze(SAMPLES / "cases" / "oci-gzip").to_dict()
    assert without_source(imgscope.analyze(img).to_dict()) == without_source(from_file)
    done = run_cli("analyze", f"localhost:{tls.port}/cases:1", "--json", cache=tmp_path / "cli-cache")
    assert done.returncode == 0, done.stderr
    assert without_source(json.loads(done.stdout)) == without_source(from_file)


def test_a_tls_registry_on_localhost_says_what_is_wrong_with_its_certificate(
    tls: RegistryServer, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A certificate not trusted here, or not for the name asked, is one line naming the registry and the TLS
    problem (never a fall back to plain HTTP: the registry speaks TLS); --insecure does not check it."""
    assert tls.tls is not None
    no_ca_from_env(monkeypatch)
    name = f"localhost:{tls.port}/cases:1"
    with pytest.raises(RegistryError, match=rf"^{name}: TLS failed with localhost:{tls.port}: .*not trusted"):
        open_source(name, options=options(tmp_path))
    done = run_cli("analyze", name, cache=tmp_path / "cache")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"imgscope: error: {name}: TLS failed with localhost:{tls.port}: "), done.stderr
    assert "not trusted" in done.stderr and "SSL_CERT_FILE" in done.stderr and "--insecure" in done.stderr
    insecure = run_cli("analyze", name, "--insecure", "--json", cache=tmp_path / "cache")
    assert insecure.returncode == 0, insecure.stderr
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.tls.ca))  # trusted, but not for 127.0.0.1
    other = f"127.0.0.1:{tls.port}/cases:1"
    mismatch = rf"^{re.escape(other)}: TLS failed with 127\.0\.0\.1:{tls.port}: .*not for 127\.0\.0\.1 "
    with pytest.raises(RegistryError, match=mismatch):
        open_source(other, options=options(tmp_path))
    done = run_cli("analyze", other, cache=tmp_path / "cache")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "not for 127.0.0.1" in done.stderr, done.stderr


def test_insecure_leaves_only_the_registrys_own_certificate_unchecked(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--insecure is for the registry named, as docker's insecure-registries: its token service (a Bearer realm on
    another port, with a certificate no CA here vouches for) is still checked, and is sent no credentials. --insecure
    left every request unchecked, and the password went to the token service."""
    pytest.importorskip("cryptography", reason="the test token issuer signs with cryptography (the dev extra)")
    no_ca_from_env(monkeypatch)
    directory = tmp_path / "token-tls"
    directory.mkdir()
    certs = make_tls(directory / "certs", ("localhost",))
    issuer = TokenIssuer(directory, USER, PASSWORD, tls=certs)
    auth = token_auth(issuer)
    server = start_registry(directory / "registry", auth)  # plain HTTP, on this machine
    try:
        monkeypatch.setenv("REGISTRY_AUTH_FILE", str(write_auth_file(tmp_path / "a.json", server.host, USER, PASSWORD)))
        name = f"{server.host}/cases:1"
        done = run_cli("analyze", name, "--insecure", cache=tmp_path / "cache")
        assert issuer.requests == issuer.refused == 0, done.stderr  # no request reached it: the handshake failed
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        expected = f"imgscope: error: {name}: TLS failed with localhost:{issuer.port} (the token service): "
        assert done.stderr.startswith(expected) and "not trusted" in done.stderr, done.stderr
        assert "SSL_CERT_FILE" in done.stderr and "--insecure" not in done.stderr, done.stderr  # it would not help
        with pytest.raises(RegistryError, match=r"localhost:\d+ \(the token service\): its certificate is not trusted"):
            open_source(name, options=options(tmp_path, insecure=True))
        assert issuer.requests == issuer.refused == 0
        monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca))  # trusted: asked, and the registry then says what it has
        with pytest.raises(RegistryError, match=r"tag 1 not found \(404"):
            open_source(name, options=options(tmp_path, insecure=True))
        assert issuer.requests == 1
    finally:
        server.stop()
        issuer.stop()


def test_insecure_leaves_the_registrys_own_origin_unchecked_and_no_other(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which connections insecure leaves unchecked: the registry's own host and port (443 for one named without a
    port); not another port of that host (a token service beside it), nor any other host; each through the proxy the
    environment names, a registry in NO_PROXY included (such an entry outranked a per-origin mount)."""
    import ssl

    import httpcore

    from imgscope.sources.registry import _InsecureTransport

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "registry.example,::1,127.0.0.1")

    def checked(transport: httpx.BaseTransport, url: str) -> tuple[bool, bool]:
        assert isinstance(transport, _InsecureTransport)
        pool = transport.pool_for(httpx.URL(url))._pool
        context = pool._ssl_context
        proxied = isinstance(pool, httpcore.HTTPProxy)
        return context is not None and context.verify_mode == ssl.CERT_REQUIRED, proxied

    for name, own, others in [
        ("registry.example/app:1", "https://registry.example/v2/", ["https://registry.example:5001/token"]),
        ("registry.example:5000/app:1", "https://registry.example:5000/v2/", ["https://registry.example/token"]),
        ("[::1]:5000/app:1", "https://[::1]:5000/v2/", ["https://[::1]:5001/token"]),
        ("127.0.0.1:5000/app:1", "https://127.0.0.1:5000/v2/", ["https://127.0.0.1:5001/token"]),
        ("elsewhere.example/app:1", "https://elsewhere.example/v2/", ["https://elsewhere.example:8443/token"]),
    ]:
        registry = Registry(parse_reference(name), SourceOptions(insecure=True))
        proxied = name.startswith("elsewhere")
        assert checked(registry.client._transport, own) == (False, proxied), name
        for url in others:
            assert checked(registry.client._transport, url)[0], (name, url)
        assert checked(registry.client._transport, "https://cdn.example/blob") == (True, True)
        assert checked(registry.client._transport, "https://auth.registry.example/token") == (True, False)
        registry.close()
        secure = Registry(parse_reference(name))  # without insecure: httpx's own client, as before
        assert not isinstance(secure.client._transport, _InsecureTransport)
        secure.close()


def test_only_a_registry_on_this_machine_falls_back_to_plain_http(home: Path) -> None:
    """HTTPS first everywhere; plain HTTP after it only for localhost, 127.* and [::1] (or with --insecure): a
    registry elsewhere is never asked in plain text because its TLS failed."""
    for name, fallback in [
        ("localhost:5000/app:1", True),
        ("127.0.0.2:5000/app:1", True),
        ("[::1]:5000/app:1", True),
        ("registry.example/app:1", False),
        ("localhost.example:5000/app:1", False),
    ]:
        registry = Registry(parse_reference(name))
        assert (registry.base.scheme, registry.plain_fallback) == ("https", fallback), name
        registry.close()
    insecure = Registry(parse_reference("registry.example/app:1"), SourceOptions(insecure=True))
    assert insecure.plain_fallback
    insecure.close()


def test_plain_http_is_tried_where_https_showed_it_may_answer() -> None:
    """A handshake a plain HTTP server answered, or (without a port) nothing on 443 where plain HTTP is on 80:
    localhost/app:1 was read over HTTP on port 80 and must still be; a refused certificate never falls back."""
    import ssl

    from imgscope.sources.registry import _plain_may_answer

    def failed(cause: BaseException) -> httpx.ConnectError:
        error = httpx.ConnectError("connect failed")
        error.__cause__ = cause
        return error

    no_port, port = httpx.URL("https://localhost/v2/app/"), httpx.URL("https://localhost:5000/v2/app/")
    plain = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    assert _plain_may_answer(failed(plain), port) and _plain_may_answer(failed(plain), no_port)
    assert _plain_may_answer(failed(ConnectionRefusedError(111, "refused")), no_port)
    assert not _plain_may_answer(failed(ConnectionRefusedError(111, "refused")), port)  # the same port: refused
    untrusted = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    assert not _plain_may_answer(failed(untrusted), no_port)


def test_a_proxy_that_tunnels_no_https_leads_to_plain_http(
    anon: RegistryServer, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy that refuses CONNECT (squid's default for a port other than 443) in front of a plain-HTTP registry: where
    plain HTTP may be tried (this machine, or --insecure), it is, through the proxy, as the registry was read before
    HTTPS came first; where it fails too, or may not be tried, the message says the proxy refused the tunnel. The
    proxy's refusal was "cannot connect to ... (ProxyError)", the end of the run."""
    proxy = ForwardProxy({f"registry.test:{anon.port}": anon.host})
    try:
        for name in ("HTTP_PROXY", "HTTPS_PROXY"):
            monkeypatch.setenv(name, proxy.url)
        monkeypatch.setenv("NO_PROXY", "nothing.example")  # this machine's registries through the proxy too
        img = open_source(f"{anon.host}/cases:1", options=options(tmp_path, use_cache=False))
        assert len(img.layers) == 5 and imgscope.analyze(img).summary.layer_count == 5
        assert proxy.connects == [anon.host] and proxy.gets  # HTTPS asked once, refused; then plain HTTP
        elsewhere = f"registry.test:{anon.port}/cases:1"  # a name only the proxy knows: not this machine
        refused = rf"^{re.escape(elsewhere)}: the proxy refused to tunnel to registry\.test:{anon.port} \(403"
        with pytest.raises(RegistryError, match=refused):
            open_source(elsewhere, options=options(tmp_path))
        done = run_cli("analyze", elsewhere, "--insecure", "--json", cache=tmp_path / "cache")
        assert done.returncode == 0, done.stderr
        nothing = f"127.0.0.1:{free_port()}"  # the proxy answers 502 for plain HTTP there
        with pytest.raises(RegistryError, match=rf"the proxy refused to tunnel to {re.escape(nothing)} \(403") as info:
            open_source(f"{nothing}/cases:1", options=options(tmp_path))
        assert "502" in str(info.value)
    finally:
        proxy.stop()


def test_a_tls_registry_behind_a_proxy_that_tunnels_nothing_says_so(
    tls: RegistryServer, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registry that speaks only TLS, behind a proxy that refuses to tunnel: the plain GET tried after it is
    answered 400 (plain HTTP to a TLS port); the message says the tunnel was refused, where it said only "answered
    400 Bad Request for tag 1"."""
    proxy = ForwardProxy()
    try:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "nothing.example")
        name = f"localhost:{tls.port}/cases:1"
        refused = rf"answered 400 .* in plain HTTP; over HTTPS, the proxy refused to tunnel to localhost:{tls.port} "
        with pytest.raises(RegistryError, match=refused):
            open_source(name, options=options(tmp_path))
    finally:
        proxy.stop()


def test_a_refused_tunnel_may_lead_to_plain_http() -> None:
    """Where plain HTTP may be tried, a proxy refusing the CONNECT is a reason to (whatever the port: plain HTTP goes
    through the proxy as a GET, no tunnel)."""
    from imgscope.sources.registry import _plain_may_answer

    no_port, port = httpx.URL("https://registry.example/v2/app/"), httpx.URL("https://registry.example:5000/v2/app/")
    tunnel = httpx.ProxyError("403 Forbidden")
    assert _plain_may_answer(tunnel, no_port) and _plain_may_answer(tunnel, port)


def test_a_connect_timeout_on_443_may_lead_to_plain_http(home: Path) -> None:
    """Where plain HTTP may be tried, a registry named without a port whose 443 drops packets (a connect timeout) is
    asked in plain HTTP on port 80, as --insecure read it before HTTPS came first; not one named with a port (plain
    HTTP is on that port too), nor a timeout once connected. (The predicate and the switch: nothing is started on
    80 or 443 on a shared machine.)"""
    from imgscope.sources.registry import _plain_may_answer

    no_port, port = httpx.URL("https://registry.example/v2/app/"), httpx.URL("https://registry.example:5000/v2/app/")
    timeout = httpx.ConnectTimeout("timed out", request=httpx.Request("GET", no_port))
    timeout.__context__ = TimeoutError("timed out")
    assert _plain_may_answer(timeout, no_port)
    assert not _plain_may_answer(httpx.ConnectTimeout("timed out"), port)
    assert not _plain_may_answer(httpx.ReadTimeout("timed out"), no_port)
    registry = Registry(parse_reference("registry.example/app:1"), SourceOptions(insecure=True))
    assert registry._plain_instead(no_port, timeout) and registry.base.scheme == "http"
    registry.close()


def test_a_refused_connection_names_the_host_and_port_tried(home: Path) -> None:
    """An IPv6 address in brackets, as it is written in a reference ("connection refused by ::1:5000" was not); and
    both ports where both were tried: localhost/app:1 is asked on 443, then on 80 ("connection refused by localhost"
    said neither)."""

    def refuse(request: httpx.Request) -> httpx.Response:
        error = httpx.ConnectError("connection refused", request=request)
        error.__cause__ = ConnectionRefusedError(111, "Connection refused")
        raise error

    for name, message in [
        ("[::1]:5000/app:1", r"connection refused by \[::1\]:5000"),
        (
            "localhost/app:1",
            "connection refused by localhost:80 in plain HTTP; over HTTPS, connection refused by localhost:443",
        ),
        (
            "[::1]/app:1",
            r"connection refused by \[::1\]:80 in plain HTTP; over HTTPS, connection refused by \[::1\]:443",
        ),
    ]:
        registry = Registry(parse_reference(name), SourceOptions(use_cache=False))
        registry.client.close()
        registry.client = httpx.Client(transport=httpx.MockTransport(refuse))
        with pytest.raises(RegistryError, match=rf"^{re.escape(name)}: {message}$"):
            registry.manifest("1")
        registry.close()


def _push_with_config(server: RegistryServer, repo: str, config: bytes) -> None:
    """Push, through the registry's own API, an image of one empty layer whose config blob is ``config`` as given
    (skopeo would parse it first): the registry checks the manifest's references, not the config's text."""
    import hashlib
    import io
    import tarfile

    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w"):
        pass
    base = f"http://{server.host}/v2/{repo}"
    with httpx.Client(timeout=20, trust_env=False) as client:

        def put_blob(data: bytes) -> str:
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            upload = client.post(f"{base}/blobs/uploads/")
            upload.raise_for_status()
            location = upload.headers["Location"]
            url = location if location.startswith("http") else f"http://{server.host}{location}"
            done = client.put(f"{url}{'&' if '?' in url else '?'}digest={digest}", content=data)
            done.raise_for_status()
            return digest

        tar = layer.getvalue()
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": put_blob(config),
                "size": len(config),
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": put_blob(tar), "size": len(tar)}
            ],
        }
        done = client.put(
            f"{base}/manifests/1",
            content=json.dumps(manifest).encode(),
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )
        done.raise_for_status()


def test_a_config_a_file_would_refuse_is_refused_from_a_registry(
    anon: RegistryServer, home: Path, tmp_path: Path
) -> None:
    """A registry's config is held to what a file's is (UTF-8 JSON, nesting bounded): a UTF-16 config was read
    (json.loads guesses the encoding), and a deeply nested one ended in a RecursionError."""
    plain = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    cases = {
        "utf16": (json.dumps(plain).encode("utf-16"), "not UTF-8: UTF-16 text"),
        "nested": (b'{"architecture": "amd64", "os": "linux", "x": ' + b"[" * 100000 + b"]" * 100000 + b"}", "nested"),
    }
    for repo, (config, problem) in cases.items():
        _push_with_config(anon, repo, config)
        with pytest.raises(ImgscopeError, match=problem) as info:
            open_source(f"{anon.host}/{repo}:1", options=options(tmp_path))
        assert "\n" not in str(info.value)
        listed = list_source(f"{anon.host}/{repo}:1", options=options(tmp_path))  # listing goes on without it
        assert [ref.platform for ref in listed] == [None]
