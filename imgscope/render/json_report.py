"""The JSON document of an analysis (schema in ``docs/json.md``). Bump SCHEMA_VERSION on any breaking change."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imgscope.analysis import Analysis, FileRecord, LayerReport
    from imgscope.model import HistoryEntry, ImageRef

SCHEMA_VERSION = 1


def _num(value: float) -> float | None:
    """JSON has no NaN or infinity: they become null."""
    return None if math.isnan(value) or math.isinf(value) else value


def history_to_dict(h: HistoryEntry) -> dict[str, Any]:
    return {
        "created_by": h.created_by,
        "command": h.command,
        "created": h.created,
        "comment": h.comment,
        "author": h.author,
        "empty_layer": h.empty_layer,
        "layer": h.layer_index,
    }


def file_to_dict(f: FileRecord) -> dict[str, Any]:
    return {
        "path": f.path,
        "type": f.type.value,
        "size": f.size,
        "mode": f"{f.mode:04o}",
        "uid": f.uid,
        "gid": f.gid,
        "link_target": f.link_target or None,
        "layer": f.layer,
    }


def layer_to_dict(r: LayerReport) -> dict[str, Any]:
    return {
        "index": r.index,
        "digest": r.digest,
        "diff_id": r.diff_id,
        "media_type": r.media_type,
        "compression": r.compression,
        "size": r.size,
        "stored_size": r.stored_size,
        "compressed_size": r.compressed_size,
        "tar_size": r.tar_size,
        "entries": r.entries,
        "added": r.added,
        "modified": r.modified,
        "removed": r.removed,
        "added_bytes": r.added_bytes,
        "modified_bytes": r.modified_bytes,
        "removed_bytes": r.removed_bytes,
        "metadata_only": r.metadata_only,
        "metadata_only_bytes": r.metadata_only_bytes,
        "whiteouts": r.whiteouts,
        "opaque_dirs": r.opaque_dirs,
        "created_by": r.history.created_by if r.history else None,
        "command": r.command,
        "created": r.history.created if r.history else None,
        "comment": r.history.comment if r.history else None,
    }


def ref_to_dict(ref: ImageRef) -> dict[str, Any]:
    return {
        "name": ref.name,
        "tags": list(ref.tags),
        "digest": ref.digest,
        "config_digest": ref.config_digest,
        "platform": str(ref.platform) if ref.platform else None,
        "media_type": ref.media_type,
    }


def analysis_to_dict(a: Analysis) -> dict[str, Any]:
    img = a.image
    s = a.summary
    return {
        "schema_version": SCHEMA_VERSION,
        "image": {
            "source": img.source,
            "format": img.format,
            "name": img.name,
            "tags": list(img.tags),
            "digest": img.digest,
            "config_digest": img.config_digest,
            "platform": str(img.platform) if img.platform else None,
            "created": img.created,
            "notes": list(img.notes),
            "verified": a.verified,
        },
        "layers": [layer_to_dict(r) for r in a.layers],
        "history": [history_to_dict(h) for h in img.history],
        "summary": {
            "size": s.size,
            "stored_size": s.stored_size,
            "compressed_size": s.compressed_size,
            "final_size": s.final_size,
            "file_count": s.file_count,
            "layer_count": s.layer_count,
            "wasted_bytes": s.wasted_bytes,
            "wasted_percent": s.wasted_percent,
            "efficiency": s.efficiency,
            "duplicate_bytes": s.duplicate_bytes,
        },
        "dive": {
            "efficiency": _num(a.dive.efficiency),
            "wasted_bytes": a.dive.wasted_bytes,
            "user_wasted_percent": _num(a.dive.user_wasted_percent),
            "inefficient_files": [
                {"path": i.path, "count": i.count, "cumulative_size": i.cumulative_size} for i in a.dive.inefficiencies
            ],
        },
        "wasted_files": [
            {"path": w.path, "size": w.size, "layer": w.layer, "hidden_by": w.hidden_by, "reason": w.reason.value}
            for w in a.wasted_files
        ],
        "largest_files": [file_to_dict(f) for f in a.largest_files],
        "duplicates": [
            {"digest": "sha256:" + g.digest, "size": g.size, "paths": list(g.paths), "wasted_bytes": g.wasted_bytes}
            for g in a.duplicates
        ],
    }


def dumps(doc: Any) -> str:
    """Serialise a document: strict JSON (no NaN), stable key order as built; the text of
    ``json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False)``, written without recursion, since a tree
    document nests two levels per directory and a path may be 2,000 directories deep (json's encoder recurses)."""
    return "".join(_tokens(doc))


def iter_dumps(doc: Any, batch: int = 1 << 16) -> Iterator[str]:
    """``dumps(doc)`` in pieces of about ``batch`` characters, so a large document is never one string in memory."""
    pending: list[str] = []
    held = 0
    for token in _tokens(doc):
        pending.append(token)
        held += len(token)
        if held >= batch:
            yield "".join(pending)
            pending.clear()
            held = 0
    if pending:
        yield "".join(pending)


def _tokens(doc: Any) -> Iterator[str]:
    """The pieces of ``dumps(doc)``, in order, from an explicit stack."""
    # Work items, last first: a str is written as it is; a (value, level) pair is encoded at that level.
    work: list[str | tuple[Any, int]] = [(doc, 0)]
    while work:
        item = work.pop()
        if isinstance(item, str):
            yield item
            continue
        value, level = item
        if isinstance(value, (dict, list, tuple)):
            is_dict = isinstance(value, dict)
            if not value:
                yield "{}" if is_dict else "[]"
                continue
            if isinstance(value, dict):
                members = [(_key(k) + ": ", v) for k, v in value.items()]
            else:
                members = [("", v) for v in value]
            inner = "\n" + "  " * (level + 1)
            yield "{" if is_dict else "["
            work.append("\n" + "  " * level + ("}" if is_dict else "]"))
            for position in range(len(members) - 1, -1, -1):
                label, member = members[position]
                work.append((member, level + 1))
                work.append(("," if position else "") + inner + label)
        elif isinstance(value, str):
            yield _string(value)
        elif type(value) is int:
            yield int.__repr__(value)
        elif value is None:
            yield "null"
        elif value is True or value is False:
            yield "true" if value else "false"
        else:
            yield json.dumps(value, allow_nan=False, ensure_ascii=False)


_string = json.encoder.encode_basestring  # json's own (C) string encoder, as ensure_ascii=False uses


def _key(key: Any) -> str:
    """A dict key as json writes it (json turns None, booleans and numbers into strings)."""
    if not isinstance(key, str):
        key = json.dumps(key, allow_nan=False)
    return _string(key)
