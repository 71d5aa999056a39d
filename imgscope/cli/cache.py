"""``imgscope cache ls|prune``: the blob cache registry pulls fill."""

from __future__ import annotations

import datetime
import os

import click
from rich.console import Group
from rich.table import Table

from imgscope.cli._common import emit, errors, main
from imgscope.errors import UsageError
from imgscope.render.cells import DigestCell
from imgscope.render.terminal import safe
from imgscope.sources.cache import BlobCache, CacheEntry
from imgscope.text import plural
from imgscope.units import format_size, parse_size

CACHE_SCHEMA_VERSION = 1


def _cache(cache_dir: str | None) -> BlobCache:
    return BlobCache(cache_dir)


def _entry(e: CacheEntry) -> dict[str, object]:
    when = datetime.datetime.fromtimestamp(e.last_used, datetime.timezone.utc)
    return {"digest": e.digest, "size": e.size, "last_used": when.isoformat().replace("+00:00", "Z")}


def _human(n: int) -> str:
    return format_size(n)


@main.group()
def cache() -> None:
    """The blob cache (registry pulls): list it, or prune it."""


@cache.command(name="ls")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="The cache [default: $XDG_CACHE_HOME/imgscope].")
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
@click.pass_context
def cache_ls(ctx: click.Context, cache_dir: str | None, as_json: bool) -> None:
    """List the cached blobs, most recently used first."""
    import json

    with errors(ctx.obj["debug"]):
        store = _cache(cache_dir)
        entries = list(reversed(store.entries()))
    total = sum(e.size for e in entries)
    if as_json:
        doc = {
            "schema_version": CACHE_SCHEMA_VERSION,
            "kind": "cache",
            "path": os.fspath(store.root),
            "size": total,
            "blobs": [_entry(e) for e in entries],
        }
        click.echo(json.dumps(doc, indent=2))
        return
    head = safe(f"{store.root}: {plural(len(entries), 'blob')}, {_human(total)} (cap {_human(store.max_bytes)})")
    table = Table()
    table.add_column("digest")
    table.add_column("size", justify="right")
    table.add_column("last used")
    for e in entries:
        table.add_row(DigestCell(e.digest), _human(e.size), str(_entry(e)["last_used"]))
    emit(Group(head, table) if entries else head)


@cache.command()
@click.option("--cache-dir", type=click.Path(file_okay=False), help="The cache [default: $XDG_CACHE_HOME/imgscope].")
@click.option("--max-size", metavar="SIZE", help="Keep at most this much (e.g. 2GB), least recently used go first.")
@click.option("--all", "everything", is_flag=True, help="Remove every cached blob.")
@click.pass_context
def prune(ctx: click.Context, cache_dir: str | None, max_size: str | None, everything: bool) -> None:
    """Remove least recently used blobs down to the cap (or --max-size), and abandoned downloads."""
    with errors(ctx.obj["debug"]):
        if everything and max_size:
            raise UsageError("--all", "give --all or --max-size, not both")
        try:
            limit = 0 if everything else (parse_size(max_size) if max_size else None)
        except ValueError as exc:
            raise UsageError("--max-size", str(exc)) from None
        store = _cache(cache_dir)
        removed = store.prune(limit)
    freed = sum(e.size for e in removed)
    click.echo(f"removed {len(removed)} blobs ({_human(freed)}); {_human(store.size())} left in {store.root}")
