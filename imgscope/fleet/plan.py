"""What a batch is made of: the images its sources name, and the distinct layers they share.

A source is an image file or layout (every image and platform inside it becomes one job), an image reference
(each platform of an index one job), or a text file that lists sources, one a line (``#`` starts a comment).
Opening an image reads metadata only.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from imgscope.errors import ImgscopeError, UsageError, command_line_flags, in_words
from imgscope.model import Image, ImageRef
from imgscope.sources import local
from imgscope.sources.detect import SourceIndex
from imgscope.sources.reference import SourceOptions, parse_reference, resolve_source

#: A list file larger than this is not a list (nobody writes one; it is an image or a mistake).
MAX_LIST_BYTES = 64 << 20
_ARCHIVE_MAGIC = (b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"\xfd7zXZ\x00", b"BZh")


@dataclass(frozen=True)
class ImageJob:
    """One image to analyze: how to open it, and the key its rows carry."""

    reference: str  # as the user named it, with the image and platform picked inside a multi-image source
    source: str  # what ``open_source`` opens: a path, or a source name such as ``docker://HOST/REPO:TAG``
    image: str | None = None  # the image picked inside ``source`` (a digest)
    platform: str | None = None
    options: SourceOptions | None = field(default=None, compare=False, repr=False)  # how to reach a registry
    run: str = field(default="", compare=False, repr=False)  # the run it belongs to: see ``source_index``
    name: str | None = None  # the name (tag) it has inside a multi-image source: two tags of one manifest are two

    @property
    def whole(self) -> bool:
        """True for a job standing for its whole source (nothing picked inside it: no image, name nor platform)."""
        return self.image is None and self.name is None and self.platform is None

    @property
    def key(self) -> str:
        """A stable name for this image's rows and files: the same job in a later run has the same key."""
        parts = (self.source, self.image or "", self.platform or "") + ((self.name,) if self.name else ())
        return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:32]


@dataclass(frozen=True)
class LayerTask:
    """One distinct layer (by diff_id) to scan, and where it can be read: ``(image job, layer index)`` pairs,
    grouped by the copy of the blob they read (``copies``: indexes into ``holders``). The copies are tried in order
    until one scans whole; every other copy's blob is then hashed against its digest and decompressed and checked
    against ``diff_id`` (only hashed when its digest is one of ``known``), so an image whose own copy is corrupt,
    missing or of other content fails although another image's copy was intact. ``scan`` False: the scan is in the
    cache, only the copies are checked.
    """

    diff_id: str
    holders: tuple[tuple[ImageJob, int], ...]
    store_at: str | None = None  # where the worker writes the record itself (it sees the output directory)
    copies: tuple[tuple[int, ...], ...] = ()  # empty: each holder its own copy
    scan: bool = True
    check_copies: bool = True  # False with --no-verify: the first copy that reads is used, the others unread
    known: tuple[str, ...] = ()  # digests of blobs known to decompress to ``diff_id``: only hashed when met
    record_at: str | None = None  # the cached record (``scan`` False, the worker sees it): its blob's digest is known

    def groups(self) -> tuple[tuple[int, ...], ...]:
        """``copies``, or one copy per holder when the planner did not group them."""
        return self.copies or tuple((i,) for i in range(len(self.holders)))


def _is_list_file(path: str) -> bool:
    if not os.path.isfile(path) or not 0 < os.path.getsize(path) <= MAX_LIST_BYTES:  # an empty file: a broken image
        return False
    with open(path, "rb") as f:
        head = f.read(1024)
    if head.startswith(_ARCHIVE_MAGIC) or b"\0" in head:
        return False  # a tar has NULs in its first header; compressed archives have their magic
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _list_lines(path: str) -> Iterator[str]:
    # utf-8-sig: a byte order mark (what Windows editors write) is no part of the first source's name
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                yield line


def _is_nested_list(path: str) -> bool:
    """True for a file a list names that is itself a list: text whose every line names an existing path or a
    reference written as one. Any other text file (empty, a note, a bare word) stays a failed image."""
    if not _is_list_file(path):
        return False
    named = False
    for line in _list_lines(path):
        if not _names_a_source(line):
            return False
        named = True
    return named


def _names_a_source(line: str) -> bool:
    try:
        found = resolve_source(line)
    except ImgscopeError:
        return False
    # A bare word ("notes") parses as docker.io/library/notes:latest; only a registry or repository path, a tag,
    # a digest or a transport says a reference was meant.
    return found.transport == "path" or any(c in line for c in "/:@")


#: Sources a process keeps opened (``source_index``), least recently used dropped first.
MAX_OPEN_SOURCES = 8
_INDEXES: OrderedDict[tuple[str, str], SourceIndex] = OrderedDict()
_INDEXES_LOCK = threading.Lock()


def indexable(source: str) -> bool:
    """True for a source read as a file or layout at offsets (not a stream, a ``dir:``, nor a reference)."""
    return os.path.exists(source) and local.stream_source(source) is None and local.dir_path(source) is None


def source_index(source: str, run: str = "") -> SourceIndex:
    """The file source ``source`` opened (its images listed and verified), once per ``run`` in this process.

    A run opens each image several times (to plan, to scan its layers, to assemble it); a layout of N images
    would otherwise list and verify all N manifests at each of them. Outside a run (``run`` empty) nothing is kept.
    """
    if not run:
        return SourceIndex(source)
    key = (run, source)
    with _INDEXES_LOCK:
        index = _INDEXES.get(key)
        if index is not None:
            _INDEXES.move_to_end(key)
            return index
    index = SourceIndex(source)
    with _INDEXES_LOCK:
        _INDEXES[key] = index
        while len(_INDEXES) > MAX_OPEN_SOURCES:
            _INDEXES.popitem(last=False)
    return index


def expand_sources(
    sources: Iterable[str],
    *,
    options: SourceOptions | None = None,
    run: str = "",
    artifacts: list[tuple[str, str]] | None = None,
    failed: dict[str, ImgscopeError | OSError] | None = None,
    _depth: int = 0,
) -> list[ImageJob]:
    """Every image job the sources name, in order, each once.

    A file or layout holding several images (or platforms) gives one job each; a source that cannot be listed
    still gives one job, which fails with its one-line error when it is opened. A registry reference to an index
    of several platforms gives one job per platform (``REF [PLATFORM]``), any other reference one job;
    ``options`` say how to reach its registry. The OCI artifacts a file or layout holds (SBOMs, signatures) are no
    images: no job, and ``(label, artifact type)`` of each goes to ``artifacts`` when given. A reference whose
    registry would not say what it names (down, refusing us) is one job, and its error goes to ``failed`` (by the
    job's key) when given: the run fails it with that error rather than ask again (a timeout waited for twice; an
    answer the second time would analyze one platform of an index, under another key than its platforms').
    """
    jobs: list[ImageJob] = []
    seen: set[str] = set()
    sources = list(sources)
    looked_up = _index_platforms([canonical_source(s) for s in sources], options)

    def add(job: ImageJob) -> None:
        if job.key not in seen:
            seen.add(job.key)
            jobs.append(job)

    for source in sources:
        if _depth == 0 and _is_list_file(source):  # a list names images (a text file in it is a failed image)
            lines = list(_list_lines(source))
            if not lines:  # as a catalog prefix that matches nothing: a run over nothing is no check that passed
                raise UsageError(source, "the list names no source (only blank lines and # comments)")
            nested = next((line for line in lines if _is_nested_list(line)), None)
            if nested is not None:  # read as an image it failed with "not a valid tar archive"
                if os.path.exists(nested) and os.path.samefile(nested, source):
                    raise UsageError(source, f"the list names itself ({nested}): a list names images")
                raise UsageError(
                    source,
                    f"list files do not nest: {nested} is a list of sources too; "
                    f"name it on the command line beside {source}",
                )
            listed = expand_sources(lines, options=options, run=run, artifacts=artifacts, failed=failed, _depth=1)
            for job in listed:
                add(job)
            continue
        named, source = source, canonical_source(source)
        if not os.path.exists(source) or local.stream_source(source) is not None:
            found = looked_up.get(source)
            if isinstance(found, list):  # keyed by its platform: stable while the tag is re-pushed
                for stated in found:
                    add(ImageJob(f"{named} [{stated}]", source, None, stated, options, run))
                continue
            job = ImageJob(named, source, options=options, run=run)  # one image (under the key it always had),
            add(job)  # a reference not looked up, a missing file, a stream
            if found is not None and failed is not None:
                failed[job.key] = found
            continue
        try:
            refs = source_index(source, run).refs()
        except (ImgscopeError, OSError):
            add(ImageJob(named, source, run=run))
            continue
        images = [ref for ref in refs if ref.artifact_type is None]
        for ref in refs:
            if ref.artifact_type is not None and artifacts is not None:
                artifacts.append((f"{named}:{_as_stored(ref) or (ref.digest or '?')[:19]}", ref.artifact_type))
        if refs and not images:
            continue  # nothing but artifacts: no image to analyze, none failed
        if len(refs) <= 1:
            add(ImageJob(named, source, run=run))
            continue
        for ref in images:
            pick = ref.digest or ref.config_digest
            platform = str(ref.platform) if ref.platform else None
            name = _as_stored(ref) or (pick or "?")[:19]
            label = f"{named}:{name}" + (f" [{platform}]" if platform else "")
            add(ImageJob(label, source, pick, platform, options, run, name=ref.name))
    return jobs


#: Registry references looked up at once while planning (one manifest request each).
LOOKUP_THREADS = 8


def _index_platforms(
    sources: Sequence[str], options: SourceOptions | None
) -> dict[str, list[str] | ImgscopeError | OSError]:
    """What each ``docker://`` source names, asked of its registry: the platforms of an index of several, or the
    error the registry gave; a reference to one image is not in it."""
    wanted = list(dict.fromkeys(s for s in sources if s.startswith("docker://")))
    if not wanted:
        return {}
    from imgscope.sources.registry import registry_platforms  # httpx: only when a reference is named

    def look_up(source: str) -> list[str] | ImgscopeError | OSError:
        try:
            ref = parse_reference(source.removeprefix("docker://"))
            return [str(p) for p in registry_platforms(ref, options=options)]
        except (ImgscopeError, OSError) as exc:
            return exc
        except ValueError:  # not looked up: opening it says what is wrong
            return []

    # a catalog names thousands; a thread does not inherit the words messages use (its error is the image's)
    with ThreadPoolExecutor(min(LOOKUP_THREADS, len(wanted))) as pool:
        found = list(pool.map(functools.partial(in_words, command_line_flags(), look_up), wanted))
    return {s: p for s, p in zip(wanted, found, strict=True) if not isinstance(p, list) or len(p) > 1}


def _as_stored(ref: ImageRef) -> str | None:
    """The tag ``ref`` has in its source, as ``PATH:TAG`` takes it: a layout's bare tag ``1``, not the name its
    reader gives it for people (``LAYOUT:1``: with the path before it, the layout's name would read twice)."""
    if ref.name is None or ref.name in ref.tags:
        return ref.name
    return next((t for t in ref.tags if ref.name.endswith(f":{t}")), ref.name)


def canonical_source(source: str) -> str:
    """One spelling of ``source`` however it was written, so one image named two ways is one job (and key): an
    existing path made absolute (also what remote workers need), a registry reference as ``docker://`` and its
    normalised form (``HOST/REPO:TAG`` and ``docker://HOST/REPO:TAG`` alike); anything else as it is."""
    if os.path.exists(source):
        return source if local.stream_source(source) is not None else absolute_path(source)
    try:
        found = resolve_source(source)
    except (ImgscopeError, ValueError):
        return source
    if found.transport == "docker" and found.reference is not None:
        return f"docker://{found.reference}"
    if found.path is not None and os.path.exists(found.path) and local.stream_source(found.path) is None:
        prefix = "" if found.transport == "path" else f"{found.transport}:"
        return f"{prefix}{absolute_path(found.path)}" + (f":{found.image}" if found.image is not None else "")
    return source


def absolute_path(path: str) -> str:
    """``path`` absolute, its directory resolved as the system resolves it (``link/../x`` is ``..`` of the link's
    target, not the link's directory, which ``abspath`` would take); its last name kept as given."""
    directory, name = os.path.split(path)
    return os.path.join(os.path.realpath(directory or "."), name) if name else os.path.realpath(path)


def distinct_layers(opened: Sequence[tuple[ImageJob, Image]]) -> list[LayerTask]:
    """One task per distinct diff_id, with every image that holds it (the first is read first), grouped by copy."""
    holders: dict[str, list[tuple[ImageJob, int]]] = {}
    copies: dict[str, dict[tuple[str, str], list[int]]] = {}
    for job, image in opened:
        for blob in image.layers:
            if blob.diff_id:
                where = holders.setdefault(blob.diff_id, [])
                # a copy is a blob of one place: its digest, or (a docker save's layer.tar has none) its member
                copy = (
                    blob_place(job),
                    blob.digest or (f"member {blob.member}" if blob.member else f"{job.key} {blob.index}"),
                )
                copies.setdefault(blob.diff_id, {}).setdefault(copy, []).append(len(where))
                where.append((job, blob.index))
    return [
        LayerTask(diff_id, tuple(where), copies=tuple(tuple(c) for c in copies[diff_id].values()))
        for diff_id, where in holders.items()
    ]


def blob_place(job: ImageJob) -> str:
    """Where ``job``'s layer blobs are stored: images of one file source read one file per digest, and a registry
    stores a digest once for all its repositories (blobs are content-addressed); any other source is its own."""
    if job.source.startswith("docker://"):
        try:
            return "docker://" + parse_reference(job.source.removeprefix("docker://")).domain
        except (ImgscopeError, ValueError):
            return job.source
    return job.source
