"""One pass over an image that also keeps its package databases: ``scan_packages`` -> ``ImagePackages``.

The layer reader's content observers (``sources.tar_stream.ContentObserver``) see each wanted member's whole
content as it streams (``DatabaseCapture``); nothing is read twice and nothing is extracted.
"""

from __future__ import annotations

import itertools
import os
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from imgscope.packages._text import rooted
from imgscope.packages.capture import DatabaseCapture, DatabaseHistory, maybe_wanted
from imgscope.packages.records import PackageKey
from imgscope.packages.report import Package, PackageReport, database_history, owned_files, package_report

if TYPE_CHECKING:
    from imgscope.analysis import Analysis, FileRecord


#: The captures of this process, by token: an observer pickled back from a worker process finds its capture here.
_CAPTURES: weakref.WeakValueDictionary[int, DatabaseCapture] = weakref.WeakValueDictionary()
_TOKENS = itertools.count(1)


class LayerObserver:
    """The capture's content observer for one layer.

    It hands what it keeps to the capture at once and also holds it, so that when the layers are scanned by
    worker processes (``analysis.scan.scan_layers``) the observer, pickled back with its layer's scan, gives
    the same to the capture of the process that asked (found by ``token``) when it is unpickled there.
    """

    __slots__ = ("capture", "index", "notes", "token", "written")

    def __init__(self, capture: DatabaseCapture, index: int, token: int) -> None:
        self.capture = capture
        self.index = index
        self.token = token
        self.written: dict[str, bytes] = {}
        self.notes: list[str] = []

    def wants(self, name: str, size: int) -> int:
        """Bytes wanted of member ``name`` (as the tar writes it): its whole content if it is a database file."""
        if not maybe_wanted(name):
            return 0
        before = len(self.capture.notes)
        wanted = self.capture.wants(rooted(name), size)
        self.notes += self.capture.notes[before:]
        return wanted

    def observe(self, path: str, size: int, content: bytes) -> None:
        """Keep a database file's content (``path`` normalised, without the leading ``/``)."""
        before = len(self.capture.notes)
        self.capture.add(self.index, rooted(path), content, size)
        self.notes += self.capture.notes[before:]
        got = self.capture.written.get(self.index, {}).get(rooted(path))
        if got is not None:
            self.written[rooted(path)] = got

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (self.token, self.index, self.written, self.notes))


def _restore(token: int, index: int, written: dict[str, bytes], notes: list[str]) -> LayerObserver | None:
    """An observer back from a worker: its findings go to this process's capture of the same token."""
    capture = _CAPTURES.get(token)
    if capture is None:
        return None
    capture.written.setdefault(index, {}).update(written)
    capture.notes.extend(notes)
    return LayerObserver(capture, index, token)


class _Observers:
    """The observer factory ``analyze`` calls per layer; safe in worker processes (``parallel``)."""

    parallel = True

    def __init__(self, capture: DatabaseCapture) -> None:
        self.capture = capture
        self.token = next(_TOKENS)
        _CAPTURES[self.token] = capture

    def __call__(self, index: int) -> LayerObserver:
        return LayerObserver(self.capture, index, self.token)


def capture_observers(capture: DatabaseCapture) -> _Observers:
    """The observer factory ``analyze``/``scan_layer`` take (``observers=[...]``) that feeds ``capture`` the
    package-database files of each layer read (``capture.written[layer]``)."""
    return _Observers(capture)


@dataclass(frozen=True)
class ImagePackages:
    """An image's analysis and its package databases after each layer; ``report(layer)`` attributes bytes.

    Attributes:
        analysis: the image's analysis
        capture: the package-database files each layer wrote, as captured during the pass
        databases: the parsed databases after each layer
    """

    analysis: Analysis
    capture: DatabaseCapture = field(repr=False)
    databases: DatabaseHistory = field(repr=False)
    _reports: dict[int, PackageReport] = field(default_factory=dict, repr=False, compare=False)

    def report(self, layer: int | None = None) -> PackageReport:
        """The packages after ``layer`` (default: the last; negative counts from the end) and their bytes."""
        key = -1 if layer is None else layer
        cached = self._reports.get(key)
        if cached is None:
            cached = self._reports[key] = package_report(self.analysis, self.capture, layer, self.databases)
        return cached

    def files_of(self, packages: Iterable[Package]) -> dict[PackageKey, list[FileRecord]]:
        """The final filesystem's non-directory paths each of ``packages`` owns, by (ecosystem, name, location,
        arch)."""
        return owned_files(self.analysis, self.databases, packages)


def scan_packages(source: str | os.PathLike[str] | Any, **options: Any) -> ImagePackages:
    """Analyze ``source`` (as ``imgscope.analyze`` does, same options) keeping its package databases."""
    from imgscope.analysis import analyze

    capture = DatabaseCapture()
    analysis = analyze(source, observers=[_Observers(capture)], **options)
    return ImagePackages(analysis, capture, database_history(analysis, capture))


def packages_of(source: str | os.PathLike[str] | Any, layer: int | None = None, **options: Any) -> PackageReport:
    """The packages of the image at ``source`` after ``layer`` and the bytes each owns (one pass)."""
    return scan_packages(source, **options).report(layer)
