"""``imgscope inspect``: what ``docker image inspect`` shows, from the image's metadata alone."""

from __future__ import annotations

import click

import imgscope
from imgscope.cli._common import emit, errors, image_options, main
from imgscope.cli._source import image_arg
from imgscope.render import json as json_report
from imgscope.render.inspect import render_inspect


@main.command()
@click.argument("path", type=click.Path())
@image_options
@click.option("--json", "as_json", is_flag=True, help="Write one JSON document (docs/json.md) to stdout.")
@click.pass_context
def inspect(ctx: click.Context, path: str, image_ref: str | None, platform: str | None, as_json: bool) -> None:
    """Id, tags, digests, platform, run-time config, layers and annotations of the image at PATH.

    Reads metadata only: no layer is decompressed.
    """
    with errors(ctx.obj["debug"]):
        info = imgscope.inspect(image_arg(path, image=image_ref, platform=platform), image=image_ref, platform=platform)
    if as_json:
        click.echo(json_report.dumps(info.to_dict()))
    else:
        emit(render_inspect(info))
