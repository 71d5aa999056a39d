"""``imgscope batch --registry-catalog``: a real registry (docker-registry, started here) enumerated, its images
analyzed, and the tables equal to those of the same images read from the OCI layout they were pushed from.

The registry caps a catalog page at 2 entries (``catalog.maxentries``), so the catalog is read in several pages
(and the first request, asking for more than the cap, is refused with 400 and asked again without a size).
Five tags in two repositories under ``team``; two repositories outside it (``other/x``, and ``teamwork``, which
shares the prefix's letters but not its path).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import imgscope
from imgscope.errors import RegistryError, UsageError
from imgscope.sources.catalog import catalog_references, list_repositories, list_tags, parse_catalog_spec
from imgscope.sources.reference import SourceOptions
from tests.conftest import SAMPLES, require_tool
from tests.registry_server import (
    FrontServer,
    RegistryServer,
    env_without_proxies,
    htpasswd_file,
    isolated_credentials,
    make_tls,
    start_registry,
)

pa = pytest.importorskip("pyarrow")

#: tag in the OCI layout -> where it is pushed
TEAM = {
    "a": "team/app:1",
    "b": "team/app:2",
    "cases": "team/app:3",
    "wasteful": "team/tools:wasteful",
    "clean": "team/tools:clean",
}
OUTSIDE = {"a": "other/x:1", "b": "teamwork:1"}


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RegistryServer, Path]]:
    """The registry with the team's and the outside images, and the OCI layout the team's were pushed from."""
    skopeo = require_tool("skopeo")
    work = tmp_path_factory.mktemp("catalog")
    layout = work / "team-oci"
    copies = {
        "a": f"docker-archive:{SAMPLES}/two-images.tar:localhost/tiny-a:1",
        "b": f"docker-archive:{SAMPLES}/two-images.tar:localhost/tiny-b:1",
        "cases": f"oci:{SAMPLES}/cases/oci-gzip:1",
        "wasteful": f"docker-archive:{SAMPLES}/advise.tar:localhost/wasteful:latest",
        "clean": f"docker-archive:{SAMPLES}/advise.tar:localhost/clean:1.0",
    }
    for tag, source in copies.items():
        subprocess.run([skopeo, "copy", "-q", source, f"oci:{layout}:{tag}"], check=True, capture_output=True)
    server = start_registry(work / "registry", extra={"catalog": {"maxentries": 2}})
    try:
        for tag, dest in {**TEAM}.items():
            server.push(f"oci:{layout}:{tag}", dest)
        for tag, dest in OUTSIDE.items():
            server.push(f"oci:{layout}:{tag}", dest)
        yield server, layout
    finally:
        server.stop()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with isolated_credentials(tmp_path / "home", monkeypatch) as h:
        yield h


def _options(tmp_path: Path) -> SourceOptions:
    return SourceOptions(cache_dir=str(tmp_path / "cache"), timeout=20)


def test_the_catalog_is_read_page_by_page_and_filtered(
    pushed: tuple[RegistryServer, Path], home: Path, tmp_path: Path
) -> None:
    server, _ = pushed
    options = _options(tmp_path)
    assert list_repositories(server.host, options=options) == ["other/x", "team/app", "team/tools", "teamwork"]
    pages = [r for r in server.requests(r"^GET /v2/_catalog") if r.endswith(" 200")]
    assert len(pages) >= 2  # the registry's cap of 2 entries a page: the Link header was followed
    assert any(r.endswith(" 400") for r in server.requests(r"^GET /v2/_catalog\?n=1000"))  # above the cap
    assert list_repositories(f"{server.host}/team", options=options, page_size=1) == ["team/app", "team/tools"]
    assert sorted(list_tags(server.host, "team/app", options=options, page_size=1)) == ["1", "2", "3"]
    assert list_tags(server.host, "no/such", options=options) == []
    refs = catalog_references(f"docker://{server.host}/team/", options=options)
    assert sorted(refs) == sorted(f"docker://{server.host}/{dest}" for dest in TEAM.values())
    assert sorted(catalog_references(f"{server.host}/team/tools", options=options)) == [
        f"docker://{server.host}/team/tools:clean",
        f"docker://{server.host}/team/tools:wasteful",
    ]


def test_catalog_specs() -> None:
    assert parse_catalog_spec("localhost:5000/team/app").prefix == "team/app"
    assert parse_catalog_spec("[::1]:5000").domain == "[::1]:5000"
    for bad in ("", "/team", "host/Team", "host name/x", "host/a//b"):
        with pytest.raises(UsageError, match=r"^registry_catalog: "):  # the parameter; the CLI names its flag
            parse_catalog_spec(bad)


def _by_image(tables: dict[str, Any]) -> dict[str, list[list[tuple[str, Any]]]]:
    """Each table's rows without the columns that name the source, the image told by its config digest."""
    config = {r["image_key"]: r["config_digest"] for r in tables["images"].to_pylist()}
    naming = {"image_key", "reference", "source", "name"}
    out: dict[str, list[list[tuple[str, Any]]]] = {}
    for name in ("images", "image_layers", "wasted", "findings", "packages", "layers"):
        rows = []
        for row in tables[name].to_pylist():
            image = config.get(row.get("image_key", ""), "")
            rows.append([("image", image), *sorted((k, v) for k, v in row.items() if k not in naming)])
        out[name] = sorted(rows, key=lambda r: json.dumps(r, default=str))
    return out


def test_batch_of_a_catalog_equals_batch_of_the_files(
    pushed: tuple[RegistryServer, Path], home: Path, tmp_path: Path
) -> None:
    from imgscope.fleet import batch

    server, layout = pushed
    got = batch([], tmp_path / "reg", registry_catalog=f"{server.host}/team", options=_options(tmp_path), jobs=2)
    assert (got.images, got.analyzed, got.failed) == (len(TEAM), len(TEAM), 0), got.errors
    references = sorted(r["reference"] for r in got.tables["images"].to_pylist())
    assert references == sorted(f"docker://{server.host}/{dest}" for dest in TEAM.values())
    files = batch([str(layout)], tmp_path / "files", jobs=1)
    assert files.analyzed == len(TEAM)
    assert _by_image(got.tables) == _by_image(files.tables)

    again = batch([], tmp_path / "reg", registry_catalog=[f"{server.host}/team"], options=_options(tmp_path), jobs=1)
    assert (again.reused, again.analyzed, again.layers_scanned) == (len(TEAM), 0, 0)  # the catalog again: nothing new


def test_a_registry_that_will_not_list_is_one_line_exit_2(home: Path, tmp_path: Path) -> None:
    """A registry that asks for credentials we do not have (Docker Hub refuses the catalog the same way)."""
    directory = tmp_path / "locked"
    directory.mkdir()
    passwd = htpasswd_file(directory, "alice", "s3cret")
    server = start_registry(directory, {"htpasswd": {"realm": "imgscope-test", "path": str(passwd)}})
    try:
        with pytest.raises(
            RegistryError, match=r"listing its repositories: authentication required .*no credentials found"
        ) as info:
            list_repositories(server.host, options=_options(tmp_path))
        assert str(info.value).startswith(f"{server.host}: ")
        auth = tmp_path / "wrong-auth.json"
        auth.write_text(json.dumps({"auths": {server.host: {"auth": base64.b64encode(b"alice:wrong").decode()}}}))
        with pytest.MonkeyPatch.context() as env_auth:
            env_auth.setenv("REGISTRY_AUTH_FILE", str(auth))
            with pytest.raises(RegistryError, match=r"listing its repositories: .*refused the credentials from"):
                list_repositories(server.host, options=_options(tmp_path))
        env = {**env_without_proxies(), "HOME": str(home)}
        command = [sys.executable, "-m", "imgscope", "batch", "--out", str(tmp_path / "o"), "-j", "1"]
        done = subprocess.run(
            [*command, "--registry-catalog", f"{server.host}/team"], capture_output=True, text=True, env=env
        )
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"imgscope: error: {server.host}: "), lines
        assert "listing its repositories: authentication required" in lines[0] and "Traceback" not in done.stderr
    finally:
        server.stop()
    nothing = subprocess.run(command, capture_output=True, text=True, env=env)
    assert nothing.returncode == 2 and "--registry-catalog" in nothing.stderr


def test_cli_registry_catalog(pushed: tuple[RegistryServer, Path], home: Path, tmp_path: Path) -> None:
    server, _ = pushed
    env = {**env_without_proxies(), "HOME": str(home)}
    command = [sys.executable, "-m", "imgscope", "batch", "--out", str(tmp_path / "o"), "-j", "1", "--json"]
    command += ["--cache-dir", str(tmp_path / "cache"), "--registry-catalog", f"{server.host}/team/tools"]
    command += ["--registry-catalog", f"{server.host}/other"]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["images"], doc["analyzed"], doc["failed"]) == (3, 3, 0)


def test_a_catalog_prefix_that_matches_nothing_is_an_error(
    pushed: tuple[RegistryServer, Path], home: Path, tmp_path: Path
) -> None:
    """A typo in the prefix listed no image and passed (exit 0): now one line and exit 2."""
    server, _ = pushed
    env = {**env_without_proxies(), "HOME": str(home)}
    command = [sys.executable, "-m", "imgscope", "batch", "--out", str(tmp_path / "o"), "-j", "1"]
    command += ["--cache-dir", str(tmp_path / "cache"), "--registry-catalog", f"{server.host}/no-such-team"]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "lists no tagged repository here" in done.stderr


def test_artifact_tags_of_a_catalog_are_skipped_not_failed(home: Path, tmp_path: Path) -> None:
    """An SBOM tag beside an image (what cosign's .sig/.att tags and ORAS leave in a repository) is no failed image:
    the run counts it apart, and --fail-on-error passes a registry that holds nothing broken."""
    from imgscope.fleet import batch
    from tests.registry_server import add_sbom

    skopeo = require_tool("skopeo")
    layout = tmp_path / "art"
    subprocess.run(
        [skopeo, "copy", "-q", f"oci:{SAMPLES}/cases/oci-gzip:1", f"oci:{layout}:1"], check=True, capture_output=True
    )
    add_sbom(layout, "1", "sbom")
    server = start_registry(tmp_path / "registry")
    try:
        server.push(f"oci:{layout}:1", "cases:1")
        server.push(f"oci:{layout}:sbom", "cases:sbom")
        got = batch([], tmp_path / "o", registry_catalog=server.host, options=_options(tmp_path), jobs=1)
        assert (got.images, got.analyzed, got.failed, got.errors) == (1, 1, 0, ())
        assert got.artifacts == ((f"docker://{server.host}/cases:sbom", "application/example.sbom"),)
        assert [r["reference"] for r in got.tables["images"].to_pylist()] == [f"docker://{server.host}/cases:1"]
        env = {**env_without_proxies(), "HOME": str(home)}
        command = [sys.executable, "-m", "imgscope", "batch", "--out", str(tmp_path / "o2"), "-j", "1", "--json"]
        command += ["--cache-dir", str(tmp_path / "cache"), "--registry-catalog", server.host, "--fail-on-error"]
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        doc = json.loads(done.stdout)
        assert (doc["images"], doc["analyzed"], doc["failed"], doc["artifacts_skipped"]) == (1, 1, 0, 1)
    finally:
        server.stop()


def test_a_failed_catalog_image_is_named_once(home: Path, tmp_path: Path) -> None:
    """The error line of a registry image that fails names it once, where it said ``docker://H/R:T: H/R:T: ...``."""
    from imgscope.fleet import batch

    server = start_registry(tmp_path / "registry")
    try:
        server.push(f"oci:{SAMPLES}/cases/oci-gzip:1", "cases:1")
        config = imgscope.open_image(SAMPLES / "cases/oci-gzip").config_digest
        assert config is not None
        server.blob_path(config).unlink()  # the image can no longer be opened
        got = batch([], tmp_path / "o", registry_catalog=server.host, options=_options(tmp_path), jobs=1)
        [(reference, message)] = got.errors
        assert reference == f"docker://{server.host}/cases:1"
        assert message.startswith(f"{reference}: ") and message.count(f"{server.host}/cases:1") == 1, message
    finally:
        server.stop()


def test_a_tag_the_catalog_no_longer_lists_loses_its_rows(
    home: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A re-run of a catalog that no longer lists a tag (deleted in the registry) drops that tag's rows, as a
    re-listed layout drops a removed tag's: they stayed for ever. An image outside the catalog stays."""
    import shutil

    from imgscope.fleet import batch

    server = start_registry(tmp_path_factory.mktemp("deleting"))
    try:
        server.push(f"docker-archive:{SAMPLES}/two-images.tar:localhost/tiny-a:1", "team/app:1")
        server.push(f"docker-archive:{SAMPLES}/two-images.tar:localhost/tiny-b:1", "team/app:2")
        server.push(f"docker-archive:{SAMPLES}/two-images.tar:localhost/tiny-b:1", "other/app:1")
        out, opts = tmp_path / "fleet", _options(tmp_path)
        outside = f"docker://{server.host}/other/app:1"
        first = batch([outside], out, registry_catalog=f"{server.host}/team", options=opts, jobs=1)
        assert (first.analyzed, first.failed) == (3, 0), first.errors
        digest = next(r["digest"] for r in first.tables["images"].to_pylist() if r["reference"].endswith("app:1"))
        pinned = f"docker://{server.host}/team/app@{digest}"  # under the catalog's prefix, but no tag it lists
        batch([pinned], out, options=opts, jobs=1)
        tags = server.root / "docker/registry/v2/repositories/team/app/_manifests/tags"
        shutil.rmtree(tags / "2")  # what deleting the tag leaves in the registry's storage
        again = batch([outside], out, registry_catalog=f"{server.host}/team", options=opts, jobs=1)
        references = sorted(r["reference"] for r in again.tables["images"].to_pylist())
        assert references == sorted([outside, pinned, f"docker://{server.host}/team/app:1"])
        assert (again.reused, again.failed) == (2, 0)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def platforms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A registry with a two-platform index (``multi:1``, pushed with ``--all``) and a single-manifest image."""
    server = start_registry(tmp_path_factory.mktemp("platforms"))
    try:
        server.push(f"oci:{SAMPLES}/multi-platform", "multi:1", "--all")
        server.push(f"oci:{SAMPLES}/cases/oci-gzip:1", "single:1")
        yield server
    finally:
        server.stop()


def test_a_multi_platform_reference_is_one_image_per_platform(
    platforms: RegistryServer, home: Path, tmp_path: Path
) -> None:
    """A reference to an index in a list is analyzed once per platform, as a layout's platforms are (it was one
    image, the platform ``analyze`` chooses); a single-manifest reference stays one row, under the key it had, and
    a manifest pinned by digest (one platform's) is one row. A re-run reuses every row."""
    from imgscope.fleet import batch
    from imgscope.fleet.plan import ImageJob

    host = platforms.host
    by_platform = {str(r.platform): r for r in imgscope.list_images(SAMPLES / "multi-platform")}
    assert sorted(by_platform) == ["linux/amd64", "linux/arm64"]
    arm = by_platform["linux/arm64"].digest
    listed = tmp_path / "images.txt"
    listed.write_text(f"docker://{host}/multi:1\n{host}/single:1\n{host}/multi@{arm}\n")
    out, opts = tmp_path / "fleet", _options(tmp_path)
    got = batch([str(listed)], out, options=opts, jobs=2)
    assert (got.images, got.analyzed, got.failed) == (4, 4, 0), got.errors
    rows = {r["reference"]: r for r in got.tables["images"].to_pylist()}
    assert sorted(rows) == sorted(
        [
            f"docker://{host}/multi:1 [linux/amd64]",
            f"docker://{host}/multi:1 [linux/arm64]",
            f"{host}/single:1",
            f"{host}/multi@{arm}",
        ]
    )
    for platform, ref in by_platform.items():
        row = rows[f"docker://{host}/multi:1 [{platform}]"]
        assert (row["platform"], row["digest"], row["config_digest"]) == (platform, ref.digest, ref.config_digest)
    assert rows[f"{host}/multi@{arm}"]["digest"] == arm
    # each platform's figures are those of the same image read from the layout it was pushed from
    files = batch([str(SAMPLES / "multi-platform")], tmp_path / "files", jobs=1)
    keys = {rows[f"docker://{host}/multi:1 [{p}]"]["image_key"] for p in by_platform}
    tagged = {
        name: t.filter(pa.array([k in keys for k in t.column("image_key").to_pylist()], type=pa.bool_()))
        for name, t in got.tables.items()
        if name != "layers"  # counts the pinned image too
    }
    assert _by_image({**tagged, "layers": files.tables["layers"]}) == _by_image(files.tables)
    # a single-manifest reference keeps the key a reference always had: an earlier run's rows stay valid
    single = rows[f"{host}/single:1"]
    assert single["image_key"] == ImageJob(f"{host}/single:1", f"docker://{host}/single:1").key
    again = batch([str(listed)], out, options=opts, jobs=1)
    assert (again.reused, again.analyzed, again.failed, again.layers_scanned) == (4, 0, 0, 0)
    assert sorted(r["image_key"] for r in again.tables["images"].to_pylist()) == sorted(
        r["image_key"] for r in rows.values()
    )


def test_a_tag_that_becomes_multi_platform_replaces_its_row(
    platforms: RegistryServer, home: Path, tmp_path: Path
) -> None:
    """A tag re-pushed from one image to an index (and back): the rows of what it named before go, the rows of
    what it names now come, so the tables never count an image the tag no longer names."""
    from imgscope.fleet import batch

    host, out, opts = platforms.host, tmp_path / "fleet", _options(tmp_path)
    ref = f"docker://{host}/moving:1"
    platforms.push(f"oci:{SAMPLES}/cases/oci-gzip:1", "moving:1")
    first = batch([ref], out, options=opts, jobs=1)
    assert [r["reference"] for r in first.tables["images"].to_pylist()] == [ref], first.errors
    platforms.push(f"oci:{SAMPLES}/multi-platform", "moving:1", "--all")
    second = batch([ref], out, options=opts, jobs=1)
    assert sorted(r["reference"] for r in second.tables["images"].to_pylist()) == [
        f"{ref} [linux/amd64]",
        f"{ref} [linux/arm64]",
    ], second.errors
    assert second.tables["image_layers"].num_rows == 2 * 2  # each platform's two layers; the old image's gone
    platforms.push(f"oci:{SAMPLES}/cases/oci-gzip:1", "moving:1")
    third = batch([ref], out, options=opts, jobs=1)
    assert [r["reference"] for r in third.tables["images"].to_pylist()] == [ref], third.errors
    assert (third.analyzed, third.reused) == (1, 0)  # its rows went with the second run: analyzed again


def test_a_reference_the_plan_cannot_look_up_fails_with_that_error_once(
    platforms: RegistryServer, home: Path, tmp_path: Path
) -> None:
    """The index asked for while planning is refused (a 429, a timeout): the reference fails with that error and
    the rows an earlier run left of its platforms are kept, as when the registry is down when it is opened. It was
    opened again as one image: when that second request was answered, the platform this machine's, under another
    key, and the other platforms' rows went (the next run brought them back); when it was not, the registry's
    timeout was waited for twice."""
    from imgscope.fleet import batch

    front = FrontServer(platforms)
    try:
        ref, out, opts = f"docker://{front.host}/multi:1", tmp_path / "fleet", _options(tmp_path)
        first = batch([ref], out, options=opts, jobs=1)
        platform_rows = sorted(f"{ref} [{p}]" for p in ("linux/amd64", "linux/arm64"))
        assert sorted(r["reference"] for r in first.tables["images"].to_pylist()) == platform_rows, first.errors
        front.throttle, front.throttle_count = "0", 1  # the plan's request refused, any later one answered
        second = batch([ref], out, options=opts, jobs=1)
        assert (second.analyzed, second.failed) == (0, 1)
        [(named, error)] = second.errors
        assert named == ref and "too many requests" in error and "rows from an earlier run are kept" in error
        assert sorted(r["reference"] for r in second.tables["images"].to_pylist()) == platform_rows
        assert front.throttle_count == 0
        front.throttle_count, front.manifest_gets = None, 0  # refused all along: asked once, not twice
        third = batch([ref], tmp_path / "other", options=opts, jobs=1)
        assert (third.failed, front.manifest_gets) == (1, 1)
        [row] = third.tables["images"].to_pylist()
        assert row["reference"] == ref and "too many requests" in row["error"]
    finally:
        front.stop()


def test_a_catalogs_tag_the_plan_cannot_look_up_keeps_its_platforms_rows(
    platforms: RegistryServer, home: Path, tmp_path: Path
) -> None:
    """A tag the catalog lists whose index is refused while planning: its platforms' rows stay, as a reference's
    do. They went: a tag of the catalog whose rows had other keys than this run's job was taken for a tag the
    catalog no longer lists."""
    from imgscope.fleet import batch

    front = FrontServer(platforms)
    try:
        out, opts, catalog = tmp_path / "fleet", _options(tmp_path), f"{front.host}/multi"
        first = batch([], out, registry_catalog=catalog, options=opts, jobs=1)
        ref = f"docker://{front.host}/multi:1"
        platform_rows = sorted(f"{ref} [{p}]" for p in ("linux/amd64", "linux/arm64"))
        assert sorted(r["reference"] for r in first.tables["images"].to_pylist()) == platform_rows, first.errors
        front.throttle, front.throttle_count = "0", 1  # the plan's request refused, any later one answered
        second = batch([], out, registry_catalog=catalog, options=opts, jobs=1)
        assert (second.analyzed, second.failed) == (0, 1)
        assert "rows from an earlier run are kept" in second.errors[0][1]
        assert sorted(r["reference"] for r in second.tables["images"].to_pylist()) == platform_rows
    finally:
        front.stop()


def test_a_reference_the_plan_cannot_look_up_names_the_command_lines_options(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan's look-ups run in threads, which do not inherit the command's words: the error one of them gets is
    the image's error, and says ``--insecure`` as the command line has it, not the library's ``insecure=True``."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    server = start_registry(tmp_path / "tls", tls=make_tls(tmp_path / "certs", ("localhost",)))
    try:
        ref = f"localhost:{server.port}/app:1"
        env = {**env_without_proxies(), "HOME": str(home)}
        command = [sys.executable, "-m", "imgscope", "batch", ref, "--out", str(tmp_path / "o"), "-j", "1", "--json"]
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        assert done.returncode == 2, done.stderr
        said = done.stdout + done.stderr
        assert "not trusted" in said and "--insecure" in said and "insecure=True" not in said, said
    finally:
        server.stop()
