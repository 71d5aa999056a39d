"""``imgscope check``: judge an image against a size budget; exit 1 when a rule fails."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import click

import imgscope
from imgscope.analysis import Analysis
from imgscope.budget.check import CheckReport, check
from imgscope.budget.config import load_budget
from imgscope.cli._common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    PIPED_WIDTH,
    errors,
    fail,
    image_options,
    main,
    no_verify_option,
    progress,
    render_text,
    rereadable,
    stdout_is_terminal,
)
from imgscope.cli._source import baseline_arg, image_arg, open_arg
from imgscope.errors import UsageError
from imgscope.render import json as json_report
from imgscope.render.check_dive import render_dive
from imgscope.render.check_github import render_github
from imgscope.render.check_junit import render_junit
from imgscope.render.check_markdown import render_markdown
from imgscope.sources.detect import first_of_several

FORMATS = ("table", "json", "junit", "github", "markdown", "dive")

_Renderer = Callable[[CheckReport, Analysis], str]


def _table_text(report: CheckReport, *, to_file: bool) -> str:
    from imgscope.render.check_terminal import render_check

    # a CI log, a file: one line per rule, the table as wide as its content, no trailing spaces; a file no colour
    terminal = not to_file and stdout_is_terminal()
    return render_text(render_check(report), terminal=terminal, width=PIPED_WIDTH, plain=to_file)


RENDERERS: dict[str, _Renderer] = {
    "json": lambda r, _a: json_report.dumps(r.to_dict()) + "\n",
    "junit": lambda r, _a: render_junit(r),
    "github": lambda r, _a: render_github(r),
    "markdown": lambda r, _a: render_markdown(r),
    "dive": render_dive,
}


def _output(value: str) -> tuple[str, str]:
    fmt, sep, path = value.partition("=")
    if not sep or fmt not in FORMATS or not path:
        raise click.BadParameter(f"{value!r}: expected FORMAT=FILE with FORMAT one of {', '.join(FORMATS)}")
    return fmt, path


def _size_option(name: str, help_text: str) -> Callable[[Any], Any]:
    return click.option(name, metavar="SIZE", help=help_text)


@main.command(name="check")
@click.argument("path", type=click.Path())
@image_options
@_size_option("--max-size", "Most content bytes stored in all layers (150MB, 1.5GiB, 2000000).")
@_size_option(
    "--max-compressed-size", "Most bytes a pull downloads (layers stored uncompressed are gzipped to learn it)."
)
@_size_option("--max-final-size", "Most bytes visible in the final filesystem.")
@_size_option("--max-layer-size", "Most content bytes in any one layer.")
@click.option("--max-layers", metavar="N", help="Most layers.")
@_size_option("--max-wasted", "Most wasted bytes (imgscope's figure; base layers and ignored paths excluded).")
@click.option("--max-wasted-percent", metavar="PERCENT", help="Most wasted share of the stored bytes (5% or 0.05).")
@click.option("--exclude-base", metavar="N|auto", help="Leave the first N layers (or the base found) out of waste.")
@click.option("--base-layer", "base_layers", multiple=True, metavar="DIGEST", help="A base layer's digest.")
@click.option("--base-image", metavar="PATH", help="The base image: its layers are excluded from the waste rules.")
@click.option("--max-path", "paths", multiple=True, metavar="GLOB=SIZE", help="Most bytes under a glob (repeatable).")
@click.option("--forbid", multiple=True, metavar="GLOB", help="Paths that must not be in the final image.")
@click.option("--forbid-in-layers", multiple=True, metavar="GLOB", help="Paths that must not be in any layer.")
@_size_option("--max-package-size", "Most bytes any one package (dpkg, rpm, apk, pip, npm) may own.")
@click.option(
    "--forbid-package",
    multiple=True,
    metavar="NAME[,NAME…]",
    help="Packages that must not be in the final image (globs: build-essential,gcc*).",
)
@click.option("--ignore", multiple=True, metavar="GLOB", help="Paths left out of the waste, path and forbid rules.")
@click.option("--baseline", metavar="REPORT|IMAGE", help="An earlier `imgscope analyze --json` report, or image.")
@_size_option("--max-growth", "Most growth of the content size over the baseline.")
@click.option(
    "--baseline-optional", is_flag=True, help="Skip the growth rules when no baseline is given or it is not there."
)
@click.option("--max-growth-percent", metavar="PERCENT", help="Most growth over the baseline (10% or 0.1).")
@_size_option("--max-layer-growth", "Most growth of any layer position over the baseline.")
@click.option("--max-layer-growth-percent", metavar="PERCENT", help="Most growth of any layer position.")
@click.option("--lowest-efficiency", "--lowestEfficiency", metavar="RATIO", help="dive's rule (0.9, or disabled).")
@click.option("--highest-wasted-bytes", "--highestWastedBytes", metavar="SIZE", help="dive's rule (20MB, disabled).")
@click.option(
    "--highest-user-wasted-percent", "--highestUserWastedPercent", metavar="RATIO", help="dive's rule (0.1, disabled)."
)
@click.option("--dive-ci", "dive_ci_file", type=click.Path(), help="Read dive's rules from this .dive-ci file.")
@click.option("--no-dive-ci", is_flag=True, help="Do not read ./.dive-ci.")
@click.option("--strict", is_flag=True, help="A .dive-ci key dive does not use is an error, not a warning.")
@click.option("--config", type=click.Path(), help="Settings file ([tool.imgscope.check] or [check]).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Stdout format.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--output", "outputs", multiple=True, metavar="FORMAT=FILE", help="Also write FORMAT to FILE.")
@no_verify_option
@click.pass_context
def check_command(ctx: click.Context, /, path: str, **opts: Any) -> None:
    """Check the image at PATH against a size budget: exit 0 when every rule passes, 1 when one fails, 2 on bad
    input or a misconfigured budget.

    The budget comes from the options, the [tool.imgscope.check] table of pyproject.toml (or [check] in
    .imgscope.toml, or --config FILE), and a .dive-ci file (read from the current directory as dive does).
    With no budget at all, dive's default CI rules are checked. Sizes: 150MB (SI), 1.5GiB (binary), or
    bytes. Percents: 5% or 0.05. dive's rules take dive's values (ratios such as 0.1, sizes, disabled).
    See docs/ci.md.
    """
    debug = ctx.obj["debug"]
    outputs = []
    for value in opts.pop("outputs"):
        try:
            outputs.append(_output(value))
        except click.BadParameter as exc:
            fail(f"--output {exc.message}")
    for f, file in outputs:
        if file == "-":
            fail(f"--output {f}=-: the report already goes to stdout; --format {f} writes it there")
    fmt = opts.pop("fmt")
    if opts.pop("as_json"):
        if fmt != "json" and ctx.get_parameter_source("fmt") is not click.core.ParameterSource.DEFAULT:
            fail(f"--json and --format {fmt}: choose one")
        fmt = "json"
    verify = not opts.pop("no_verify")
    image_ref, platform = opts.pop("image_ref"), opts.pop("platform")
    with errors(debug):
        source = image_arg(path, image=image_ref, platform=platform)
        if image_ref is None and isinstance(source, str) and rereadable(source):
            _only_one_image(source, platform)
        config = _budget(opts, image_ref, platform)
        if path == "-" and config.baseline == "-":
            raise UsageError("-", "the image and --baseline both name standard input, which can be read once")
        with progress(source, image_ref, platform) as report_progress:
            # --max-compressed-size means what a pull downloads in every format: gzip what is stored uncompressed
            gzip = config.budget.max_compressed_size is not None
            read = dict(
                image=image_ref, platform=platform, verify=verify, progress=report_progress, gzip_uncompressed=gzip
            )
            scanned: imgscope.Analysis | imgscope.ImagePackages
            if config.budget.max_package_size is not None or config.budget.forbid_package:
                scanned = imgscope.scan_packages(source, **read)  # the package rules: databases read in the pass
                analysis = scanned.analysis
            else:
                scanned = analysis = imgscope.analyze(source, **read)
        if image_ref is None and first_of_several(analysis.image):
            # a stream read once could not be listed first: refuse after the fact, as for a file
            raise UsageError(path, "several images here: choose the one to check with --image")
        baseline = (
            baseline_arg(config.baseline, verify=verify, platform=platform, gzip_uncompressed=gzip)
            if config.baseline
            else None
        )
        report = check(scanned, config.budget, baseline)
        text = _render(fmt, report, analysis, to_file=False)
        files = {f: _render(f, report, analysis, to_file=True) for f in {f for f, _ in outputs}}
        for f, file in outputs:
            with open(file, "w", encoding="utf-8") as fh:
                fh.write(files[f])
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary and "github" in {fmt, *files}:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(render_markdown(report) + "\n")
    sys.stdout.write(text)
    sys.stdout.flush()
    ctx.exit(EXIT_OK if report.passed else EXIT_CHECK_FAILED)


def _only_one_image(path: str, platform: str | None) -> None:
    """A check of an input holding several images must name one: a CI job must not pass on the wrong image. The
    choice is ``open_image``'s (metadata only): the platforms of one index are one image, of which --platform or
    this machine's picks one."""
    if not first_of_several(imgscope.open_image(path, platform=platform)):
        return
    names = dict.fromkeys(
        ref.name or (ref.digest or ref.config_digest or "?")[:19]
        for ref in imgscope.list_images(path)
        if ref.artifact_type is None
    )
    raise UsageError(path, f"{len(names)} images here ({', '.join(names)}): choose the one to check with --image")


def _render(fmt: str, report: CheckReport, analysis: Analysis, *, to_file: bool) -> str:
    return _table_text(report, to_file=to_file) if fmt == "table" else RENDERERS[fmt](report, analysis)


def _budget(opts: dict[str, Any], image_ref: str | None, platform: str | None) -> Any:
    dive_ci_file = opts.pop("dive_ci_file")
    no_dive_ci = opts.pop("no_dive_ci")
    if dive_ci_file and no_dive_ci:
        raise UsageError("--dive-ci", "--dive-ci and --no-dive-ci exclude each other")
    config = opts.pop("config")
    strict, baseline_optional = opts.pop("strict"), opts.pop("baseline_optional")
    base_image = opts.pop("base_image")
    base_layers = list(opts_base_layers := opts.pop("base_layers"))
    if base_image:
        base = open_arg(base_image, platform=platform)  # the platform of the image checked
        several = first_of_several(base)
        if several:  # the first image could be the one checked: every layer "the base", no waste judged
            raise UsageError(base_image, f"{several.partition(';')[0]}: name the base image (--base-image PATH:IMAGE)")
        diff_ids = [layer.diff_id for layer in base.layers]
        if not diff_ids or any(d is None for d in diff_ids):
            raise UsageError(base_image, "the base image does not list its layers' diff_ids")
        base_layers += [d for d in diff_ids if d]
    options = {key.replace("_", "-"): value for key, value in opts.items()}
    options["base-layers"] = tuple(base_layers)
    flags = {key: f"--{key}" for key in options}  # the options' names in messages: a key is its flag but for
    flags["paths"] = "--max-path"  # these, whose flag takes one item where the key takes a list
    flags["base-layers"] = "--base-image" if base_image and not opts_base_layers else "--base-layer"
    loaded = load_budget(
        options,
        option_names=flags,
        config=config,
        dive_ci_file=False if no_dive_ci else dive_ci_file,
        strict=strict,
        baseline_optional=baseline_optional,
    )
    for warning in loaded.warnings:
        click.echo(f"imgscope: warning: {warning}", err=True)
    return loaded
