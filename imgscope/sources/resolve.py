"""From a source name to an image: the one entry point every command uses (``open_source``, ``list_source``).

``reference.resolve_source`` parses the name; this module hands the parsed ``Source`` to its reader:
files and layouts to ``detect`` (which reads stdin, the engines, ``dir:`` and compressed saves through
``local``), ``docker://`` to ``registry``.
"""

from __future__ import annotations

import os

from imgscope.errors import ImageFormatError, SourceNotFoundError, UsageError, option, option_given
from imgscope.model import Image, ImageRef, Platform
from imgscope.sources import detect, local
from imgscope.sources.reference import Source, SourceOptions, resolve_source

_FORMATS = {
    "docker-archive": ("docker-archive", "docker-archive-oci"),
    "oci": ("oci-layout",),
    "oci-archive": ("oci-archive",),
}


def as_source(name: str | os.PathLike[str] | Source, source: str | None = None) -> Source:
    """A ``Source`` as given, or parsed from a name (``source`` is ``--source``)."""
    return name if isinstance(name, Source) else resolve_source(os.fspath(name), source)


def _pick(src: Source, image: str | None) -> str | None:
    if src.image and image and src.image != image:
        raise UsageError(src.text, f"names image {src.image!r} and {option_given('image', image)}: give one")
    return src.image or image


def _check_format(src: Source, img: Image) -> Image:
    allowed = _FORMATS.get(src.transport)
    if allowed is not None and img.format not in allowed:
        raise ImageFormatError(src.path or src.text, f"is a {img.format}, not what {src.transport}: names")
    return img


def _check_split(src: Source) -> None:
    """A ``PATH:REF`` whose PATH is missing: ``SourceNotFoundError`` naming the name as typed and how it was split
    (``my:app.tar``, a file with a ``:`` in its name, is not the missing file ``my``)."""
    if src.image is None or src.path is None or os.path.exists(src.path):
        return
    whole = f"{src.path}:{src.image}"
    if not os.path.exists(whole):
        raise SourceNotFoundError(
            src.text, f"no such file or directory (neither {whole!r}, nor {src.path!r} with the image {src.image!r})"
        )


_LOCAL = ("stdin", "docker-daemon", "podman", "dir")  # read by detect through sources.local (streams, engines)


def library_name(src: Source) -> str | None:
    """The name ``detect`` (and ``analyze``) read a local source by: ``-``, ``docker-daemon:NAME``, ``podman:NAME``,
    ``dir:PATH``, a bare path, or ``[docker-archive:|oci-archive:]PATH[:REF]`` for a stream (a FIFO, a compressed
    save: its REF is taken in the one pass); None for a source that must be opened here (a registry; a layout or
    archive with a REF)."""
    if src.transport in ("docker-daemon", "podman"):
        return f"{src.transport}:{src.image}"
    if src.transport == "stdin":
        return "-"
    if src.transport == "dir":
        return f"dir:{src.path}"
    if src.transport == "path" and src.image is None:
        return src.path
    if src.transport in ("path", "docker-archive", "oci-archive"):
        name = "" if src.transport == "path" else f"{src.transport}:"
        name += f"{src.path}:{src.image}" if src.image is not None else f"{src.path}"
        stream = local.stream_source(name)
        if stream is not None and stream.image == src.image:
            return name
    return None


def library_source(name: str, *, image: str | None = None, platform: str | Platform | None = None) -> str | Image:
    """What a library entry point that takes a path (``analyze``, ``inspect``) reads for ``name``: the name itself
    when it is a path, a stream (``-``, a FIFO, a compressed save, ``docker-daemon:``...) or not a source name at
    all (its reader then says what is wrong), else the image the name names (``oci:DIR:REF``,
    ``docker-archive:PATH``, ``PATH:IMAGE``, ``docker://...``), opened as ``open_source`` opens it. A bare name
    such as ``nginx``, which the command line pulls from a registry, is not looked up: the library reaches a
    registry only when told (``docker://``)."""
    if os.path.exists(name) or local.stream_source(name) is not None:
        return name
    try:
        src = as_source(name)
    except (UsageError, ValueError):  # not a source name (a missing path among them): its reader says so
        return name
    if src.transport == "docker" and not name.startswith("docker://"):
        return name
    here = library_name(src)
    if here is not None:
        return here
    return open_source(src, image=image, platform=platform)


def open_source(
    name: str | os.PathLike[str] | Source,
    *,
    source: str | None = None,
    image: str | None = None,
    platform: str | Platform | None = None,
    options: SourceOptions | None = None,
) -> Image:
    """Open the image a source name names, lazily (metadata read and checked, no layer read).

    ``name`` is any source name (``app.tar``, ``oci:dir:1``, ``docker://ghcr.io/org/app:1``, ``nginx``...);
    ``source`` forces a reading as dive's ``--source`` does; ``image`` and ``platform`` choose one image of
    several as ``open_image`` does; ``options`` says how to reach registries (and the blob cache).
    """
    src = as_source(name, source)
    if isinstance(platform, str):
        try:
            platform = Platform.parse(platform)
        except ValueError as exc:
            raise UsageError(option("platform"), str(exc)) from None
    if src.transport in _LOCAL:
        return detect.open_image(str(library_name(src)), image=image, platform=platform)
    if src.transport in ("path", "docker-archive", "oci", "oci-archive"):
        assert src.path is not None
        _check_split(src)
        stream = library_name(src)
        if stream is not None and stream != src.path:  # a compressed save, read as a stream
            return detect.open_image(stream, image=image, platform=platform)
        img = detect.open_image(src.path, image=_pick(src, image), platform=platform)
        return _check_format(src, img)
    if src.transport == "docker":
        from imgscope.sources.registry import open_registry_image

        assert src.reference is not None
        if image is not None:
            raise UsageError(
                option("image"), f"{src} names one image already; {option_given('image')} is for archives and layouts"
            )
        return open_registry_image(src.reference, platform=platform, options=options)
    raise UsageError(str(src), f"the {src.transport} source is not supported")


def list_source(
    name: str | os.PathLike[str] | Source, *, source: str | None = None, options: SourceOptions | None = None
) -> list[ImageRef]:
    """Every image (and platform) and every artifact a source holds."""
    src = as_source(name, source)
    if src.transport in _LOCAL:
        return detect.list_images(str(library_name(src)))
    if src.transport in ("path", "docker-archive", "oci", "oci-archive"):
        assert src.path is not None
        _check_split(src)
        return detect.list_images(library_name(src) or src.path)
    if src.transport == "docker":
        from imgscope.sources.registry import list_registry_images

        assert src.reference is not None
        return list_registry_images(src.reference, options=options)
    raise UsageError(str(src), f"the {src.transport} source is not supported")
