"""``imgscope diff``: what changed between two images."""

from __future__ import annotations

import click

import imgscope
from imgscope.cli._common import emit, errors, fail, main, no_verify_option, progress
from imgscope.cli._source import image_arg, source_options
from imgscope.cli.report import write_output
from imgscope.render import json as json_report
from imgscope.render.diff import render_diff
from imgscope.render.html import diff_html


@main.command()
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option("--platform", metavar="OS/ARCH[/VARIANT]", help="Pick this platform of an image index, in A and B.")
@click.option("--platform-a", metavar="OS/ARCH[/VARIANT]", help="The platform of A (overrides --platform).")
@click.option("--platform-b", metavar="OS/ARCH[/VARIANT]", help="The platform of B (overrides --platform).")
@click.option("--depth", type=click.IntRange(1), default=1, show_default=True, help="Path components per group.")
@click.option(
    "--top", default=20, show_default=True, type=click.IntRange(0), help="Rows in the file and directory lists."
)
@click.option("--json", "as_json", is_flag=True, help="Write one JSON document (docs/json.md) to stdout.")
@click.option("--html", "html_file", metavar="FILE", help="Also write both images side by side as one HTML page.")
@no_verify_option
@source_options
@click.pass_context
def diff(
    ctx: click.Context,
    a: str,
    b: str,
    platform: str | None,
    platform_a: str | None,
    platform_b: str | None,
    depth: int,
    top: int,
    as_json: bool,
    html_file: str | None,
    no_verify: bool,
) -> None:
    """Compare image A with image B: shared layers, files added, removed and changed, size deltas, config.

    A and B are PATH[:IMAGE]: any supported format, and IMAGE a tag or digest as --image takes
    it, e.g. two images of one tar: imgscope diff app.tar:app:1 app.tar:app:2. A path that exists
    as written is taken whole, so paths containing ':' work. Two platforms of one index:
    imgscope diff multi/ multi/ --platform-a linux/amd64 --platform-b linux/arm64.
    """
    if html_file == "-" and as_json:
        fail("--html - and --json would both write to stdout: name a file for one of them")
    analyses = []
    for arg, chosen in ((a, platform_a or platform), (b, platform_b or platform)):
        ctx.params["path"] = arg  # names the input in error messages
        with errors(ctx.obj["debug"]):
            source = image_arg(arg, platform=chosen)  # PATH[:IMAGE] or any source name (docs/sources.md)
        with errors(ctx.obj["debug"]), progress(source, None, chosen) as report_progress:
            analyses.append(
                imgscope.scan_packages(source, platform=chosen, verify=not no_verify, top=0, progress=report_progress)
            )
    with errors(ctx.obj["debug"]):
        result = imgscope.diff(analyses[0], analyses[1], group_depth=depth)
    if html_file:
        with errors(ctx.obj["debug"]):
            write_output(html_file, [diff_html(result, analyses[0].analysis, analyses[1].analysis)])
        if html_file == "-":
            return
    if as_json:
        click.echo(json_report.dumps(result.to_dict()))
    else:
        emit(render_diff(result, top=top))
