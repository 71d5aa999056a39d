"""Shared fixtures: the real sample images in samples/ and a cache of their analyses."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from functools import cache
from pathlib import Path

import pytest

import imgscope

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

# Every format of the "cases" image (overlay build), as made by buildah/skopeo (docker25.tar assembled, see
# samples/README.md).
CASES_FORMATS = [
    "cases/docker-archive.tar",
    "cases/docker25.tar",
    "cases/oci-gzip",
    "cases/oci-zstd",
    "cases/oci-plain",
    "cases/oci-archive.tar",
]


@cache
def analysis_of(rel: str, image: str | None = None, platform: str | None = None) -> imgscope.Analysis:
    """Analyze a sample once per test session."""
    return imgscope.analyze(SAMPLES / rel, image=image, platform=platform)


def require_tool(name: str) -> str:
    """The path of a real program a test starts; skip without it, except in CI, where a missing tool fails.

    `.ci/run` installs every program listed in `.ci/apt-packages`, so in CI nothing may skip for want of one.
    """
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed: add its Debian package to .ci/apt-packages")
        pytest.skip(f"{name} is not installed (apt-get install it, or run .ci/run)")
    return path


def pax_layer(files: dict[str, bytes]) -> bytes:
    """A layer tar of regular files, as Python's tarfile writes one (PAX headers)."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tf.addfile(info, io.BytesIO(content))
    return layer.getvalue()
