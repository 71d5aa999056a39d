"""What every advice rule reads: the analysis, the settings, the base image, indexes built once, and the helpers
that turn copies into a ``Finding``. Holds no rule."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from imgscope.advise.model import MAX_PATHS, Copy, Finding, Rule, Severity
from imgscope.analysis import Analysis, FileRecord, LayerReport
from imgscope.history.base_image import find_base
from imgscope.model import EntryType, RuntimeConfig
from imgscope.packages import ImagePackages
from imgscope.text import one_line, redact
from imgscope.union.filesystem import ChangeKind


class Context:
    """One image's advice pass: the analysis, the settings, the base, and what the rules share.

    ``claimed`` holds the stored copies (layer, path) a cache, junk or secret finding already names, so the
    cleanup rule (IS101), which runs after them, does not count them again.
    """

    def __init__(self, analysis: Analysis, settings: Any, packages: ImagePackages | None = None) -> None:
        self.a = analysis
        self.packages = packages  # the package databases, when they were read (``imgscope.packages``)
        self.settings = settings  # an ``AdviseSettings``
        self.base = find_base(analysis.image)
        self.first = self.base.layer_count if self.base else 0  # the first layer of the Dockerfile's own
        self.hidden_by = {(w.layer, w.path): w.hidden_by for w in analysis.wasted_files}
        self.hidden_how = {(w.layer, w.path): w.reason for w in analysis.wasted_files}
        self.final_paths = frozenset(f.path for f in analysis.files)
        self.claimed: set[tuple[int, str]] = set()

    def command(self, layer: int) -> str:
        """The history command of ``layer``, secret-looking values masked."""
        return redact(self.a.layers[layer].command) if 0 <= layer < len(self.a.layers) else ""

    def where(self, layer: int) -> str:
        """``layer 3 (`RUN make`)``: a layer and its command on one short line."""
        short = one_line(self.command(layer), 60)
        return f"layer {layer} (`{short}`)" if short else f"layer {layer}"

    def stored(self, layer: LayerReport) -> Iterator[tuple[str, int]]:
        """The regular files ``layer`` stores (path, bytes), allowlisted paths left out."""
        for c in layer.changes:
            if c.kind is not ChangeKind.REMOVED and c.type is EntryType.FILE and not self.settings.allowed(c.path):
                yield c.path, c.size

    def own_layers(self) -> Iterable[LayerReport]:
        """The layers the Dockerfile made (the base image's left out)."""
        return self.a.layers[self.first :]

    def final_own_files(self) -> Iterator[FileRecord]:
        """The final filesystem's paths written by the Dockerfile's own layers, allowlisted paths left out."""
        for f in self.a.files:
            if f.layer >= self.first and not self.settings.allowed(f.path):
                yield f

    def gone(self, copies: Iterable[Copy]) -> list[int]:
        """The later layers that removed or replaced any of ``copies``."""
        return sorted({self.hidden_by[(c.layer, c.path)] for c in copies if (c.layer, c.path) in self.hidden_by})

    @property
    def runtime(self) -> RuntimeConfig:
        """The image's run-time settings (``Image.runtime``, parsed once)."""
        return self.a.image.runtime

    def finding(
        self,
        rule: Rule,
        message: str,
        layers: Iterable[int],
        copies: list[Copy],
        fix: str,
        *,
        saves: bool = True,
        paths: list[str] | None = None,
        title: str | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of ``rule``: ``copies`` are what the fix saves (when ``saves``); ``paths`` default to theirs."""
        ordered = sorted(copies, key=lambda c: (-c.size, c.path, c.layer))
        listed = paths if paths is not None else list(dict.fromkeys(c.path for c in ordered))
        layer_tuple = tuple(sorted(set(layers)))
        return Finding(
            id=rule.id,
            name=rule.name,
            severity=severity or rule.severity,
            title=title or rule.title,
            message=message,
            layers=layer_tuple,
            commands=tuple(self.command(i) for i in layer_tuple),
            paths=tuple(listed[:MAX_PATHS]),
            path_count=len(listed),
            bytes_saved=sum(c.size for c in copies) if saves else None,
            fix=fix,
            copies=tuple(ordered) if saves else (),
        )
