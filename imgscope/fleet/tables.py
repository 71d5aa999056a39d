"""The fleet dataset: its tables (Arrow schemas, versioned) and the rows one image contributes to them.

Parquet files per table, each holding the rows of many images (``OUT/<table>/part-<run>-<n>.parquet``): a re-run
only adds files (and rewrites those holding rows of an image analyzed again), and DuckDB reads a table as
``read_parquet('OUT/<table>/*.parquet')``. ``layers`` is one row per distinct layer and is
rewritten at the end of each run (``image_count`` changes as images are added). docs/fleet.md documents every column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

#: Bumped when a column is removed or changes meaning; adding a column keeps it.
SCHEMA_VERSION = 1
#: Bumped when a fix changes what an image's rows hold (2: the findings of advise's package rules); a re-run
#: assembles again the images whose rows an older version wrote (none: before the ``rows_version`` column).
ROWS_VERSION = 2

_STR = pa.string()
_INT = pa.int64()
_FLOAT = pa.float64()

SCHEMAS: dict[str, pa.Schema] = {
    "images": pa.schema(
        [
            ("image_key", _STR),
            ("reference", _STR),
            ("source", _STR),
            ("name", _STR),
            ("digest", _STR),
            ("config_digest", _STR),
            ("platform", _STR),
            ("created", _STR),
            ("layer_count", _INT),
            ("size", _INT),
            ("stored_size", _INT),
            ("compressed_size", _INT),
            ("final_size", _INT),
            ("file_count", _INT),
            ("wasted_bytes", _INT),
            ("wasted_fraction", _FLOAT),
            ("efficiency", _FLOAT),
            ("duplicate_bytes", _INT),
            ("dive_efficiency", _FLOAT),
            ("dive_wasted_bytes", _INT),
            ("dive_user_wasted_percent", _FLOAT),
            ("findings_bytes_saved", _INT),
            ("package_count", _INT),
            ("error", _STR),
            ("schema_version", _INT),
            ("rows_version", _INT),
        ]
    ),
    "layers": pa.schema(
        [
            ("diff_id", _STR),
            ("size", _INT),
            ("tar_size", _INT),
            ("entries", _INT),
            ("image_count", _INT),
        ]
    ),
    "image_layers": pa.schema(
        [
            ("image_key", _STR),
            ("index", _INT),
            ("diff_id", _STR),
            ("digest", _STR),
            ("media_type", _STR),
            ("compression", _STR),
            ("stored_size", _INT),
            ("compressed_size", _INT),
            ("size", _INT),
            ("tar_size", _INT),
            ("entries", _INT),
            ("created_by", _STR),
            ("added", _INT),
            ("modified", _INT),
            ("removed", _INT),
            ("added_bytes", _INT),
            ("modified_bytes", _INT),
            ("removed_bytes", _INT),
            ("wasted_bytes", _INT),
        ]
    ),
    "files": pa.schema(
        [
            ("image_key", _STR),
            ("path", _STR),
            ("type", _STR),
            ("size", _INT),
            ("layer", _INT),
            ("mode", _INT),
            ("uid", _INT),
            ("gid", _INT),
            ("digest", _STR),
        ]
    ),
    "wasted": pa.schema(
        [
            ("image_key", _STR),
            ("path", _STR),
            ("size", _INT),
            ("layer", _INT),
            ("hidden_by", _INT),
            ("reason", _STR),
        ]
    ),
    "findings": pa.schema(
        [
            ("image_key", _STR),
            ("id", _STR),
            ("name", _STR),
            ("severity", _STR),
            ("title", _STR),
            ("bytes_saved", _INT),
            ("layers", pa.list_(_INT)),
            ("paths", pa.list_(_STR)),
        ]
    ),
    "packages": pa.schema(
        [
            ("image_key", _STR),
            ("ecosystem", _STR),
            ("name", _STR),
            ("version", _STR),
            ("arch", _STR),
            ("location", _STR),
            ("purl", _STR),
            ("license", _STR),
            ("dev", pa.bool_()),
            ("present", pa.bool_()),
            ("layer", _INT),
            ("layer_diff_id", _STR),
            ("removed_in", _INT),
            ("size", _INT),
            ("files", _INT),
            ("wasted_bytes", _INT),
            ("declared_size", _INT),
        ]
    ),
}

#: The tables written per image (``layers`` is written once per run from all images).
PER_IMAGE_TABLES = ("images", "image_layers", "files", "wasted", "findings", "packages")


@dataclass
class ImageRows:
    """The rows one image adds to each per-image table (column name -> value, in schema order)."""

    image_key: str
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        """The one-line error of an image that could not be analyzed."""
        rows = self.tables.get("images") or [{}]
        value = rows[0].get("error")
        return value if isinstance(value, str) else None


def to_table(name: str, rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Rows of table ``name`` as an Arrow table with its schema (missing columns are null)."""
    schema = SCHEMAS[name]
    rows = list(rows)
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema}, schema=schema)
