"""Which image of a layout is taken, and what is said about the others, against layouts skopeo writes:
single-manifest images beside a multi-platform index."""

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
    assert first_of_several(img) == "3 images here; analyzing the first, multi:cases; choose with --image"
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
