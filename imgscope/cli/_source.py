"""The source options every image-taking command shares, and the one helper that opens an image for them.

``@source_options`` adds ``--source``, ``--insecure``, ``--cache-dir`` and ``--no-cache`` without changing the
command's signature (the values go to ``ctx.meta``); ``open_arg(name, image=, platform=)`` parses the source
name (``reference.resolve_source``) and opens it (``resolve.open_source``) with them. ``image_arg`` passes a
bare existing path through unchanged. Download progress is the layer progress bar's: a registry layer's stored
bytes are read as they download.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from imgscope.analysis import analyze
from imgscope.budget.baseline import Baseline, load_baseline
from imgscope.model import Image, ImageRef
from imgscope.sources.reference import SOURCE_CHOICES, Source, SourceOptions, resolve_source
from imgscope.sources.resolve import library_name, list_source, open_source

F = TypeVar("F", bound=Callable[..., Any])
_META = "imgscope.source"


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
            help=(
                "Do not check the registry's own certificate (its token service's and blob storage's still are);"
                " plain HTTP where it speaks no TLS (localhost always may)."
            ),
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


def cli_source_options() -> SourceOptions:
    """The ``SourceOptions`` the command line asked for."""
    settings = _settings()
    cache_dir = settings.get("cache_dir")
    return SourceOptions(
        insecure=bool(settings.get("insecure")),
        cache_dir=os.fspath(cache_dir) if cache_dir else None,
        use_cache=not settings.get("no_cache"),
    )


def resolve_arg(name: str) -> Source:
    """The source a command's argument names (``--source`` applied)."""
    return resolve_source(name, _settings().get("source"))


def image_arg(name: str, *, image: str | None = None, platform: str | None = None) -> str | Image:
    """What a command passes to the library for its image argument: a bare existing path as it is (read as
        always), as are stdin, the engines, ``dir:`` and compressed saves (``resolve.library_name``); any other
    source name opened (``open_arg``). Library functions take either."""
    src = resolve_arg(name)
    local = library_name(src)
    if local is not None:  # a path, stdin, an engine, dir:, a compressed save: the library reads it as always
        return local
    return open_arg(name, image=image, platform=platform)


def baseline_arg(name: str, **analyze_options: Any) -> Baseline:
    """``--baseline``: a JSON report or an image file as ``load_baseline`` reads them, or any source name."""
    source = image_arg(name, platform=analyze_options.get("platform"))
    if isinstance(source, str):
        return load_baseline(source, **analyze_options)
    return Baseline.from_analysis(analyze(source, **analyze_options), name)


def open_arg(name: str, *, image: str | None = None, platform: str | None = None) -> Image:
    """Open the image a command's argument names, with the command's source options."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and "path" in ctx.params:
        ctx.params["path"] = name  # names the input in error messages
    return open_source(resolve_arg(name), image=image, platform=platform, options=cli_source_options())


def list_arg(name: str) -> list[ImageRef]:
    """Every image and artifact the argument names (``imgscope ls``)."""
    return list_source(resolve_arg(name), options=cli_source_options())
