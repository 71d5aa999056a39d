"""``imgscope report``: the self-contained HTML report; ``write_output``, which ``--html``/``--ncdu`` share."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable

import click

from imgscope.advise import AdviseSettings, advice
from imgscope.cli._common import errors, image_options, main, no_verify_option, progress
from imgscope.cli._source import image_arg
from imgscope.packages import scan_packages
from imgscope.render.html import report_html


def write_output(path: str, pieces: Iterable[str]) -> None:
    """Write ``pieces`` to ``path`` (``-``: stdout), UTF-8; a file appears whole or not at all."""
    if path == "-":
        for piece in pieces:
            sys.stdout.write(piece)
        sys.stdout.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".imgscope-", dir=directory)
    except OSError as exc:  # named after the file the user gave, not the temporary one
        raise OSError(exc.errno, exc.strerror, path) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            for piece in pieces:
                out.write(piece)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
            raise OSError(exc.errno, exc.strerror, path) from None
        raise


@main.command()
@click.argument("path", type=click.Path())
@image_options
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    help="The HTML file to write ('-': stdout).",
)
@no_verify_option
@click.pass_context
def report(
    ctx: click.Context, path: str, image_ref: str | None, platform: str | None, output: str, no_verify: bool
) -> None:
    """Write the HTML report of the image at PATH: one self-contained file, no network needed to view it.

    A zoomable treemap of the final filesystem coloured by layer, a bar per layer (click it for
    its changes), the wasted files and why, the largest files, advise's findings, the packages
    and their bytes, dive's figures.
    """
    with errors(ctx.obj["debug"]):
        source = image_arg(path, image=image_ref, platform=platform)
    with errors(ctx.obj["debug"]), progress(source, image_ref, platform) as report_progress:
        scanned = scan_packages(  # analyze's one pass, the package databases kept on the way
            source, image=image_ref, platform=platform, verify=not no_verify, top=100, progress=report_progress
        )
        result = scanned.analysis
        savings = advice(result, AdviseSettings.load())
        write_output(output, [report_html(result, savings, scanned.report())])
