"""OCI image layouts (a directory, an OCI archive, or the layout inside a Docker 25+ ``docker save`` tar)."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Any

from imgscope.errors import ImageFormatError, MissingBlobError
from imgscope.model import Digest, Image, ImageFormat, ImageRef, LayerBlob, Platform
from imgscope.sources.config import (
    check_digest,
    check_schema_version,
    check_size,
    expect,
    layer_media_type,
    opt_str,
    parse_config,
)
from imgscope.sources.store import BlobStore, parse_json

INDEX_TYPES = frozenset(
    {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)
MANIFEST_TYPES = frozenset(
    {"application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"}
)
IMAGE_CONFIG_TYPES = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)
NAME_ANNOTATIONS = ("io.containerd.image.name", "org.opencontainers.image.ref.name")
MAX_INDEX_DEPTH = 8


def blob_name(digest: str) -> str:
    """The member holding a blob: ``blobs/<algorithm>/<hex>`` (the digest is validated first)."""
    d = Digest.parse(digest)
    return f"blobs/{d.algorithm}/{d.hex}"


def read_verified(store: BlobStore, digest: str, what: str) -> bytes:
    """A small blob's bytes, checked against its digest."""
    name = blob_name(digest)
    data = store.read_bytes(name)
    expected = Digest.parse(digest)
    if Digest.of(expected.algorithm, data) != expected:
        raise ImageFormatError(store.where(name), f"{what} does not match its digest {digest}")
    return data


def artifact_type_of(manifest: dict[str, Any]) -> str | None:
    """The artifact's type when this image manifest is an OCI artifact rather than an image, else None.

    An artifact has an ``artifactType``, or a config whose media type is not an image config (the artifact
    type is then that media type).
    """
    declared = manifest.get("artifactType")
    if isinstance(declared, str) and declared:
        return declared
    config = manifest.get("config")
    config_type = config.get("mediaType") if isinstance(config, dict) else None
    if isinstance(config_type, str) and config_type not in IMAGE_CONFIG_TYPES:
        return config_type
    return None


def describe_artifact(ref: ImageRef) -> str:
    """``an OCI artifact of type X attached to sha256:…, not a container image``."""
    attached = f" attached to {ref.subject}" if ref.subject else ""
    return f"an OCI artifact of type {ref.artifact_type}{attached}, not a container image"


@dataclass
class Candidate:
    """An image the source holds, and what is needed to open it."""

    ref: ImageRef
    available: bool
    manifest: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    why_unavailable: str = ""


def _platform(value: Any, where: str) -> Platform | None:
    if value is None:
        return None
    expect(value, dict, where, "platform")
    os_name, arch = value.get("os"), value.get("architecture")
    if not isinstance(os_name, str) or not isinstance(arch, str):
        return None
    variant = value.get("variant")
    return Platform(os_name, arch, variant if isinstance(variant, str) and variant else None)


def _annotations(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    expect(value, dict, where, "annotations")
    return {str(k): str(v) for k, v in value.items()}


def find_candidates(store: BlobStore) -> list[Candidate]:
    """Every image manifest reachable from ``index.json``, nested indexes included."""
    index = store.read_json("index.json")
    found: list[Candidate] = []
    _walk_index(store, index, store.where("index.json"), (), 0, set(), found)
    return found


def _walk_index(
    store: BlobStore, index: Any, where: str, names: tuple[str, ...], depth: int, seen: set[str], out: list[Candidate]
) -> None:
    expect(index, dict, where, "the index")
    check_schema_version(index, where, "the index")
    for desc in expect(index.get("manifests", []), list, where, "manifests"):
        expect(desc, dict, where, "manifests[]")
        digest = check_digest(desc.get("digest"), where, "manifests[].digest")
        media_type = opt_str(desc, "mediaType", where, "manifests[]")
        annotations = _annotations(desc.get("annotations"), where)
        attestation = annotations.get("vnd.docker.reference.type") == "attestation-manifest"
        own = tuple(annotations[k] for k in NAME_ANNOTATIONS[:1] if k in annotations) or tuple(
            annotations[k] for k in NAME_ANNOTATIONS[1:] if k in annotations
        )
        here_names = own or names
        platform = _platform(desc.get("platform"), where)
        blob = blob_name(digest)
        present = store.has(blob)
        doc: Any = None
        if present:
            data = read_verified(store, digest, "manifest")
            check_size(desc, where, "manifests[]", len(data))
            doc = parse_json(data, store.where(blob))
            expect(doc, dict, store.where(blob), "the manifest")
            check_schema_version(doc, store.where(blob), "the manifest")
            media_type = media_type or doc.get("mediaType")
            if media_type is None:
                media_type = "application/vnd.oci.image.index.v1+json" if "manifests" in doc else None
        else:
            check_size(desc, where, "manifests[]", None)
        if media_type in INDEX_TYPES:
            if not present:
                continue
            if digest in seen or depth >= MAX_INDEX_DEPTH:
                raise ImageFormatError(store.where(blob), "image index nested too deeply or referring to itself")
            _walk_index(store, doc, store.where(blob), here_names, depth + 1, {*seen, digest}, out)
            continue
        artifact_type = opt_str(desc, "artifactType", where, "manifests[]")
        if attestation:  # BuildKit's provenance/SBOM attachments
            artifact_type = artifact_type or "attestation-manifest"
        elif media_type is not None and media_type not in MANIFEST_TYPES:
            artifact_type = artifact_type or media_type  # an artifact manifest, or something else that is no image
        config_digest = None
        if present and media_type in MANIFEST_TYPES:
            config = expect(doc.get("config"), dict, store.where(blob), "config")
            config_digest = check_digest(config.get("digest"), store.where(blob), "config.digest")
            artifact_type = artifact_type or artifact_type_of(doc)
        subject = None
        if artifact_type is not None:
            subject = annotations.get("vnd.docker.reference.digest")
            if present and isinstance(doc.get("subject"), dict) and isinstance(doc["subject"].get("digest"), str):
                subject = doc["subject"]["digest"]
        ref = ImageRef(
            name=_name(here_names[0], store) if here_names else None,
            tags=here_names,
            digest=digest,
            config_digest=config_digest,
            platform=None if attestation else platform,
            media_type=media_type,
            artifact_type=artifact_type,
            subject=subject,
        )
        out.append(
            Candidate(
                ref,
                present,
                doc if present else {},
                annotations,
                "" if present else f"its manifest {digest} is not in the image (another platform's?)",
            )
        )


def _name(ref_name: str, store: BlobStore) -> str:
    """An image's name for people: a full reference as written (``docker.io/library/alpine:3.19``); a bare tag
    (skopeo's ``oci:DIR:1`` writes ``1``) joined to the layout's own name, ``oci-gzip:1``, as ``oci:DIR:TAG``
    names it. The tag alone stays in ``tags`` (``--image 1`` picks it)."""
    if "/" in ref_name or ":" in ref_name or "@" in ref_name:
        return ref_name
    if store.label == "-":
        return ref_name  # standard input has no name of its own
    base = os.path.basename(os.path.normpath(store.label)) or "image"
    for suffix in (".gz", ".tgz", ".zst", ".tzst", ".xz", ".tar", ".oci"):  # a compressed archive too
        base = base.removesuffix(suffix)
    return f"{base}:{ref_name}"


def build_image(store: BlobStore, cand: Candidate, fmt: ImageFormat, notes: list[str]) -> Image:
    """Open one candidate: read and verify its config; describe its layers (nothing decompressed)."""
    manifest = cand.manifest
    where = store.where(blob_name(cand.ref.digest or ""))
    config_desc = expect(manifest.get("config"), dict, where, "config")
    config_digest = check_digest(config_desc.get("digest"), where, "config.digest")
    config_where = store.where(blob_name(config_digest))
    if not store.has(blob_name(config_digest)):
        raise MissingBlobError(config_where, "the image config is missing")
    config_bytes = read_verified(store, config_digest, "config")
    check_size(config_desc, where, "config", len(config_bytes))
    config = parse_json(config_bytes, config_where)
    diff_ids, history, platform, config_notes = parse_config(config, config_where)
    layer_descs = expect(manifest.get("layers", []), list, where, "layers")
    if len(layer_descs) != len(diff_ids):
        raise ImageFormatError(
            where, f"the manifest lists {len(layer_descs)} layers, the config {len(diff_ids)} diff_ids"
        )
    layers = []
    for i, desc in enumerate(layer_descs):
        expect(desc, dict, where, "layers[]")
        digest = check_digest(desc.get("digest"), where, "layers[].digest")
        member = blob_name(digest)
        size = (
            check_size(desc, f"{store.where(member)} (layer {i})", f"the manifest's layers[{i}]", store.size(member))
            if store.has(member)
            else check_size(desc, where, "layers[]", None)
        )
        layers.append(
            LayerBlob(
                index=i,
                digest=digest,
                diff_id=diff_ids[i],
                media_type=layer_media_type(desc, i, where),
                size=size,
                member=store.where(member),
                opener=functools.partial(store.open, member) if store.has(member) else None,
                annotations=_annotations(desc.get("annotations"), where),
            )
        )
    return Image(
        source=store.label,
        format=fmt,
        name=cand.ref.name,
        tags=cand.ref.tags,
        digest=cand.ref.digest,
        config_digest=config_digest,
        platform=platform or cand.ref.platform,
        config=config,
        layers=tuple(layers),
        history=tuple(history),
        manifest_media_type=cand.ref.media_type,
        annotations={**cand.annotations, **_annotations(manifest.get("annotations"), where)},
        notes=tuple(notes + config_notes),
    )
