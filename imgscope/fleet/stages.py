"""The two pure functions a batch engine runs: scan one distinct layer, assemble one image from its scans.

Both take and return plain, picklable values (no open files, no engine objects), so any engine can ship them to a
worker. Bad input is returned as data (``ScanOutcome.error``, an image's ``error`` row), never raised: a corrupt
image must not look like a lost worker and be retried.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import socket
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from imgscope.analysis.merge import merge_scans
from imgscope.analysis.scan import LayerScan, layer_where, rebase_scan, scan_layer
from imgscope.errors import CorruptLayerError, ImgscopeError, MissingBlobError
from imgscope.fleet.plan import ImageJob, LayerTask, indexable, source_index
from imgscope.fleet.rows import error_rows, image_rows
from imgscope.fleet.tables import ImageRows
from imgscope.model import Image
from imgscope.packages import DatabaseCapture, ImagePackages
from imgscope.packages.report import database_history
from imgscope.packages.scan import capture_observers
from imgscope.sources.blobs import LayerStream
from imgscope.sources.reference import TRANSPORTS, split_path_ref
from imgscope.sources.resolve import open_source

#: Bumped when the stored form of a scan changes; older cached scans are then ignored.
SCAN_FORMAT = 4
_MAGIC = b"imgscope fleet scan 5\n"


@dataclass(frozen=True)
class ScanOutcome:
    """One scanned layer: its compact record (``payload``: ``encode_scan``), or the one-line reason it could not
    be read; ``bad``: ``(image key, its own error)`` of each image whose copy of the layer is corrupt or missing."""

    diff_id: str
    payload: bytes | None  # None when it failed, or when the worker wrote it to ``LayerTask.store_at``
    error: str | None = None
    tar_size: int = 0
    stored: bool = False  # written to ``LayerTask.store_at``
    bad: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AssembleItem:
    """What assembling one image needs: the job, its layers' records (diff_id -> payload, or -> the file holding
    it when the worker sees the output directory) and the options."""

    job: ImageJob
    scans: dict[str, bytes]
    verify: bool = True
    files: bool = False
    scan_files: dict[str, str] | None = None

    def payload(self, diff_id: str) -> bytes:
        """The record of layer ``diff_id``."""
        if self.scan_files is not None and diff_id in self.scan_files:
            return Path(self.scan_files[diff_id]).read_bytes()
        return self.scans[diff_id]


def open_job(job: ImageJob) -> Image:
    """The job's image, metadata only (a file source listed once per run and process: ``plan.source_index``)."""
    if job.run and indexable(job.source):
        return source_index(job.source, job.run).open(job.image, job.platform)
    return open_source(job.source, image=job.image, platform=job.platform, options=job.options)


class WorkerCannotReadError(ImgscopeError):
    """A worker cannot read a source path the run's driver opened when it planned the run."""


def open_in_worker(job: ImageJob) -> Image:
    """``open_job`` in a stage: a path the driver opened (made absolute by it) that this worker cannot read is
    said to be so, with this worker's host, not as a bare "no such file" about a file the user can see."""
    try:
        return open_job(job)
    except (ImgscopeError, OSError):
        path = source_path(job.source)
        if path is None or os.access(path, os.R_OK):
            raise
        reason = "no such file or directory" if not os.path.lexists(path) else "permission denied"
        raise WorkerCannotReadError(
            job.source,
            f"the worker on host {socket.gethostname()} cannot read it ({reason}), though the run's driver opened"
            " it: every worker must see the sources at the same path (a shared filesystem)",
        ) from None


def source_path(source: str) -> str | None:
    """The absolute path a job's ``source`` reads, as ``plan.canonical_source`` spells it: ``/abs/x.tar``, and the
    path of ``/abs/x.tar:REF``, ``oci:/abs/layout:TAG``, ``docker-archive:/abs/x.tar``, ``dir:/abs/dir``; None for
    anything else (a registry reference, a stream)."""
    transport, colon, rest = source.partition(":")
    if colon and transport in TRANSPORTS and transport not in ("docker", "docker-daemon", "podman"):
        if transport == "dir":  # the whole rest is the directory
            return rest if os.path.isabs(rest) else None
        source = rest
    if not os.path.isabs(source):
        return None
    return split_path_ref(source)[0]  # a PATH:REF the worker cannot see: the path up to the first ':'


@dataclass(frozen=True)
class LayerRecord:
    """What the scan stage keeps of one layer: its scan, and the package-database files it wrote (path -> the
    bytes ``packages.capture`` keeps, with the capture's notes)."""

    scan: LayerScan
    databases: dict[str, bytes]
    notes: tuple[str, ...] = ()


def encode_scan(scan: LayerScan, databases: dict[str, bytes], notes: Sequence[str] = ()) -> bytes:
    """The stored form of a layer's record: a header, then the scan (``LayerScan.to_bytes``, no observers) and
    the database files, as plain data."""
    return _MAGIC + marshal.dumps((scan.to_bytes(), dict(databases), list(notes)))


def decode_scan(payload: bytes, diff_id: str) -> LayerRecord:
    """A layer's record from the engine or the cache (``encode_scan``), refused unless it is of ``diff_id``.

    Nothing pickled is read back: the cache is a directory others may write to.
    """
    try:
        if not payload.startswith(_MAGIC):
            raise ValueError("not a fleet scan of this version")
        scan_bytes, databases, notes = marshal.loads(payload[len(_MAGIC) :])
        if not (
            isinstance(scan_bytes, bytes)
            and isinstance(databases, dict)
            and all(isinstance(k, str) and isinstance(v, bytes) for k, v in databases.items())
            and isinstance(notes, list)
            and all(isinstance(n, str) for n in notes)
        ):
            raise ValueError("unexpected contents")
        scan = LayerScan.from_bytes(scan_bytes, observers=False)
        scan.entries  # noqa: B018  # decoded (and its columns checked) here, not first met deep in the merge
    except (ValueError, TypeError, EOFError) as exc:
        raise ScanCacheError(diff_id, f"unreadable layer scan ({exc}); delete it from the scan cache") from None
    if scan.stream.diff_id != diff_id:
        raise ScanCacheError(diff_id, f"the cached scan is of {scan.stream.diff_id}; delete it from the scan cache")
    return LayerRecord(scan, databases, tuple(notes))


class ScanCacheError(ImgscopeError):
    """A scan in the cache directory that cannot be used."""


def scan_stage(task: LayerTask) -> ScanOutcome:
    """Scan the layer ``task`` names, verifying it against its diff_id while it streams, from the first copy that
    reads whole; then check every other copy (``check_blob``: its digest and its diff_id). An image whose copy
    fails is in ``bad`` with its own copy's error; ``error`` is set when no copy could be scanned."""
    bad: list[tuple[str, str]] = []
    payload: bytes | None = None
    tar_size = 0
    scanned = not task.scan
    known = set(task.known) | (scanned_from(task.record_at, task.diff_id) if task.record_at else set())
    for group in task.groups():
        job, index = task.holders[group[0]]
        try:
            if scanned:
                if not task.check_copies:
                    break
                if (digest := check_blob(open_in_worker(job), index, known)) is not None:
                    known.add(digest)
                continue
            capture = DatabaseCapture()
            scan = scan_layer(open_in_worker(job), index, verify=True, observers=[capture_observers(capture)])
        except (ImgscopeError, OSError) as exc:
            error = _one_line(exc)
            bad.extend((task.holders[i][0].key, error) for i in group)
            continue
        scanned = True
        if scan.stream.blob_digest is not None:
            known.add(scan.stream.blob_digest)
        scan.observers = ()  # what they saw is in the capture; the stored form carries data, not objects
        payload = encode_scan(scan, capture.written.get(index, {}), capture.notes)
        tar_size = scan.stream.tar_size
        if task.store_at is not None:
            write_atomic(Path(task.store_at), payload)
            payload = None
    if not scanned:
        return ScanOutcome(task.diff_id, None, bad[0][1] if bad else "no image holds this layer", bad=tuple(bad))
    stored = task.scan and task.store_at is not None
    return ScanOutcome(task.diff_id, payload, None, tar_size, stored=stored, bad=tuple(bad))


def scanned_from(record: str, diff_id: str) -> set[str]:
    """The digest of the blob the cached record at ``record`` of ``diff_id`` was scanned from (verified then against
    both its digest and its diff_id), or nothing when it cannot be read (the assemble stage reports that)."""
    try:
        digest = decode_scan(Path(record).read_bytes(), diff_id).scan.stream.blob_digest
    except (OSError, ScanCacheError):
        return set()
    return {digest} if digest else set()


def check_blob(image: Image, index: int, known: Collection[str] = ()) -> str | None:
    """Raise ``CorruptLayerError`` (``MissingBlobError``) unless layer ``index``'s blob as stored is whole: every
    byte hashed against the digest its manifest names, and decompressed and checked against its diff_id, as
    ``imgscope analyze`` checks it; the blob's digest once checked.

    ``known``: digests of blobs already found to decompress to this diff_id. A copy with one of them is only hashed
    (the same digest is the same bytes); any other is decompressed, since a blob can match its digest and still
    hold other content than its config's diff_id names.
    """
    blob = image.layers[index]
    where = layer_where(image, index)
    if not blob.available:
        raise MissingBlobError(where, "the layer blob is not in the image")
    digest_algorithm = blob.digest.partition(":")[0] if blob.digest else "sha256"
    got_digest: str | None
    diff_id: str | None
    with blob.open() as raw:
        if blob.digest is not None and blob.digest in known:
            h = hashlib.new(digest_algorithm)
            while chunk := raw.read(1 << 20):
                h.update(chunk)
            got_digest, diff_id = f"{digest_algorithm}:{h.hexdigest()}", blob.diff_id
        else:
            algorithm = (blob.diff_id or "sha256:").partition(":")[0]
            hash_blob = blob.digest is not None
            with LayerStream(
                raw, where, hash_blob=hash_blob, blob_algorithm=digest_algorithm, diff_algorithm=algorithm
            ) as stream:
                while stream.read(1 << 20):
                    pass
                got_digest, diff_id = stream.blob_digest if hash_blob else None, stream.diff_id
    if blob.digest is not None and got_digest != blob.digest:
        raise CorruptLayerError(where, f"blob does not match its digest: expected {blob.digest}, got {got_digest}")
    if blob.diff_id and diff_id != blob.diff_id:
        raise CorruptLayerError(where, f"content does not match its diff_id: expected {blob.diff_id}, got {diff_id}")
    return blob.digest


def assemble_stage(item: AssembleItem) -> ImageRows:
    """Merge the image's scanned layers in order, attribute its bytes to packages from the database files the
    scans kept (as ``imgscope packages`` does in its one pass), and turn both into table rows."""
    job = item.job
    try:
        image = open_in_worker(job)
        capture = DatabaseCapture()
        scans = []
        for blob in image.layers:
            record = decode_scan(item.payload(blob.diff_id or ""), blob.diff_id or "")
            if record.databases:
                capture.written[blob.index] = dict(record.databases)
            capture.notes.extend(record.notes)
            scans.append(rebase_scan(record.scan, image, blob.index))
        analysis = merge_scans(image, scans, verify=item.verify)
        scanned = ImagePackages(analysis, capture, database_history(analysis, capture))
        return image_rows(job, analysis, files=item.files, packages=scanned)
    except (ImgscopeError, OSError) as exc:
        return error_rows(job, _one_line(exc))


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all (a temporary file of this process, renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written temporary file behind
        raise


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
