"""A batch run's summary: a few lines for the terminal, and its JSON document."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from imgscope.text import plural

if TYPE_CHECKING:
    from imgscope.fleet import BatchResult

#: Version of the document ``batch_to_dict`` returns (docs/fleet.md).
SCHEMA_VERSION = 1


def batch_to_dict(result: BatchResult) -> dict[str, Any]:
    """The run's counts, the dataset's path and row counts, and each failed image with its error."""
    return {
        "schema_version": SCHEMA_VERSION,
        "out": str(result.out) if result.out else None,
        "images": result.images,
        "analyzed": result.analyzed,
        "reused": result.reused,
        "failed": result.failed,
        "artifacts_skipped": len(result.artifacts),
        "layers": result.layers,
        "layers_scanned": result.layers_scanned,
        "layers_reused": result.layers_reused,
        "rows": {name: table.num_rows for name, table in result.tables.items()},
        "errors": [{"reference": ref, "error": message} for ref, message in result.errors],
    }


def _unscanned(result: BatchResult) -> int:
    return result.layers - result.layers_scanned - result.layers_reused


def render_batch(result: BatchResult) -> Group:
    """What the run did, and where the tables are."""
    lines = [
        Text(
            f"{plural(result.images, 'image')}: {result.analyzed:,} analyzed, {result.reused:,} from an earlier run, "
            f"{result.failed:,} failed"
            + (f", {plural(len(result.artifacts), 'OCI artifact')} skipped" if result.artifacts else "")
        ),
        Text(
            f"{plural(result.layers, 'distinct layer')}: {result.layers_scanned:,} scanned, "
            f"{result.layers_reused:,} from an earlier run"
            + (f", {unscanned:,} could not be scanned" if (unscanned := _unscanned(result)) else "")
        ),
    ]
    table = Table(title=f"dataset {result.out}" if result.out else "dataset", title_justify="left", box=None)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, t in result.tables.items():
        table.add_row(name, f"{t.num_rows:,}")
    return Group(*lines, table)
