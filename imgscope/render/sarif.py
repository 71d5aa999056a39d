"""SARIF 2.1.0 for code-scanning tools (GitHub code scanning, Azure DevOps...). Reads an ``Advice``; computes nothing.

Each rule of ``imgscope.advise.RULES`` is a ``reportingDescriptor``; each finding a ``result`` whose location is the
image file given on the command line (line 1: GitHub code scanning needs a region), with the paths inside the image
as logical locations.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from imgscope._version import __version__
from imgscope.advise import RULES

if TYPE_CHECKING:
    from imgscope.advise import Advice, Finding
    from imgscope.analysis.result import Analysis

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _rule(index: int) -> dict[str, Any]:
    r = RULES[index]
    return {
        "id": r.id,
        "name": r.name,
        "shortDescription": {"text": r.title},
        "fullDescription": {"text": r.why},
        "help": {"text": f"{r.why} See docs/advice.md#{r.id.lower()}-{r.name}."},
        "defaultConfiguration": {"level": _LEVEL[r.severity.value]},
        "properties": _rule_properties(r.id),
    }


def _rule_properties(rule_id: str) -> dict[str, Any]:
    """Tags for filtering; GitHub code scanning ranks security results by ``security-severity`` (0-10)."""
    if rule_id.startswith("IS2"):
        return {"tags": ["security", "secrets"], "security-severity": "8.0"}
    if rule_id.startswith("IS3"):
        return {"tags": ["security", "hardening"], "security-severity": "4.0"}
    return {"tags": ["size", "efficiency"]}


def _result(f: Finding, source: str, rule_index: int) -> dict[str, Any]:
    # GitHub code scanning places an alert only with a region (region.startLine at least): the image is one artifact
    where = {"physicalLocation": {"artifactLocation": {"uri": source}, "region": {"startLine": 1}}}
    logical = [{"name": p, "fullyQualifiedName": p, "kind": "resource"} for p in f.paths]
    if logical:
        where["logicalLocations"] = logical  # type: ignore[assignment]
    fingerprint = hashlib.sha256("\0".join([f.id, *map(str, f.layers), *f.paths]).encode()).hexdigest()
    result: dict[str, Any] = {
        "ruleId": f.id,
        "ruleIndex": rule_index,
        "level": _LEVEL[f.severity.value],
        "message": {"text": f"{f.title}: {f.message} Fix: {f.fix}"},
        "locations": [where],
        "partialFingerprints": {"imgscopeFinding/v1": fingerprint},
        "properties": {
            "bytesSaved": f.bytes_saved,
            "layers": list(f.layers),
            "commands": list(f.commands),
            "pathCount": f.path_count,
            "fix": f.fix,
        },
    }
    return result


def _uri(path: str) -> str:
    """The image path as a URI reference: a relative, percent-encoded path (an absolute one inside the working
    directory, the checkout in CI, made relative to it, so code scanning can map it), or ``file:///abs/path``."""
    if os.path.isabs(path):
        absolute = os.path.normpath(path)
        # its directory resolved, as getcwd() is (a checkout reached through a symbolic link), its name as given
        directory, name = os.path.split(absolute)
        resolved = os.path.join(os.path.realpath(directory), name)
        cwd = os.getcwd()
        if os.path.commonpath([resolved, cwd]) != cwd:
            return PurePath(absolute).as_uri()
        path = os.path.relpath(resolved, cwd)
    return quote(path.replace(os.sep, "/"))


def advice_to_sarif(advice: Advice, analysis: Analysis) -> dict[str, Any]:
    """One SARIF log with one run: imgscope's rules and the findings for ``analysis``'s image."""
    index = {r.id: i for i, r in enumerate(RULES)}
    source = _uri(analysis.image.source)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "imgscope",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_rule(i) for i in range(len(RULES))],
                    }
                },
                "artifacts": [{"location": {"uri": source}, "roles": ["analysisTarget"]}],
                "results": [_result(f, source, index[f.id]) for f in advice.findings],
                "properties": {
                    "image": analysis.image.name,
                    "totalBytesSaved": advice.total_saved,
                    "imageSize": advice.image_size,
                    "notes": list(analysis.image.notes),  # which image or platform was picked, and why
                },
            }
        ],
    }
