"""The last build's sizes, to compare against: from a saved JSON report or from another image."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, overload

from imgscope.analysis import SCHEMA_VERSION, Analysis, analyze
from imgscope.errors import UsageError
from imgscope.sources.detect import first_of_several

#: Analysis documents a baseline reads: the sizes it takes are the same in every version so far.
_ANALYSIS_VERSIONS = tuple(range(1, SCHEMA_VERSION + 1))
#: The command whose ``--json`` writes a document of each ``kind`` a baseline is not.
_COMMANDS = {"advice": "advise", "cache": "cache ls"}


@dataclass(frozen=True)
class Baseline:
    """The sizes of an earlier image (bytes): overall and per layer position.

    Attributes:
        source: where the sizes come from (a report or an image)
        size: content bytes stored in all layers
        compressed_size: bytes of the layer blobs as stored
        final_size: bytes visible in the final filesystem
        layer_sizes: content bytes per layer position
        layer_compressed_sizes: stored bytes per layer position
    """

    source: str
    size: int
    compressed_size: int | None  # what a pull downloads; None when not known (docs/metrics.md)
    final_size: int
    layer_sizes: tuple[int, ...]
    layer_compressed_sizes: tuple[int | None, ...]

    @classmethod
    def from_analysis(cls, analysis: Analysis, source: str | None = None) -> Baseline:
        """From an ``Analysis`` (of the earlier image)."""
        s = analysis.summary
        return cls(
            source=source or analysis.image.source,
            size=s.size,
            compressed_size=s.compressed_size,
            final_size=s.final_size,
            layer_sizes=tuple(r.size for r in analysis.layers),
            layer_compressed_sizes=tuple(r.compressed_size for r in analysis.layers),
        )

    @classmethod
    def from_dict(cls, doc: Any, source: str) -> Baseline:
        """From the JSON document of ``imgscope analyze --json`` or ``imgscope check --format json``."""
        save = "save one with imgscope analyze --json or imgscope check --format json"
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if isinstance(kind, str) and kind != "check":  # another command's document: advise --json is "advice"
            article = "an" if kind[:1] in tuple("aeiou") else "a"
            raise UsageError(
                source,
                f"{article} {kind} document (imgscope {_COMMANDS.get(kind, kind)} --json), not an analysis "
                f"or check report: {save}",
            )
        version = doc.get("schema_version") if isinstance(doc, dict) else None
        known = (1,) if kind == "check" else _ANALYSIS_VERSIONS
        if isinstance(version, int) and not isinstance(version, bool) and version > max(known):
            raise UsageError(
                source,
                f"{kind or 'analysis'} report schema_version {version} is newer than this imgscope reads "
                f"({' or '.join(map(str, known))}): upgrade imgscope, or {save} with this one",
            )
        if not isinstance(doc, dict) or not isinstance(doc.get("summary"), dict):
            raise UsageError(source, f"not an imgscope report (no 'summary'): {save}")
        if isinstance(version, bool) or version not in known:
            raise UsageError(source, f"report schema_version {version!r} is not {' or '.join(map(str, known))}")
        summary = doc["summary"]
        layers = doc.get("layers")
        if not isinstance(layers, list) or not all(isinstance(r, dict) for r in layers):
            raise UsageError(source, "report 'layers' is not a list of layers")
        return cls(
            source=source,
            size=_count(summary, "size", source),
            compressed_size=_count(summary, "compressed_size", source, nullable=True),
            final_size=_count(summary, "final_size", source),
            layer_sizes=tuple(_count(r, "size", source) for r in layers),
            layer_compressed_sizes=tuple(_count(r, "compressed_size", source, nullable=True) for r in layers),
        )


@overload
def _count(table: dict[str, Any], key: str, source: str) -> int: ...
@overload
def _count(table: dict[str, Any], key: str, source: str, nullable: bool) -> int | None: ...
def _count(table: dict[str, Any], key: str, source: str, nullable: bool = False) -> int | None:
    value = table.get(key)
    if nullable and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(source, f"report field {key!r} is {value!r}, not a size in bytes")
    return value


def _json_array(path: str) -> bool:
    """True when the file's first MiB is a whole JSON array (JSON given where a report was meant, not an image)."""
    with open(path, "rb") as fh:
        text = fh.read(1 << 20).decode("utf-8", "replace").lstrip()
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, list)


def load_baseline(path: str | os.PathLike[str], **analyze_options: Any) -> Baseline:
    """A baseline from a JSON report (a file starting with ``{``; one starting with ``[`` is JSON that is no report)
    or else from the image at ``path``."""
    where = os.fspath(path)
    if os.path.isfile(where):
        with open(where, "rb") as fh:
            head = fh.read(64).lstrip()
        if not head:
            raise UsageError(
                where, "an empty file, not an imgscope report (what analyze --json > FILE leaves when it fails)"
            )
        if head.startswith(b"[") and _json_array(where):
            raise UsageError(where, "not an imgscope report (a JSON array; expected analyze --json's object)")
        if head.startswith(b"{"):
            try:
                with open(where, encoding="utf-8") as fh:
                    doc = json.load(fh)
            except (ValueError, UnicodeDecodeError) as exc:
                raise UsageError(where, f"not valid JSON: {exc}") from None
            except RecursionError:
                raise UsageError(where, "not an imgscope report: JSON nested too deeply") from None
            return Baseline.from_dict(doc, where)
    analysis = analyze(where, **analyze_options)
    several = first_of_several(analysis.image)
    if several and analyze_options.get("image") is None:  # the baseline must be the image meant, not the first
        raise UsageError(where, f"{several.partition(';')[0]}: name the baseline's image (PATH:IMAGE)")
    return Baseline.from_analysis(analysis, where)
