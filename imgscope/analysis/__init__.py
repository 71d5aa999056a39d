"""Analysis of one image: every layer read once, the union filesystem rebuilt, every figure computed.

Owns: the scan stage (``scan``: one layer blob -> ``LayerScan``, with content observers such as the secret
sniffer, ``sniff``), the merge stage (``merge``: ordered scans -> ``Analysis``, and ``analyze``), the result types
with their JSON (``result``), and the file-tree view of a result (``views``).

May import: ``dive``, ``union``, ``sources`` and the bottom modules (``model``, ``errors``, ``text``, ``units``,
``_display``, ``_gc``). Never ``history``, ``advise``, ``budget``, ``compare``, ``inspect``, ``render``, ``cli``.
"""

from imgscope.analysis.merge import analyze, merge_scans
from imgscope.analysis.result import SCHEMA_VERSION, Analysis, DuplicateGroup, FileRecord, LayerReport, Summary
from imgscope.analysis.scan import LayerScan, ObserverFactory, Progress, StreamFigures, scan_layer
from imgscope.analysis.sniff import SniffedFile, Sniffer
from imgscope.analysis.views import ImageTree, tree

__all__ = [
    "SCHEMA_VERSION",
    "Analysis",
    "DuplicateGroup",
    "FileRecord",
    "ImageTree",
    "LayerReport",
    "LayerScan",
    "ObserverFactory",
    "Progress",
    "SniffedFile",
    "Sniffer",
    "StreamFigures",
    "Summary",
    "analyze",
    "merge_scans",
    "scan_layer",
    "tree",
]
