"""``imgscope advise``: what to change in the Dockerfile, with the bytes each change saves."""

from __future__ import annotations

import dataclasses

import click

import imgscope
from imgscope.advise import RULES_BY_ID, AdviseSettings, Severity, advice
from imgscope.cli._common import (
    EXIT_CHECK_FAILED,
    PIPED_WIDTH,
    emit,
    errors,
    fail,
    image_options,
    main,
    no_verify_option,
    progress,
)
from imgscope.cli._source import image_arg
from imgscope.render import json as json_report
from imgscope.render.advice import render_advice
from imgscope.render.sarif import advice_to_sarif
from imgscope.text import plural


@main.command()
@click.argument("path", type=click.Path())
@image_options
@click.option("--json", "as_json", is_flag=True, help="Write one JSON document (docs/json.md) to stdout.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
    help="Output format; sarif is SARIF 2.1.0 for code-scanning tools.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["info", "warning", "error"]),
    help="Exit 1 when a finding at or above this severity remains.",
)
@click.option("--ignore", "ignore", multiple=True, metavar="ID", help="Drop findings of this id or name (repeatable).")
@click.option("--settings", "settings_file", type=click.Path(dir_okay=False), help="Settings file to read.")
@no_verify_option
@click.pass_context
def advise(
    ctx: click.Context,
    path: str,
    image_ref: str | None,
    platform: str | None,
    as_json: bool,
    fmt: str,
    fail_on: str | None,
    ignore: tuple[str, ...],
    settings_file: str | None,
    no_verify: bool,
) -> None:
    """Tell what to change in the Dockerfile of the image at PATH, and how many bytes each change saves.

    Findings (docs/advice.md) are sorted by severity (errors first), then by the bytes they save. Settings:
    [tool.imgscope.advise] in pyproject.toml or [advise] in .imgscope.toml (ignore = [ids], allow = [path globs]).
    """
    if as_json and fmt == "sarif":
        fail("--json and --format sarif: choose one")
    for item in ignore:
        if item not in RULES_BY_ID and item not in {r.name for r in RULES_BY_ID.values()}:
            fail(f"--ignore {item}: no such finding id or name (see docs/advice.md)")
    with errors(ctx.obj["debug"]):
        settings = AdviseSettings.load(settings_file)
        settings = dataclasses.replace(settings, ignore=(*settings.ignore, *ignore))
    with errors(ctx.obj["debug"]):
        source = image_arg(path, image=image_ref, platform=platform)
    with errors(ctx.obj["debug"]), progress(source, image_ref, platform) as report_progress:
        scanned = imgscope.scan_packages(
            source, image=image_ref, platform=platform, verify=not no_verify, progress=report_progress
        )
        analysis = scanned.analysis
        result = advice(scanned, settings)
    if as_json or fmt == "json":
        click.echo(json_report.dumps(result.to_dict(analysis)))
    elif fmt == "sarif":
        click.echo(json_report.dumps(advice_to_sarif(result, analysis)))
    else:
        # A log or a file gets whole lines (a path folded at column 80 cannot be searched or copied).
        emit(render_advice(result, analysis), piped_width=PIPED_WIDTH)
    failing = result.at_or_above(Severity(fail_on)) if fail_on is not None else []
    if failing:
        click.echo(f"imgscope: {plural(len(failing), 'finding')} at or above {fail_on} (--fail-on {fail_on})", err=True)
        ctx.exit(EXIT_CHECK_FAILED)
