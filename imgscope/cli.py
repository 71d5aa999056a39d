"""The command line: parse arguments, call the library, render. Nothing else lives here.

Exit codes: 0 ok; 1 a check failed; 2 bad input or usage.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

import imgscope
from imgscope.errors import ImgscopeError
from imgscope.render import json_report
from imgscope.render.terminal import render_analysis, render_images
from imgscope.text import printable

EXIT_BAD_INPUT = 2
F = TypeVar("F", bound=Callable[..., Any])


def _stdout() -> Console:
    return Console(no_color=bool(os.environ.get("NO_COLOR")) or None, highlight=False, soft_wrap=False)


def _fail(message: str) -> None:
    click.echo(f"imgscope: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


@contextmanager
def _errors(debug: bool) -> Iterator[None]:
    """Turn every failure into one line on stderr and exit code 2 (a traceback only with --debug)."""
    ctx = click.get_current_context(silent=True)
    path = str(ctx.params.get("path") or "input") if ctx is not None else "input"
    try:
        yield
    except ImgscopeError as exc:
        if debug:
            traceback.print_exc()
        _fail(printable(str(exc)))
    except OSError as exc:
        if debug:
            traceback.print_exc()
        _fail(printable(f"{exc.filename or path}: {exc.strerror or exc}"))
    except (MemoryError, RecursionError) as exc:
        if debug:
            traceback.print_exc()
        _fail(printable(f"{path}: input too large or nested too deeply ({type(exc).__name__})"))
    except Exception as exc:  # a bug of ours: still one line, and a way to see more
        if debug:
            traceback.print_exc()
        _fail(printable(f"{path}: internal error ({type(exc).__name__}: {exc}); rerun with --debug and report it"))


@contextmanager
def _progress() -> Iterator[Callable[[int, int, int], None] | None]:
    """A progress bar on stderr, only on a terminal."""
    err = Console(stderr=True)
    if not err.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("reading layer {task.fields[layer]}"), BarColumn(), TimeElapsedColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("layers", total=None, layer="")

        def update(index: int, count: int, _bytes: int) -> None:
            bar.update(task, total=count, completed=index, layer=f"{min(index + 1, count)}/{count}")

        yield update


def _image_options(f: F) -> F:
    f = click.option("--platform", metavar="OS/ARCH[/VARIANT]", help="Pick one platform of an image index.")(f)
    f = click.option("--image", "image_ref", metavar="NAME:TAG|DIGEST", help="Pick one image of several in the input.")(
        f
    )
    return f


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(imgscope.__version__, prog_name="imgscope")
@click.option("--debug", is_flag=True, help="Show a traceback on errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Analyze container images: layers, wasted bytes, efficiency.

    Reads docker save tarballs, OCI layouts and OCI archives. Exit codes: 0 ok,
    1 a check failed, 2 bad input or usage.
    """
    ctx.obj = {"debug": debug}


@main.command()
@click.argument("path", type=click.Path())
@_image_options
@click.option("--json", "as_json", is_flag=True, help="Write one JSON document (docs/json.md) to stdout.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(0, 10_000), help="Rows in the file lists.")
@click.option("--no-verify", is_flag=True, help="Skip checking layers against their digests.")
@click.pass_context
def analyze(
    ctx: click.Context, path: str, image_ref: str | None, platform: str | None, as_json: bool, top: int, no_verify: bool
) -> None:
    """Analyze the image at PATH: layers, history, wasted bytes, largest files."""
    with _errors(ctx.obj["debug"]), _progress() as progress:
        result = imgscope.analyze(
            path, image=image_ref, platform=platform, verify=not no_verify, top=max(top, 50), progress=progress
        )
    if as_json:
        click.echo(json_report.dumps(result.to_dict()))
    else:
        _stdout().print(render_analysis(result, top=top))


@main.command(name="ls")
@click.argument("path", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
@click.pass_context
def list_command(ctx: click.Context, path: str, as_json: bool) -> None:
    """List the images and platforms inside PATH."""
    with _errors(ctx.obj["debug"]):
        refs = imgscope.list_images(path)
    if as_json:
        doc = {"schema_version": json_report.SCHEMA_VERSION, "images": [json_report.ref_to_dict(r) for r in refs]}
        click.echo(json_report.dumps(doc))
    else:
        _stdout().print(render_images(path, refs))


if __name__ == "__main__":  # pragma: no cover
    main()
