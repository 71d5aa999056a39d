"""Reading an image config (the JSON with ``rootfs``, ``history`` and ``config``), strictly."""

from __future__ import annotations

from typing import Any, NamedTuple

from imgscope.errors import ImageFormatError, expect
from imgscope.model import Digest, HistoryEntry, Platform
from imgscope.sources.created_by import parse_created_by
from imgscope.text import plural

__all__ = ["ParsedConfig", "check_digest", "expect", "opt_str", "parse_config"]


def opt_str(obj: dict[str, Any], key: str, where: str, what: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    return str(expect(value, str, where, f"{what}.{key}"))


#: The media types of an image layer (OCI image-spec, Docker's manifest v2): a manifest whose layer has another
#: is not an image (an artifact, or a mistake) and is refused, from a registry, a layout or an archive alike.
LAYER_TYPES = frozenset(
    {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.diff.tar.zstd",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    }
)


def layer_media_type(desc: dict[str, Any], index: int, where: str) -> str | None:
    """The ``mediaType`` of layer ``index``'s descriptor (None when it has none); ``ImageFormatError`` when it is
    not an image layer's."""
    layer_type = opt_str(desc, "mediaType", where, "layers[]")
    if layer_type is not None and layer_type not in LAYER_TYPES:
        raise ImageFormatError(where, f"layer {index} has media type {layer_type[:100]!r}, not an image layer")
    return layer_type


def check_digest(value: Any, where: str, what: str) -> str:
    text = expect(value, str, where, what)
    if not Digest.is_valid(text):
        raise ImageFormatError(where, f"{what} {text[:80]!r} is not a sha256/sha512 digest")
    return str(text)


MAX_DESCRIPTOR_SIZE = (1 << 63) - 1  # the OCI image spec: an int64


def check_size(desc: dict[str, Any], where: str, what: str, actual: int | None) -> int | None:
    """A descriptor's ``size``: an integer in int64 range that equals the blob's length (``actual``) when the
    blob is here (the OCI image spec: the size MUST match). None when the descriptor gives none."""
    value = desc.get("size")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ImageFormatError(where, f"{what}.size must be an integer, not {type(value).__name__} {value!r:.40}")
    if not 0 <= value <= MAX_DESCRIPTOR_SIZE:
        raise ImageFormatError(where, f"{what}.size {str(value)[:40]} is out of range (0 to 2^63-1)")
    if actual is not None and value != actual:
        raise ImageFormatError(where, f"{what}.size says {value} bytes, the blob has {actual}")
    return value


def check_schema_version(doc: dict[str, Any], where: str, what: str) -> None:
    """``schemaVersion``, when present, must be the number 2 (image spec: index and manifest)."""
    if "schemaVersion" not in doc:
        return
    value = doc["schemaVersion"]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ImageFormatError(where, f"{what} schemaVersion must be the number 2, not {type(value).__name__}")
    if value != 2:
        raise ImageFormatError(where, f"{what} schemaVersion {value} is not supported (only 2)")


class ParsedConfig(NamedTuple):
    """What the readers take from an image config."""

    diff_ids: list[str]  #: the uncompressed layers' digests, bottom first
    history: list[HistoryEntry]  #: each entry with its layer and its command (``created_by``)
    platform: Platform | None  #: the OS/architecture stated
    notes: list[str]  #: what does not add up (history and layers that do not match)


def parse_config(config: Any, where: str) -> ParsedConfig:
    """The diff_ids, the history (with each entry's layer index), the platform, and notes."""
    expect(config, dict, where, "the image config")
    rootfs = expect(config.get("rootfs", {}), dict, where, "rootfs")
    diff_ids = [
        check_digest(d, where, "rootfs.diff_ids[]")
        for d in expect(rootfs.get("diff_ids", []), list, where, "rootfs.diff_ids")
    ]
    notes: list[str] = []
    history: list[HistoryEntry] = []
    layer = 0
    for raw in expect(config.get("history", []) or [], list, where, "history"):
        expect(raw, dict, where, "history[]")
        empty = raw.get("empty_layer", False)
        expect(empty, bool, where, "history[].empty_layer")
        created_by = opt_str(raw, "created_by", where, "history[]")
        history.append(
            HistoryEntry(
                created_by=created_by,
                created=opt_str(raw, "created", where, "history[]"),
                comment=opt_str(raw, "comment", where, "history[]"),
                author=opt_str(raw, "author", where, "history[]"),
                empty_layer=bool(empty),
                layer_index=None if empty or layer >= len(diff_ids) else layer,  # none past the image's layers
                command=parse_created_by(created_by or "").text,
            )
        )
        if not empty:
            layer += 1
    if history and layer != len(diff_ids):
        notes.append(
            f"the history names {plural(layer, 'layer')} but the image has {len(diff_ids)}: "
            "commands may not match their layers"
        )
    platform = None
    os_name, arch = config.get("os"), config.get("architecture")
    if isinstance(os_name, str) and isinstance(arch, str) and os_name and arch:
        variant = config.get("variant")
        platform = Platform(os_name, arch, variant if isinstance(variant, str) and variant else None)
    inner = config.get("config")
    if inner is not None:
        expect(inner, dict, where, "config.config")
    return ParsedConfig(diff_ids, history, platform, notes)
