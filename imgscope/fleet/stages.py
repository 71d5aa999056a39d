"""The two pure functions a batch engine runs: scan one distinct layer, assemble one image from its scans.

Both take and return plain, picklable values (no open files, no engine objects), so any engine can ship them to a
worker. Bad input is returned as data (``ScanOutcome.error``, an image's ``error`` row), never raised: a corrupt
image must not look like a lost worker and be retried.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgscope.analysis.merge import merge_scans
from imgscope.analysis.scan import LayerScan, rebase_scan, scan_layer
from imgscope.errors import ImgscopeError
from imgscope.fleet.plan import ImageJob, LayerTask
from imgscope.fleet.rows import error_rows, image_rows
from imgscope.fleet.tables import ImageRows
from imgscope.model import Image
from imgscope.sources.resolve import open_source

#: Bumped when the stored form of a scan changes; older cached scans are then ignored.
SCAN_FORMAT = 2


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
    return open_source(job.source, image=job.image, platform=job.platform, options=job.options)


def decode_scan(payload: bytes, diff_id: str) -> LayerScan:
    """A scan from the engine or the cache (``LayerScan.to_bytes``), refused unless it is of ``diff_id``.

    Nothing pickled is read back: the cache is a directory others may write to.
    """
    try:
        scan = LayerScan.from_bytes(payload, observers=False)
    except (ValueError, TypeError, EOFError) as exc:
        raise ScanCacheError(diff_id, f"unreadable layer scan ({exc}); delete it from the scan cache") from None
    if scan.stream.diff_id != diff_id:
        raise ScanCacheError(diff_id, f"the cached scan is of {scan.stream.diff_id}; delete it from the scan cache")
    return scan


class ScanCacheError(ImgscopeError):
    """A scan in the cache directory that cannot be used."""


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
        return ScanOutcome(task.diff_id, scan.to_bytes(), None, scan.stream.tar_size)
    return ScanOutcome(task.diff_id, None, first_error or "no image holds this layer")


def assemble_stage(item: AssembleItem) -> ImageRows:
    """Merge the image's scanned layers in order and turn the analysis into table rows."""
    job = item.job
    try:
        image = open_job(job)
        scans = [
            rebase_scan(decode_scan(item.scans[blob.diff_id or ""], blob.diff_id or ""), image, blob.index)
            for blob in image.layers
        ]
        analysis = merge_scans(image, scans, verify=item.verify)
        return image_rows(job, analysis, files=item.files)
    except (ImgscopeError, OSError) as exc:
        return error_rows(job, _one_line(exc))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
