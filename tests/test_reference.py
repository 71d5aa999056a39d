"""Source names (containers-transports(5)) and Docker's reference normalisation.

The expected normalisations are those of distribution/reference's own tests (normalize_test.go).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imgscope.errors import UsageError
from imgscope.sources.reference import ImageReference, ReferenceError, parse_reference, resolve_source

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("nginx", "docker.io/library/nginx:latest"),
        ("nginx:1.25", "docker.io/library/nginx:1.25"),
        ("library/nginx", "docker.io/library/nginx:latest"),
        ("docker.io/nginx", "docker.io/library/nginx:latest"),
        ("index.docker.io/library/nginx:1", "docker.io/library/nginx:1"),
        ("dmcgowan/myapp", "docker.io/dmcgowan/myapp:latest"),
        ("dmcgowan/myapp/sub", "docker.io/dmcgowan/myapp/sub:latest"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/app:1", "localhost:5000/app:1"),
        ("127.0.0.1:5000/a/b:v1.2", "127.0.0.1:5000/a/b:v1.2"),
        ("ghcr.io/org/app:1.4", "ghcr.io/org/app:1.4"),
        ("Foo/bar", "Foo/bar:latest"),  # an upper-case first component is a host
        ("[::1]:5000/app", "[::1]:5000/app:latest"),
        (f"ghcr.io/org/app@{DIGEST}", f"ghcr.io/org/app@{DIGEST}"),
        (f"nginx:1@{DIGEST}", f"docker.io/library/nginx:1@{DIGEST}"),
        ("a__b/c-d.e_f", "docker.io/a__b/c-d.e_f:latest"),
    ],
)
def test_normalisation(text: str, normalised: str) -> None:
    assert str(parse_reference(text)) == normalised


def test_reference_parts() -> None:
    ref = parse_reference("nginx:1.25")
    assert ref == ImageReference("docker.io", "library/nginx", "1.25", None)
    assert ref.familiar == "nginx:1.25" and ref.reference == "1.25" and ref.name == "docker.io/library/nginx"
    pinned = parse_reference(f"localhost:5000/x:1@{DIGEST}")
    assert pinned.reference == DIGEST and pinned.familiar == f"localhost:5000/x:1@{DIGEST}"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("Nginx", "lowercase"),
        ("nginx:", "invalid tag"),
        ("nginx:-x", "invalid tag"),
        ("nginx@sha256:zz", "invalid digest"),
        ("a//b", "invalid repository"),
        ("a b", "spaces"),
        ("-x/y", "invalid repository"),
        ("x" * 300, "longer than 255"),
        ("host:port/app", "invalid registry host"),
    ],
)
def test_bad_references(text: str, problem: str) -> None:
    with pytest.raises(ReferenceError, match=problem) as info:
        parse_reference(text)
    assert isinstance(info.value, UsageError) and "\n" not in str(info.value)


def test_transports(tmp_path: Path) -> None:
    tar = str(SAMPLES / "two-images.tar")
    src = resolve_source(f"docker-archive:{tar}:tiny-a:1")
    assert (src.transport, src.path, src.image) == ("docker-archive", tar, "tiny-a:1")
    assert str(src) == f"docker-archive:{tar}:tiny-a:1"
    src = resolve_source(f"docker-archive:{tar}")
    assert (src.path, src.image) == (tar, None)
    layout = str(SAMPLES / "cases" / "oci-plain")
    assert resolve_source(f"oci:{layout}:1").image == "1"
    odd = tmp_path / "with:colon"
    odd.mkdir()
    assert (resolve_source(f"oci:{odd}:2").path, resolve_source(f"oci:{odd}:2").image) == (str(odd), "2")
    assert resolve_source(f"oci-archive:{tmp_path}/missing.tar:x").path == f"{tmp_path}/missing.tar"
    assert resolve_source(f"dir:{tmp_path}").path == str(tmp_path)
    src = resolve_source("docker://localhost:5000/x:1")
    assert src.transport == "docker" and src.reference == parse_reference("localhost:5000/x:1")
    assert str(resolve_source("docker://nginx")) == "docker://docker.io/library/nginx:latest"
    src = resolve_source("docker-daemon:app:1")
    assert (src.transport, src.image, str(src.reference)) == ("docker-daemon", "app:1", "docker.io/library/app:1")
    image_id = "sha256:" + "0" * 64
    src = resolve_source(f"docker-daemon:{image_id}")
    assert (src.image, src.reference) == (image_id, None)
    assert resolve_source("podman:localhost/app:2").reference == parse_reference("localhost/app:2")
    assert resolve_source("-").transport == "stdin"


def test_bad_transports() -> None:
    for text, problem in [
        ("docker://", "empty image reference"),
        ("docker://UPPER", "lowercase"),
        ("oci:", "needs a path"),
        ("docker-daemon:", "needs an image name"),
        ("containers-storage:x", "not supported"),
    ]:
        with pytest.raises(ReferenceError, match=problem):
            resolve_source(text)


def test_bare_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("app.tar").write_bytes(b"")
    assert resolve_source("app.tar").transport == "path"
    src = resolve_source("app.tar:app:1")  # PATH[:IMAGE], as diff has always taken it
    assert (src.transport, src.path, src.image) == ("path", "app.tar", "app:1")
    src = resolve_source("nginx:1.25")
    assert (src.transport, str(src.reference)) == ("docker", "docker.io/library/nginx:1.25")
    with pytest.raises(ReferenceError, match=r"no such file or directory \(as an image reference it would be"):
        resolve_source("missing.tar")
    os.mkdir("sub")
    with pytest.raises(ReferenceError, match="no such file or directory"):
        resolve_source("sub/missing")
    with pytest.raises(ReferenceError, match="no such file or directory, and not an image reference"):
        resolve_source("Nope:x:y")


def test_ambiguity_names_both_readings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("nginx:1.25").write_bytes(b"")
    with pytest.raises(ReferenceError) as info:
        resolve_source("nginx:1.25")
    message = str(info.value)
    assert "both a file here and the image reference docker.io/library/nginx:1.25" in message
    assert "./nginx:1.25" in message and "docker://nginx:1.25" in message
    assert resolve_source("./nginx:1.25").transport == "path"
    assert resolve_source("nginx:1.25", source="archive").path == "nginx:1.25"
    assert resolve_source("nginx:1.25", source="registry").transport == "docker"


def test_source_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("app").write_bytes(b"")
    assert resolve_source("app").transport == "path"
    src = resolve_source("app", source="docker")
    assert (src.transport, str(src.reference)) == ("docker-daemon", "docker.io/library/app:latest")
    assert resolve_source("app:1", source="podman").transport == "podman"
    assert resolve_source("app", source="registry").transport == "docker"
    assert resolve_source("docker://app", source="registry").transport == "docker"
    with pytest.raises(ReferenceError, match="names a docker: source, but source='docker' was given"):
        resolve_source("docker://app", source="docker")
    with pytest.raises(ReferenceError, match="unknown source 'hub'"):
        resolve_source("app", source="hub")


def test_a_missing_file_with_a_colon_is_named_as_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``docker-archive:my:app.tar`` (a ``name:tag.tar`` file that is not there) names ``my:app.tar`` and says how
    it was split, where it named ``my`` alone."""
    from imgscope import SourceNotFoundError
    from imgscope.sources.resolve import list_source, open_source

    monkeypatch.chdir(tmp_path)
    for name, source, typed, path, ref in [
        ("docker-archive:my:app.tar", None, "docker-archive:my:app.tar", "my", "app.tar"),
        ("oci-archive:my:app.tar", None, "oci-archive:my:app.tar", "my", "app.tar"),
        ("oci:my:dir", None, "oci:my:dir", "my", "dir"),
        ("my:app.tar", "archive", "my:app.tar", "my", "app.tar"),
        ("localhost:5077/cases:1", "archive", "localhost:5077/cases:1", "localhost", "5077/cases:1"),
    ]:
        for opener in (open_source, list_source):
            with pytest.raises(SourceNotFoundError) as info:
                opener(name, source=source)
            assert info.value.where == typed
            assert "no such file or directory" in info.value.problem
            assert f"{path!r}" in info.value.problem and f"{ref!r}" in info.value.problem
    # a missing file without a colon is named as it was, with nothing said about a REF
    with pytest.raises(SourceNotFoundError) as info:
        open_source("docker-archive:app.tar")
    assert str(info.value) == "app.tar: no such file or directory"
