"""Local sources read as one stream: standard input (``-``), FIFOs, compressed saves on disk, and the images a
Docker or Podman engine holds (``docker-daemon:NAME``, ``podman:NAME``, ``--source docker|podman``).

``stream_source(text)`` says whether a source name is one of these; ``open_stream(source)`` gives its bytes
(a ``docker save`` or OCI archive, maybe compressed) for ``stream_archive.read_stream``. ``dir:PATH`` is
skopeo's directory layout, opened as any directory is (``detect``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from imgscope.errors import UsageError, option_given
from imgscope.sources import stream_archive
from imgscope.sources.reference import split_path_ref

ENGINE_PREFIXES = {"docker-daemon:": "docker", "podman:": "podman"}
#: dive's ``--source`` values this module reads (``registry`` and ``archive`` are the reference parser's).
ENGINE_SOURCES = {"docker": "docker", "docker-daemon": "docker", "podman": "podman"}


@dataclass(frozen=True)
class StreamSource:
    """A source read once, front to back: ``kind`` is ``stdin``, ``path`` (FIFO or compressed file) or an engine
    (``docker`` / ``podman``, ``value`` the image name). ``image`` is the REF of ``PATH:REF``: the image it holds
    to take, as ``--image`` takes it."""

    kind: str
    value: str
    image: str | None = None

    @property
    def label(self) -> str:
        """The source as the user named it, for messages and ``image.source``."""
        if self.kind == "docker":
            return f"docker-daemon:{self.value}"
        if self.kind == "podman":
            return f"podman:{self.value}"
        return self.value


def stream_source(text: str, source: str | None = None) -> StreamSource | None:
    """The stream source ``text`` names (with dive's ``--source`` forcing an engine), or None for other sources."""
    if source is not None and source in ENGINE_SOURCES:
        name = text
        for prefix in ENGINE_PREFIXES:
            name = name.removeprefix(prefix)
        return StreamSource(ENGINE_SOURCES[source], name)
    if text == "-":
        return StreamSource("stdin", "-")
    for prefix, kind in ENGINE_PREFIXES.items():
        if text.startswith(prefix):
            return StreamSource(kind, text[len(prefix) :])
    for prefix in ("docker-archive:", "oci-archive:"):
        if text.startswith(prefix):
            return _stream_path(text[len(prefix) :])
    return _stream_path(text)


def _stream_path(text: str) -> StreamSource | None:
    """``PATH`` or ``PATH:REF`` (split as the reference parser splits it) when PATH is read as a stream."""
    if stream_archive.is_stream_path(text):
        return StreamSource("path", text)
    path, ref = split_path_ref(text)
    if ref is not None and stream_archive.is_stream_path(path):
        return StreamSource("path", path, ref)
    return None


def chosen_image(src: StreamSource | None, image: str | None) -> str | None:
    """The image to take from a stream: its ``PATH:REF``'s REF, or ``image`` (``--image``); both must agree."""
    if src is None or src.image is None:
        return image
    if image is not None and image != src.image:
        raise UsageError(
            f"{src.value}:{src.image}", f"names image {src.image!r} and {option_given('image', image)}: give one"
        )
    return src.image


def dir_path(text: str) -> str | None:
    """The directory ``dir:PATH`` names, or None for another source name."""
    if not text.startswith("dir:"):
        return None
    path = text[4:]
    if not path:
        raise UsageError(text, "dir: needs a directory (dir:PATH)")
    return path


@contextmanager
def open_stream(src: StreamSource) -> Iterator[IO[bytes]]:
    """The bytes of a stream source; never blocks on a FIFO without a writer (``stream_archive.open_timeout``)."""
    if src.kind in ("docker", "podman"):
        from imgscope.sources import daemon  # httpx is imported only when an engine is asked (about 14 MiB)

        with daemon.export(src.value, src.kind) as body:
            yield body
        return
    raw = stream_archive.open_stdin() if src.kind == "stdin" else stream_archive.open_path(os.fspath(src.value))
    try:
        yield raw
    finally:
        raw.close()
