"""``imgscope analyze`` and ``imgscope ls``."""

from __future__ import annotations

import click

import imgscope
from imgscope.advise import AdviseSettings, advice
from imgscope.cli._common import errors, image_options, main, no_verify_option, progress, stdout_console
from imgscope.render import json as json_report
from imgscope.render.advice import render_top_savings
from imgscope.render.terminal import render_analysis, render_images
from imgscope.sources.detect import images_to_dict


@main.command()
@click.argument("path", type=click.Path())
@image_options
@click.option("--json", "as_json", is_flag=True, help="Write one JSON document (docs/json.md) to stdout.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(0, 10_000), help="Rows in the file lists.")
@no_verify_option
@click.pass_context
def analyze(
    ctx: click.Context, path: str, image_ref: str | None, platform: str | None, as_json: bool, top: int, no_verify: bool
) -> None:
    """Analyze the image at PATH: layers, history, wasted bytes, largest files."""
    with errors(ctx.obj["debug"]), progress() as report_progress:
        result = imgscope.analyze(
            path, image=image_ref, platform=platform, verify=not no_verify, top=max(top, 50), progress=report_progress
        )
    if as_json:
        for piece in json_report.iter_dumps(result.to_dict()):  # the same bytes as one dumps(), never held whole
            click.echo(piece, nl=False)
        click.echo()
    else:
        with errors(ctx.obj["debug"]):
            savings = advice(result, AdviseSettings.load())  # the same settings as imgscope advise
        console = stdout_console()
        console.print(render_analysis(result, top=top))
        console.print(render_top_savings(savings))


@main.command(name="ls")
@click.argument("path", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
@click.pass_context
def list_command(ctx: click.Context, path: str, as_json: bool) -> None:
    """List the images and platforms inside PATH."""
    with errors(ctx.obj["debug"]):
        refs = imgscope.list_images(path)
    if as_json:
        click.echo(json_report.dumps(images_to_dict(refs)))
    else:
        stdout_console().print(render_images(path, refs))
