"""Format-neutral data model: what every image reader produces and every analysis reads.

Bottom layer: imports only ``errors``. The readers in ``sources/`` fill it; nothing here reads a file.
"""

from __future__ import annotations

import enum
import hashlib
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, MutableSequence, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import IO, Any, ClassVar, Generic, TypeVar, overload

from imgscope.errors import MissingBlobError, expect


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


_ENTRY_TYPES = tuple(EntryType)
_ENTRY_CODE = {t: i for i, t in enumerate(_ENTRY_TYPES)}
#: A tar header mode's file-type bits (above the permission bits) of a directory: Go's FileInfo calls a member
#: with them a directory, whatever its type flag (``TarEntries.directory_modes``)
DIR_MODE = 0o040000
#: the code ``TarEntries.add`` takes for each type: its position in ``EntryType``
ENTRY_CODE: dict[EntryType, int] = dict(_ENTRY_CODE)


def _int_array(code: str) -> MutableSequence[int]:
    return array(code)


T = TypeVar("T")


class MadeOnRead(Sequence[T], Generic[T]):
    """A sequence stored compactly (columns, counts) whose items are made only when read.

    A subclass gives ``__len__`` and ``_make(i)`` (``0 <= i < len``); indexing, negative indexes, slices (as
    ``_many`` makes them: a tuple by default) and iteration are done here, once for every such sequence.
    """

    __slots__ = ()
    _item_name: ClassVar[str] = "item"  # for the IndexError: "member index out of range"

    def _make(self, i: int) -> T:
        raise NotImplementedError

    def _many(self, items: Iterator[T]) -> Sequence[T]:
        return tuple(items)

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[T]: ...
    def __getitem__(self, i: int | slice) -> T | Sequence[T]:
        n = len(self)
        if isinstance(i, slice):
            return self._many(map(self._make, range(*i.indices(n))))
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"{self._item_name} index out of range")
        return self._make(i)

    def __iter__(self) -> Iterator[T]:
        return map(self._make, range(len(self)))


class TarEntries(MadeOnRead[TarEntry]):
    """A layer's members stored by column; each ``TarEntry`` is made when it is read.

    One ``TarEntry`` with its path string costs about 170 bytes; here a member costs indexes into one table of
    directory prefixes, names and link targets (each string once), a type byte, machine ints and its digest's
    bytes in one ``bytearray``. ``append`` adds a member (the scan), ``path_of`` and ``rows`` read without
    making entries (the union filesystem and dive's tree need only some fields). Compares equal to a list of
    the same entries.
    """

    _item_name = "member"

    __slots__ = (
        "_digest_end",
        "_digests",
        "_dirs",
        "_gids",
        "_index",
        "_ints",
        "_links",
        "_modes",
        "_names",
        "_sizes",
        "_strings",
        "_types",
        "_uids",
        "_zero",
        "declared_sizes",
        "directory_modes",
    )

    def __init__(self, entries: Iterable[TarEntry] = ()) -> None:
        self._strings: list[str] = [""]
        self._index: dict[str, int] = {"": 0}
        self._dirs: MutableSequence[int] = _int_array("I")
        self._names: MutableSequence[int] = _int_array("I")
        self._links: MutableSequence[int] = _int_array("I")
        self._types = bytearray()
        self._sizes: MutableSequence[int] = _int_array("Q")
        self._modes: MutableSequence[int] = _int_array("I")
        self._uids: MutableSequence[int] = _int_array("I")
        self._gids: MutableSequence[int] = _int_array("I")
        self._digests = bytearray()
        self._digest_end: MutableSequence[int] = _int_array("Q")
        self._ints: dict[int, int] = {}  # one int object per distinct mode/owner handed out
        self._zero: bytes | None = None  # the digest of empty content, handed out as one object
        #: member -> the size field of a member with no content (a directory, a link ...) whose header has one;
        #: read by dive's emulation alone (dive counts it), set by the tar reader, not carried by the wire form
        self.declared_sizes: dict[int, int] = {}
        #: the members not of type directory whose header mode is a directory's (0o40000 above the permission
        #: bits), which Go's FileInfo calls directories; for dive's emulation alone, as ``declared_sizes``
        self.directory_modes: set[int] = set()
        for entry in entries:
            self.append(entry)

    @classmethod
    def from_columns(
        cls,
        strings: list[str],
        dirs: MutableSequence[int],
        names: MutableSequence[int],
        links: MutableSequence[int],
        types: bytes,
        sizes: MutableSequence[int],
        modes: MutableSequence[int],
        uids: MutableSequence[int],
        gids: MutableSequence[int],
        digests: bytes,
    ) -> TarEntries:
        """The members of columns read back (``digests``: the regular files' 32-byte digests, in order).

        Raises ValueError when the columns disagree (lengths, string indexes, type codes, digest bytes).
        """
        count = len(types)
        if not (
            isinstance(types, bytes)
            and isinstance(digests, bytes)
            and all(len(c) == count for c in (dirs, names, links, sizes, modes, uids, gids))
            and all(max(c, default=0) < len(strings) for c in (dirs, names, links))
            and max(types, default=0) < len(_ENTRY_TYPES)
            and len(digests) == 32 * types.count(_ENTRY_CODE[EntryType.FILE])
        ):
            raise ValueError("the members' columns disagree")
        new = cls()
        new._strings = strings
        new._index = {}  # filled only when more members are appended
        new._dirs, new._names, new._links = dirs, names, links
        new._types = bytearray(types)
        new._sizes, new._modes, new._uids, new._gids = sizes, modes, uids, gids
        new._digests = bytearray(digests)
        file_code = _ENTRY_CODE[EntryType.FILE]
        ends = new._digest_end
        end = 0
        for code in types:
            if code == file_code:
                end += 32
            ends.append(end)
        return new

    def append(self, entry: TarEntry) -> None:
        """Add a member after the others (a mode with a directory's file-type bits noted as the tar reader notes
        it: ``directory_modes``)."""
        if entry.mode & ~0o7777 == DIR_MODE and entry.type is not EntryType.DIR:
            self.directory_modes.add(len(self._types))
        self.add(
            entry.path,
            _ENTRY_CODE[entry.type],
            entry.size,
            entry.mode,
            entry.uid,
            entry.gid,
            entry.link_target,
            entry.digest,
        )

    def add(
        self, path: str, code: int, size: int, mode: int, uid: int, gid: int, link: str, digest: bytes | None
    ) -> None:
        """Add a member after the others from its fields (``code``: the position of its type in ``EntryType``),
        without making a ``TarEntry`` (the tar reader's way)."""
        strings, index = self._strings, self._index
        if len(index) < len(strings):  # read back from columns: index the table before adding to it
            self.string_index()
        parent, _, name = path.rpartition("/")
        at_dir = index.get(parent)
        if at_dir is None:
            at_dir = index[parent] = len(strings)
            strings.append(parent)
        at_name = index.get(name)
        if at_name is None:
            at_name = index[name] = len(strings)
            strings.append(name)
        at_link = index.get(link) if link else 0
        if at_link is None:
            at_link = index[link] = len(strings)
            strings.append(link)
        try:
            self._sizes.append(size)
            self._modes.append(mode)
            self._uids.append(uid)
            self._gids.append(gid)
        except OverflowError:  # a value no machine int holds (a PAX uid): these columns become lists
            n = len(self._types)
            self._sizes, self._modes, self._uids, self._gids = (
                [*column[:n], value]
                for column, value in zip(
                    (self._sizes, self._modes, self._uids, self._gids), (size, mode, uid, gid), strict=True
                )
            )
        self._dirs.append(at_dir)
        self._names.append(at_name)
        self._links.append(at_link)
        self._types.append(code)
        if digest is not None:
            self._digests += digest
        self._digest_end.append(len(self._digests))

    def string_index(self) -> dict[str, int]:
        """The string table's index (a string -> its position), as held: to be read, never changed."""
        strings, index = self._strings, self._index
        if len(index) < len(strings):  # read back from columns: index the table first
            index.update((text, i) for i, text in enumerate(strings))
        return index

    def has_path(self, path: str) -> bool:
        """True when a member has ``path``."""
        parent, _, name = path.rpartition("/")
        strings = self._strings
        if name not in strings or parent not in strings:
            return False
        return any(p == path for p in self.paths())

    def names(self) -> Iterator[str]:
        """Every member's own name (its path's last component), in order."""
        return map(self._strings.__getitem__, self._names)

    def columns(
        self,
    ) -> tuple[
        list[str],
        Sequence[int],
        Sequence[int],
        Sequence[int],
        bytes,
        Sequence[int],
        Sequence[int],
        Sequence[int],
        Sequence[int],
        bytes,
    ]:
        """The table and the columns (``from_columns`` takes them back), the digests of regular files only:
        ``live_columns`` with the two byte columns copied and without the digests' ends."""
        strings, dirs, names, links, types, sizes, modes, uids, gids, digests, _ends = self.live_columns()
        return strings, dirs, names, links, bytes(types), sizes, modes, uids, gids, bytes(digests)

    def live_columns(
        self,
    ) -> tuple[
        list[str],
        Sequence[int],
        Sequence[int],
        Sequence[int],
        bytearray,
        Sequence[int],
        Sequence[int],
        Sequence[int],
        Sequence[int],
        bytearray,
        Sequence[int],
    ]:
        """The string table and the columns as held, not copied (to be read, never changed): strings, directory
        prefix, name and link target (indexes into the strings), type codes (``EntryType`` in declaration order),
        size, mode, uid, gid, the digests' bytes and each member's end in them (a member without a digest ends
        where the one before it does). For a reader of every member (the union filesystem)."""
        return (
            self._strings,
            self._dirs,
            self._names,
            self._links,
            self._types,
            self._sizes,
            self._modes,
            self._uids,
            self._gids,
            self._digests,
            self._digest_end,
        )

    def tree_columns(
        self,
    ) -> tuple[list[str], Sequence[int], Sequence[int], bytearray, Sequence[int], Sequence[int]]:
        """What a tree of the members is built from, not copied (read only): the string table, each member's
        directory and name (indexes into it), type code (its position in ``tuple(EntryType)``), size and mode."""
        return self._strings, self._dirs, self._names, self._types, self._sizes, self._modes

    def __len__(self) -> int:
        return len(self._types)

    def path_of(self, i: int) -> str:
        """The path of member ``i``, without making the entry."""
        strings = self._strings
        parent = strings[self._dirs[i]]
        return f"{parent}/{strings[self._names[i]]}" if parent else strings[self._names[i]]

    def paths(self) -> Iterator[str]:
        """Every member's path, in order."""
        return map(self.path_of, range(len(self._types)))

    def rows(self) -> Iterator[tuple[str, int, EntryType, int]]:
        """(path, size, type, mode) of every member, in order, without making entries."""
        types, sizes, modes, path_of = self._types, self._sizes, self._modes, self.path_of
        for i in range(len(types)):
            yield path_of(i), sizes[i], _ENTRY_TYPES[types[i]], modes[i]

    def _make(self, i: int) -> TarEntry:
        code = self._types[i]
        end = self._digest_end[i]
        start = self._digest_end[i - 1] if i else 0
        shared = self._ints.setdefault
        mode, uid, gid = self._modes[i], self._uids[i], self._gids[i]
        return TarEntry(
            self.path_of(i),
            _ENTRY_TYPES[code],
            self._sizes[i],
            shared(mode, mode),
            shared(uid, uid),
            shared(gid, gid),
            self._strings[self._links[i]],
            self._digest(start, end, self._sizes[i]) if end != start else None,
        )

    def _digest(self, start: int, end: int, size: int) -> bytes:
        digest = bytes(self._digests[start:end])
        if size == 0:  # empty files are many and share one digest: one object, as the tar reader gives it
            if self._zero is None:
                self._zero = digest
            elif self._zero == digest:
                return self._zero
        return digest

    def _many(self, items: Iterator[TarEntry]) -> list[TarEntry]:
        return list(items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (TarEntries, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TarEntries(<{len(self)} members>)"


def entry_paths(entries: Sequence[TarEntry]) -> Iterator[str]:
    """The path of each member, without making the entries when they are stored by column."""
    return entries.paths() if isinstance(entries, TarEntries) else (e.path for e in entries)


def entry_names(entries: Sequence[TarEntry]) -> Iterator[str]:
    """The own name (last component) of each member, without making the entries when they are stored by column."""
    return entries.names() if isinstance(entries, TarEntries) else (e.path.rpartition("/")[2] for e in entries)


@dataclass(frozen=True)
class Platform:
    """An OS/architecture pair, as an image config or index entry states it.

    Attributes:
        os: e.g. linux
        architecture: e.g. amd64, arm64
        variant: e.g. v7, or None
    """

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
    """One entry of the config's history: the step that made a layer, or an empty-layer step.

    Attributes:
        created_by: the command as the builder recorded it (``/bin/sh -c #(nop) ENV A=1``).
        created: when, as the config writes it (RFC 3339).
        comment: the builder's comment (``buildkit.dockerfile.v0``).
        author: the entry's author.
        empty_layer: True for a step that made no layer (ENV, CMD, ...).
        layer_index: the layer it made; None for empty-layer entries.
        command: ``created_by`` as a person would write it in a Dockerfile, without the shell and ``#(nop)``
            noise (``ENV A=1``, ``RUN make``); filled by the reader (``sources.created_by``), "" when not given.
    """

    created_by: str | None
    created: str | None
    comment: str | None
    author: str | None
    empty_layer: bool
    layer_index: int | None
    command: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The entry as in the JSON documents (``history[]``)."""
        return {
            "created_by": self.created_by,
            "command": self.command,
            "created": self.created,
            "comment": self.comment,
            "author": self.author,
            "empty_layer": self.empty_layer,
            "layer": self.layer_index,
        }


@dataclass(frozen=True)
class LayerBlob:
    """A layer as the image describes it; ``open()`` gives its raw blob, nothing is read before.

    Attributes:
        index: its position, bottom first
        digest: of the blob as stored (compressed); None when the format does not say
        diff_id: of the uncompressed tar, from the config
        media_type: the layer's media type, when the format says
        size: bytes of the blob as stored
        member: where the blob lives inside the image, for messages
        opener: opens the raw blob; None when the blob is absent
        annotations: the manifest's annotations of the layer
    """

    index: int
    digest: str | None
    diff_id: str | None
    media_type: str | None
    size: int | None
    member: str
    opener: Callable[[], IO[bytes]] | None = field(repr=False, compare=False, default=None)
    annotations: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def available(self) -> bool:
        """False for a layer whose blob is absent (e.g. a foreign, non-distributable layer)."""
        return self.opener is not None

    def open(self) -> IO[bytes]:
        """The raw blob, as stored (possibly compressed); ``MissingBlobError`` when it is absent."""
        if self.opener is None:
            raise MissingBlobError(self.member, "the layer blob is not in the image")
        return self.opener()


@dataclass(frozen=True)
class ImageRef:
    """One image a source holds, as listed by ``imgscope ls``.

    Attributes:
        name: first tag, e.g. ``app:1``
        tags: every tag
        digest: manifest digest, when the format has one
        config_digest: the image id
        platform: the platform, when the source says
        media_type: the manifest's media type
        artifact_type: set for an OCI artifact (an SBOM, a signature, an attestation ...): not an image
        subject: the manifest digest an artifact is attached to, when it says
    """

    name: str | None
    tags: tuple[str, ...]
    digest: str | None
    config_digest: str | None
    platform: Platform | None
    media_type: str | None
    artifact_type: str | None = None
    subject: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The image as in ``imgscope ls --json``."""
        return {
            "name": self.name,
            "tags": list(self.tags),
            "digest": self.digest,
            "config_digest": self.config_digest,
            "platform": str(self.platform) if self.platform else None,
            "media_type": self.media_type,
            "artifact_type": self.artifact_type,
            "subject": self.subject,
        }


@dataclass(frozen=True)
class Image:
    """A container image, read lazily: metadata parsed, no layer decompressed.

    Attributes:
        source: the source as named (a path, ``-``, ``docker-daemon:NAME``, ``docker://HOST/REPO:TAG``, ...)
        format: docker-archive | docker-archive-oci | oci-layout | oci-archive | dir | registry
        name: the first tag, when the image has one
        tags: every tag
        digest: manifest digest when known
        config_digest: the image id
        platform: the OS/architecture the config states
        config: the image config as parsed JSON (``runtime`` has its run-time settings, typed)
        layers: the layers, bottom first, nothing read yet
        history: the config's history, each entry with the layer it made
        manifest_media_type: the manifest's media type, when there is a manifest
        annotations: the manifest's annotations
        notes: what was chosen for the user, and why
    """

    source: str
    format: ImageFormat
    name: str | None
    tags: tuple[str, ...]
    digest: str | None
    config_digest: str | None
    platform: Platform | None
    config: dict[str, Any] = field(repr=False, compare=False)
    layers: tuple[LayerBlob, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    manifest_media_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict, compare=False)
    notes: tuple[str, ...] = ()

    @property
    def created(self) -> str | None:
        """When the image was built, as its config writes it."""
        value = self.config.get("created")
        return value if isinstance(value, str) else None

    @cached_property
    def runtime(self) -> RuntimeConfig:
        """The run-time settings of the config (``config.config``), parsed once; ``ImageFormatError`` when a
        setting has the wrong type."""
        return RuntimeConfig.from_config(self.config, self.source)


@dataclass(frozen=True)
class RuntimeConfig:
    """The run-time settings of an image config (``config.config``), types checked, empty values normalised.

    Attributes:
        env: ``NAME=value`` strings, in order.
        entrypoint: the entrypoint argv; None when unset (or empty).
        cmd: the default command argv; None when unset.
        user: the user (``""`` for root by default).
        workdir: the working directory (``""`` when unset).
        exposed_ports: ``80/tcp`` ..., sorted.
        volumes: volume paths, sorted.
        labels: the labels.
        healthcheck: the raw ``Healthcheck`` object, None when unset.
        stop_signal: e.g. ``SIGTERM``; None when unset.
        shell: the ``SHELL`` argv; None when unset.
        on_build: ``ONBUILD`` instructions, in order.
    """

    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    user: str = ""
    workdir: str = ""
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    healthcheck: dict[str, Any] | None = None
    stop_signal: str | None = None
    shell: tuple[str, ...] | None = None
    on_build: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: dict[str, Any], where: str) -> RuntimeConfig:
        """Read ``config["config"]`` (absent: all defaults). Raises ImageFormatError on a wrong type."""
        inner = config.get("config") or {}
        expect(inner, dict, where, "config.config")

        def strings(key: str) -> tuple[str, ...] | None:
            value = inner.get(key)
            if value is None:
                return None
            if isinstance(value, str):  # some writers store a one-string Cmd
                return (value,)
            items = expect(value, list, where, f"config.config.{key}")
            return tuple(expect(v, str, where, f"config.config.{key}[]") for v in items)

        def text(key: str) -> str:
            value = inner.get(key)
            return "" if value is None else str(expect(value, str, where, f"config.config.{key}"))

        def keys(key: str) -> tuple[str, ...]:
            value = inner.get(key)
            if value is None:
                return ()
            return tuple(sorted(expect(value, dict, where, f"config.config.{key}")))

        labels_raw = inner.get("Labels") or {}
        expect(labels_raw, dict, where, "config.config.Labels")
        labels = {str(k): str(expect(v, str, where, f"config.config.Labels[{k!r}]")) for k, v in labels_raw.items()}
        health = inner.get("Healthcheck")
        if health is not None:
            expect(health, dict, where, "config.config.Healthcheck")
        entrypoint, cmd = strings("Entrypoint"), strings("Cmd")
        return cls(
            env=strings("Env") or (),
            entrypoint=entrypoint or None,  # buildah writes [] for "none"
            cmd=cmd,
            user=text("User"),
            workdir=text("WorkingDir"),
            exposed_ports=keys("ExposedPorts"),
            volumes=keys("Volumes"),
            labels=labels,
            healthcheck=health or None,
            stop_signal=text("StopSignal") or None,
            shell=strings("Shell"),
            on_build=strings("OnBuild") or (),
        )

    def env_dict(self) -> dict[str, str]:
        """``Env`` as a mapping (a later duplicate wins, as at run time)."""
        out: dict[str, str] = {}
        for item in self.env:
            name, _, value = item.partition("=")
            out[name] = value
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "env": list(self.env),
            "entrypoint": None if self.entrypoint is None else list(self.entrypoint),
            "cmd": None if self.cmd is None else list(self.cmd),
            "user": self.user,
            "workdir": self.workdir,
            "exposed_ports": list(self.exposed_ports),
            "volumes": list(self.volumes),
            "labels": dict(self.labels),
            "healthcheck": self.healthcheck,
            "stop_signal": self.stop_signal,
            "shell": None if self.shell is None else list(self.shell),
            "on_build": list(self.on_build),
        }


class ImageFormat(str, enum.Enum):
    """How an image is stored on disk."""

    DOCKER_ARCHIVE = "docker-archive"  # docker save, manifest.json
    DOCKER_ARCHIVE_OCI = "docker-archive-oci"  # docker save (25+), with an OCI index as well
    OCI_LAYOUT = "oci-layout"  # a directory
    OCI_ARCHIVE = "oci-archive"  # an OCI layout in a tar
    DIR = "dir"  # skopeo's directory layout (dir:PATH)
    REGISTRY = "registry"  # pulled from a registry (docker://)

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Compression(str, enum.Enum):
    """How a layer blob is compressed."""

    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


_DIGEST_LENGTHS = {"sha256": 64, "sha512": 128}
_DIGEST_RE = re.compile(r"(sha256):([0-9a-f]{64})|(sha512):([0-9a-f]{128})")


@dataclass(frozen=True, slots=True)
class Digest:
    """A content digest, ``algorithm:hex`` (sha256 or sha512, the algorithms OCI registers).

    Attributes:
        algorithm: ``sha256`` or ``sha512``
        hex: lowercase hex of the hash
    """

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        """``sha256:<64 hex>`` or ``sha512:<128 hex>``; ``ValueError`` otherwise."""
        m = _DIGEST_RE.fullmatch(text)
        if m is None:
            raise ValueError(f"{text[:80]!r} is not a sha256/sha512 digest")
        return cls(m[1] or m[3], m[2] or m[4])

    @staticmethod
    def is_valid(text: str) -> bool:
        """True for a well-formed sha256/sha512 digest."""
        return _DIGEST_RE.fullmatch(text) is not None

    def hasher(self) -> Any:
        """A fresh ``hashlib`` object of this digest's algorithm."""
        return hashlib.new(self.algorithm)

    @classmethod
    def of(cls, algorithm: str, data: bytes) -> Digest:
        """The digest of ``data`` with ``algorithm``."""
        if algorithm not in _DIGEST_LENGTHS:
            raise ValueError(f"unsupported digest algorithm {algorithm!r}")
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"
