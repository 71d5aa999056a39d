"""The source options every image-taking command shares, and the one helper that opens an image for them.

``@source_options`` adds ``--source``, ``--insecure``, ``--cache-dir`` and ``--no-cache`` without changing the
command's signature (the values go to ``ctx.meta``); ``open_arg(name, image=, platform=)`` parses the source
name (``reference.resolve_source``) and opens it (``resolve.open_source``) with them. Download progress goes to
whatever progress bar is on screen (``byte_reporter``), on stderr and only on a terminal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from imgscope.model import Image, ImageRef
from imgscope.sources.reference import SOURCE_CHOICES, ByteProgress, Source, SourceOptions, resolve_source
from imgscope.sources.resolve import list_source, open_source

F = TypeVar("F", bound=Callable[..., Any])
_META = "imgscope.source"
_reporters: list[ByteProgress] = []  # the byte reporter of the progress bar on screen, if any


def _store(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta.setdefault(_META, {})[param.name] = value
    return value


def source_options(f: F) -> F:
    """``--source``, ``--insecure``, ``--cache-dir``, ``--no-cache`` (see docs/sources.md)."""
    options = [
        click.option(
            "--source",
            type=click.Choice(SOURCE_CHOICES),
            expose_value=False,
            callback=_store,
            help="Read a bare NAME from here (dive's flag): docker (daemon), podman, registry, archive (a file).",
        ),
        click.option(
            "--insecure",
            is_flag=True,
            expose_value=False,
            callback=_store,
            help="Reach registries over plain HTTP (localhost always is).",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False),
            expose_value=False,
            callback=_store,
            help="The blob cache for registry pulls [default: $XDG_CACHE_HOME/imgscope].",
        ),
        click.option(
            "--no-cache",
            is_flag=True,
            expose_value=False,
            callback=_store,
            help="Neither read nor fill the blob cache.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _settings() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    return dict(ctx.meta.get(_META, {})) if ctx is not None else {}


def _forward(what: str, done: int, total: int | None) -> None:
    if _reporters:
        _reporters[-1](what, done, total)


def cli_source_options() -> SourceOptions:
    """The ``SourceOptions`` the command line asked for."""
    settings = _settings()
    cache_dir = settings.get("cache_dir")
    return SourceOptions(
        insecure=bool(settings.get("insecure")),
        cache_dir=os.fspath(cache_dir) if cache_dir else None,
        use_cache=not settings.get("no_cache"),
        on_bytes=_forward,
    )


def resolve_arg(name: str) -> Source:
    """The source a command's argument names (``--source`` applied)."""
    return resolve_source(name, _settings().get("source"))


def open_arg(name: str, *, image: str | None = None, platform: str | None = None) -> Image:
    """Open the image a command's argument names, with the command's source options."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.params["path"] = name  # names the input in error messages
    return open_source(resolve_arg(name), image=image, platform=platform, options=cli_source_options())


def list_arg(name: str) -> list[ImageRef]:
    """Every image and artifact the argument names (``imgscope ls``)."""
    return list_source(resolve_arg(name), options=cli_source_options())


@contextmanager
def byte_reporter(report: ByteProgress | None) -> Iterator[None]:
    """Send download progress to ``report`` while the block runs (None: nothing is shown)."""
    if report is None:
        yield
        return
    _reporters.append(report)
    try:
        yield
    finally:
        _reporters.remove(report)
