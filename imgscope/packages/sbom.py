"""SBOMs of a ``PackageReport``: CycloneDX 1.6 JSON (built with ``cyclonedx-python-lib``) and SPDX 2.3 JSON
(written here: ``spdx-tools`` would pull rdflib and half a dozen more packages for one JSON document; the
tests validate both against the official schemas). Each package carries its package URL, version, and as
properties the layer that installed it, its bytes and its files, so that ``trivy sbom`` / ``grype sbom:`` can
scan it and a finding leads back to a layer.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any

from imgscope.errors import UsageError, option, option_given
from imgscope.packages.report import Package, PackageReport

FORMATS = ("cyclonedx", "spdx")
_PROP = "imgscope"


def _properties(p: Package) -> list[tuple[str, str]]:
    out = [
        (f"{_PROP}:ecosystem", p.ecosystem),
        (f"{_PROP}:location", p.location),
        (f"{_PROP}:bytes", str(p.size)),
        (f"{_PROP}:files", str(p.files)),
    ]
    if p.layer is not None:
        out.append((f"{_PROP}:layer", str(p.layer)))
    if p.wasted_bytes:
        out.append((f"{_PROP}:wasted-bytes", str(p.wasted_bytes)))
    if p.dev:
        out.append((f"{_PROP}:dev", "true"))
    return out


def cyclonedx(report: PackageReport, tool_version: str) -> str:
    """The report's present packages as a CycloneDX 1.6 JSON document."""
    try:
        from cyclonedx.model import Property
        from cyclonedx.model.bom import Bom
        from cyclonedx.model.component import Component, ComponentType
        from cyclonedx.model.license import DisjunctiveLicense
        from cyclonedx.model.tool import Tool
        from cyclonedx.output.json import JsonV1Dot6
        from packageurl import PackageURL
    except ImportError as exc:  # pragma: no cover (the sbom extra is not installed)
        where = option_given("fmt", "cyclonedx")
        raise UsageError(where, "needs cyclonedx-python-lib: pip install 'imgscope[sbom]'") from exc

    bom = Bom()
    image = Component(
        name=report.image or "image",
        type=ComponentType.CONTAINER,
        bom_ref="image",
        properties=[
            Property(name=f"{_PROP}:bytes", value=str(report.total_bytes)),
            Property(name=f"{_PROP}:layers", value=str(report.layer_count)),
        ],
    )
    bom.metadata.component = image
    bom.metadata.tools.tools.add(Tool(vendor="imgscope", name="imgscope", version=tool_version))
    refs: set[str] = set()
    components = []
    for p in report.packages:
        ref = _unique(p.purl or f"{p.ecosystem}:{p.name}@{p.location}", refs)
        group, name = _group_and_name(p.ecosystem, p.name)
        components.append(
            Component(
                group=group,
                name=name,
                version=p.version or None,
                type=ComponentType.LIBRARY,
                purl=PackageURL.from_string(p.purl) if p.purl else None,
                bom_ref=ref,
                licenses=[DisjunctiveLicense(name=p.license)] if p.license else None,
                properties=[Property(name=k, value=v) for k, v in _properties(p)],
            )
        )
    bom.components.update(components)
    bom.register_dependency(image, components)
    return JsonV1Dot6(bom).output_as_string(indent=2)


def _group_and_name(ecosystem: str, name: str) -> tuple[str | None, str]:
    """CycloneDX's group and name: a scoped npm package's scope is its group (``@types/node``: ``@types``,
    ``node``), as its purl's namespace; anything else has no group."""
    if ecosystem == "npm" and name.startswith("@") and "/" in name:
        scope, _, bare = name.partition("/")
        return scope, bare
    return None, name


def _unique(ref: str, seen: set[str]) -> str:
    out, n = ref, 1
    while out in seen:
        n += 1
        out = f"{ref}#{n}"
    seen.add(out)
    return out


_SPDX_ID = re.compile(r"[^A-Za-z0-9.-]+")


def _license(text: str) -> str:
    if not text:
        return "NOASSERTION"
    try:
        from license_expression import get_spdx_licensing  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover
        return "NOASSERTION"
    licensing = get_spdx_licensing()
    try:
        info = licensing.validate(text)
    except Exception:  # the library raises several kinds on odd text
        return "NOASSERTION"
    if info.errors or info.invalid_symbols:
        return "NOASSERTION"
    return str(info.normalized_expression or "NOASSERTION")


def spdx(report: PackageReport, tool_version: str, *, created: datetime | None = None) -> str:
    """The report's present packages as an SPDX 2.3 JSON document."""
    when = (created or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    name = report.image or "image"
    doc_ns = f"https://imgscope.invalid/spdx/{_SPDX_ID.sub('-', name)}-{uuid.uuid4()}"
    creator = f"Tool: imgscope-{tool_version}"
    packages: list[dict[str, Any]] = [
        {
            "SPDXID": "SPDXRef-Image",
            "name": name,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "primaryPackagePurpose": "CONTAINER",
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
        }
    ]
    relationships = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Image"}
    ]
    used: set[str] = set()
    for p in report.packages:
        digest = hashlib.sha256(f"{p.ecosystem}\0{p.name}\0{p.location}\0{p.arch}".encode()).hexdigest()[:16]
        ident = f"SPDXRef-Package-{p.ecosystem}-{_SPDX_ID.sub('-', p.name)}-{digest}"
        base, n = ident, 1
        while ident in used:  # SPDX 2.3: unique in its document (two .dist-info directories of one name in one site)
            n += 1
            ident = f"{base}-{n}"
        used.add(ident)
        entry: dict[str, Any] = {
            "SPDXID": ident,
            "name": p.name,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": _license(p.license),
            "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "LIBRARY",
            "sourceInfo": f"{p.ecosystem} database {p.database}",
            "comment": "; ".join(f"{k}={v}" for k, v in _properties(p)),
            "annotations": [
                {
                    "annotationDate": when,
                    "annotationType": "OTHER",
                    "annotator": creator,
                    "comment": json.dumps(dict(_properties(p)), sort_keys=True),
                }
            ],
        }
        if p.version:
            entry["versionInfo"] = p.version
        if p.purl:
            entry["externalRefs"] = [
                {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": p.purl}
            ]
        packages.append(entry)
        relationships.append(
            {"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": ident}
        )
    doc = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": doc_ns,
        "creationInfo": {"created": when, "creators": [creator]},
        "packages": packages,
        "relationships": relationships,
    }
    return json.dumps(doc, indent=2)


def sbom(report: PackageReport, fmt: str, tool_version: str) -> str:
    """``report`` as an SBOM document in ``fmt`` (``cyclonedx`` or ``spdx``)."""
    if fmt == "cyclonedx":
        return cyclonedx(report, tool_version)
    if fmt == "spdx":
        return spdx(report, tool_version)
    raise UsageError(option("fmt"), f"unknown SBOM format {fmt!r} (one of {', '.join(FORMATS)})")
