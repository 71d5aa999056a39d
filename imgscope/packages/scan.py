"""One pass over an image that also keeps its package databases: ``scan_packages`` -> ``ImagePackages``.

The layer reader's content observers (``sources.tar_stream.ContentObserver``) see each wanted member's whole
content as it streams (``DatabaseCapture``); nothing is read twice and nothing is extracted.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from imgscope.packages._text import rooted
from imgscope.packages.capture import DatabaseCapture, DatabaseHistory, maybe_wanted
from imgscope.packages.report import Package, PackageReport, database_history, owned_files, package_report

if TYPE_CHECKING:
    from imgscope.analysis import Analysis, FileRecord


class LayerObserver:
    """The capture's content observer for one layer."""

    __slots__ = ("capture", "index")

    def __init__(self, capture: DatabaseCapture, index: int) -> None:
        self.capture = capture
        self.index = index

    def wants(self, name: str, size: int) -> int:
        """Bytes wanted of member ``name`` (as the tar writes it): its whole content if it is a database file."""
        if not maybe_wanted(name):
            return 0
        return self.capture.wants(rooted(name), size)

    def observe(self, path: str, size: int, content: bytes) -> None:
        """Keep a database file's content (``path`` normalised, without the leading ``/``)."""
        self.capture.add(self.index, rooted(path), content, size)


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

    def files_of(self, packages: Iterable[Package]) -> dict[tuple[str, str, str], list[FileRecord]]:
        """The final filesystem's non-directory paths each of ``packages`` owns, by (ecosystem, name, location)."""
        return owned_files(self.analysis, self.databases, packages)


def scan_packages(source: str | os.PathLike[str] | Any, **options: Any) -> ImagePackages:
    """Analyze ``source`` (as ``imgscope.analyze`` does, same options) keeping its package databases."""
    from imgscope.analysis import analyze

    capture = DatabaseCapture()
    analysis = analyze(source, observers=[lambda index: LayerObserver(capture, index)], **options)
    return ImagePackages(analysis, capture, database_history(analysis, capture))


def packages_of(source: str | os.PathLike[str] | Any, layer: int | None = None, **options: Any) -> PackageReport:
    """The packages of the image at ``source`` after ``layer`` and the bytes each owns (one pass)."""
    return scan_packages(source, **options).report(layer)
