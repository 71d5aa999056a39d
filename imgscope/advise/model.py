"""The advice's data: severities, rules, findings, the whole advice for an image, and the settings."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from imgscope._display import Displayable
from imgscope.errors import UsageError
from imgscope.history.base_image import BaseImage

if TYPE_CHECKING:
    from imgscope.advise.context import Context
    from imgscope.analysis import Analysis

MAX_PATHS = 10  # paths a finding lists; ``path_count`` says how many there are
#: The version of the advice JSON document (``docs/json.md``); bump it on any breaking change.
ADVICE_SCHEMA_VERSION = 1


class Severity(str, enum.Enum):
    """How much a finding matters: ``error`` (a leak), ``warning`` (fix it), ``info`` (worth knowing)."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """Order of severities: info 0, warning 1, error 2."""
        return _RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        """``info``/``warning``/``error`` (any case); UsageError otherwise."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise UsageError("severity", f"{text!r} is not one of info, warning, error") from None


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(frozen=True)
class Rule:
    """One kind of finding, with what finds it. Rules are made with the ``rule`` decorator, next to their
    evaluation.

    Attributes:
        id: stable: ``IS1xx`` size, ``IS2xx`` secrets, ``IS3xx`` runtime hygiene (``docs/advice.md``)
        name: e.g. ``package-cache``; settings and ``--ignore`` take it or the id
        severity: of its findings
        title: one line naming the problem
        why: why it matters
        fix: the usual fix (each finding says its own, in Dockerfile terms)
        evaluate: ``evaluate(rule, ctx)``: the findings for the image of the shared ``Context``
    """

    id: str
    name: str
    severity: Severity
    title: str
    why: str
    fix: str
    evaluate: Callable[[Rule, Context], Iterable[Finding]] = field(repr=False, compare=False)

    def findings(self, ctx: Context) -> Iterable[Finding]:
        """This rule's findings for the image of ``ctx``."""
        return self.evaluate(self, ctx)


def rule(
    id: str, name: str, severity: Severity, *, title: str, why: str, fix: str
) -> Callable[[Callable[[Rule, Context], Iterable[Finding]]], Rule]:
    """Decorator: the function below (``evaluate(rule, ctx)``) with this metadata, as one ``Rule``."""

    def make(evaluate: Callable[[Rule, Context], Iterable[Finding]]) -> Rule:
        return Rule(id, name, severity, title, why, fix, evaluate)

    return make


class Copy(NamedTuple):
    """A stored copy of a file: the layer that stored it, its path, its bytes."""

    layer: int
    path: str
    size: int


@dataclass(frozen=True)
class Finding:
    """One thing to change: what was found, where, what fixing it saves, and how to fix it.

    Attributes:
        id: e.g. "IS102" (stable; docs/advice.md)
        name: e.g. "package-cache"
        severity: error, warning or info
        title: one line naming the problem
        message: what was found, where, in words
        layers: the layers involved, in order
        commands: the history command of each of ``layers`` (secret values masked)
        paths: up to MAX_PATHS, largest first
        path_count: how many paths the finding names in all
        bytes_saved: None where the finding is not about size
        fix: in Dockerfile terms
        copies: the stored copies the fix would not write (for the total, counted once)
    """

    id: str
    name: str
    severity: Severity
    title: str
    message: str
    layers: tuple[int, ...]
    commands: tuple[str, ...]
    paths: tuple[str, ...]
    path_count: int
    bytes_saved: int | None
    fix: str
    # The stored copies the fix would not write: for the total, counted once.
    copies: tuple[Copy, ...] = field(default=(), repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The finding as in the JSON document (``findings[]``)."""
        return {
            "id": self.id,
            "name": self.name,
            "severity": self.severity.value,
            "title": self.title,
            "message": self.message,
            "layers": list(self.layers),
            "commands": list(self.commands),
            "paths": list(self.paths),
            "path_count": self.path_count,
            "bytes_saved": self.bytes_saved,
            "fix": self.fix,
        }


@dataclass(frozen=True, repr=False)  # repr: one line, from the display registry
class Advice(Displayable):
    """All findings for one image, the most severe first, then the largest saving, and what fixing them all saves.

    Attributes:
        findings: every finding, the most severe first, then the largest saving
        total_saved: bytes, each stored copy counted once across findings
        image_size: content bytes stored in all layers (Summary.size)
        base: where the base image ends (``find_base``), None when the image does not tell
        ignored: findings dropped by the ignore list (``--ignore``, the settings' ``ignore``)
        notes: which image or platform of the source was picked, and why (``Image.notes``)
    """

    findings: tuple[Finding, ...]
    total_saved: int
    image_size: int
    base: BaseImage | None
    ignored: int
    notes: tuple[str, ...] = ()

    @property
    def saved_fraction(self) -> float:
        """``total_saved`` over the image's stored bytes (0.0 for an empty image)."""
        return self.total_saved / self.image_size if self.image_size else 0.0

    def at_or_above(self, severity: Severity) -> list[Finding]:
        """The findings of ``severity`` or worse (what ``--fail-on`` counts)."""
        return [f for f in self.findings if f.severity.rank >= severity.rank]

    def to_dict(self, analysis: Analysis | None = None) -> dict[str, Any]:
        """The JSON document of ``imgscope advise --json`` (``docs/json.md``); with ``analysis``, the image is named
        in it."""
        counts = {s: 0 for s in ("error", "warning", "info")}
        for f in self.findings:
            counts[f.severity.value] += 1
        doc: dict[str, Any] = {"schema_version": ADVICE_SCHEMA_VERSION, "kind": "advice"}
        if analysis is not None:
            img = analysis.image
            doc["image"] = {
                "source": img.source,
                "name": img.name,
                "tags": list(img.tags),
                "config_digest": img.config_digest,
            }
        doc["notes"] = list(analysis.image.notes if analysis is not None else self.notes)  # which image was picked
        doc["base"] = None if self.base is None else self.base.to_dict(history_count=False)
        doc["summary"] = {
            "total_saved": self.total_saved,
            "image_size": self.image_size,
            "saved_fraction": self.saved_fraction,
            "findings": len(self.findings),
            "by_severity": counts,
            "ignored": self.ignored,
        }
        doc["findings"] = [f.to_dict() for f in self.findings]
        return doc
