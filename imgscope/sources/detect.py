"""What is this path? Pick the reader, list the images inside, choose one."""

from __future__ import annotations

import dataclasses
import os
import platform as _platform
from collections.abc import Callable
from typing import IO, Any

from imgscope.errors import (
    ImageFormatError,
    ImageNotFoundError,
    ImgscopeError,
    MissingBlobError,
    NotAnImageError,
    SourceNotFoundError,
    UsageError,
    option,
    option_given,
)
from imgscope.model import Image, ImageFormat, ImageRef, Platform
from imgscope.sources import dir_layout, docker_archive, local, oci_layout, stream_archive
from imgscope.sources.oci_layout import Candidate, describe_artifact
from imgscope.sources.store import BlobStore, DirStore, TarStore

_Builder = Callable[[BlobStore, Candidate, ImageFormat, list[str]], Image]


def host_platform() -> Platform:
    """The platform images would run as on this machine (containers are Linux ones)."""
    machine = _platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i686": "386"}.get(machine)
    if arch is None and machine.startswith("armv"):
        return Platform("linux", "arm", "v" + machine[4])
    return Platform("linux", arch or machine)


def _open_source(path: str) -> tuple[BlobStore, ImageFormat, list[Candidate], _Builder]:
    as_dir = local.dir_path(path)
    if as_dir is not None:
        if not os.path.exists(as_dir):
            raise SourceNotFoundError(path, "no such directory")
        if not os.path.isdir(as_dir):
            raise ImageFormatError(path, "not a directory (dir: names skopeo's directory layout)")
        dir_store = DirStore(as_dir)
        if not dir_store.has("manifest.json") or not dir_store.has("version"):
            raise ImageFormatError(path, "not a skopeo dir: layout (no manifest.json and version)")
        return (dir_store, *formats_of(dir_store, True))
    src = local.stream_source(path)
    if src is not None:
        with local.open_stream(src) as raw:
            contents: stream_archive.StreamContents[None] = stream_archive.read_stream(raw, src.label, None)
        mem = stream_archive.MemStore(contents)
        return (mem, *formats_of(mem, False))
    if not os.path.exists(path):
        raise SourceNotFoundError(path, "no such file or directory")
    store: BlobStore
    try:
        store = DirStore(path) if os.path.isdir(path) else TarStore(path)
    except OSError as exc:
        raise ImageFormatError(path, exc.strerror or str(exc)) from None
    return (store, *formats_of(store, isinstance(store, DirStore)))


def formats_of(store: BlobStore, is_dir: bool) -> tuple[ImageFormat, list[Candidate], _Builder]:
    """The format of an opened store, the images it holds, and the function that opens one."""
    if store.has("manifest.json"):
        if is_dir and store.has("version") and not store.has("index.json"):
            return ImageFormat.DIR, dir_layout.find_candidates(store), dir_layout.build_image
        fmt = ImageFormat.DOCKER_ARCHIVE_OCI if store.has("index.json") else ImageFormat.DOCKER_ARCHIVE
        return fmt, docker_archive.find_candidates(store), docker_archive.build_image
    if store.has("index.json"):
        fmt = ImageFormat.OCI_LAYOUT if is_dir else ImageFormat.OCI_ARCHIVE
        return fmt, oci_layout.find_candidates(store), oci_layout.build_image
    what = "directory" if is_dir else "tar archive"
    raise ImageFormatError(store.label, f"not a container image: a {what} with neither manifest.json nor index.json")


def open_stream_image(
    src: local.StreamSource,
    scanner: stream_archive.Scanner[stream_archive.S],
    *,
    image: str | None = None,
    platform: str | Platform | None = None,
    on_read: Callable[[int], None] | None = None,
) -> tuple[Image, list[stream_archive.S]]:
    """Read a stream source once, scanning every layer as it goes by; the chosen image and its layers' scans.
    ``on_read`` is told the bytes of the stream read so far (every MiB, and at its end)."""
    platform = parse_platform(platform)
    image = local.chosen_image(src, image)
    with local.open_stream(src) as raw:
        counted: IO[bytes] = raw if on_read is None else stream_archive.ReadReporter(raw, on_read)  # type: ignore[assignment]
        contents = stream_archive.read_stream(counted, src.label, scanner)
    store = stream_archive.MemStore(contents)
    fmt, candidates, build = formats_of(store, False)
    img = open_chosen(src.label, store, fmt, candidates, build, image, platform)
    return img, stream_archive.layer_scans(store, img, scanner)


#: In ``Image.notes`` when the source held several images and the first was taken (``check`` refuses that).
SEVERAL_IMAGES_NOTE = "images here; analyzing the first"


def first_of_several(img: Image) -> str | None:
    """The note saying ``img`` is the first of several images of its source, taken for want of a choice; None."""
    return next((note for note in img.notes if SEVERAL_IMAGES_NOTE in note), None)


def source_path(source: str | os.PathLike[str] | IO[bytes]) -> str:
    """The path of a source: a path as it is, or the file an open file object (``open(p, "rb")``) was opened
    from. TypeError, saying what is accepted, for anything else."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    name = getattr(source, "name", None)
    if hasattr(source, "read") and isinstance(name, str) and os.path.exists(name):
        return name
    raise TypeError(
        f"expected a path, an Image or an Analysis, not {type(source).__name__}"
        + (" (for an open file, pass its path)" if hasattr(source, "read") else "")
    )


class SourceIndex:
    """A file source opened once: its store and the images it holds; ``open`` builds one of them (metadata only).

    For a caller that opens many images of one source (``imgscope batch`` of a layout holding hundreds): each
    ``open_image`` would list and verify every manifest again. It holds no open file; it does not notice a source
    changed after it was made (layers are still verified against their digests when read).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = source_path(path)
        self.store, self.format, self.candidates, self._build = _open_source(self.path)

    def refs(self) -> list[ImageRef]:
        """Every image (and platform) the source holds, as ``list_images`` gives them."""
        return [_with_platform(self.store, self.format, c, self._build) for c in self.candidates]

    def open(self, image: str | None = None, platform: str | Platform | None = None) -> Image:
        """The image ``open_image(path, image=, platform=)`` opens."""
        return open_chosen(
            self.path, self.store, self.format, self.candidates, self._build, image, parse_platform(platform)
        )


def list_images(path: str | os.PathLike[str] | IO[bytes]) -> list[ImageRef]:
    """Every image (and platform) the source holds, including those whose blobs are absent; an image whose
    source does not say its platform (a ``docker save``, an index entry without one) has its config's."""
    store, fmt, candidates, build = _open_source(source_path(path))
    return [_with_platform(store, fmt, c, build) for c in candidates]


def _with_platform(store: BlobStore, fmt: ImageFormat, candidate: Candidate, build: _Builder) -> ImageRef:
    """``candidate``'s ref, with the platform its config states where the source says none (the ref as it is when
    the config cannot be read: listing does not fail for one image's broken config)."""
    ref = candidate.ref
    if ref.platform is not None or ref.artifact_type is not None or not candidate.available:
        return ref
    try:
        platform = build(store, candidate, fmt, []).platform
    except ImgscopeError:
        return ref
    return ref if platform is None else dataclasses.replace(ref, platform=platform)


#: The fewest hex digits a digest prefix given to ``--image`` may have (``docs/cli.md``).
DIGEST_PREFIX_MIN = 12


def _matches(ref: ImageRef, wanted: str) -> bool:
    if wanted.startswith("sha256:") or (
        all(ch in "0123456789abcdef" for ch in wanted) and len(wanted) >= DIGEST_PREFIX_MIN
    ):
        hexpart = wanted.removeprefix("sha256:")
        if len(hexpart) < DIGEST_PREFIX_MIN:
            return False
        return any(d and d.removeprefix("sha256:").startswith(hexpart) for d in (ref.digest, ref.config_digest))
    if ref.name is not None and wanted == ref.name:  # the name shown (an OCI layout's: its directory's and tag)
        return True
    for tag in ref.tags:
        if wanted in (tag, tag.rpartition(":")[2]) and (wanted == tag or ":" not in wanted):
            return True
        if tag.endswith("/" + wanted) or tag == "docker.io/library/" + wanted:
            return True
        repository = tag.rpartition(":")[0] if ":" in tag.rpartition("/")[2] else tag
        if ":" not in wanted and (repository == wanted or repository.endswith("/" + wanted)):
            return True  # a repository without its tag: `--image wasteful` for localhost/wasteful:latest
    return False


def _describe(ref: ImageRef) -> str:
    name = ref.name or (ref.digest or ref.config_digest or "?")[:19]
    return f"{name} ({ref.platform})" if ref.platform else name


def open_image(
    path: str | os.PathLike[str] | IO[bytes], *, image: str | None = None, platform: str | Platform | None = None
) -> Image:
    """Open the image at ``path`` lazily: metadata parsed and checked, no layer decompressed.

    ``image`` picks one of several by tag or digest (prefix); ``platform`` one of an
    index's platforms (``linux/arm64``). Without them: the machine's own platform if
    present, else the first; ``Image.notes`` says what was chosen.
    """
    platform = parse_platform(platform)
    path = source_path(path)
    image = local.chosen_image(local.stream_source(path), image)  # a stream's PATH:REF
    store, fmt, candidates, build = _open_source(path)
    return open_chosen(path, store, fmt, candidates, build, image, platform)


def open_chosen(
    path: str,
    store: BlobStore,
    fmt: ImageFormat,
    candidates: list[Candidate],
    build: _Builder,
    image: str | None,
    platform: Platform | None,
) -> Image:
    """The image ``choose`` picks, built (metadata only). A source that does not say an image's platform (a
    ``docker save``, an index entry without one) leaves it to the image's config: with ``platform``, an image whose
    config names another platform is not taken (another of the source's images may be), and when none is left,
    ``ImageNotFoundError`` says so."""
    chosen, notes = choose(path, candidates, image, platform)
    img = build(store, chosen, fmt, notes)
    if platform is None or chosen.ref.platform is not None or img.platform is None or img.platform.matches(platform):
        return img
    seen = [img]
    fitting: list[tuple[Candidate, Image]] = []
    for other in candidates:
        if (
            other is chosen
            or other.ref.artifact_type is not None
            or not other.available
            or (image is not None and not _matches(other.ref, image))
            or (other.ref.platform is not None and not other.ref.platform.matches(platform))
        ):
            continue
        built = build(store, other, fmt, [])  # an index's entry for the platform, or an image whose config says it
        seen.append(built)
        if built.platform is None or built.platform.matches(platform):
            fitting.append((other, built))
    if not fitting:
        known = ", ".join(sorted({str(i.platform) for i in seen}))
        raise ImageNotFoundError(path, f"no image for platform {platform}; platforms here: {known}")
    # The first image was not the one: the note that says it was analyzed goes; another says which one is.
    notes = [note for note in notes if SEVERAL_IMAGES_NOTE not in note]
    first, built = fitting[0]
    count = len({c.ref.digest or c.ref.config_digest or id(c) for c, _ in fitting})
    if count > 1:
        notes.append(
            f"{count} {SEVERAL_IMAGES_NOTE} for {platform}, {_describe(first.ref)}; choose with {option_given('image')}"
        )
    return dataclasses.replace(built, notes=tuple(notes))


def check_chosen(img: Image, image: str | None, platform: str | Platform | None) -> Image:
    """``img`` when it is what ``image`` and ``platform`` would choose (given with an image opened already, they
    can only confirm it); ``ImageNotFoundError`` saying what it is otherwise, rather than the choice ignored."""
    wanted = parse_platform(platform)
    if wanted is not None and img.platform is not None and not img.platform.matches(wanted):
        raise ImageNotFoundError(img.source, f"the image given is for {img.platform}, not {wanted}")
    ref = ImageRef(img.name, img.tags, img.digest, img.config_digest, img.platform, img.manifest_media_type)
    if image is not None and not _matches(ref, image):
        raise ImageNotFoundError(img.source, f"the image given is {_describe(ref)}, not {image!r}")
    return img


def parse_platform(platform: str | Platform | None) -> Platform | None:
    """``--platform``'s value as a ``Platform`` (a bad one is a ``UsageError``)."""
    if isinstance(platform, str):
        try:
            return Platform.parse(platform)
        except ValueError as exc:
            raise UsageError(option("platform"), str(exc)) from None
    return platform


def choose(
    path: str, candidates: list[Candidate], image: str | None, platform: str | Platform | None
) -> tuple[Candidate, list[str]]:
    """The candidate ``image`` / ``platform`` pick (or the default one), and notes saying what was chosen."""
    platform = parse_platform(platform)
    if not candidates:
        raise ImageNotFoundError(path, "holds no image")
    images = [c for c in candidates if c.ref.artifact_type is None]  # artifacts are never chosen for the user
    pool = images
    if image is not None:
        pool = [c for c in images if _matches(c.ref, image)]
        if image.startswith("sha256:") and len(image.removeprefix("sha256:")) < DIGEST_PREFIX_MIN:
            short = f"{image!r}: a digest prefix needs at least {DIGEST_PREFIX_MIN} hex digits"
            raise UsageError(option("image"), short)
        if not pool:
            artifacts = [c for c in candidates if c.ref.artifact_type is not None and _matches(c.ref, image)]
            known = ", ".join(sorted({_describe(c.ref) for c in images})) or "no image"
            if artifacts:
                raise NotAnImageError(path, f"{image!r} is {describe_artifact(artifacts[0].ref)}; images here: {known}")
            raise ImageNotFoundError(path, f"no image {image!r} here; it holds: {known}")
    elif not images:
        kinds = ", ".join(sorted({str(c.ref.artifact_type) for c in candidates}))
        raise NotAnImageError(path, f"holds no container image, only OCI artifacts ({kinds})")
    if platform is not None:
        wanted = platform
        platform_pool = [c for c in pool if c.ref.platform is None or c.ref.platform.matches(wanted)]
        if not platform_pool:
            known = ", ".join(sorted({str(c.ref.platform) for c in pool if c.ref.platform}))
            raise ImageNotFoundError(path, f"no image for platform {wanted}; platforms here: {known}")
        pool = platform_pool
    available = [c for c in pool if c.available]
    if not available:
        raise MissingBlobError(path, f"the image chosen is not in the archive: {pool[0].why_unavailable}")
    notes: list[str] = []
    # One image is the entries of one name: its platforms (an index's manifests) or its one manifest. The
    # platform is chosen within an image; a single-manifest image beside an index is another image, not a
    # platform this machine lacks.
    groups: dict[object, list[Candidate]] = {}
    for c in available:
        groups.setdefault(_image_key(c.ref), []).append(c)
    chosen_of: list[Candidate] = []
    for members in groups.values():
        distinct_platforms = {c.ref.platform for c in members if c.ref.platform}
        if platform is None and len(distinct_platforms) > 1:
            host = host_platform()
            native = [c for c in members if c.ref.platform and c.ref.platform.matches(host)]
            members = native or members
            if not chosen_of:  # the image taken: say which of its platforms
                why = "this machine's" if native else "the first"
                notes.append(
                    f"{len(distinct_platforms)} platforms here; analyzing {members[0].ref.platform} ({why}); "
                    f"choose with {option_given('platform')}"
                )
        chosen_of.append(members[0])
    # One manifest under several names (two tags of one image) is one image.
    images_here = dict.fromkeys(c.ref.digest or c.ref.config_digest or id(c) for c in chosen_of)
    if image is not None and len(images_here) > 1:
        several = ", ".join(sorted({_describe(c.ref) for c in chosen_of}))
        raise ImageNotFoundError(path, f"{image!r} names {len(images_here)} images here: {several}; name one")
    if len(images_here) > 1:
        notes.append(
            f"{len(images_here)} {SEVERAL_IMAGES_NOTE}, {_describe(chosen_of[0].ref)}; "
            f"choose with {option_given('image')}"
        )
    chosen = chosen_of[0]
    tags = tuple(dict.fromkeys(t for c in [chosen, *images] if c.ref.digest == chosen.ref.digest for t in c.ref.tags))
    if chosen.ref.digest is not None and tags != chosen.ref.tags:  # its other tags, as a docker save lists them
        chosen = dataclasses.replace(chosen, ref=dataclasses.replace(chosen.ref, tags=tags))
    return chosen, notes


def _image_key(ref: ImageRef) -> object:
    """What the entries of one image share: its names; an unnamed index's platforms (skopeo's ``dir:``) share
    none, and are one image; an unnamed single manifest is its own."""
    if ref.tags:
        return ref.tags
    return "" if ref.platform is not None else (ref.digest or ref.config_digest)


#: The version of the ``imgscope ls --json`` document (``docs/json.md``).
LIST_SCHEMA_VERSION = 1


def images_to_dict(refs: list[ImageRef]) -> dict[str, Any]:
    """The JSON document of ``imgscope ls --json``: the images a source holds."""
    return {
        "schema_version": LIST_SCHEMA_VERSION,
        "images": [r.to_dict() for r in refs if r.artifact_type is None],
        "artifacts": [r.to_dict() for r in refs if r.artifact_type is not None],
    }
