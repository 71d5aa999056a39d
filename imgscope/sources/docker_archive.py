"""``docker save`` archives: the classic layout (``<id>/layer.tar``) and Docker 25+'s (an OCI layout plus
``manifest.json`` pointing into ``blobs/``). ``manifest.json`` gives the images, their tags and layer order,
as ``docker load`` reads them; a Docker 25+ archive's OCI index adds manifest digests and media types."""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from imgscope.errors import ImageFormatError, MissingBlobError
from imgscope.model import Image, ImageFormat, ImageRef, LayerBlob
from imgscope.sources import oci_layout
from imgscope.sources.config import check_size, expect, parse_config
from imgscope.sources.store import BlobStore, parse_json


class DockerCandidate(oci_layout.Candidate):
    """An entry of ``manifest.json``."""

    def __init__(self, ref: ImageRef, entry: dict[str, Any], config_bytes: bytes, oci: oci_layout.Candidate | None):
        super().__init__(ref, True, oci.manifest if oci else {}, oci.annotations if oci else {})
        self.entry = entry
        self.config_bytes = config_bytes


def find_candidates(store: BlobStore) -> list[oci_layout.Candidate]:
    where = store.where("manifest.json")
    manifest = expect(store.read_json("manifest.json"), list, where, "manifest.json")
    oci_by_config: dict[str, oci_layout.Candidate] = {}
    # Docker >= 25 saving an untagged image (or one named by its ID) writes `"manifests": null`: manifest.json
    # alone describes the image, as `docker load` (and go-containerregistry) read it.
    if store.has("index.json") and not _untagged_index(store):
        for cand in oci_layout.find_candidates(store):
            if cand.ref.config_digest and cand.available:
                oci_by_config.setdefault(cand.ref.config_digest, cand)
    out: list[oci_layout.Candidate] = []
    for entry in manifest:
        expect(entry, dict, where, "manifest.json[]")
        config_name = expect(entry.get("Config"), str, where, "Config")
        tags = tuple(
            str(expect(t, str, where, "RepoTags[]"))
            for t in expect(entry.get("RepoTags") or [], list, where, "RepoTags")
        )
        config_bytes = store.read_bytes(config_name)
        config_digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
        oci = oci_by_config.get(config_digest)
        ref = ImageRef(
            name=tags[0] if tags else config_digest[:19],  # untagged: named by its ID, as `docker images` shows it
            tags=tags,
            digest=oci.ref.digest if oci else None,
            config_digest=config_digest,
            platform=None,
            media_type=oci.ref.media_type if oci else None,
        )
        out.append(DockerCandidate(ref, entry, config_bytes, oci))
    return out


def _untagged_index(store: BlobStore) -> bool:
    index = store.read_json("index.json")
    return isinstance(index, dict) and "manifests" in index and index["manifests"] is None


def build_image(store: BlobStore, cand: oci_layout.Candidate, fmt: ImageFormat, notes: list[str]) -> Image:
    assert isinstance(cand, DockerCandidate)
    where = store.where("manifest.json")
    config_name = str(cand.entry["Config"])
    config_where = store.where(config_name)
    config = parse_json(cand.config_bytes, config_where)
    diff_ids, history, platform, config_notes = parse_config(config, config_where)
    members = [
        str(expect(m, str, where, "Layers[]")) for m in expect(cand.entry.get("Layers", []), list, where, "Layers")
    ]
    if len(members) != len(diff_ids):
        raise ImageFormatError(where, f"manifest.json lists {len(members)} layers, the config {len(diff_ids)} diff_ids")
    sources = cand.entry.get("LayerSources") or {}
    expect(sources, dict, where, "LayerSources")
    oci_layers = cand.manifest.get("layers") if cand.manifest else None
    layers = []
    for i, member in enumerate(members):
        digest = None
        media_type = None
        annotations: dict[str, str] = {}
        if isinstance(oci_layers, list) and len(oci_layers) == len(members) and isinstance(oci_layers[i], dict):
            digest = oci_layers[i].get("digest") if isinstance(oci_layers[i].get("digest"), str) else None
            media_type = oci_layers[i].get("mediaType") if isinstance(oci_layers[i].get("mediaType"), str) else None
        elif member.startswith("blobs/sha256/") and len(member) == len("blobs/sha256/") + 64:
            digest = "sha256:" + member.rpartition("/")[2]
        present = store.has(member)
        if isinstance(oci_layers, list) and len(oci_layers) == len(members) and isinstance(oci_layers[i], dict):
            check_size(
                oci_layers[i],
                f"{store.where(member)} (layer {i})" if present else where,
                f"the OCI manifest's layers[{i}]",
                store.size(member) if present else None,
            )
        if not present:
            foreign = sources.get(diff_ids[i])
            if isinstance(foreign, dict):
                urls = foreign.get("urls")
                shown = (
                    f" (its blob is at {urls[0]})"
                    if isinstance(urls, list) and urls and isinstance(urls[0], str)
                    else ""
                )
                raise MissingBlobError(
                    store.where(member),
                    f"layer {i} is a foreign (non-distributable) layer not included in the archive{shown}",
                )
        layers.append(
            LayerBlob(
                index=i,
                digest=digest,
                diff_id=diff_ids[i],
                media_type=media_type,
                size=store.size(member) if present else None,
                member=store.where(member),
                opener=functools.partial(store.open, member) if present else None,
                annotations=annotations,
            )
        )
    return Image(
        source=store.label,
        format=fmt,
        name=cand.ref.name,
        tags=cand.ref.tags,
        digest=cand.ref.digest,
        config_digest=cand.ref.config_digest,
        platform=platform,
        config=config,
        layers=tuple(layers),
        history=tuple(history),
        manifest_media_type=cand.ref.media_type,
        annotations=cand.annotations,
        notes=tuple(notes + config_notes),
    )
