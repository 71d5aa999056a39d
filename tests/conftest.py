"""Shared fixtures: the real sample images in samples/ and a cache of their analyses."""

from __future__ import annotations

from functools import cache
from pathlib import Path

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
