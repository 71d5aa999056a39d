"""The exceptions imgscope raises. Every one names the file and says what is wrong."""

from __future__ import annotations

from typing import Any


class ImgscopeError(Exception):
    """Base of every error imgscope raises on purpose.

    ``where`` names the file (and, inside an image, the member or layer);
    ``problem`` says what is wrong with it. ``str(error)`` is one line.
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class ImageFormatError(ImgscopeError, ValueError):
    """The input is not an image imgscope can read, or its metadata is malformed."""


class ImageNotFoundError(ImgscopeError, LookupError):
    """The requested image, tag, digest or platform is not in the input."""


class CorruptLayerError(ImgscopeError, ValueError):
    """A layer blob is truncated, corrupt, hostile, or fails its digest check."""


class SourceNotFoundError(ImageFormatError, FileNotFoundError):
    """The path given does not exist (also a ``FileNotFoundError``, and an ``ImageFormatError`` as before)."""


class MissingBlobError(ImgscopeError, FileNotFoundError):
    """A blob the image refers to is absent (e.g. a foreign / non-distributable layer)."""


class UsageError(ImgscopeError, ValueError):
    """The caller asked for something that cannot be done (bad option value)."""


def expect(value: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    """``value`` if it is of ``kind``; otherwise an ``ImageFormatError`` saying what was expected."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        shown = {dict: "an object", list: "a list", str: "a string", int: "a number"}
        raise ImageFormatError(
            where,
            f"{what} must be {shown.get(kind, names) if isinstance(kind, type) else names}, not {type(value).__name__}",
        )
    return value


class NotAnImageError(ImageFormatError):
    """The manifest is an OCI artifact (an SBOM, a signature, a chart ...), not a container image."""


class RegistryError(ImgscopeError):
    """A registry (or the way to it) failed: unknown host, refused connection, 401/403/404/429, bad answer."""

    def __init__(self, where: str, problem: str, status: int | None = None) -> None:
        super().__init__(where, problem)
        self.status = status
