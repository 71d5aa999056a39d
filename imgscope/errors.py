"""The exceptions imgscope raises. Every one names the file and says what is wrong.

A message that names an option the caller can give names it with ``option``/``option_given``: the library's
parameter (``image=``) to a library caller, the command line's flag (``--image``) while a command runs
(``command_line_words``, which ``cli`` sets around each command).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

R = TypeVar("R")

#: The flag for each parameter name, while a command runs; empty for a library caller.
_FLAGS: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "imgscope_flags", default=MappingProxyType({})
)


def option(name: str) -> str:
    """The option ``name`` (a library parameter, such as ``platform``) as a message names it where it says which
    option is wrong: ``platform`` to a library caller, ``--platform`` on the command line."""
    return _FLAGS.get().get(name, name)


def option_given(name: str, value: object = None) -> str:
    """The option as the caller writes it: ``image='app:1'`` (``--image 'app:1'``), a flag ``insecure=True``
    (``--insecure``); without a value, the option to give: ``image=`` (``--image``)."""
    flag = _FLAGS.get().get(name)
    if value is None:
        return flag or f"{name}="
    if flag is None:
        return f"{name}={value!r}"
    return flag if value is True else f"{flag} {value!r}"


def command_line_flags() -> dict[str, str]:
    """The flags messages name options by here and now (``command_line_words``; empty for a library caller), to
    hand to a task run in another thread or process (``in_words``), which does not inherit them."""
    return dict(_FLAGS.get())


def in_words(flags: Mapping[str, str], fn: Callable[..., R], *args: Any) -> R:
    """``fn(*args)`` with messages naming options by ``flags`` (``command_line_flags`` of the code that started
    the task): a worker thread or process then says what the command that started it would say."""
    with command_line_words(flags):
        return fn(*args)


@contextlib.contextmanager
def command_line_words(flags: Mapping[str, str]) -> Iterator[None]:
    """Within: messages name the options by ``flags`` (parameter name -> flag), as the command line has them."""
    token = _FLAGS.set(MappingProxyType(dict(flags)))
    try:
        yield
    finally:
        _FLAGS.reset(token)


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
