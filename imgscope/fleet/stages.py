"""The two pure functions a batch engine runs: scan one distinct layer, assemble one image from its scans.

Both take and return plain, picklable values (no open files, no engine objects), so any engine can ship them to a
worker. Bad input is returned as data (``ScanOutcome.error``, an image's ``error`` row), never raised: a corrupt
image must not look like a lost worker and be retried.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

from imgscope.analysis.merge import merge_scans
from imgscope.analysis.scan import LayerScan, rebase_scan, scan_layer
from imgscope.errors import ImgscopeError
from imgscope.fleet.plan import ImageJob, LayerTask
from imgscope.fleet.rows import error_rows, image_rows
from imgscope.fleet.tables import ImageRows
from imgscope.model import Image
from imgscope.sources.detect import open_image

#: Bumped when the stored form of a scan changes; older cached scans are then ignored.
SCAN_FORMAT = 1


@dataclass(frozen=True)
class ScanOutcome:
    """One scanned layer: its compact record (``payload``), or the one-line reason it could not be read."""

    diff_id: str
    payload: bytes | None
    error: str | None = None
    tar_size: int = 0


@dataclass(frozen=True)
class AssembleItem:
    """What assembling one image needs: the job, its scans (diff_id -> payload) and the options."""

    job: ImageJob
    scans: dict[str, bytes]
    verify: bool = True
    files: bool = False


def open_job(job: ImageJob) -> Image:
    """The job's image, metadata only."""
    return open_image(job.source, image=job.image, platform=job.platform)


def encode_scan(scan: LayerScan) -> bytes:
    """A scan as bytes for the engine and the cache."""
    return pickle.dumps(scan, protocol=pickle.HIGHEST_PROTOCOL)


def decode_scan(payload: bytes) -> LayerScan:
    """The inverse of ``encode_scan`` (payloads come only from this run's workers or its own cache directory)."""
    scan = pickle.loads(payload)
    if not isinstance(scan, LayerScan):
        raise TypeError(f"not a layer scan: {type(scan).__name__}")
    return scan


def scan_stage(task: LayerTask) -> ScanOutcome:
    """Scan the layer ``task`` names, verifying it against its diff_id while it streams; from the next image that
    holds it when a copy cannot be read (the error of the first copy is kept when none can)."""
    first_error: str | None = None
    for job, index in task.holders:
        try:
            scan = scan_layer(open_job(job), index, verify=True)
        except (ImgscopeError, OSError) as exc:
            first_error = first_error or _one_line(exc)
            continue
        return ScanOutcome(task.diff_id, encode_scan(scan), None, scan.stream.tar_size)
    return ScanOutcome(task.diff_id, None, first_error or "no image holds this layer")


def assemble_stage(item: AssembleItem) -> ImageRows:
    """Merge the image's scanned layers in order and turn the analysis into table rows."""
    job = item.job
    try:
        image = open_job(job)
        scans = [rebase_scan(decode_scan(item.scans[blob.diff_id or ""]), image, blob.index) for blob in image.layers]
        analysis = merge_scans(image, scans, verify=item.verify)
        return image_rows(job, analysis, files=item.files)
    except (ImgscopeError, OSError) as exc:
        return error_rows(job, _one_line(exc))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
