"""The history of an image beside the layers it made (``imgscope history``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from imgscope._display import Displayable
from imgscope.analysis import Analysis, LayerReport, analyze
from imgscope.history.base_image import BaseImage, find_base
from imgscope.model import HistoryEntry, Image

#: The version of the history JSON document (``docs/json.md``); bump it on any breaking change.
HISTORY_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class HistoryRow:
    """One history entry, in order, with the layer it made (None for an empty-layer entry).

    Attributes:
        index: the entry's position in the history
        entry: the history entry
        layer: the layer it made (None for an empty-layer entry)
        in_base: the entry belongs to the base image (``base_image.find_base``)
    """

    index: int
    entry: HistoryEntry
    layer: LayerReport | None
    in_base: bool

    def to_dict(self) -> dict[str, Any]:
        r = self.layer
        return {
            "index": self.index,
            **self.entry.to_dict(),
            "size": r.size if r else None,
            "stored_size": r.stored_size if r else None,
            "compressed_size": r.compressed_size if r else None,
            "diff_id": r.diff_id if r else None,
            "in_base": self.in_base,
        }


@dataclass(frozen=True, repr=False)  # repr: one line, from the display registry
class History(Displayable):
    """Every history entry with its layer, and where the base image ends when the image tells.

    Attributes:
        rows: every history entry in order, empty ones included, each with the layer it made.
        base: where the base image ends, when the image tells (``find_base``).
        unnamed_layers: layers no history entry names (a short or missing history).
        notes: the image's notes (e.g. history and layers that do not match).
        image: the image's name, when it has one.
    """

    rows: tuple[HistoryRow, ...]
    base: BaseImage | None
    unnamed_layers: tuple[LayerReport, ...]
    notes: tuple[str, ...] = ()
    image: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (``docs/json.md``, history document)."""
        return {
            "schema_version": HISTORY_SCHEMA_VERSION,
            "image": self.image,
            "base": self.base.to_dict() if self.base is not None else None,
            "history": [row.to_dict() for row in self.rows],
            "layers_without_history": [r.index for r in self.unnamed_layers],
            "notes": list(self.notes),
        }


def history(
    source: str | os.PathLike[str] | Image | Analysis,
    *,
    image: str | None = None,
    platform: str | None = None,
    verify: bool = True,
) -> History:
    """The history of an image (a path, an ``Image`` or an ``Analysis``), each entry beside the layer it made."""
    return history_of(analyze(source, image=image, platform=platform, verify=verify, top=0))


def history_of(analysis: Analysis) -> History:
    """The history of the analysed image, each entry beside the layer it made."""
    base = find_base(analysis.image)
    cut = base.history_count if base is not None else 0
    by_index = {r.index: r for r in analysis.layers}
    rows = tuple(
        HistoryRow(n, h, by_index.get(h.layer_index) if h.layer_index is not None else None, n < cut)
        for n, h in enumerate(analysis.image.history)
    )
    named = {row.layer.index for row in rows if row.layer is not None}
    unnamed = tuple(r for r in analysis.layers if r.index not in named)
    return History(rows, base, unnamed, analysis.image.notes, analysis.image.name)
