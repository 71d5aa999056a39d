"""``inspect(image) -> ImageInfo``: what ``docker image inspect`` shows, plus the manifest's annotations and media
types, read from the metadata alone (no layer is decompressed)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from imgscope._display import Displayable
from imgscope.analysis import Analysis
from imgscope.errors import ImageFormatError, expect
from imgscope.model import Image, RuntimeConfig
from imgscope.sources.detect import check_chosen, open_image
from imgscope.sources.resolve import library_source

#: The version of the inspect JSON document (``docs/json.md``); bump it on any breaking change.
INSPECT_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class LayerInfo:
    """A layer as the manifest and config describe it.

    Attributes:
        index: its position, bottom first
        digest: digest of the blob as stored, when the source says (a classic docker save does not: its layer.tar is
            read to know; analyze gives it)
        diff_id: digest of the uncompressed tar, from the config
        media_type: the layer's media type
        size: bytes of the blob as stored
        available: False when its blob is absent (a foreign layer)
        annotations: the manifest's annotations of the layer
    """

    index: int
    digest: str | None
    diff_id: str | None
    media_type: str | None
    size: int | None
    available: bool
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, repr=False)  # repr: one line, from the display registry
class ImageInfo(Displayable):
    """What ``docker image inspect`` shows, with the manifest's media types and annotations.

    Attributes:
        id: the config digest
        repo_tags: the tags
        repo_digests: REPOSITORY@MANIFEST-DIGEST, when the format has a manifest digest
        created: when the image was built
        author: the config's author
        comment: the config's comment
        docker_version: the Docker version that built it, when recorded
        os: the config's OS
        architecture: the config's architecture
        variant: the config's CPU variant
        os_version: the config's OS version
        platform: OS/architecture[/variant] in one string
        source: the path given
        format: how the image is stored
        manifest_digest: the manifest's digest, when the format has one
        manifest_media_type: the manifest's media type
        annotations: the manifest's annotations
        config: the run-time settings
        rootfs_type: the config's rootfs type (``layers``)
        diff_ids: the uncompressed layers' digests, from the config
        layers: the layers as the manifest and config describe them
        stored_size: bytes of all layer blobs as stored, when the format gives every size
        history_entries: history entries in all
        empty_history_entries: history entries that made no layer
        notes: what was chosen for the user, and why
    """

    id: str | None
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    created: str | None
    author: str | None
    comment: str | None
    docker_version: str | None
    os: str | None
    architecture: str | None
    variant: str | None
    os_version: str | None
    platform: str | None
    source: str
    format: str
    manifest_digest: str | None
    manifest_media_type: str | None
    annotations: dict[str, str]
    config: RuntimeConfig
    rootfs_type: str | None
    diff_ids: tuple[str, ...]
    layers: tuple[LayerInfo, ...]
    stored_size: int | None
    history_entries: int
    empty_history_entries: int
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (``docs/json.md``, inspect document)."""
        return {
            "schema_version": INSPECT_SCHEMA_VERSION,
            "id": self.id,
            "repo_tags": list(self.repo_tags),
            "repo_digests": list(self.repo_digests),
            "created": self.created,
            "author": self.author,
            "comment": self.comment,
            "docker_version": self.docker_version,
            "os": self.os,
            "architecture": self.architecture,
            "variant": self.variant,
            "os_version": self.os_version,
            "platform": self.platform,
            "source": self.source,
            "format": self.format,
            "manifest_digest": self.manifest_digest,
            "manifest_media_type": self.manifest_media_type,
            "annotations": dict(self.annotations),
            "config": self.config.to_dict(),
            "rootfs": {"type": self.rootfs_type, "diff_ids": list(self.diff_ids)},
            "layers": [
                {
                    "index": layer.index,
                    "digest": layer.digest,
                    "diff_id": layer.diff_id,
                    "media_type": layer.media_type,
                    "size": layer.size,
                    "available": layer.available,
                    "annotations": dict(layer.annotations),
                }
                for layer in self.layers
            ],
            "stored_size": self.stored_size,
            "history_entries": self.history_entries,
            "empty_history_entries": self.empty_history_entries,
            "notes": list(self.notes),
        }


def repository(tag: str) -> str:
    """``registry:5000/app:1`` -> ``registry:5000/app`` (a port is not a tag)."""
    head, sep, last = tag.rpartition("/")
    name = last.split("@", 1)[0].partition(":")[0]
    return f"{head}{sep}{name}"


def _opt_text(config: dict[str, Any], key: str, where: str) -> str | None:
    value = config.get(key)
    if value is None or value == "":
        return None
    return str(expect(value, str, where, key))


def _loose_text(config: dict[str, Any], key: str) -> str | None:
    """A platform field as text, None when it is not one: ``analyze`` reads an image whose config has ``"os": 5``
    (no platform then), so ``inspect`` shows it too, rather than refuse it."""
    value = config.get(key)
    return value if isinstance(value, str) and value else None


def inspect(
    source: Image | Analysis | str | os.PathLike[str], *, image: str | None = None, platform: str | None = None
) -> ImageInfo:
    """Describe an image (a path opened with ``open_image``, an ``Image`` or an ``Analysis``) from its metadata.
    Reads no layer."""
    if isinstance(source, Analysis):
        img = check_chosen(source.image, image, platform)
    elif isinstance(source, Image):
        img = check_chosen(source, image, platform)
    else:
        given = library_source(os.fspath(source), image=image, platform=platform)  # a path or any source name
        img = (
            check_chosen(given, image, platform)
            if isinstance(given, Image)
            else open_image(given, image=image, platform=platform)
        )
    where = img.source
    config = img.config
    if not isinstance(config, dict):
        raise ImageFormatError(where, "the image config must be an object")
    rootfs = config.get("rootfs") or {}
    expect(rootfs, dict, where, "rootfs")
    # An OCI layout's bare ref name ("1") names no repository, so it makes no repo digest.
    named = [t for t in img.tags if ":" in t.rpartition("/")[2]]
    digests = tuple(dict.fromkeys(f"{repository(t)}@{img.digest}" for t in named)) if img.digest else ()
    return ImageInfo(
        id=img.config_digest,
        repo_tags=img.tags,
        repo_digests=digests,
        created=img.created,
        author=_opt_text(config, "author", where),
        comment=_opt_text(config, "comment", where),
        docker_version=_opt_text(config, "docker_version", where),
        os=_loose_text(config, "os"),
        architecture=_loose_text(config, "architecture"),
        variant=_loose_text(config, "variant"),
        os_version=_opt_text(config, "os.version", where),
        platform=str(img.platform) if img.platform else None,
        source=img.source,
        format=img.format,
        manifest_digest=img.digest,
        manifest_media_type=img.manifest_media_type,
        annotations=dict(img.annotations),
        config=img.runtime,
        rootfs_type=_opt_text(rootfs, "type", where),
        diff_ids=tuple(b.diff_id for b in img.layers if b.diff_id),
        layers=tuple(
            LayerInfo(b.index, b.digest, b.diff_id, b.media_type, b.size, b.available, dict(b.annotations))
            for b in img.layers
        ),
        stored_size=sum(b.size for b in img.layers if b.size is not None)
        if all(b.size is not None for b in img.layers)
        else None,
        history_entries=len(img.history),
        empty_history_entries=sum(1 for h in img.history if h.empty_layer),
        notes=img.notes,
    )
