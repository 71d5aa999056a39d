"""imgscope inspect and imgscope history on the samples."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import imgscope
from imgscope.cli import main
from imgscope.history.rows import history_of
from imgscope.inspect import repository
from tests.conftest import SAMPLES, analysis_of


def test_inspect_docker_archive() -> None:
    info = imgscope.inspect(SAMPLES / "cases/docker-archive.tar")
    img = imgscope.open_image(SAMPLES / "cases/docker-archive.tar")
    assert info.id == img.config_digest and info.repo_tags == ("localhost/cases:1",)
    assert info.repo_digests == ()  # docker save has no manifest digest
    assert info.platform == "linux/amd64" and info.os == "linux" and info.architecture == "amd64"
    c = info.config
    assert c.user == "1000:1000" and c.workdir == "/app"
    assert c.env_dict()["APP_MODE"] == "sample"
    assert c.exposed_ports == ("8080/tcp", "9090/udp")
    assert c.labels == {"org.example.case": "empty-layers", "org.example.owner": "imgscope"}
    assert c.cmd == ("/bin/sh", "-c", "cat /srv/config.txt") and c.entrypoint is None
    assert c.healthcheck == {"Test": ["CMD", "/bin/true"], "Interval": 30_000_000_000, "Timeout": 3_000_000_000}
    assert info.diff_ids == tuple(img.config["rootfs"]["diff_ids"]) and info.rootfs_type == "layers"
    assert (info.history_entries, info.empty_history_entries) == (12, 7)
    assert info.stored_size == analysis_of("cases/docker-archive.tar").summary.stored_size


def test_inspect_oci_media_types_and_annotations() -> None:
    info = imgscope.inspect(SAMPLES / "cases/oci-zstd")
    assert info.manifest_media_type == "application/vnd.oci.image.manifest.v1+json"
    assert info.manifest_digest is not None and info.manifest_digest.startswith("sha256:")
    assert {layer.media_type for layer in info.layers} == {"application/vnd.oci.image.layer.v1.tar+zstd"}
    assert info.annotations == {"org.opencontainers.image.ref.name": "1"}
    assert info.config.healthcheck is None  # skopeo's conversion to OCI drops it (samples/README.md)
    docker25 = imgscope.inspect(SAMPLES / "cases/docker25.tar")
    assert docker25.repo_digests == (f"localhost/cases@{docker25.manifest_digest}",)
    arm = imgscope.inspect(SAMPLES / "multi-platform", platform="linux/arm64")
    assert arm.platform == "linux/arm64"


def test_repository_of_a_tag() -> None:
    assert repository("localhost:5000/app:1") == "localhost:5000/app"
    assert repository("app") == "app"
    assert repository("docker.io/library/nginx:1.25") == "docker.io/library/nginx"


def test_cli_inspect_json_is_the_library_document() -> None:
    path = str(SAMPLES / "cases/oci-gzip")
    result = CliRunner().invoke(main, ["inspect", path, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc == {"schema_version": 1, **json.loads(json.dumps(imgscope.inspect(path).to_dict()))}
    bad = CliRunner().invoke(main, ["inspect", str(SAMPLES / "two-images.tar"), "--image", "nope:1"])
    assert bad.exit_code == 2 and "nope" in bad.output


def test_history_rows_with_layers_and_base() -> None:
    a = analysis_of("cases/docker-archive.tar")
    h = history_of(a)
    assert len(h.rows) == 12 and h.unnamed_layers == ()
    assert [r.layer.index for r in h.rows if r.layer is not None] == [0, 1, 2, 3, 4]
    assert [r.in_base for r in h.rows] == [True] + [False] * 11
    assert h.rows[7].layer is not None and h.rows[7].layer.size == a.layers[3].size
    assert h.base is not None and h.base.layer_count == 1


def test_history_shorter_than_the_layers(tmp_path: Path) -> None:
    from tests.hostile.make_corpus import docker_archive

    path = tmp_path / "short.tar"
    path.write_bytes(docker_archive(config=lambda c: {**c, "history": [{"created_by": "/bin/sh -c make"}]}))
    h = history_of(imgscope.analyze(path))
    assert [r.layer.index for r in h.rows if r.layer] == [0] and [r.index for r in h.unnamed_layers] == [1]
    result = CliRunner().invoke(main, ["history", str(path)])
    assert result.exit_code == 0 and "(no history entry)" in result.output
    assert "commands may not match" in result.output


def test_cli_history_json() -> None:
    result = CliRunner().invoke(main, ["history", str(SAMPLES / "cases/docker-archive.tar"), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [e["empty_layer"] for e in doc["history"]].count(True) == 7
    assert (
        doc["history"][6]["command"].startswith("COPY ") and doc["history"][6]["size"] == 7012
    )  # the bytes of samples/src/cases/files/
    assert doc["base"]["name"] == "localhost/imgscope-base:1"
