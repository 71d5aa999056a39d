"""One analyzed image as rows of the fleet tables (``batch.tables``), from the same ``Analysis`` ``analyze`` gives."""

from __future__ import annotations

from typing import Any

from imgscope.advise import advice as advice_of
from imgscope.analysis import Analysis, FileRecord
from imgscope.fleet.plan import ImageJob
from imgscope.fleet.tables import ROWS_VERSION, SCHEMA_VERSION, ImageRows
from imgscope.packages import ImagePackages


def image_rows(
    job: ImageJob, analysis: Analysis, *, files: bool = False, packages: ImagePackages | None = None
) -> ImageRows:
    """The rows ``analysis`` of ``job`` adds to every per-image table (``files`` only when asked; ``packages``: the
    image's package databases, for the packages table, present and removed alike, and advise's package rules)."""
    image = analysis.image
    s = analysis.summary
    key = job.key
    advice = advice_of(packages if packages is not None else analysis)
    report = packages.report() if packages is not None else None
    wasted_by_layer: dict[int, int] = {}
    for w in analysis.wasted_files:
        wasted_by_layer[w.layer] = wasted_by_layer.get(w.layer, 0) + w.size
    rows = ImageRows(key)
    rows.tables["images"] = [
        {
            "image_key": key,
            "reference": job.reference,
            "source": job.source,
            "name": job.name or image.name,  # opened by digest, a second tag of it would read as the first
            "digest": image.digest,
            "config_digest": image.config_digest,
            "platform": str(image.platform) if image.platform else None,
            "created": image.created,
            "layer_count": s.layer_count,
            "size": s.size,
            "stored_size": s.stored_size,
            "compressed_size": s.compressed_size,
            "final_size": s.final_size,
            "file_count": s.file_count,
            "wasted_bytes": s.wasted_bytes,
            "wasted_fraction": s.wasted_fraction,
            "efficiency": s.efficiency,
            "duplicate_bytes": s.duplicate_bytes,
            "dive_efficiency": analysis.dive.efficiency,
            "dive_wasted_bytes": analysis.dive.wasted_bytes,
            "dive_user_wasted_percent": analysis.dive.user_wasted_percent,
            "findings_bytes_saved": advice.total_saved,
            "package_count": len(report.packages) if report is not None else None,
            "error": None,
            "schema_version": SCHEMA_VERSION,
            "rows_version": ROWS_VERSION,
        }
    ]
    rows.tables["image_layers"] = [
        {
            "image_key": key,
            "index": r.index,
            "diff_id": r.diff_id,
            "digest": r.digest,
            "media_type": r.media_type,
            "compression": r.compression,
            "stored_size": r.stored_size,
            "compressed_size": r.compressed_size,
            "size": r.size,
            "tar_size": r.tar_size,
            "entries": r.entries,
            "created_by": r.history.created_by if r.history else None,
            "added": r.added,
            "modified": r.modified,
            "removed": r.removed,
            "added_bytes": r.added_bytes,
            "modified_bytes": r.modified_bytes,
            "removed_bytes": r.removed_bytes,
            "wasted_bytes": wasted_by_layer.get(r.index, 0),
        }
        for r in analysis.layers
    ]
    rows.tables["wasted"] = [
        {
            "image_key": key,
            "path": w.path,
            "size": w.size,
            "layer": w.layer,
            "hidden_by": w.hidden_by,
            "reason": w.reason.value,
        }
        for w in analysis.wasted_files
    ]
    rows.tables["findings"] = [
        {
            "image_key": key,
            "id": f.id,
            "name": f.name,
            "severity": f.severity.value,
            "title": f.title,
            "bytes_saved": f.bytes_saved,
            "layers": list(f.layers),
            "paths": list(f.paths),
        }
        for f in advice.findings
    ]
    if files:
        rows.tables["files"] = [_file_row(key, f) for f in analysis.files]
    if report is not None:
        diff_ids = [r.diff_id for r in analysis.layers]
        rows.tables["packages"] = [
            {
                "image_key": key,
                "ecosystem": p.ecosystem,
                "name": p.name,
                "version": p.version,
                "arch": p.arch,
                "location": p.location,
                "purl": p.purl,
                "license": p.license,
                "dev": p.dev,
                "present": p.present,
                "layer": p.layer,
                "layer_diff_id": diff_ids[p.layer] if p.layer is not None and 0 <= p.layer < len(diff_ids) else None,
                "removed_in": p.removed_in,
                "size": p.size,
                "files": p.files,
                "wasted_bytes": p.wasted_bytes,
                "declared_size": p.declared_size,
            }
            for p in (*report.packages, *report.removed)
        ]
    return rows


def _file_row(key: str, f: FileRecord) -> dict[str, Any]:
    return {
        "image_key": key,
        "path": f.path,
        "type": f.type.value,
        "size": f.size,
        "layer": f.layer,
        "mode": f.mode,
        "uid": f.uid,
        "gid": f.gid,
        "digest": f.digest,
    }


def error_rows(job: ImageJob, message: str) -> ImageRows:
    """The one row an image that could not be analyzed leaves: its name and its one-line error."""
    rows = ImageRows(job.key)
    rows.tables["images"] = [
        {
            "image_key": job.key,
            "reference": job.reference,
            "source": job.source,
            "error": message,
            "schema_version": SCHEMA_VERSION,
            "rows_version": ROWS_VERSION,
        }
    ]
    return rows
