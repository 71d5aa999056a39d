"""imgscope: why is this container image so big, and what can be done about it?

>>> import imgscope
>>> a = imgscope.analyze("samples/cases/docker-archive.tar")   # doctest: +SKIP
>>> a.summary.wasted_bytes                                     # doctest: +SKIP

The package root is lazy (PEP 562): ``import imgscope`` imports nothing else; each public name imports its
module on first use (``imgscope.analyze`` the analysis and what it needs, not the renderers, the advice rules or
rich), so a command or a program pays only for what it uses. ``imgscope.__all__``, ``dir(imgscope)``, ``from
imgscope import *`` and type checkers (which read the imports under ``TYPE_CHECKING``) see every name as before.
The notebook and rich display of the results is registered on first display (``_display.load_renderers``).
"""

import importlib as _importlib
import sys as _sys
import types as _types
import typing as _typing

from imgscope import _display
from imgscope._version import __version__

if _typing.TYPE_CHECKING:
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
    from imgscope.fleet import batch as batch  # on first use (the fleet extra), not in __all__: see __getattr__
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

#: Where each public name lives: the module imported on its first use.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "imgscope.advise": ("Advice", "AdviseSettings", "Finding", "Rule", "Severity", "advice", "advise"),
    "imgscope.analysis": (
        "Analysis",
        "DuplicateGroup",
        "FileRecord",
        "ImageTree",
        "LayerReport",
        "LayerScan",
        "SniffedFile",
        "Summary",
        "analyze",
        "merge_scans",
        "scan_layer",
        "tree",
    ),
    "imgscope.budget.baseline": ("Baseline", "load_baseline"),
    "imgscope.budget.check": ("CheckReport", "RuleResult", "RuleStatus", "check"),
    "imgscope.budget.config": ("Budget", "BudgetConfig", "PathLimit", "load_budget"),
    "imgscope.compare": ("ConfigChange", "DirectoryDelta", "FileDiff", "ImageDiff", "diff"),
    "imgscope.dive.figures": ("DiveFigures", "DiveInefficiency"),
    "imgscope.errors": (
        "CorruptLayerError",
        "ImageFormatError",
        "ImageNotFoundError",
        "ImgscopeError",
        "MissingBlobError",
        "NotAnImageError",
        "RegistryError",
        "SourceNotFoundError",
        "UsageError",
    ),
    "imgscope.globs": ("Glob",),
    "imgscope.history.base_image": ("BaseImage", "find_base"),
    "imgscope.history.dockerfile": ("Dockerfile", "Instruction", "reconstruct"),
    "imgscope.history.rows": ("History", "HistoryRow", "history", "history_of"),
    "imgscope.inspect": ("ImageInfo", "LayerInfo", "inspect"),
    "imgscope.model": (
        "Compression",
        "Digest",
        "EntryType",
        "HistoryEntry",
        "Image",
        "ImageFormat",
        "ImageRef",
        "LayerBlob",
        "Platform",
        "RuntimeConfig",
    ),
    "imgscope.packages": ("ImagePackages", "Package", "PackageReport", "packages_of", "scan_packages"),
    "imgscope.sources.blobs": ("Limits",),
    "imgscope.sources.cache": ("BlobCache",),
    "imgscope.sources.detect": ("list_images", "open_image"),
    "imgscope.sources.reference": ("ImageReference", "Source", "SourceOptions", "parse_reference", "resolve_source"),
    "imgscope.sources.resolve": ("list_source", "open_source"),
    "imgscope.union.filesystem": ("ChangeKind", "FileChange", "WasteReason", "WastedFile"),
    "imgscope.union.tree": ("Collapsed", "TreeNode"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

# The results show themselves (notebook, rich console) through the renderers ``imgscope.render.registry``
# registers: it is imported when a result is first displayed, not here (it imports rich and every renderer).
_display.load_renderers("imgscope.render.registry")

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
    """A public name, imported from its module on first use (then kept here); ``imgscope.batch``, which needs the
    optional ``fleet`` extra (pyarrow), likewise."""
    module = _MODULE_OF.get(name)
    if module is not None:
        value = getattr(_importlib.import_module(module), name)
        globals()[name] = value
        return value
    if name == "batch":
        from imgscope.fleet import batch

        return batch
    if not name.startswith("_"):  # a subpackage or module (``imgscope.errors``), as the eager root had them all
        try:
            return _importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module 'imgscope' has no attribute {name!r}")


def __dir__() -> list[str]:
    """Every public name, imported yet or not."""
    return sorted(set(globals()) | set(__all__))


class _Root(_types.ModuleType):
    """The package root's type. ``advise``, ``history`` and ``inspect`` are public functions and also the names of
    submodules; importing such a submodule sets it as an attribute of its package, which would hide the function
    (the eager root rebound the function after the import). Here the submodule is not set: the function stays."""

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, _types.ModuleType) and name in _MODULE_OF and value.__name__ == f"{__name__}.{name}":
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Root
