"""What every command shares: the ``main`` group, one-line errors, progress, the stdout console, image options."""

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
from imgscope._gc import collector_paused
from imgscope.errors import ImgscopeError
from imgscope.text import printable

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
F = TypeVar("F", bound=Callable[..., Any])


def stdout_console() -> Console:
    """The console for a command's output (plain when ``NO_COLOR`` is set or stdout is not a terminal)."""
    return Console(no_color=bool(os.environ.get("NO_COLOR")) or None, highlight=False, soft_wrap=False)


def fail(message: str) -> None:
    """One line on stderr, exit code 2."""
    click.echo(f"imgscope: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


@contextmanager
def errors(debug: bool) -> Iterator[None]:
    """Turn every failure into one line on stderr and exit code 2 (a traceback only with --debug)."""
    ctx = click.get_current_context(silent=True)
    path = str(ctx.params.get("path") or "input") if ctx is not None else "input"
    try:
        yield
    except ImgscopeError as exc:
        if debug:
            traceback.print_exc()
        fail(printable(str(exc)))
    except OSError as exc:
        if debug:
            traceback.print_exc()
        fail(printable(f"{exc.filename or path}: {exc.strerror or exc}"))
    except (MemoryError, RecursionError) as exc:
        if debug:
            traceback.print_exc()
        fail(printable(f"{path}: input too large or nested too deeply ({type(exc).__name__})"))
    except Exception as exc:  # a bug of ours: still one line, and a way to see more
        if debug:
            traceback.print_exc()
        fail(printable(f"{path}: internal error ({type(exc).__name__}: {exc}); rerun with --debug and report it"))


@contextmanager
def progress() -> Iterator[Callable[[int, int, int], None] | None]:
    """A progress bar on stderr, only on a terminal."""
    err = Console(stderr=True)
    if not err.is_terminal:
        yield None
        return
    with (
        Progress(
            TextColumn("reading layer {task.fields[layer]}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar,
        collector_paused(own_process=True),  # the bar's thread would keep analyze from pausing the collector
    ):
        task = bar.add_task("layers", total=None, layer="")

        def update(index: int, count: int, _bytes: int) -> None:
            bar.update(task, total=count, completed=index, layer=f"{min(index + 1, count)}/{count}")

        yield update


def no_verify_option(f: F) -> F:
    """``--no-verify``, for every command that reads the layers."""
    return click.option("--no-verify", is_flag=True, help="Skip checking layers against their digests.")(f)


def image_options(f: F) -> F:
    """``--image`` and ``--platform``, for every command that reads one image."""
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
