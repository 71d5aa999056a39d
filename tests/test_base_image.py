"""Where the base image ends: on buildah's real samples, and on history shapes other builders write."""

from __future__ import annotations

from dataclasses import replace

import pytest

import imgscope
from imgscope.history.base_image import BASE_DIGEST_ANNOTATION, find_base
from imgscope.model import HistoryEntry
from tests.conftest import CASES_FORMATS, SAMPLES


@pytest.mark.parametrize("rel", [*CASES_FORMATS, "cases-vfs/docker-archive.tar"])
def test_cases_base_is_the_busybox_layer(rel: str) -> None:
    # samples/src/cases/Containerfile: FROM localhost/imgscope-base:1, a one-layer busybox image.
    base = find_base(imgscope.open_image(SAMPLES / rel))
    assert base is not None
    assert (base.layer_count, base.history_count, base.name) == (1, 1, "localhost/imgscope-base:1")
    assert "FROM localhost/imgscope-base:1" in base.evidence


def test_tiny_b_is_built_on_tiny_a() -> None:
    tiny_a = imgscope.open_image(SAMPLES / "two-images.tar", image="tiny-a:1")
    tiny_b = imgscope.open_image(SAMPLES / "two-images.tar", image="tiny-b:1")
    base = find_base(tiny_b)
    assert base is not None
    assert base.name == "localhost/tiny-a:1"
    assert base.layer_count == len(tiny_a.layers) == 2
    assert base.history_count == len(tiny_a.history) == 4
    assert [layer.diff_id for layer in tiny_b.layers[: base.layer_count]] == [layer.diff_id for layer in tiny_a.layers]


@pytest.mark.parametrize("rel", ["two-images.tar", "multi-platform"])
def test_from_scratch_images_have_no_base(rel: str) -> None:
    assert find_base(imgscope.open_image(SAMPLES / rel)) is None


def _entry(created_by: str, created: str, layer: int | None, comment: str | None = None) -> HistoryEntry:
    return HistoryEntry(created_by, created, comment, None, layer is None, layer)


def _image_with(history: list[HistoryEntry], annotations: dict[str, str] | None = None) -> imgscope.Image:
    sample = imgscope.open_image(SAMPLES / "cases/oci-plain")
    layers = max((h.layer_index for h in history if h.layer_index is not None), default=-1) + 1
    return replace(sample, history=tuple(history), layers=sample.layers[:layers], annotations=annotations or {})


# Shapes of real histories: the classic builder on debian (ADD rootfs, CMD ["bash"]), BuildKit on python.
CLASSIC = [
    _entry(
        "/bin/sh -c #(nop) ADD file:4b03b5f551e3fbdf47ec609712007327828f7530cc3455c43bbcdcaf449a75a9 in / ",
        "2023-11-21T05:21:24.536066751Z",
        0,
    ),
    _entry('/bin/sh -c #(nop)  CMD ["bash"]', "2023-11-21T05:21:25.0Z", None),
    _entry("/bin/sh -c apt-get update && apt-get install -y curl", "2023-11-21T05:21:25.5Z", 1),
    _entry('/bin/sh -c #(nop)  CMD ["curl"]', "2023-11-21T05:21:26Z", None),
]
BUILDKIT_REPRODUCIBLE = [
    _entry("ADD rootfs.tar.xz / # buildkit", "2024-01-01T00:00:00Z", 0, "buildkit.dockerfile.v0"),
    _entry('CMD ["python3"]', "2024-01-01T00:00:00Z", None, "buildkit.dockerfile.v0"),
    _entry("RUN /bin/sh -c pip install flask # buildkit", "2024-01-01T00:00:00Z", 1, "buildkit.dockerfile.v0"),
    _entry("COPY . /app # buildkit", "2024-01-01T00:00:00Z", 2, "buildkit.dockerfile.v0"),
]
BUILDKIT_ON_CLASSIC_BASE = [  # a base made by the classic builder (ends without CMD), the build by BuildKit
    _entry("/bin/sh -c #(nop) ADD file:aa in / ", "2024-01-01T00:00:00Z", 0),
    _entry("/bin/sh -c #(nop) WORKDIR /go", "2024-01-01T00:00:00Z", None),
    _entry("WORKDIR /src", "2024-01-01T00:00:00Z", None, "buildkit.dockerfile.v0"),
    _entry("COPY . . # buildkit", "2024-01-01T00:00:00Z", 1, "buildkit.dockerfile.v0"),
]
TIME_GAP_ONLY = [
    _entry("/bin/sh -c #(nop) ADD file:aa in / ", "2023-06-01T10:00:00Z", 0),
    _entry("/bin/sh -c #(nop) ADD file:bb in /usr ", "2023-06-01T10:00:05Z", 1),
    _entry("/bin/sh -c make install", "2023-12-24T18:30:00.123456789Z", 2),
    _entry("/bin/sh -c #(nop) WORKDIR /srv", "2023-12-24T18:30:01Z", None),
]


@pytest.mark.parametrize(
    ("history", "layers", "entries", "rule"),
    [
        (CLASSIC, 1, 2, "CMD followed by layers"),
        (BUILDKIT_REPRODUCIBLE, 1, 2, "CMD followed by layers"),
        (BUILDKIT_ON_CLASSIC_BASE, 1, 2, "carry BuildKit's mark"),
        (TIME_GAP_ONLY, 2, 2, "created 206 days after"),
    ],
)
def test_history_rules(history: list[HistoryEntry], layers: int, entries: int, rule: str) -> None:
    base = find_base(_image_with(history))
    assert base is not None
    assert (base.layer_count, base.history_count) == (layers, entries)
    assert rule in base.evidence


def test_final_cmd_alone_is_not_a_base() -> None:
    history = [
        _entry("COPY app /app # buildkit", "2024-01-01T00:00:00Z", 0),
        _entry('CMD ["/app"]', "2024-01-01T00:00:00Z", None),
    ]
    assert find_base(_image_with(history)) is None


def test_annotation_names_the_digest() -> None:
    base = find_base(_image_with(CLASSIC, {BASE_DIGEST_ANNOTATION: "sha256:" + "ab" * 32}))
    assert base is not None and base.digest == "sha256:" + "ab" * 32


def test_unparseable_times_are_no_evidence() -> None:
    history = [_entry("ADD a /", "yesterday", 0), _entry("RUN b", "2023-12-24T18:30:00Z", 1)]
    assert find_base(_image_with(history)) is None
