"""``imgscope batch``: many images into a Parquet dataset, each distinct layer scanned once."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from imgscope.cli._common import emit, errors, fail, main, no_verify_option
from imgscope.sources.reference import SourceOptions

if TYPE_CHECKING:
    from imgscope.fleet import BatchProgress

#: imgscope.fleet.engines.ENGINES, named here so that the CLI loads without the fleet extra (pyarrow) installed.
ENGINES = ("local", "dask", "ray")


@main.command(name="batch")
@click.argument("sources", nargs=-1)
@click.option(
    "--registry-catalog",
    "catalogs",
    metavar="HOST[/REPO-PREFIX]",
    multiple=True,
    help="Every tag of every repository the registry lists (under the prefix). Repeatable.",
)
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="The dataset's directory.")
@click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True, help="Where tasks run.")
@click.option("--jobs", "-j", type=click.IntRange(1, 4096), help="Workers (default: the cores available).")
@click.option(
    "--scheduler",
    "--address",
    "address",
    metavar="ADDRESS",
    help="Dask scheduler (tcp://…) or Ray cluster address (Ray: default $RAY_ADDRESS; else a runtime of its own).",
)
@click.option("--files", is_flag=True, help="Also write the files table (one row per path of every image: large).")
@click.option("--retries", type=click.IntRange(0, 20), default=2, show_default=True, help="Retries of a lost task.")
@click.option("--fail-on-error", is_flag=True, help="Exit 1 when any image could not be analyzed.")
@click.option("--json", "as_json", is_flag=True, help="Write the run's summary as JSON to stdout.")
@click.option(
    "--insecure",
    is_flag=True,
    help="Do not check registries' certificates; plain HTTP where one speaks no TLS (localhost always may).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    help="The blob cache for registry pulls [default: $XDG_CACHE_HOME/imgscope].",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor fill the blob cache.")
@no_verify_option
@click.pass_context
def batch_command(
    ctx: click.Context,
    sources: tuple[str, ...],
    catalogs: tuple[str, ...],
    out: str,
    engine: str,
    jobs: int | None,
    address: str | None,
    files: bool,
    retries: int,
    fail_on_error: bool,
    as_json: bool,
    insecure: bool,
    cache_dir: str | None,
    no_cache: bool,
    no_verify: bool,
) -> None:
    """Analyze every image SOURCES name into a Parquet dataset in --out (docs/fleet.md).

    A source is an image file or layout (each image and platform inside counts), an image reference (each
    platform of an index counts), or a text file listing sources one a line; --registry-catalog adds every tag a
    registry lists. A re-run with the same --out adds only what is new. An image that fails is recorded with its
    error; the rest go on. Exit 2 when no image could be read, or a registry will not list its repositories.
    """
    if not sources and not catalogs:
        fail("imgscope batch: give SOURCES, --registry-catalog HOST[/REPO-PREFIX], or both")
    try:
        from imgscope.fleet import batch
        from imgscope.render.fleet import batch_to_dict, render_batch
    except ImportError as exc:  # pyarrow is an optional extra
        fail(f"imgscope batch needs {exc.name or 'pyarrow'}: pip install 'imgscope[fleet]'")
    with errors(ctx.obj["debug"]), _progress() as report:
        result = batch(
            sources, out, engine=engine, jobs=jobs, address=address, files=files, verify=not no_verify,
            retries=retries, progress=report, registry_catalog=catalogs,
            options=SourceOptions(insecure=insecure, cache_dir=cache_dir, use_cache=not no_cache),
        )  # fmt: skip
    if as_json:
        click.echo(json.dumps(batch_to_dict(result), indent=2))
    else:
        emit(render_batch(result))
    for reference, message in result.errors:
        click.echo(
            f"imgscope: error: {message if message.startswith(reference) else f'{reference}: {message}'}", err=True
        )
    if result.failed and not (result.analyzed or result.reused):
        ctx.exit(2)  # nothing could be read: bad input, as for every other command
    if fail_on_error and result.failed:
        ctx.exit(1)


@contextmanager
def _progress() -> Iterator[Callable[[BatchProgress], None] | None]:
    """Images and layers done, bytes, rate and time left, on stderr only when it is a terminal."""
    err = Console(stderr=True)
    if not err.is_terminal:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        layers: TaskID = bar.add_task("layers", total=None, info="")
        images: TaskID = bar.add_task("images", total=None, info="")

        def update(state: BatchProgress) -> None:
            rate = f"{state.bytes_scanned / 1e6:,.0f} MB at {state.rate / 1e6:,.1f} MB/s"
            bar.update(layers, total=state.layers_total, completed=state.layers_done, info=rate)
            bar.update(images, total=state.images_total, completed=state.images_done, info="")

        yield update
