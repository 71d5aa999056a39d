"""OCI artifacts beside images in a layout: never taken for an image, named for what they are, listed apart.

The layout is skopeo's ``samples/cases/oci-gzip`` with an SBOM attached to its image the way OCI 1.1 tools
(oras attach, cosign) write one: an image manifest with ``artifactType``, the empty config and ``subject``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import imgscope
from imgscope.cli import main
from imgscope.errors import NotAnImageError

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _blob(layout: Path, data: bytes) -> dict[str, object]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest.partition(":")[2]).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def _with_sbom(tmp_path: Path, *, only_artifact: bool = False) -> tuple[Path, str, str]:
    layout = tmp_path / "layout"
    shutil.copytree(SAMPLES / "cases" / "oci-gzip", layout)
    index = json.loads((layout / "index.json").read_text())
    image_desc = index["manifests"][0]
    sbom = _blob(layout, b'{"spdxVersion": "SPDX-2.3"}')
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/example.sbom",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", **_blob(layout, b"{}")},
        "layers": [{"mediaType": "application/spdx+json", **sbom}],
        "subject": {k: image_desc[k] for k in ("mediaType", "digest", "size")},
    }
    desc = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/example.sbom",
        **_blob(layout, json.dumps(manifest).encode()),
        "annotations": {"org.opencontainers.image.ref.name": "a1"},
    }
    index["manifests"] = [desc] if only_artifact else [*index["manifests"], desc]
    (layout / "index.json").write_text(json.dumps(index))
    return layout, str(image_desc["digest"]), str(desc["digest"])


def test_artifact_is_never_the_default(tmp_path: Path) -> None:
    layout, image_digest, _ = _with_sbom(tmp_path)
    img = imgscope.open_image(layout)
    assert img.digest == image_digest and not any("images here" in n for n in img.notes)
    expected = imgscope.analyze(SAMPLES / "cases" / "oci-gzip").summary
    assert imgscope.analyze(layout).summary == expected


def test_choosing_an_artifact_says_what_it_is(tmp_path: Path) -> None:
    layout, image_digest, _ = _with_sbom(tmp_path)
    with pytest.raises(NotAnImageError) as info:
        imgscope.open_image(layout, image="a1")
    assert (
        f"'a1' is an OCI artifact of type application/example.sbom attached to {image_digest}, not a container image"
        in str(info.value)
    )
    assert str(info.value).endswith(f"; images here: {imgscope.open_image(layout).name}")
    result = CliRunner().invoke(main, ["analyze", str(layout), "--image", "a1"])
    assert result.exit_code == 2 and "not a container image" in result.output


def test_only_artifacts(tmp_path: Path) -> None:
    layout, _, _ = _with_sbom(tmp_path, only_artifact=True)
    with pytest.raises(NotAnImageError, match=r"holds no container image, only OCI artifacts \(application/example"):
        imgscope.open_image(layout)


def test_list_shows_artifacts_apart(tmp_path: Path) -> None:
    layout, image_digest, artifact_digest = _with_sbom(tmp_path)
    refs = imgscope.list_images(layout)
    [image] = [r for r in refs if r.artifact_type is None]
    [artifact] = [r for r in refs if r.artifact_type is not None]
    assert image.digest == image_digest
    assert (artifact.digest, artifact.artifact_type, artifact.subject) == (
        artifact_digest,
        "application/example.sbom",
        image_digest,
    )
