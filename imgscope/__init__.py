"""imgscope: why is this container image so big, and what can be done about it?

>>> import imgscope
>>> a = imgscope.analyze("samples/cases/docker-archive.tar")   # doctest: +SKIP
>>> a.summary.wasted_bytes                                     # doctest: +SKIP
"""

from imgscope import render as _render  # noqa: F401  (registers the notebook/terminal display of the results)
from imgscope._version import __version__
from imgscope.advise import Advice, AdviseSettings, Finding, Rule, Severity, advice, advise
from imgscope.analysis import (
    Analysis,
    DuplicateGroup,
    FileRecord,
    ImageTree,
    LayerReport,
    LayerScan,
    SniffedFile,
    Summary,
    analyze,
    merge_scans,
    scan_layer,
    tree,
)
from imgscope.budget.baseline import Baseline, load_baseline
from imgscope.budget.check import CheckReport, RuleResult, RuleStatus, check
from imgscope.budget.config import Budget, BudgetConfig, PathLimit, load_budget
from imgscope.compare import ConfigChange, DirectoryDelta, FileDiff, ImageDiff, diff
from imgscope.dive.figures import DiveFigures, DiveInefficiency
from imgscope.errors import (
    CorruptLayerError,
    ImageFormatError,
    ImageNotFoundError,
    ImgscopeError,
    MissingBlobError,
    NotAnImageError,
    RegistryError,
    SourceNotFoundError,
    UsageError,
)
from imgscope.globs import Glob
from imgscope.history.base_image import BaseImage, find_base
from imgscope.history.dockerfile import Dockerfile, Instruction, reconstruct
from imgscope.history.rows import History, HistoryRow, history, history_of
from imgscope.inspect import ImageInfo, LayerInfo, inspect
from imgscope.model import (
    Compression,
    Digest,
    EntryType,
    HistoryEntry,
    Image,
    ImageFormat,
    ImageRef,
    LayerBlob,
    Platform,
    RuntimeConfig,
)
from imgscope.packages import ImagePackages, Package, PackageReport, packages_of, scan_packages
from imgscope.sources.blobs import Limits
from imgscope.sources.cache import BlobCache
from imgscope.sources.detect import list_images, open_image
from imgscope.sources.reference import ImageReference, Source, SourceOptions, parse_reference, resolve_source
from imgscope.sources.resolve import list_source, open_source
from imgscope.union.filesystem import ChangeKind, FileChange, WastedFile, WasteReason
from imgscope.union.tree import Collapsed, TreeNode

__all__ = [
    "Advice",
    "AdviseSettings",
    "Analysis",
    "BaseImage",
    "Baseline",
    "BlobCache",
    "Budget",
    "BudgetConfig",
    "ChangeKind",
    "CheckReport",
    "Collapsed",
    "Compression",
    "ConfigChange",
    "CorruptLayerError",
    "Digest",
    "DirectoryDelta",
    "DiveFigures",
    "DiveInefficiency",
    "Dockerfile",
    "DuplicateGroup",
    "EntryType",
    "FileChange",
    "FileDiff",
    "FileRecord",
    "Finding",
    "Glob",
    "History",
    "HistoryEntry",
    "HistoryRow",
    "Image",
    "ImageDiff",
    "ImageFormat",
    "ImageFormatError",
    "ImageInfo",
    "ImageNotFoundError",
    "ImagePackages",
    "ImageRef",
    "ImageReference",
    "ImageTree",
    "ImgscopeError",
    "Instruction",
    "LayerBlob",
    "LayerInfo",
    "LayerReport",
    "LayerScan",
    "Limits",
    "MissingBlobError",
    "NotAnImageError",
    "Package",
    "PackageReport",
    "PathLimit",
    "Platform",
    "RegistryError",
    "Rule",
    "RuleResult",
    "RuleStatus",
    "RuntimeConfig",
    "Severity",
    "SniffedFile",
    "Source",
    "SourceNotFoundError",
    "SourceOptions",
    "Summary",
    "TreeNode",
    "UsageError",
    "WasteReason",
    "WastedFile",
    "__version__",
    "advice",
    "advise",
    "analyze",
    "check",
    "diff",
    "find_base",
    "history",
    "history_of",
    "inspect",
    "list_images",
    "list_source",
    "load_baseline",
    "load_budget",
    "merge_scans",
    "open_image",
    "open_source",
    "packages_of",
    "parse_reference",
    "reconstruct",
    "resolve_source",
    "scan_layer",
    "scan_packages",
    "tree",
]


def __getattr__(name: str) -> object:
    """``imgscope.batch``, imported on first use: it needs the optional ``fleet`` extra (pyarrow)."""
    if name == "batch":
        from imgscope.fleet import batch

        return batch
    raise AttributeError(f"module 'imgscope' has no attribute {name!r}")
