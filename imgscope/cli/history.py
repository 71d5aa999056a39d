"""``imgscope history``: every history entry with its layer, or the Dockerfile they add up to."""

from __future__ import annotations

import click

import imgscope
from imgscope.cli._common import emit, errors, image_options, main, no_verify_option, progress, stdout_console
from imgscope.cli._source import image_arg
from imgscope.history.dockerfile import reconstruct
from imgscope.history.rows import history_of
from imgscope.model import Image
from imgscope.render import json as json_report
from imgscope.render.history import render_dockerfile, render_history
from imgscope.text import printable


@main.command()
@click.argument("path", type=click.Path())
@image_options
@click.option("--dockerfile", is_flag=True, help="Print the Dockerfile reconstructed from history and config.")
@click.option("--json", "as_json", is_flag=True, help="Write one JSON document (docs/json.md) to stdout.")
@no_verify_option
@click.pass_context
def history(
    ctx: click.Context,
    path: str,
    image_ref: str | None,
    platform: str | None,
    dockerfile: bool,
    as_json: bool,
    no_verify: bool,
) -> None:
    """Every history entry of the image at PATH, in order, empty ones included, with the layer each
    made and its size; or, with --dockerfile, the Dockerfile they add up to (metadata only, no layer read)."""
    with errors(ctx.obj["debug"]):
        source = image_arg(path, image=image_ref, platform=platform)
        if dockerfile:
            img = (
                source if isinstance(source, Image) else imgscope.open_image(source, image=image_ref, platform=platform)
            )
            result = reconstruct(img)
            if as_json:
                click.echo(json_report.dumps(result.to_dict()))
                return
            if stdout_console().is_terminal:
                # soft_wrap: the terminal folds long lines, rich inserts no newline, so a copied RUN stays whole
                stdout_console().print(render_dockerfile(result), end="", soft_wrap=True)
            else:
                click.echo(result.text(), nl=False)
            for note in img.notes:  # on stderr: stdout is the Dockerfile, often redirected to a file
                click.echo(f"Note: {printable(note)}", err=True)
            return
    with errors(ctx.obj["debug"]), progress(source, image_ref, platform) as report_progress:
        analysis = imgscope.analyze(
            source, image=image_ref, platform=platform, verify=not no_verify, top=0, progress=report_progress
        )
    rows = history_of(analysis)
    if as_json:
        click.echo(json_report.dumps(rows.to_dict()))
    else:
        name = analysis.image.name or path
        emit(render_history(rows, f"History of {name}: {len(rows.rows)} entr{'y' if len(rows.rows) == 1 else 'ies'}"))
