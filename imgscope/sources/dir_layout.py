"""skopeo's directory layout (``skopeo copy … dir:PATH``): ``manifest.json`` (one manifest, or an index whose
instances are ``<hex>.manifest.json``), every blob named by its bare hex digest, and a ``version`` file."""

from __future__ import annotations

import hashlib
from typing import IO, Any

from imgscope.errors import ImageFormatError
from imgscope.model import Image, ImageFormat, ImageRef
from imgscope.sources import oci_layout
from imgscope.sources.config import check_digest, expect, opt_str
from imgscope.sources.store import BlobStore, parse_json

VERSION_PREFIX = "Directory Transport Version: "


class _Blobs(BlobStore):
    """The directory seen with OCI blob names: ``blobs/sha256/<hex>`` is the file ``<hex>``."""

    def __init__(self, inner: BlobStore) -> None:
        super().__init__(inner.label)
        self._inner = inner

    @staticmethod
    def _name(name: str) -> str:
        return name.rpartition("/")[2] if name.startswith("blobs/sha256/") else name

    def where(self, name: str) -> str:
        return self._inner.where(self._name(name))

    def has(self, name: str) -> bool:
        return self._inner.has(self._name(name))

    def size(self, name: str) -> int:
        return self._inner.size(self._name(name))

    def open(self, name: str) -> IO[bytes]:
        return self._inner.open(self._name(name))


def _check_version(store: BlobStore) -> None:
    text = store.read_bytes("version", 1024).decode("utf-8", "replace").strip()
    if not text.startswith(VERSION_PREFIX):
        raise ImageFormatError(store.where("version"), f"not a skopeo dir: layout ({text[:60]!r})")
    major = text[len(VERSION_PREFIX) :].partition(".")[0]
    if major != "1":
        raise ImageFormatError(
            store.where("version"), f"dir: layout version {text[len(VERSION_PREFIX) :]!r}: 1.x is read"
        )


def find_candidates(store: BlobStore) -> list[oci_layout.Candidate]:
    """The image in ``manifest.json``, or each image of the index it holds (``skopeo copy --all``)."""
    _check_version(store)
    raw = store.read_bytes("manifest.json")
    where = store.where("manifest.json")
    doc = expect(parse_json(raw, where), dict, where, "manifest.json")
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    media_type = opt_str(doc, "mediaType", where, "manifest.json")
    if "manifests" not in doc:
        return [_candidate(doc, digest, media_type, None, where)]
    out: list[oci_layout.Candidate] = []
    for desc in expect(doc.get("manifests"), list, where, "manifests"):
        expect(desc, dict, where, "manifests[]")
        inst = check_digest(desc.get("digest"), where, "manifests[].digest")
        inst_type = opt_str(desc, "mediaType", where, "manifests[]")
        if inst_type is not None and inst_type not in oci_layout.MANIFEST_TYPES:
            continue
        platform = oci_layout._platform(desc.get("platform"), where)
        if platform is not None and (platform.os, platform.architecture) == ("unknown", "unknown"):
            continue  # BuildKit attestations
        name = inst.partition(":")[2] + ".manifest.json"
        if not store.has(name):
            ref = ImageRef(None, (), inst, None, platform, inst_type)
            out.append(oci_layout.Candidate(ref, False, why_unavailable=f"its manifest {inst} is not in the directory"))
            continue
        data = store.read_bytes(name)
        if "sha256:" + hashlib.sha256(data).hexdigest() != inst:
            raise ImageFormatError(store.where(name), f"manifest does not match its digest {inst}")
        inner = expect(parse_json(data, store.where(name)), dict, store.where(name), "the manifest")
        out.append(_candidate(inner, inst, inst_type, platform, store.where(name)))
    return out


def _candidate(
    doc: dict[str, Any], digest: str, media_type: str | None, platform: Any, where: str
) -> oci_layout.Candidate:
    config = expect(doc.get("config"), dict, where, "config")
    config_digest = check_digest(config.get("digest"), where, "config.digest")
    ref = ImageRef(None, (), digest, config_digest, platform, media_type or doc.get("mediaType"))
    return oci_layout.Candidate(ref, True, doc, {})


def build_image(store: BlobStore, cand: oci_layout.Candidate, fmt: ImageFormat, notes: list[str]) -> Image:
    """Open the chosen image: its config read and verified, its layers described (nothing decompressed)."""
    return oci_layout.build_image(_Blobs(store), cand, fmt, notes)
