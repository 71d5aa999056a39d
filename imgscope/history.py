"""The history of an image beside the layers it made (``imgscope history``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imgscope.base_image import BaseImage, find_base

if TYPE_CHECKING:
    from imgscope.analysis import Analysis, LayerReport
    from imgscope.model import HistoryEntry


def base_to_dict(base: BaseImage | None) -> dict[str, Any] | None:
    """A ``BaseImage`` in the JSON documents (``docs/json.md``)."""
    if base is None:
        return None
    return {
        "name": base.name,
        "digest": base.digest,
        "layer_count": base.layer_count,
        "history_count": base.history_count,
        "evidence": base.evidence,
    }


@dataclass(frozen=True)
class HistoryRow:
    """One history entry, in order, with the layer it made (None for an empty-layer entry)."""

    index: int
    entry: HistoryEntry
    layer: LayerReport | None
    in_base: bool  # the entry belongs to the base image (``base_image.find_base``)

    def to_dict(self) -> dict[str, Any]:
        e, r = self.entry, self.layer
        return {
            "index": self.index,
            "created_by": e.created_by,
            "command": e.command,
            "created": e.created,
            "comment": e.comment,
            "author": e.author,
            "empty_layer": e.empty_layer,
            "layer": e.layer_index,
            "size": r.size if r else None,
            "stored_size": r.stored_size if r else None,
            "compressed_size": r.compressed_size if r else None,
            "diff_id": r.diff_id if r else None,
            "in_base": self.in_base,
        }


@dataclass(frozen=True)
class History:
    """Every history entry with its layer, and where the base image ends when the image tells."""

    rows: tuple[HistoryRow, ...]
    base: BaseImage | None
    unnamed_layers: tuple[LayerReport, ...]  # layers no history entry names (a short or missing history)
    notes: tuple[str, ...] = ()  # the image's notes (e.g. history and layers that do not match)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (``docs/json.md``, history document), without the schema version and image name."""
        return {
            "base": base_to_dict(self.base),
            "history": [row.to_dict() for row in self.rows],
            "layers_without_history": [r.index for r in self.unnamed_layers],
            "notes": list(self.notes),
        }


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
    return History(rows, base, unnamed, analysis.image.notes)
