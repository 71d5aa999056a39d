"""``imgscope explore``: the interactive explorer (dive's panes and keys, and the lenses dive lacks)."""

from __future__ import annotations

import sys

import click

import imgscope
from imgscope.cli._common import errors, fail, image_options, main, no_verify_option, progress
from imgscope.cli._source import image_arg


@main.command()
@click.argument("path", type=click.Path())
@image_options
@click.option(
    "--against",
    metavar="B",
    help="Also read image B (PATH[:IMAGE]); key i shows B's files against this image's.",
)
@no_verify_option
@click.pass_context
def explore(
    ctx: click.Context, path: str, image_ref: str | None, platform: str | None, against: str | None, no_verify: bool
) -> None:
    """Walk through the image at PATH interactively: layers, what each added, removed and modified, the file tree.

    dive's panes and keys (Tab, Ctrl+F, Space, Ctrl+A/L, Ctrl+A/R/M/U/B/O, q), plus: w why is this wasted,
    p the history of a path, Ctrl+E/v a file's content, x compare two layers, a advice, c copy a path,
    ? every key. Keys are rebindable in [tool.imgscope.explore.keys] (docs/cli.md). The image is read once,
    before the screen opens; a broken image ends with one line on stderr, exit code 2.
    """
    from imgscope.explore import ExploreApp, ExploreSettings

    debug = ctx.obj["debug"]
    with errors(debug):
        settings = ExploreSettings.load()
    with errors(debug):
        source = image_arg(path, image=image_ref, platform=platform)
    with errors(debug), progress(source, image_ref, platform) as report_progress:
        analysis = imgscope.analyze(
            source, image=image_ref, platform=platform, verify=not no_verify, top=0, progress=report_progress
        )
    other = None
    if against is not None:
        ctx.params["path"] = against  # names the input in error messages
        with errors(debug):
            other_source = image_arg(against, platform=platform)
        with errors(debug), progress(other_source, None, platform) as report_progress:
            other = imgscope.analyze(
                other_source, platform=platform, verify=not no_verify, top=0, progress=report_progress
            )
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        fail("explore needs a terminal (stdin and stdout); for a report use analyze, tree or diff")
    app = ExploreApp(analysis, against=other, settings=settings, source=path, own_process=True)
    app.run()
    if app.return_code:  # Textual printed what went wrong as the screen closed; a defect, not a quiet exit 0
        ctx.exit(2)
