"""Which image of a layout is taken, and what is said about the others, against layouts skopeo and umoci write:
single-manifest images beside a multi-platform index, and one image under two tags."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import imgscope
from imgscope.sources.detect import first_of_several
from tests.conftest import SAMPLES, require_tool
from tests.test_local_sources import cli, one_line_exit_2


def _skopeo(*args: str) -> None:
    subprocess.run([require_tool("skopeo"), "copy", "-q", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A layout with two single-manifest images, then one multi-platform index (as the review built it)."""
    out = tmp_path_factory.mktemp("mixed") / "multi"
    _skopeo(f"oci:{SAMPLES / 'cases/oci-gzip'}:1", f"oci:{out}:cases")
    _skopeo(f"docker-archive:{SAMPLES / 'two-images.tar'}:localhost/tiny-a:1", f"oci:{out}:tiny-a")
    _skopeo("--all", f"oci:{SAMPLES / 'multi-platform'}:1", f"oci:{out}:mp")
    return out


def test_images_beside_an_index_are_not_dropped_by_the_platform_choice(mixed: Path) -> None:
    img = imgscope.open_image(mixed)
    assert img.name == "multi:cases"  # the first image, as for any source holding several
    assert first_of_several(img) == "3 images here; analyzing the first, multi:cases; choose with image="
    assert not [note for note in img.notes if "platforms here" in note]  # the image taken has one platform
    one_line_exit_2(cli("check", str(mixed)), "3 images here", "multi:cases", "multi:tiny-a", "multi:mp", "--image")


def test_the_index_of_a_mixed_layout_still_gets_its_platform_choice(mixed: Path) -> None:
    img = imgscope.open_image(mixed, image="mp")
    assert img.name == "multi:mp" and first_of_several(img) is None
    assert [note for note in img.notes if "2 platforms here" in note]
    assert str(imgscope.open_image(mixed, image="mp", platform="linux/arm64").platform) == "linux/arm64"
    # --platform alone: the single-manifest images are kept when their configs fit (the first is taken, and said)
    amd = imgscope.open_image(mixed, platform="linux/amd64")
    assert amd.name == "multi:cases" and first_of_several(amd)
    arm = imgscope.open_image(mixed, platform="linux/arm64")
    assert (arm.name, str(arm.platform)) == ("multi:mp", "linux/arm64")


def test_one_image_under_two_tags_is_one_image(tmp_path: Path) -> None:
    out = tmp_path / "twotag"
    _skopeo(f"oci:{SAMPLES / 'cases/oci-gzip'}:1", f"oci:{out}:x")
    _skopeo(f"oci:{SAMPLES / 'cases/oci-gzip'}:1", f"oci:{out}:y")
    img = imgscope.open_image(out)
    assert img.name == "twotag:x" and first_of_several(img) is None, img.notes
    assert img.tags == ("x", "y")  # as a docker save lists an image's RepoTags
    assert imgscope.open_image(out, image="y").tags == ("y", "x")
    proc = cli("check", str(out), "--max-size", "100MB")
    assert proc.returncode == 0, proc.stderr.decode()


def test_one_image_under_two_tags_by_umoci(tmp_path: Path) -> None:
    umoci = require_tool("umoci")
    layout = tmp_path / "u2"
    subprocess.run([umoci, "init", "--layout", str(layout)], check=True, capture_output=True)
    subprocess.run([umoci, "new", "--image", f"{layout}:a"], check=True, capture_output=True)
    subprocess.run([umoci, "tag", "--image", f"{layout}:a", "v2"], check=True, capture_output=True)
    assert first_of_several(imgscope.open_image(layout)) is None


def test_two_indexes_of_one_image_are_one_image(tmp_path: Path) -> None:
    """Two tags of one multi-platform index: one image, its platforms chosen as usual."""
    out = tmp_path / "mp2"
    _skopeo("--all", f"oci:{SAMPLES / 'multi-platform'}:1", f"oci:{out}:a")
    _skopeo("--all", f"oci:{SAMPLES / 'multi-platform'}:1", f"oci:{out}:b")
    img = imgscope.open_image(out)
    assert img.name == "mp2:a" and first_of_several(img) is None, img.notes
    assert [note for note in img.notes if "2 platforms here" in note]
