"""``imgscope analyze`` and ``imgscope ls``."""

from __future__ import annotations

from typing import Any

import click

import imgscope
from imgscope.cli._common import emit, errors, fail, image_options, jobs_option, main, no_verify_option, progress
from imgscope.cli._source import image_arg, list_arg, source_options
from imgscope.render import json as json_report
from imgscope.sources.detect import images_to_dict

# The terminal report, the HTML report and the advice are imported where they are made: ``analyze --json`` (what
# scripts and the benchmark run) imports no rich, no renderer and no advice rule.


@main.command()
@click.argument("path", type=click.Path())
@image_options
@click.option("--json", "as_json", is_flag=True, help="Write one JSON document (docs/json.md) to stdout.")
@click.option(
    "--top",
    default=10,
    show_default=True,
    type=click.IntRange(0, 10_000),
    help="Rows in the file lists (--json: the largest files it lists; 50 when not given).",
)
@click.option("--html", "html_file", metavar="FILE", help="Also write the HTML report (as imgscope report) to FILE.")
@click.option("--ncdu", "ncdu_file", metavar="FILE", help="Also write the filesystem for `ncdu -f FILE` (or gdu).")
@click.option("--layer", type=int, metavar="N", help="With --ncdu: the filesystem after layer N (-1: the last).")
@click.option(
    "--gzip",
    "gzip_uncompressed",
    is_flag=True,
    help="Gzip layers stored uncompressed (docker save) to learn the size a registry would serve (slower).",
)
@no_verify_option
@jobs_option
@click.pass_context
def analyze(
    ctx: click.Context,
    path: str,
    image_ref: str | None,
    platform: str | None,
    as_json: bool,
    top: int,
    html_file: str | None,
    ncdu_file: str | None,
    layer: int | None,
    gzip_uncompressed: bool,
    no_verify: bool,
    jobs: int | None,
) -> None:
    """Analyze the image at PATH: layers, history, wasted bytes, largest files.

    --html FILE and --ncdu FILE write those files as well ('-': stdout, instead of the report).
    """
    if layer is not None and ncdu_file is None:
        fail("--layer goes with --ncdu (the filesystem after that layer)")
    to_stdout = [flag for flag, file in (("--html", html_file), ("--ncdu", ncdu_file)) if file == "-"]
    if len(to_stdout) > 1 or (to_stdout and as_json):
        flags = [*to_stdout, *(["--json"] if as_json else [])]
        named = f"{', '.join(flags[:-1])} and {flags[-1]}"
        fail(f"{named} would {'both' if len(flags) == 2 else 'all'} write to stdout: name a file for all but one")
    with errors(ctx.obj["debug"]):
        source = image_arg(path, image=image_ref, platform=platform)
    with errors(ctx.obj["debug"]), progress(source, image_ref, platform) as report_progress:
        options: dict[str, Any] = {
            "image": image_ref,
            "platform": platform,
            "verify": not no_verify,
            "top": _largest_kept(ctx, top, as_json, html_file),
            "progress": report_progress,
            "gzip_uncompressed": gzip_uncompressed,
            "jobs": jobs,
        }
        # The HTML report and the terminal's "Largest packages" list the packages: their databases are kept during
        # the same pass (content observers, which also run in --jobs worker processes).
        terminal_packages = not as_json
        scanned = imgscope.scan_packages(source, **options) if html_file or terminal_packages else None
        result = scanned.analysis if scanned is not None else imgscope.analyze(source, **options)
    if html_file or ncdu_file:
        from imgscope.advise import AdviseSettings, advice
        from imgscope.cli.report import write_output
        from imgscope.render.html import report_html
        from imgscope.render.ncdu import ncdu_export

        with errors(ctx.obj["debug"]):
            if ncdu_file:
                write_output(ncdu_file, ncdu_export(result, layer))
            if html_file:
                packages = scanned.report() if scanned is not None else None
                write_output(
                    html_file, [report_html(result, advice(scanned or result, AdviseSettings.load()), packages)]
                )
        if "-" in (html_file, ncdu_file):
            return
    if as_json:
        for piece in json_report.iter_dumps(result.to_dict()):  # the same bytes as one dumps(), never held whole
            click.echo(piece, nl=False)
        click.echo()
    else:
        from rich.console import Group

        from imgscope.advise import AdviseSettings, advice
        from imgscope.render.advice import render_top_savings
        from imgscope.render.packages import largest_packages
        from imgscope.render.terminal import render_analysis

        with errors(ctx.obj["debug"]):
            savings = advice(scanned or result, AdviseSettings.load())  # the same settings as imgscope advise
            report = scanned.report() if scanned is not None else None
        parts = [render_analysis(result, top=top)]
        if report is not None and report.packages:
            parts.append(largest_packages(report, top))
        emit(Group(*parts, render_top_savings(savings)))


@main.command(name="ls")
@click.argument("path", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
@source_options
@click.pass_context
def list_command(ctx: click.Context, path: str, as_json: bool) -> None:
    """List the images and platforms PATH holds (any source name, docs/sources.md), and its OCI artifacts apart."""
    with errors(ctx.obj["debug"]):
        refs = list_arg(path)
    if as_json:
        click.echo(json_report.dumps(images_to_dict(refs)))
    else:
        from imgscope.render.terminal import render_images

        emit(render_images(path, refs))


def _largest_kept(ctx: click.Context, top: int, as_json: bool, html_file: str | None) -> int:
    """How many of the largest files the analysis keeps: what --top asks of a JSON document, else room for the
    HTML report's list (100) and the JSON's default (50) beside the terminal's ``top`` rows."""
    if as_json and not html_file and ctx.get_parameter_source("top") is not click.core.ParameterSource.DEFAULT:
        return top
    return max(top, 100 if html_file else 50)
