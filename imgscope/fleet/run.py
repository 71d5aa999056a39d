"""``batch(sources, out)``: analyze many images, each distinct layer scanned once, into a Parquet dataset.

The run, in order:
1. expand the sources into image jobs (``plan``), with every tag of the registry catalogs asked for
   (``sources.catalog``);
2. open each image (metadata only; a file source is listed once, ``plan.source_index``): one that cannot be opened
   gets its error row at once, unless an earlier run analyzed it (its rows are kept, the failure reported); one
   whose rows an earlier run left in ``out`` (same image ID) is skipped; the rows an earlier run left of an image
   analyzed again (it failed, or its name now names another image) are removed;
3. scan every distinct layer (by diff_id) that no earlier run left in ``out/_scans`` (stage 1, on the engine);
4. assemble each image from its scans (stage 2, on the engine); rows are gathered and written as one Parquet file
   per table every ``PART_IMAGES`` images (``OUT/<table>/part-<run>-<n>.parquet``);
5. rewrite the ``layers`` table from every image's layers in ``out``.
"""

from __future__ import annotations

import functools
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from imgscope.errors import ImgscopeError, NotAnImageError, UsageError, command_line_flags, in_words
from imgscope.fleet.engines import Engine, TaskFailed, make_engine
from imgscope.fleet.plan import (
    ImageJob,
    LayerTask,
    absolute_path,
    canonical_source,
    distinct_layers,
    expand_sources,
    indexable,
)
from imgscope.fleet.rows import error_rows
from imgscope.fleet.stages import (
    SCAN_FORMAT,
    AssembleItem,
    assemble_stage,
    open_job,
    scan_stage,
    scanned_from,
    write_atomic,
)
from imgscope.fleet.tables import PER_IMAGE_TABLES, ROWS_VERSION, SCHEMA_VERSION, SCHEMAS, ImageRows, to_table
from imgscope.model import Image
from imgscope.sources.catalog import CatalogSpec, catalog_references, parse_catalog_spec
from imgscope.sources.local import stream_source
from imgscope.sources.reference import SourceOptions, parse_reference
from imgscope.sources.resolve import list_source

#: Images whose rows are gathered before they are written (one Parquet file per table), and the rows at most.
PART_IMAGES = 256
PART_ROWS = 500_000


@dataclass
class BatchProgress:
    """Where a run stands; handed to the progress callback after every finished task."""

    images_total: int = 0
    images_done: int = 0
    layers_total: int = 0
    layers_done: int = 0
    bytes_scanned: int = 0  # uncompressed tar bytes of the layers scanned so far
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        """Uncompressed bytes scanned per second."""
        return self.bytes_scanned / max(time.monotonic() - self.started, 1e-9)


@dataclass(frozen=True)
class BatchResult:
    """What a run did and the dataset it left: every table, read back from ``out`` (all runs' rows)."""

    out: Path | None
    tables: dict[str, pa.Table]
    images: int  # jobs named by the sources
    analyzed: int  # images assembled in this run
    reused: int  # images whose rows an earlier run had written
    failed: int  # images with an error row from this run
    layers: int  # distinct layers of the images opened in this run
    layers_scanned: int  # of those, scanned in this run
    errors: tuple[tuple[str, str], ...]  # (reference, one-line error) of each failed image
    artifacts: tuple[tuple[str, str], ...] = ()  # (reference, artifact type) of each OCI artifact skipped: no image
    layers_reused: int = 0  # of ``layers``, scanned by an earlier run (out/_scans); the rest could not be scanned

    def __repr__(self) -> str:
        skipped = len(self.artifacts)
        return (
            f"<BatchResult {self.images} images: {self.analyzed} analyzed, {self.reused} reused, {self.failed} failed"
            + (f", {skipped} artifact{'' if skipped == 1 else 's'} skipped" if skipped else "")
            + f"; {self.layers} layers, {self.layers_scanned} scanned; out={str(self.out) if self.out else None}>"
        )


def batch(
    sources: Iterable[str],
    out: str | os.PathLike[str] | None = None,
    *,
    engine: str | Engine = "local",
    jobs: int | None = None,
    address: str | None = None,
    files: bool = False,
    verify: bool = True,
    retries: int = 2,
    progress: Callable[[BatchProgress], None] | None = None,
    registry_catalog: str | Iterable[str] = (),
    options: SourceOptions | None = None,
) -> BatchResult:
    """Analyze every image ``sources`` name into the Parquet dataset in ``out`` (a temporary one when None).

    ``engine`` is ``local`` (a process pool of ``jobs`` workers; 1 = this process), ``dask`` or ``ray`` (``address``
    is the scheduler / cluster; without it a local one is started), or an ``Engine`` object. ``files`` adds the
    ``files`` table (one row per path of every image: large). ``registry_catalog`` (``HOST[/REPO-PREFIX]``, one
    or several) adds every tag of every repository the registry lists under the prefix, as
    ``docker://HOST/REPO:TAG``; ``options`` say how to reach registries (``insecure``, the blob cache).
    A registry that will not list its repositories raises ``RegistryError`` before anything is analyzed.
    """
    if out is None:
        with tempfile.TemporaryDirectory(prefix="imgscope-batch-") as tmp:
            result = batch(
                sources, tmp, engine=engine, jobs=jobs, address=address, files=files, verify=verify,
                retries=retries, progress=progress, registry_catalog=registry_catalog, options=options,
            )  # fmt: skip
            return replace(result, out=None)
    names = list(sources)
    specs = [
        parse_catalog_spec(s) for s in ([registry_catalog] if isinstance(registry_catalog, str) else registry_catalog)
    ]
    for spec in specs:
        found = catalog_references(spec, options=options)
        if not found:  # a prefix that matches nothing is a typo more often than an empty registry: not a pass
            raise UsageError(str(spec), "the registry lists no tagged repository here (is the prefix right?)")
        names += found
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    run = _Run(root, files=files, verify=verify, progress=progress, options=options, catalogs=specs)
    owned = isinstance(engine, str)
    runner = make_engine(engine, workers=jobs, address=address, retries=retries) if isinstance(engine, str) else engine
    try:
        run.execute(names, runner)
    finally:
        if owned:
            runner.close()
    return run.result()


class _Run:
    """One run's state: the output directory, the counts, the progress callback."""

    def __init__(
        self,
        root: Path,
        *,
        files: bool,
        verify: bool,
        progress: Callable[[BatchProgress], None] | None,
        options: SourceOptions | None = None,
        catalogs: Sequence[CatalogSpec] = (),
    ) -> None:
        self.root = root
        self.options = options
        self.catalogs = tuple(catalogs)  # the registry catalogs listed whole: a tag they no longer list is gone
        self.run_id = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}"
        self.pending: dict[str, list[dict[str, object]]] = {}
        self.pending_images = self.pending_rows = self.parts = 0
        self.earlier: dict[str, dict[str, object]] = {}  # image_key -> its images row from an earlier run
        self.files = files
        self.verify = verify
        self.report = progress
        self.state = BatchProgress()
        self.jobs: list[ImageJob] = []
        self.analyzed = self.reused = self.failed = 0
        self.layers = self.layers_scanned = self.layers_reused = 0
        self.errors: list[tuple[str, str]] = []
        self.artifacts: list[tuple[str, str]] = []  # OCI artifacts the sources hold or name: skipped, not failed
        self.scan_dir = root / "_scans" / f"v{SCAN_FORMAT}"
        self.with_files: set[str] = set()  # images with files rows from earlier runs (read with ``files`` only)
        self.local_disk = False  # the engine's workers see this machine's filesystem

    # -- the steps -------------------------------------------------------------------------------------------------

    def execute(self, sources: Sequence[str], engine: Engine) -> None:
        failed: dict[str, ImgscopeError | OSError] = {}  # references the plan could not look up: not asked again
        self.jobs = expand_sources(
            sources, options=self.options, run=self.run_id, artifacts=self.artifacts, failed=failed
        )
        self.state.images_total = len(self.jobs)
        self.earlier = self._read_earlier()
        opened: list[tuple[ImageJob, Image]] = []
        again: set[str] = set()  # images an earlier run left rows of, analyzed again now
        unlisted: set[str] = set()  # sources that could not be opened at all: what they hold now is not known
        for job, image in zip(self.jobs, _open_all(self.jobs, failed), strict=True):
            if isinstance(image, _Artifact):  # a reference naming an artifact (a catalog's .sig, .att, SBOM tags)
                again.add(job.key)  # an earlier run's error row for it goes
                self.artifacts.append((job.reference, image.kind))
                self.state.images_total -= 1
                continue
            if not isinstance(image, Image):
                if job.whole:
                    unlisted.add(job.source)
                if self._earlier_of(job):  # a share not mounted, a registry down: its analysis stays
                    self._kept(job, _error_line(job, image))
                    continue
                again.add(job.key)
                self._write(error_rows(job, _error_line(job, image)))
                continue
            if self._done(job, image):
                self.reused += 1
                self.state.images_done += 1
            else:
                again.add(job.key)
                opened.append((job, image))
        # A source listed again whose images changed (a file replaced, a layout re-tagged): the rows of its images
        # that are gone go too, or the tables keep counting them.
        listed = {job.source for job in self.jobs} - unlisted
        keys = {job.key for job in self.jobs}
        gone = {
            k
            for k, row in self.earlier.items()
            if k not in keys
            and (source := canonical_source(str(row.get("source") or ""))) not in unlisted  # kept: see _earlier_of
            and (
                source in listed  # earlier runs' spellings
                or self._in_a_catalog(source)  # a tag the registry no longer lists (deleted, moved)
            )
        }
        self._drop_earlier((again & set(self.earlier)) | gone)
        self._tick()
        tasks = distinct_layers(opened)
        self.layers = len(tasks)
        sizes = {b.diff_id: b.size or 0 for _, image in opened for b in image.layers}
        tasks = [replace(t, check_copies=self.verify) for t in tasks]
        missing = [t for t in tasks if not self.scan_path(t.diff_id).exists()]
        missing.sort(key=lambda t: -sizes.get(t.diff_id, 0))  # the largest first: no worker left alone at the end
        self.state.layers_total = len(tasks)
        self.state.layers_done = self.layers_reused = len(tasks) - len(missing)
        self.local_disk = bool(getattr(engine, "local_disk", False))
        if self.local_disk:
            missing = [replace(t, store_at=os.path.abspath(self.scan_path(t.diff_id))) for t in missing]
        # A layer scanned by an earlier run: each image's own copy of it is still checked, only hashed when its
        # digest is the one the cached scan was read from, else also decompressed against the diff_id.
        cached = [self._cached(t) for t in tasks if self.verify and self.scan_path(t.diff_id).exists()]
        failed_images = self._scan(missing + cached, engine)
        self._assemble(opened, failed_images, engine)
        self._flush()
        self._write_empty_parts()
        self._write_layers()

    def _scan(self, tasks: list[LayerTask], engine: Engine) -> dict[str, str]:
        """Scan the layers of ``tasks`` (check only the copies of those with ``scan`` False); the images that
        cannot be assembled, by key, each with its own first error."""
        failed: dict[str, str] = {}
        for i, outcome in engine.map_unordered(scan_stage, tasks):
            task = tasks[i]
            diff_id = task.diff_id
            if isinstance(outcome, TaskFailed):
                what = "scanning" if task.scan else "checking the copies of"
                error = f"{what} layer {diff_id} failed {outcome.attempts} times: {outcome.message}"
                for job, _ in task.holders:
                    failed.setdefault(job.key, error)
            else:
                for key, error in outcome.bad:
                    failed.setdefault(key, error)
                if outcome.error is None and task.scan:
                    if outcome.payload is not None:
                        write_atomic(self.scan_path(diff_id), outcome.payload)
                    self.layers_scanned += 1
                    self.state.bytes_scanned += outcome.tar_size
            if task.scan:
                self.state.layers_done += 1
            self._tick()
        return failed

    def _cached(self, task: LayerTask) -> LayerTask:
        """``task`` of a layer whose scan is cached: its copies to check, and where the scan says it was read from
        (the workers read the record themselves when they see the disk)."""
        record = str(self.scan_path(task.diff_id))
        if self.local_disk:
            return replace(task, scan=False, record_at=os.path.abspath(record))
        return replace(task, scan=False, known=tuple(scanned_from(record, task.diff_id)))

    def _assemble(self, opened: list[tuple[ImageJob, Image]], failed: dict[str, str], engine: Engine) -> None:
        wanted: list[tuple[ImageJob, tuple[str, ...]]] = []
        for job, image in opened:
            bad = failed.get(job.key)
            if bad is None and any(not b.diff_id for b in image.layers):
                bad = "a layer has no diff_id in the image config"
            if bad is not None:
                self._write(error_rows(job, bad))
                continue
            wanted.append((job, tuple(b.diff_id for b in image.layers if b.diff_id)))
        for i, rows in engine.map_unordered(assemble_stage, _AssembleItems(self, wanted)):
            job = wanted[i][0]
            if isinstance(rows, TaskFailed):
                rows = error_rows(job, f"assembling failed {rows.attempts} times: {rows.message}")
            self._write(rows)

    # -- output ----------------------------------------------------------------------------------------------------

    def scan_path(self, diff_id: str) -> Path:
        algorithm, _, hexpart = diff_id.partition(":")
        return self.scan_dir / f"{algorithm}-{hexpart}.scan"

    def _done(self, job: ImageJob, image: Image) -> bool:
        """True when an earlier run analyzed this very image: same name, same image ID and same manifest. An image
        that failed before is tried again, and so is one rebuilt since (a path or tag that now names another image),
        one whose name now names another manifest of it (re-compressed, re-pushed: other blobs, sizes and
        compression), one whose rows an older version wrote (``ROWS_VERSION``, ``SCHEMA_VERSION``: a fix since
        changed what they hold), and with ``files`` one whose files rows an earlier run did not write."""
        row = self.earlier.get(job.key)
        return (
            row is not None
            and row.get("error") is None
            and row.get("schema_version") == SCHEMA_VERSION
            and isinstance(version := row.get("rows_version"), int)
            and version >= ROWS_VERSION
            and row.get("config_digest") == image.config_digest
            and row.get("digest") == image.digest
            and row.get("package_count") is not None
            and not (self.files and row.get("file_count") and job.key not in self.with_files)
        )

    def _earlier_of(self, job: ImageJob) -> list[str]:
        """The keys of the analyzed (not failed) images an earlier run left of ``job``: its own, and for a job
        standing for a whole source (one that could not be listed), every image of that source."""
        whole = job.whole
        # a relative path that is gone now is no longer made absolute (it is no path): its earlier rows were
        sources = {job.source, absolute_path(job.source)} if whole else set()
        return [
            key
            for key, row in self.earlier.items()
            if row.get("error") is None and (key == job.key or row.get("source") in sources)
        ]

    def _kept(self, job: ImageJob, message: str) -> None:
        """``job`` could not be opened, but an earlier run analyzed it: its rows stay, and the run reports it."""
        self.failed += 1
        self.errors.append((job.reference, f"{message}; its rows from an earlier run are kept"))
        self.state.images_done += 1
        self._tick()

    def _in_a_catalog(self, source: str) -> bool:
        """True for a ``docker://HOST/REPO:TAG`` under one of this run's catalogs (listed whole this run)."""
        if not self.catalogs or not source.startswith("docker://"):
            return False
        domain, _, rest = source.removeprefix("docker://").partition("/")
        if "@" in rest:  # a pinned digest: a catalog lists tags, never this
            return False
        repository = rest.rpartition(":")[0]
        return any(spec.domain == domain and spec.covers(repository) for spec in self.catalogs)

    def _parts(self, name: str) -> list[Path]:
        folder = self.root / name
        return sorted(folder.glob("*.parquet")) if folder.exists() else []

    def _read_earlier(self) -> dict[str, dict[str, object]]:
        wanted = (
            "image_key", "error", "config_digest", "digest", "package_count", "source", "file_count",
            "schema_version", "rows_version",
        )  # fmt: skip
        earlier: dict[str, dict[str, object]] = {}
        for path in self._parts("images"):
            names = pq.ParquetFile(path).schema_arrow.names
            for row in pq.read_table(path, columns=[c for c in wanted if c in names]).to_pylist():
                earlier[str(row["image_key"])] = row
        if self.files:
            for path in self._parts("files"):
                held = pq.read_table(path, columns=["image_key"]).column("image_key")
                self.with_files.update(str(k) for k in pc.unique(held).to_pylist())
        return earlier

    def _drop_earlier(self, keys: set[str]) -> None:
        """Remove the rows earlier runs left of ``keys`` (images analyzed again), rewriting the files holding them."""
        if not keys:
            return
        wanted = pa.array(sorted(keys), type=pa.string())
        for name in PER_IMAGE_TABLES:
            for path in self._parts(name):
                if self.run_id in path.name:
                    continue
                held = pq.read_table(path, columns=["image_key"]).column("image_key")
                if not pc.any(pc.is_in(held, value_set=wanted)).as_py():
                    continue
                table = pq.read_table(path)
                kept = table.filter(pc.invert(pc.is_in(table.column("image_key"), value_set=wanted)))
                if kept.num_rows:
                    _write_table_atomic(kept, path)
                else:
                    path.unlink()

    def _write(self, rows: ImageRows) -> None:
        """Gather one image's rows; every ``PART_IMAGES`` images (or ``PART_ROWS`` rows) they are written."""
        tables = PER_IMAGE_TABLES if self.files else tuple(t for t in PER_IMAGE_TABLES if t != "files")
        for name in tables:
            got = rows.tables.get(name, ())
            self.pending.setdefault(name, []).extend(got)
            self.pending_rows += len(got)
        self.pending_images += 1
        if self.pending_images >= PART_IMAGES or self.pending_rows >= PART_ROWS:
            self._flush()
        if rows.error is None:
            self.analyzed += 1
        else:
            self.failed += 1
            self.errors.append((rows.tables["images"][0]["reference"], rows.error))
        self.state.images_done += 1
        self._tick()

    def _flush(self) -> None:
        """Write the gathered rows: one file per table that has any, named after this run and its part number."""
        for name, rows in self.pending.items():
            if rows:
                path = self.root / name / f"part-{self.run_id}-{self.parts:05d}.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                _write_table_atomic(to_table(name, rows), path)
        self.parts += 1
        self.pending.clear()
        self.pending_images = self.pending_rows = 0

    def _write_empty_parts(self) -> None:
        """A table without rows still has a file (its schema, no row), so that ``read_parquet('OUT/<table>/*.parquet')``
        finds one (DuckDB: "No files found"); where rows came since, the empty file goes."""
        wrote_files = self.files or (self.root / "files").exists()  # an earlier --files run's table stays readable
        tables = PER_IMAGE_TABLES if wrote_files else tuple(t for t in PER_IMAGE_TABLES if t != "files")
        for name in tables:
            empty = self.root / name / EMPTY_PART
            parts = [p for p in self._parts(name) if p != empty]
            if parts:
                empty.unlink(missing_ok=True)
            elif not empty.exists():
                empty.parent.mkdir(parents=True, exist_ok=True)
                _write_table_atomic(to_table(name, ()), empty)

    def _write_layers(self) -> None:
        """``layers``: one row per distinct layer of every image in ``out``, with how many images use it."""
        parts = self._parts("image_layers")
        if not parts:
            table = to_table("layers", ())
        else:
            rows = pa.concat_tables(
                pq.read_table(p, columns=["image_key", "diff_id", "size", "tar_size", "entries"]) for p in parts
            )
            table = rows.group_by("diff_id").aggregate(
                [("size", "max"), ("tar_size", "max"), ("entries", "max"), ("image_key", "count_distinct")]
            )
            table = table.rename_columns(
                {"size_max": "size", "tar_size_max": "tar_size", "entries_max": "entries",
                 "image_key_count_distinct": "image_count"}
            )  # fmt: skip
            table = table.select(SCHEMAS["layers"].names).cast(SCHEMAS["layers"])
            table = table.sort_by([("image_count", "descending"), ("diff_id", "ascending")])
        _write_table_atomic(table, self.root / "layers.parquet")

    def _tick(self) -> None:
        if self.report is not None:
            self.report(self.state)

    def result(self) -> BatchResult:
        return BatchResult(
            self.root,
            read_tables(self.root),
            images=self.state.images_total,
            analyzed=self.analyzed,
            reused=self.reused,
            failed=self.failed,
            layers=self.layers,
            layers_scanned=self.layers_scanned,
            errors=tuple(self.errors),
            artifacts=tuple(self.artifacts),
            layers_reused=self.layers_reused,
        )


#: The file of a per-image table that has no row yet: its schema alone.
EMPTY_PART = "part-empty.parquet"

#: Images opened at once by the driver when some are not files (a registry's manifests and configs are fetched).
OPEN_THREADS = 8


@dataclass(frozen=True)
class _Artifact:
    """A job whose reference names OCI artifacts only (``kind``: their types), not an image."""

    kind: str


def _artifact(job: ImageJob) -> _Artifact | None:
    """What a job that opened as "not an image" names, when it names artifacts only (listing it says)."""
    try:
        refs = list_source(job.source, options=job.options)
    except (ImgscopeError, OSError):
        return None
    kinds = sorted({ref.artifact_type for ref in refs if ref.artifact_type is not None})
    return _Artifact(", ".join(kinds)) if kinds and all(ref.artifact_type for ref in refs) else None


def _error_line(job: ImageJob, error: ImgscopeError | OSError) -> str:
    """The job's one-line error; a registry image is named once (its reference, not also the registry's form)."""
    if isinstance(error, ImgscopeError) and job.source.startswith("docker://"):
        try:
            named = str(parse_reference(job.source.removeprefix("docker://")))
        except ValueError:
            named = None
        if error.where == named:
            return " ".join(f"{job.reference}: {error.problem}".split())
    return " ".join(str(error).split())


def _open_job(job: ImageJob) -> Image | ImgscopeError | OSError | _Artifact:
    if stream_source(job.source) is not None:  # its layers go by once, in the stream's order: none can be read alone
        return UsageError(
            job.source,
            "batch reads each distinct layer by itself, which a stream (a compressed save, a pipe, an engine's export)"
            " does not allow: decompress or save it to a file first (imgscope analyze reads it as it is)",
        )
    try:
        return open_job(job)
    except NotAnImageError as exc:
        return _artifact(job) or exc
    except (ImgscopeError, OSError) as exc:
        return exc


def _open_all(
    jobs: Sequence[ImageJob], failed: Mapping[str, ImgscopeError | OSError] | None = None
) -> list[Image | ImgscopeError | OSError | _Artifact]:
    """Every job's image (metadata only) or its error, in order; network sources several at a time. A job in
    ``failed`` (by key: the plan asked for it and got that error) is not opened: its error is that one."""
    failed = failed or {}
    opening = [j for j in jobs if j.key not in failed]
    if len(opening) < 2 or all(indexable(j.source) for j in opening):
        found = [_open_job(j) for j in opening]  # files: CPU-bound, threads would only take turns
    else:
        with ThreadPoolExecutor(OPEN_THREADS) as pool:  # a thread does not inherit the words messages use
            found = list(pool.map(functools.partial(in_words, command_line_flags(), _open_job), opening))
    opened = iter(found)
    return [failed[j.key] if j.key in failed else next(opened) for j in jobs]


class _AssembleItems(Sequence[AssembleItem]):
    """The assemble items, each built when the engine submits it: only the tasks in flight hold scan bytes."""

    def __init__(self, run: _Run, wanted: list[tuple[ImageJob, tuple[str, ...]]]) -> None:
        self._run = run
        self._wanted = wanted

    def __len__(self) -> int:
        return len(self._wanted)

    def __getitem__(self, i: int) -> AssembleItem:  # type: ignore[override]
        job, diff_ids = self._wanted[i]
        if self._run.local_disk:  # the worker reads the records itself
            files = {d: os.path.abspath(self._run.scan_path(d)) for d in diff_ids}
            return AssembleItem(job, {}, self._run.verify, self._run.files, scan_files=files)
        scans = {d: self._run.scan_path(d).read_bytes() for d in diff_ids}
        return AssembleItem(job, scans, self._run.verify, self._run.files)


def read_tables(root: str | os.PathLike[str]) -> dict[str, pa.Table]:
    """Every table of the dataset in ``root`` (an empty table with its schema where there are no rows)."""
    base = Path(root)
    tables: dict[str, pa.Table] = {}
    for name, schema in SCHEMAS.items():
        if name == "layers":
            path = base / "layers.parquet"
            tables[name] = pq.read_table(path) if path.exists() else schema.empty_table()
            continue
        parts = sorted((base / name).glob("*.parquet")) if (base / name).exists() else []
        if not parts:
            tables[name] = schema.empty_table()
            continue
        table = pa.concat_tables((pq.read_table(p) for p in parts), promote_options="default")
        for column in schema:  # a column added since an earlier run wrote some of the files: null there
            if column.name not in table.column_names:
                table = table.append_column(column, pa.nulls(table.num_rows, column.type))
        tables[name] = table.select(schema.names).cast(schema)
    return tables


def _write_table_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
