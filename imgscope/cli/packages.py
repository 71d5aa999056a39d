"""``imgscope packages``: which packages the image holds, what each weighs and which layer brought it."""

from __future__ import annotations

import click

import imgscope
from imgscope.cli._common import emit, errors, fail, image_options, main, no_verify_option, progress
from imgscope.cli._source import image_arg
from imgscope.packages.sbom import FORMATS, sbom
from imgscope.packages.scan import scan_packages
from imgscope.render import json as json_report
from imgscope.render.packages import render_packages, sort_packages


@main.command()
@click.argument("path", type=click.Path())
@image_options
@click.option(
    "--layer",
    type=int,
    default=None,
    metavar="N",
    help="The packages after layer N (negative counts from the end) and what layer N did to them.",
)
@click.option("--sort", type=click.Choice(["size", "name"]), default="size", show_default=True)
@click.option(
    "--top",
    type=click.IntRange(0),
    default=0,
    metavar="N",
    help="Show (or, with --json, list) only the first N packages (0: all); an SBOM lists every package.",
)
@click.option("--json", "as_json", is_flag=True, help="Write one JSON document (docs/json.md) to stdout.")
@click.option(
    "--format",
    "sbom_format",
    type=click.Choice(FORMATS),
    default=None,
    help="Write an SBOM instead: CycloneDX 1.6 or SPDX 2.3 JSON.",
)
@no_verify_option
@click.pass_context
def packages(
    ctx: click.Context,
    path: str,
    image_ref: str | None,
    platform: str | None,
    layer: int | None,
    sort: str,
    top: int,
    as_json: bool,
    sbom_format: str | None,
    no_verify: bool,
) -> None:
    """The OS (dpkg, rpm, apk) and language (pip, npm) packages of the image at PATH, read from their own
    databases in the layers: the bytes each owns, the layer that installed it, the bytes it wasted, and the
    bytes no package owns."""
    if top and sbom_format:
        fail("--top does not go with --format: an SBOM lists every package")
    if as_json and sbom_format:
        fail(f"--json and --format {sbom_format}: choose one")
    with errors(ctx.obj["debug"]):
        source = image_arg(path, image=image_ref, platform=platform)
    with errors(ctx.obj["debug"]), progress(source, image_ref, platform) as report_progress:
        scanned = scan_packages(
            source, image=image_ref, platform=platform, verify=not no_verify, top=0, progress=report_progress
        )
        count = len(scanned.analysis.layers)
        if layer is not None and not -count <= layer < count:
            raise imgscope.UsageError("--layer", f"{layer} is out of range: the image has {count} layers")
        report = scanned.report(layer)
        if sbom_format:
            click.echo(sbom(report, sbom_format, imgscope.__version__))
            return
    if as_json:
        doc = report.to_dict()
        ordered = sort_packages(report.packages, sort)
        doc["packages"] = [p.to_dict() for p in (ordered[:top] if top else ordered)]
        click.echo(json_report.dumps(doc))
        return
    emit(render_packages(report, sort=sort, top=top, layer_view=layer is not None))
