"""imgscope: why is this container image so big, and what can be done about it?

>>> import imgscope
>>> a = imgscope.analyze("samples/cases/docker-archive.tar")   # doctest: +SKIP
>>> a.summary.wasted_bytes                                     # doctest: +SKIP
"""

from imgscope.advise import Advice, AdviseSettings, Finding, Severity, advice, advise
from imgscope.analysis import Analysis, DuplicateGroup, FileRecord, LayerReport, Summary, analyze
from imgscope.base_image import BaseImage, find_base
from imgscope.baseline import Baseline, load_baseline
from imgscope.budget import Budget, BudgetConfig, PathLimit, load_budget
from imgscope.checks import CheckReport, RuleResult, RuleStatus, check
from imgscope.dive_compat import DiveFigures, DiveInefficiency
from imgscope.dockerfile import Dockerfile, Instruction, reconstruct
from imgscope.errors import (
    CorruptLayerError,
    ImageFormatError,
    ImageNotFoundError,
    ImgscopeError,
    MissingBlobError,
    UsageError,
)
from imgscope.filetree import Collapsed, TreeNode
from imgscope.fstree import ChangeKind, FileChange, WastedFile, WasteReason
from imgscope.globs import Glob
from imgscope.history import History, HistoryRow, history_of
from imgscope.image_diff import ConfigChange, DirectoryDelta, FileDiff, ImageDiff, diff
from imgscope.image_info import ImageInfo, LayerInfo, RuntimeConfig, inspect
from imgscope.model import EntryType, HistoryEntry, Image, ImageRef, LayerBlob, Platform
from imgscope.sniff import SniffedFile
from imgscope.sources.blobs import Limits
from imgscope.sources.detect import list_images, open_image

__version__ = "0.1.0"

__all__ = [
    "Advice",
    "AdviseSettings",
    "Analysis",
    "BaseImage",
    "Baseline",
    "Budget",
    "BudgetConfig",
    "ChangeKind",
    "CheckReport",
    "Collapsed",
    "ConfigChange",
    "CorruptLayerError",
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
    "ImageFormatError",
    "ImageInfo",
    "ImageNotFoundError",
    "ImageRef",
    "ImgscopeError",
    "Instruction",
    "LayerBlob",
    "LayerInfo",
    "LayerReport",
    "Limits",
    "MissingBlobError",
    "PathLimit",
    "Platform",
    "RuleResult",
    "RuleStatus",
    "RuntimeConfig",
    "Severity",
    "SniffedFile",
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
    "history_of",
    "inspect",
    "list_images",
    "load_baseline",
    "load_budget",
    "open_image",
    "reconstruct",
]
