"""Format-neutral data model: what every image reader produces and every analysis reads."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from imgscope.created_by import parse_created_by


class EntryType(str, enum.Enum):
    """The kind of a filesystem entry, as a tar header states it."""

    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    CHAR = "char"
    BLOCK = "block"
    FIFO = "fifo"


@dataclass(frozen=True, slots=True)
class TarEntry:
    """One member of a layer tar, metadata only.

    ``path`` is normalised: no leading ``/`` or ``./``, no trailing ``/``, no ``.``
    components; the root directory itself is never yielded. Whiteout markers
    (``.wh.NAME``, ``.wh..wh..opq``) are yielded as ordinary entries: interpreting
    them is the filesystem's job. ``size`` is the header's size for regular files
    and 0 for everything else. ``link_target`` is the symlink target as written, or
    the normalised path of a hard link's target. ``digest`` is a hash of a regular
    file's content (None for other types).
    """

    path: str
    type: EntryType
    size: int
    mode: int
    uid: int
    gid: int
    link_target: str = ""
    digest: bytes | None = None


@dataclass(frozen=True)
class Platform:
    """An OS/architecture pair, as an image config or index entry states it."""

    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``linux/amd64`` or ``linux/arm/v7``; raises ValueError otherwise."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"platform {text!r} is not os/arch[/variant]")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    def matches(self, other: Platform) -> bool:
        """True when ``other`` names this platform (a missing variant matches any)."""
        return (
            self.os == other.os
            and self.architecture == other.architecture
            and (other.variant is None or self.variant is None or self.variant == other.variant)
        )


@dataclass(frozen=True)
class HistoryEntry:
    """One entry of the config's history: the step that made a layer, or an empty-layer step."""

    created_by: str | None
    created: str | None
    comment: str | None
    author: str | None
    empty_layer: bool
    layer_index: int | None  # the layer it made; None for empty-layer entries

    @property
    def command(self) -> str:
        """``created_by`` without the shell and ``#(nop)`` noise, for display."""
        return display_command(self.created_by or "")


def display_command(created_by: str) -> str:
    """A history command as a person would write it in a Dockerfile (``created_by.parse_created_by``).

    ``/bin/sh -c #(nop) ENV A=1`` becomes ``ENV A=1``; ``/bin/sh -c make`` becomes
    ``RUN make``; BuildKit's ``RUN /bin/sh -c make # buildkit`` becomes ``RUN make``.
    """
    return parse_created_by(created_by).text


@dataclass(frozen=True)
class LayerBlob:
    """A layer as the image describes it; ``open()`` gives its raw blob, nothing is read before."""

    index: int
    digest: str | None  # of the blob as stored (compressed); None when the format does not say
    diff_id: str | None  # of the uncompressed tar, from the config
    media_type: str | None
    size: int | None  # bytes of the blob as stored
    member: str  # where the blob lives inside the image, for messages
    opener: Callable[[], IO[bytes]] | None = field(repr=False, compare=False, default=None)
    annotations: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def available(self) -> bool:
        """False for a layer whose blob is absent (e.g. a foreign, non-distributable layer)."""
        return self.opener is not None

    def open(self) -> IO[bytes]:
        """The raw blob, as stored (possibly compressed)."""
        if self.opener is None:
            raise FileNotFoundError(self.member)
        return self.opener()


@dataclass(frozen=True)
class ImageRef:
    """One image a source holds, as listed by ``imgscope ls``."""

    name: str | None  # first tag, e.g. ``app:1``
    tags: tuple[str, ...]
    digest: str | None  # manifest digest, when the format has one
    config_digest: str | None
    platform: Platform | None
    media_type: str | None
    artifact_type: str | None = None  # set for an OCI artifact (SBOM, signature, ...): not an image
    subject: str | None = None  # the manifest digest an artifact is attached to, when it says


@dataclass(frozen=True)
class Image:
    """A container image, read lazily: metadata parsed, no layer decompressed."""

    source: str  # the path given
    format: str  # docker-archive | docker-archive-oci | oci-layout | oci-archive
    name: str | None
    tags: tuple[str, ...]
    digest: str | None  # manifest digest when known
    config_digest: str | None  # the image id
    platform: Platform | None
    config: dict[str, Any] = field(repr=False, compare=False)
    layers: tuple[LayerBlob, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    manifest_media_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict, compare=False)
    notes: tuple[str, ...] = ()  # what was chosen for the user, and why

    @property
    def created(self) -> str | None:
        value = self.config.get("created")
        return value if isinstance(value, str) else None
