"""``imgscope tree``: the file tree after a layer, or one layer's changes."""

from __future__ import annotations

import dataclasses

import click

import imgscope
from imgscope.cli._common import emit, errors, fail, image_options, main, no_verify_option, progress
from imgscope.cli._source import image_arg
from imgscope.render import json as json_report
from imgscope.render.filetree import render_tree
from imgscope.text import layer_of, one_line, printable
from imgscope.union.tree import trim
from imgscope.units import parse_size


@main.command()
@click.argument("path", type=click.Path())
@image_options
@click.option("--layer", "-l", type=int, help="The filesystem after layer N (0-based; -1 the last). Default: the last.")
@click.option("--changes", is_flag=True, help="Only what the layer added (green), modified (yellow), removed (red).")
@click.option(
    "--sort", type=click.Choice(["size", "name"]), default="size", show_default=True, help="Order of entries."
)
@click.option("--min-size", metavar="SIZE", help="Collapse entries smaller than SIZE (e.g. 1MB, 500KiB).")
@click.option("--depth", type=click.IntRange(0), default=4, show_default=True, help="Levels shown below the root.")
@click.option("--limit", type=click.IntRange(1), default=25, show_default=True, help="Entries shown per directory.")
@click.option("--all", "show_all", is_flag=True, help="No depth or entry limit (--min-size still applies).")
@click.option("--path", "subtree", metavar="DIR", help="Show only the tree below DIR, e.g. /usr/lib.")
@click.option("--long", "-L", "long", is_flag=True, help="Show permissions and owner (uid:gid) of each entry.")
@click.option("--json", "as_json", is_flag=True, help="Write the tree as JSON (docs/json.md).")
@no_verify_option
@click.pass_context
def tree(
    ctx: click.Context,
    path: str,
    image_ref: str | None,
    platform: str | None,
    layer: int | None,
    changes: bool,
    sort: str,
    min_size: str | None,
    depth: int,
    limit: int,
    show_all: bool,
    subtree: str | None,
    long: bool,
    as_json: bool,
    no_verify: bool,
) -> None:
    """The file tree of the image at PATH, directories with their sizes, largest first.

    With --layer N, the filesystem as it stands after layer N; with --changes, only what that
    layer (default: the last) added, modified and removed, like dive's layer view.
    """
    try:
        threshold = parse_size(min_size) if min_size else 0
    except ValueError as exc:
        fail(f"--min-size: {exc}")
    with errors(ctx.obj["debug"]):
        source = image_arg(path, image=image_ref, platform=platform)
    with errors(ctx.obj["debug"]), progress(source, image_ref, platform) as report_progress:
        result = imgscope.analyze(
            source, image=image_ref, platform=platform, verify=not no_verify, top=0, progress=report_progress
        )
    count = len(result.layers)
    if layer is not None and not -count <= layer < count:
        fail(f"--layer {layer}: the image has {count} layers (0 to {count - 1})")
    index = (layer % count if layer is not None else count - 1) if count else None
    if index is None and changes:
        fail(f"{printable(path)}: the image has no layers, so --changes shows nothing")
    view = imgscope.tree(result, index, changes=changes)
    root = view.root
    if subtree:
        found = root.find(subtree)
        if found is None:
            fail(printable(f"--path {subtree}: not in the tree" + (" of that layer's changes" if changes else "")))
            return
        root = found
    shown = trim(
        root, depth=None if show_all else depth, min_size=threshold, limit=None if show_all else limit, sort=sort
    )
    if as_json:
        click.echo(json_report.dumps(dataclasses.replace(view, root=shown).to_dict()))
        return
    if index is None:
        title = f"{result.image.name or path}: no layers"
    else:
        what = "changes of" if changes else "filesystem after"
        command = one_line(result.layers[index].command, 70)  # secret-looking values masked
        title = f"{result.image.name or path}: {what} {layer_of(index, count)}" + (f": {command}" if command else "")
    emit(
        render_tree(
            shown, title, changes, result.layers[index] if index is not None else None, long, result.image.notes
        )
    )
