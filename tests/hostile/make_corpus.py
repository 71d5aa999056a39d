"""Generate a corpus of broken and hostile container images, deterministically, in memory.

Run as a script (``python tests/hostile/make_corpus.py DEST``) or call
``build_corpus(dest_dir)``: both write every input below ``dest_dir`` and the
function returns one ``Case`` per input, saying what ``imgscope analyze`` must do
with it: succeed (exit 0), or fail (exit 2) with one line on stderr containing
``expect``.

Everything starts from a small valid ``docker save`` archive (classic layout) and a
small valid OCI layout / OCI archive, both built here; each case breaks one thing.
No binary is committed: tar headers are written by hand (so they can be broken
field by field), compression is Python's gzip/zlib/zstandard.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import lzma
import os
import random
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import zstandard

BLOCK = 512
GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True)
class Case:
    """One input of the corpus and what imgscope must make of it."""

    name: str  # unique; also the input's file name (without a suffix)
    path: str  # the input: a file or a directory
    ok: bool  # True: exit 0; False: exit 2 with one error line
    expect: str = ""  # for failures: a substring of the error line
    args: tuple[str, ...] = ()  # extra CLI arguments
    heavy: bool = False  # slow or memory-hungry: run in a separate, limited process


# -- a tar writer that can be told to write anything ---------------------------------------------------


def _octal(value: int, width: int) -> bytes:
    return f"{value:0{width - 1}o}".encode() + b"\0"


def _b(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else text


def header(
    name: str | bytes,
    size: int = 0,
    typeflag: bytes = b"0",
    linkname: str | bytes = b"",
    *,
    mode: int = 0o644,
    size_field: bytes | None = None,
    prefix: bytes = b"",
    checksum: bytes | None = None,
) -> bytes:
    """One ustar header block; ``size_field``/``checksum`` replace the computed fields verbatim."""
    block = bytearray(BLOCK)
    raw_name = _b(name)[:100]
    block[0:100] = raw_name.ljust(100, b"\0")
    block[100:108] = _octal(mode, 8)
    block[108:116] = _octal(0, 8)
    block[116:124] = _octal(0, 8)
    field = size_field if size_field is not None else _octal(size, 12)
    assert len(field) == 12
    block[124:136] = field
    block[136:148] = _octal(0, 12)
    block[148:156] = b" " * 8
    block[156] = typeflag[0]
    block[157:257] = _b(linkname)[:100].ljust(100, b"\0")
    block[257:265] = b"ustar\x0000"
    block[345:500] = prefix[:155].ljust(155, b"\0")
    block[148:156] = checksum if checksum is not None else f"{sum(block):06o}".encode() + b"\0 "
    return bytes(block)


def pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % BLOCK)


def member(
    name: str | bytes, data: bytes = b"", typeflag: bytes = b"0", linkname: str | bytes = b"", **kw: Any
) -> bytes:
    return header(name, len(data), typeflag, linkname, **kw) + pad(data)


def directory(name: str) -> bytes:
    return header(name, 0, b"5", mode=0o755)


def symlink(name: str | bytes, target: str | bytes) -> bytes:
    return header(name, 0, b"2", target, mode=0o777)


def hardlink(name: str | bytes, target: str | bytes) -> bytes:
    return header(name, 0, b"1", target)


def pax_record(key: str, value: str | bytes) -> bytes:
    body = b" " + key.encode() + b"=" + _b(value) + b"\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length = len(str(length)) + len(body)
    return str(length).encode() + body


def pax(records: bytes | dict[str, str | bytes], typeflag: bytes = b"x") -> bytes:
    raw = records if isinstance(records, bytes) else b"".join(pax_record(k, v) for k, v in records.items())
    return member("PaxHeader", raw, typeflag)


def tar(*members: bytes, eof: bool = True) -> bytes:
    return b"".join(members) + (bytes(2 * BLOCK) if eof else b"")


def walk_tar(data: bytes) -> Iterator[tuple[int, str, int]]:
    """(header offset, name, size) of each member of a tar written by ``tar()`` (plain ustar only)."""
    pos = 0
    while pos + BLOCK <= len(data) and data[pos : pos + BLOCK] != bytes(BLOCK):
        block = data[pos : pos + BLOCK]
        name = block[0:100].rstrip(b"\0").decode("utf-8", "replace")
        size = int(block[124:136].rstrip(b"\0 ") or b"0", 8)
        yield pos, name, size
        pos += BLOCK + (size + BLOCK - 1) // BLOCK * BLOCK


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data)


def _js(obj: Any) -> bytes:
    return obj if isinstance(obj, bytes) else json.dumps(obj, sort_keys=True).encode()


# -- the valid starting points -------------------------------------------------------------------------

BIG = bytes(range(256)) * 12  # 3072 bytes: spans several blocks


def layer0_members() -> list[bytes]:
    return [
        directory("etc/"),
        member("etc/hello.txt", b"hello\n"),
        directory("bin/"),
        member("bin/big", BIG),
        symlink("bin/link", "big"),
        hardlink("etc/hard", "etc/hello.txt"),
    ]


def layer1_members() -> list[bytes]:
    return [
        member("etc/hello.txt", b"changed\n"),
        member("etc/.wh.hard"),
        directory("opt/"),
        member("opt/new", b"0123456789"),
    ]


LAYER0 = tar(*layer0_members())
LAYER1 = tar(*layer1_members())

Mutator = Callable[[Any], Any]


def base_config(diff_ids: list[str]) -> dict[str, Any]:
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ENV A=1", "empty_layer": True},
            *({"created": "2024-01-01T00:00:00Z", "created_by": f"RUN step {i}"} for i in range(len(diff_ids))),
        ],
    }


def docker_archive(
    layers: list[bytes] | None = None,
    *,
    diff_ids: list[str] | None = None,
    config: Mutator | None = None,
    manifest: Mutator | None = None,
    before: list[bytes] | None = None,
    after: list[bytes] | None = None,
    omit: frozenset[str] = frozenset(),
) -> bytes:
    """A classic ``docker save`` tar; the mutators get the default JSON and return JSON or raw bytes."""
    layers = [LAYER0, LAYER1] if layers is None else layers
    diff_ids = [sha256(layer) for layer in layers] if diff_ids is None else diff_ids
    cfg_obj: Any = base_config(diff_ids)
    cfg = _js(config(cfg_obj) if config else cfg_obj)
    cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
    ids = [hashlib.sha256(b"id" + layer + bytes([i])).hexdigest() for i, layer in enumerate(layers)]
    man_obj: Any = [{"Config": cfg_name, "RepoTags": ["hostile:latest"], "Layers": [f"{i}/layer.tar" for i in ids]}]
    man = _js(manifest(man_obj) if manifest else man_obj)
    members = list(before or [])
    for layer_id, layer in zip(ids, layers, strict=False):
        members += [directory(f"{layer_id}/"), member(f"{layer_id}/VERSION", b"1.0")]
        if f"{layer_id}/layer.tar" not in omit and "layers" not in omit:
            members.append(member(f"{layer_id}/layer.tar", layer))
    if "config" not in omit:
        members.append(member(cfg_name, cfg))
    if "manifest.json" not in omit:
        members.append(member("manifest.json", man))
    members.append(member("repositories", b'{"hostile":{"latest":"%s"}}' % ids[-1].encode()))
    members += after or []
    return tar(*members)


OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def oci_files(
    blobs: list[bytes] | None = None,
    *,
    diff_ids: list[str] | None = None,
    config: Mutator | None = None,
    manifest: Mutator | None = None,
    index: Mutator | None = None,
    layer_digests: list[str] | None = None,
    extra: dict[str, bytes] | None = None,
    omit: frozenset[str] = frozenset(),
) -> dict[str, bytes]:
    """The files of an OCI image layout (path -> content); ``blobs`` are the stored layer blobs."""
    blobs = [gz(LAYER0)] if blobs is None else blobs
    if diff_ids is None:
        diff_ids = [sha256(_decompress(b)) for b in blobs]
    files: dict[str, bytes] = {"oci-layout": b'{"imageLayoutVersion": "1.0.0"}'}
    digests = layer_digests or [sha256(b) for b in blobs]
    for blob, digest in zip(blobs, digests, strict=False):
        files[f"blobs/sha256/{digest[7:]}"] = blob
    cfg_obj: Any = base_config(diff_ids)
    cfg = _js(config(cfg_obj) if config else cfg_obj)
    files[f"blobs/sha256/{sha256(cfg)[7:]}"] = cfg
    man_obj: Any = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(cfg), "size": len(cfg)},
        "layers": [
            {"mediaType": GZIP_LAYER, "digest": d, "size": len(b)} for b, d in zip(blobs, digests, strict=False)
        ],
    }
    man = _js(manifest(man_obj) if manifest else man_obj)
    files[f"blobs/sha256/{sha256(man)[7:]}"] = man
    idx_obj: Any = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": sha256(man),
                "size": len(man),
                "annotations": {"org.opencontainers.image.ref.name": "latest"},
                "platform": {"os": "linux", "architecture": "amd64"},
            }
        ],
    }
    files["index.json"] = _js(index(idx_obj) if index else idx_obj)
    files.update(extra or {})
    for name in omit:
        files.pop(name, None)
    return files


def _decompress(blob: bytes) -> bytes:
    if blob.startswith(b"\x1f\x8b"):
        return gzip.decompress(blob)
    if blob.startswith(b"\x28\xb5\x2f\xfd"):
        return zstandard.ZstdDecompressor().decompressobj().decompress(blob)
    return blob


def oci_tar(files: dict[str, bytes]) -> bytes:
    members = [directory("blobs/"), directory("blobs/sha256/")]
    members += [member(name, data) for name, data in sorted(files.items())]
    return tar(*members)


def oci_manifest_digest(files: dict[str, bytes]) -> str:
    return str(json.loads(files["index.json"])["manifests"][0]["digest"])


# -- the corpus ---------------------------------------------------------------------------------------


class _Corpus:
    def __init__(self, dest: str) -> None:
        self.dest = dest
        self.cases: list[Case] = []
        self._names: set[str] = set()

    def _path(self, name: str, suffix: str) -> str:
        assert name not in self._names, name
        self._names.add(name)
        return os.path.join(self.dest, name + suffix)

    def file(self, name: str, data: bytes, ok: bool, expect: str = "", **kw: Any) -> str:
        path = self._path(name, ".tar")
        with open(path, "wb") as f:
            f.write(data)
        self.cases.append(Case(name, path, ok, expect, **kw))
        return path

    def tree(self, name: str, files: dict[str, bytes], ok: bool, expect: str = "", **kw: Any) -> str:
        path = self._path(name, "")
        os.makedirs(path)
        for rel, data in files.items():
            full = os.path.join(path, rel)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(data)
        self.cases.append(Case(name, path, ok, expect, **kw))
        return path

    def ok(self, name: str, data: bytes, **kw: Any) -> None:
        self.file(name, data, True, **kw)

    def bad(self, name: str, data: bytes, expect: str, **kw: Any) -> None:
        self.file(name, data, False, expect, **kw)


def _valid(c: _Corpus) -> None:
    c.ok("valid-docker", docker_archive())
    c.tree("valid-oci-layout", oci_files(), True)
    c.ok("valid-oci-archive", oci_tar(oci_files()))
    c.tree("valid-oci-zstd", oci_files([zst(LAYER0), gz(LAYER1)]), True)
    c.tree("valid-oci-plain", oci_files([LAYER0]), True)
    c.ok("valid-docker-empty-layer", docker_archive([tar()]))
    c.ok(
        "valid-docker-no-verify-wrong-diffid",
        docker_archive(diff_ids=[sha256(b"x"), sha256(b"y")]),
        args=("--no-verify",),
    )
    c.ok("valid-docker-abs-outer-names", docker_archive(before=[member("/./x", b"")]))
    c.tree("valid-oci-nested-index-3", _nested_index(3), True)
    c.tree("valid-oci-duplicate-manifest", oci_files(index=lambda i: {**i, "manifests": i["manifests"] * 2}), True)
    c.ok("valid-docker-ls", docker_archive(), args=("--json",))
    # Two gzip members (as estargz writes) and zero padding after the stream.
    half = len(LAYER0) // 2
    c.tree("valid-oci-gzip-multimember", oci_files([gz(LAYER0[:half]) + gz(LAYER0[half:]) + bytes(100)]), True)


def _nested_index(depth: int, *, self_ref: bool = False) -> dict[str, bytes]:
    files = oci_files()
    digest = oci_manifest_digest(files)
    media = OCI_MANIFEST
    for _ in range(depth):
        size = len(files[f"blobs/sha256/{digest[7:]}"])
        nested = _js(
            {
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": [{"mediaType": media, "digest": digest, "size": size}],
            }
        )
        digest = sha256(nested)
        media = OCI_INDEX
        files[f"blobs/sha256/{digest[7:]}"] = nested
    if self_ref:  # a blob that names itself: it cannot match its own digest, so it is stored under a wrong name
        fake = "sha256:" + "ab" * 32
        files[f"blobs/sha256/{fake[7:]}"] = _js(
            {
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": [{"mediaType": OCI_INDEX, "digest": fake, "size": 1}],
            }
        )
        digest, media = fake, OCI_INDEX
    size = len(files[f"blobs/sha256/{digest[7:]}"])
    files["index.json"] = _js({"schemaVersion": 2, "manifests": [{"mediaType": media, "digest": digest, "size": size}]})
    return files


def _truncations(c: _Corpus) -> None:
    base = docker_archive()
    for i, (off, name, size) in enumerate(walk_tar(base)):
        short = name.rsplit("/", 1)[-1]
        c.bad(f"trunc-outer-header-{i}", base[: off + 100], "truncated")
        c.bad(f"trunc-outer-at-member-{i}", base[:off], "truncated")
        if size:
            c.bad(f"trunc-outer-in-{short}-{i}", base[: off + BLOCK + size // 2], "truncated")
    c.bad("trunc-outer-before-eof-marker", base[: len(base) - 2 * BLOCK], "truncated")
    # Layer tars cut short (the diff_id is recomputed, so only the truncation is wrong).
    for i, (off, _name, size) in enumerate(walk_tar(LAYER0)):
        for label, cut in (("header", off + 200), ("at", off), ("data", off + BLOCK + size // 2)):
            if (label == "data" and not size) or cut == 0:
                continue
            c.bad(f"trunc-layer-{label}-{i}", docker_archive([LAYER0[:cut]]), "truncated")
    c.bad(
        "trunc-layer-in-padding",
        docker_archive([LAYER0[: next(o for o, n, _ in walk_tar(LAYER0) if n == "bin/link") - 10]]),
        "truncated",
    )
    c.bad("trunc-layer-no-eof", docker_archive([LAYER0[: -2 * BLOCK]]), "truncated")
    # Compressed layers cut short: the manifest names the cut blob, so only the stream is wrong.
    blob = gz(LAYER0)
    for cut in (3, 10, 20, len(blob) // 2, len(blob) - 8, len(blob) - 1):
        cut_blob = blob[:cut]
        c.tree(f"trunc-gzip-{cut}", oci_files([cut_blob], diff_ids=[sha256(LAYER0)]), False, "truncated")
    zblob = zst(LAYER0)
    for cut in (5, 12, len(zblob) // 2, len(zblob) - 4, len(zblob) - 1):
        c.tree(f"trunc-zstd-{cut}", oci_files([zblob[:cut]], diff_ids=[sha256(LAYER0)]), False, "truncated")
    # JSON cut short.
    c.bad("trunc-manifest-json", docker_archive(manifest=lambda m: _js(m)[:30]), "manifest.json")
    c.tree("trunc-index-json", oci_files(index=lambda i: _js(i)[:40]), False, "index.json")
    c.tree("trunc-config-json", oci_files(config=lambda x: _js(x)[:50]), False, "invalid JSON")


def _const(raw: bytes) -> Mutator:
    """A mutator that replaces the JSON with ``raw``."""
    return lambda _obj: raw


def _flip(data: bytes, rng: random.Random, lo: int, hi: int) -> bytes:
    out = bytearray(data)
    pos = rng.randrange(lo, hi)
    out[pos] ^= 1 << rng.randrange(8)
    return bytes(out)


def _bitflips(c: _Corpus) -> None:
    rng = random.Random(20240601)
    base = docker_archive()
    headers = [off for off, _, _ in walk_tar(base)]
    for i in range(15):
        off = rng.choice(headers)
        c.bad(f"flip-outer-header-{i}", _flip(base, rng, off, off + BLOCK), "tar header")
    layer_headers = [off for off, _, _ in walk_tar(LAYER0)]
    for i in range(15):
        off = rng.choice(layer_headers)
        c.bad(f"flip-layer-header-{i}", docker_archive([_flip(LAYER0, rng, off, off + BLOCK), LAYER1]), "tar header")
    data_off = next(o for o, n, _ in walk_tar(LAYER0) if n == "bin/big") + BLOCK
    for i in range(10):
        flipped = _flip(LAYER0, rng, data_off, data_off + len(BIG))
        # The config still names the unflipped layer: the diff_id check must catch it ...
        c.bad(
            f"flip-layer-data-{i}",
            docker_archive([flipped, LAYER1], diff_ids=[sha256(LAYER0), sha256(LAYER1)]),
            "diff_id",
        )
        # ... and with the diff_id of the flipped layer it is just another valid image.
        c.ok(f"flip-layer-data-rehashed-{i}", docker_archive([flipped, LAYER1]))
    blob = gz(LAYER0)
    for i in range(20):
        flipped = _flip(blob, rng, 10, len(blob))
        ok = _same_decompressed(flipped, LAYER0)
        c.tree(f"flip-gzip-{i}", oci_files([flipped], diff_ids=[sha256(LAYER0)]), ok, "" if ok else "layer 0")
    zblob = zst(LAYER0)
    for i in range(20):
        flipped = _flip(zblob, rng, 4, len(zblob))
        ok = _same_decompressed(flipped, LAYER0)
        c.tree(f"flip-zstd-{i}", oci_files([flipped], diff_ids=[sha256(LAYER0)]), ok, "" if ok else "layer 0")
    for i in range(6):
        flipped_manifest = _flip(_good_manifest(), rng, 0, 8)
        c.bad(f"flip-manifest-json-{i}", docker_archive(manifest=_const(flipped_manifest)), "manifest.json")


def _same_decompressed(blob: bytes, want: bytes) -> bool:
    """The oracle for flipped compressed blobs: does a reference decoder give the same bytes, without error?"""
    try:
        if blob.startswith(b"\x1f\x8b"):
            d = zlib.decompressobj(31)
            out = d.decompress(blob)
            return d.eof and not d.unused_data.strip(b"\0") and out == want
        if blob.startswith(b"\x28\xb5\x2f\xfd"):
            zd = zstandard.ZstdDecompressor().decompressobj()
            out = zd.decompress(blob)
            return bool(zd.eof) and not zd.unused_data and out == want
    except (zlib.error, zstandard.ZstdError):
        return False
    return False


_DEEP = b"[" * 100_000 + b"]" * 100_000
_BAD_JSON: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("garbage", b"not json at all"),
    ("deep", _DEEP),
    ("deep-objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
    ("bad-utf8", b'[{"Config": "\xff\xfe.json"}]'),
    ("huge-int", b"[" + b"9" * 100_000 + b"]"),
    ("nul", b"\x00" * 10),
    ("trailing", b"[] []"),
]


def _json_cases(c: _Corpus) -> None:
    for label, raw in _BAD_JSON:
        c.bad(f"json-manifest-{label}", docker_archive(manifest=_const(raw)), "manifest.json")
        c.tree(f"json-index-{label}", oci_files(index=_const(raw)), False, "index.json")
        c.tree(f"json-config-{label}", oci_files(config=_const(raw)), False, "")
        c.bad(f"json-docker-config-{label}", docker_archive(config=_const(raw)), ".json")
        c.tree(f"json-oci-manifest-{label}", oci_files(manifest=_const(raw)), False, "")
    # Wrong types in manifest.json.
    wrong_manifest: list[tuple[str, Mutator, str]] = [
        ("object", lambda m: m[0], "must be a list"),
        ("null", lambda m: None, "must be a list"),
        ("string", lambda m: "manifest", "must be a list"),
        ("entry-number", lambda m: [1], "must be an object"),
        ("entry-list", lambda m: [[m[0]]], "must be an object"),
        ("config-number", lambda m: [{**m[0], "Config": 5}], "Config"),
        ("config-null", lambda m: [{**m[0], "Config": None}], "Config"),
        ("config-list", lambda m: [{**m[0], "Config": [m[0]["Config"]]}], "Config"),
        ("repotags-string", lambda m: [{**m[0], "RepoTags": "a:b"}], "RepoTags"),
        ("repotags-number", lambda m: [{**m[0], "RepoTags": [5]}], "RepoTags"),
        ("layers-string", lambda m: [{**m[0], "Layers": "x/layer.tar"}], "Layers"),
        ("layers-null", lambda m: [{**m[0], "Layers": None}], "Layers"),
        ("layers-number", lambda m: [{**m[0], "Layers": [1, 2]}], "Layers"),
        ("layers-object", lambda m: [{**m[0], "Layers": {"a": 1}}], "Layers"),
        ("layersources-list", lambda m: [{**m[0], "LayerSources": [1]}], "LayerSources"),
        ("too-few-layers", lambda m: [{**m[0], "Layers": m[0]["Layers"][:1]}], "diff_ids"),
        ("empty", lambda m: [], "no image"),
        ("config-traversal", lambda m: [{**m[0], "Config": "../../../../etc/passwd"}], "missing"),
        ("config-absolute", lambda m: [{**m[0], "Config": "/etc/passwd"}], "missing"),
        ("config-dir", lambda m: [{**m[0], "Config": m[0]["Layers"][0].split("/")[0]}], "missing"),
        (
            "layer-traversal",
            lambda m: [{**m[0], "Layers": ["../../../etc/passwd", m[0]["Layers"][1]]}],
            "not in the image",
        ),
        ("config-newline", lambda m: [{**m[0], "Config": "a\nimgscope: error: b.json"}], "missing"),
        ("config-escape", lambda m: [{**m[0], "Config": "\x1b[2J\x1b]0;title\x07.json"}], "missing"),
        ("layer-newline", lambda m: [{**m[0], "Layers": ["x\ny/layer.tar", m[0]["Layers"][1]]}], "not in the image"),
        ("layer-missing", lambda m: [{**m[0], "Layers": ["nope/layer.tar", m[0]["Layers"][1]]}], "not in the image"),
        (
            "foreign-layer",
            lambda m: [
                {
                    **m[0],
                    "Layers": ["nope/layer.tar", m[0]["Layers"][1]],
                    "LayerSources": {sha256(LAYER0): {"urls": ["https://example.invalid/l"]}},
                }
            ],
            "foreign",
        ),
    ]
    for label, mutate, expect in wrong_manifest:
        c.bad(f"manifest-{label}", docker_archive(manifest=mutate), expect)
    c.ok("manifest-extra-fields", docker_archive(manifest=lambda m: [{**m[0], "Extra": {"x": [1]}, "Parent": 5}]))
    c.ok("manifest-layersources-junk", docker_archive(manifest=lambda m: [{**m[0], "LayerSources": {"a": 1}}]))

    wrong_config: list[tuple[str, Mutator, str]] = [
        ("list", lambda x: [x], "must be an object"),
        ("null", lambda x: None, "must be an object"),
        ("number", lambda x: 42, "must be an object"),
        ("rootfs-list", lambda x: {**x, "rootfs": []}, "rootfs"),
        ("rootfs-null", lambda x: {**x, "rootfs": None}, "rootfs"),
        ("diffids-string", lambda x: {**x, "rootfs": {"diff_ids": "sha256:00"}}, "diff_ids"),
        ("diffids-number", lambda x: {**x, "rootfs": {"diff_ids": [5]}}, "diff_ids"),
        ("diffids-bad", lambda x: {**x, "rootfs": {"diff_ids": ["sha256:../../etc/passwd"]}}, "diff_ids"),
        (
            "diffids-upper",
            lambda x: {**x, "rootfs": {"diff_ids": [d.upper() for d in x["rootfs"]["diff_ids"]]}},
            "diff_ids",
        ),
        ("history-object", lambda x: {**x, "history": {"a": 1}}, "history"),
        ("history-number", lambda x: {**x, "history": [1]}, "history"),
        ("history-empty-layer-str", lambda x: {**x, "history": [{"empty_layer": "yes"}]}, "empty_layer"),
        ("history-created-by-num", lambda x: {**x, "history": [{"created_by": 5}]}, "created_by"),
        ("config-config-list", lambda x: {**x, "config": []}, "config.config"),
        (
            "diffids-too-many",
            lambda x: {**x, "rootfs": {"diff_ids": [*x["rootfs"]["diff_ids"], sha256(b"")]}},
            "diff_ids",
        ),
        ("diffids-huge-list", lambda x: {**x, "rootfs": {"diff_ids": [sha256(b"")] * 100_000}}, "diff_ids"),
    ]
    for label, mutate, expect in wrong_config:
        c.bad(f"config-{label}", docker_archive(config=mutate), expect)
        c.tree(f"oci-config-{label}", oci_files(config=mutate), False, expect)
    c.ok("config-history-mismatch", docker_archive(config=lambda x: {**x, "history": []}))
    c.ok("config-os-number", docker_archive(config=lambda x: {**x, "os": 5, "architecture": [1], "variant": {}}))
    c.ok("config-huge-numbers", docker_archive(config=lambda x: {**x, "size": 10**400, "f": 1e308, "created": None}))
    # a RUN line of one long word (a base64 blob): masking secret-looking values in it took time in the square of
    # its length (30,000 characters: over a minute)
    long_run = [{"created_by": "RUN echo " + "x" * 100_000 + " A_TOKEN=" + "y" * 100_000}]
    c.ok("config-history-long-word", docker_archive(config=lambda x: {**x, "history": long_run + x["history"][1:]}))

    wrong_index: list[tuple[str, Mutator, str]] = [
        ("list", lambda i: [i], "must be an object"),
        ("null", lambda i: None, "must be an object"),
        ("manifests-object", lambda i: {**i, "manifests": {}}, "manifests"),
        ("manifests-null", lambda i: {**i, "manifests": None}, "manifests"),
        ("manifest-entry-number", lambda i: {**i, "manifests": [5]}, "manifests[]"),
        ("digest-number", lambda i: {**i, "manifests": [{**i["manifests"][0], "digest": 5}]}, "digest"),
        ("digest-null", lambda i: {**i, "manifests": [{**i["manifests"][0], "digest": None}]}, "digest"),
        (
            "digest-traversal",
            lambda i: {**i, "manifests": [{**i["manifests"][0], "digest": "sha256:../../etc/passwd"}]},
            "digest",
        ),
        (
            "digest-traversal-hexlen",
            lambda i: {**i, "manifests": [{**i["manifests"][0], "digest": "sha256:" + "../" * 21 + "a"}]},
            "digest",
        ),
        (
            "digest-other-algo",
            lambda i: {**i, "manifests": [{**i["manifests"][0], "digest": "md5:" + "0" * 32}]},
            "digest",
        ),
        (
            "digest-newline",
            lambda i: {**i, "manifests": [{**i["manifests"][0], "digest": i["manifests"][0]["digest"] + "\n"}]},
            "digest",
        ),
        ("mediatype-number", lambda i: {**i, "manifests": [{**i["manifests"][0], "mediaType": 5}]}, "mediaType"),
        ("annotations-list", lambda i: {**i, "manifests": [{**i["manifests"][0], "annotations": [1]}]}, "annotations"),
        (
            "platform-string",
            lambda i: {**i, "manifests": [{**i["manifests"][0], "platform": "linux/amd64"}]},
            "platform",
        ),
        (
            "missing-manifest",
            lambda i: {**i, "manifests": [{**i["manifests"][0], "digest": "sha256:" + "0" * 64}]},
            "not in the",
        ),
        (
            "missing-sha512",
            lambda i: {**i, "manifests": [{**i["manifests"][0], "digest": "sha512:" + "0" * 128}]},
            "not in the",
        ),
        ("empty", lambda i: {"schemaVersion": 2, "manifests": []}, "no image"),
    ]
    for label, mutate, expect in wrong_index:
        c.tree(f"index-{label}", oci_files(index=mutate), False, expect)
    c.tree(
        "index-annotations-nested",
        oci_files(index=lambda i: {**i, "manifests": [{**i["manifests"][0], "annotations": {"a": {"b": [1]}}}]}),
        True,
    )
    c.tree(
        "index-platform-junk",
        oci_files(index=lambda i: {**i, "manifests": [{**i["manifests"][0], "platform": {"os": 5}}]}),
        True,
    )

    wrong_oci_manifest: list[tuple[str, Mutator, str]] = [
        ("list", lambda m: [m], "must be an object"),
        ("config-list", lambda m: {**m, "config": []}, "config"),
        ("config-missing", lambda m: {k: v for k, v in m.items() if k != "config"}, "config"),
        (
            "config-digest-traversal",
            lambda m: {**m, "config": {"digest": "sha256:../../../etc/passwd"}},
            "config.digest",
        ),
        ("config-digest-absent", lambda m: {**m, "config": {"digest": "sha256:" + "1" * 64}}, "config is missing"),
        ("layers-object", lambda m: {**m, "layers": {}}, "layers"),
        ("layers-number", lambda m: {**m, "layers": [5]}, "layers[]"),
        (
            "layer-digest-traversal",
            lambda m: {**m, "layers": [{**m["layers"][0], "digest": "sha256:/etc/passwd"}]},
            "digest",
        ),
        (
            "layer-digest-absent",
            lambda m: {**m, "layers": [{**m["layers"][0], "digest": "sha256:" + "2" * 64}]},
            "not in the image",
        ),
        ("layer-mediatype-list", lambda m: {**m, "layers": [{**m["layers"][0], "mediaType": []}]}, "mediaType"),
        # not an image layer: refused as the registry reader refuses it
        (
            "layer-mediatype-html",
            lambda m: {**m, "layers": [{**m["layers"][0], "mediaType": "text/html"}]},
            "text/html",
        ),
        (
            "layer-mediatype-config",
            lambda m: {**m, "layers": [{**m["layers"][0], "mediaType": "application/vnd.oci.image.config.v1+json"}]},
            "not an image layer",
        ),
        ("layers-extra", lambda m: {**m, "layers": m["layers"] * 2}, "diff_ids"),
    ]
    for label, mutate, expect in wrong_oci_manifest:
        c.tree(f"oci-manifest-{label}", oci_files(manifest=mutate), False, expect)
    c.tree(
        "oci-manifest-size-junk",
        oci_files(manifest=lambda m: {**m, "layers": [{**m["layers"][0], "size": "big"}]}),
        False,
        "size must be an integer",
    )


def _digests(c: _Corpus) -> None:
    other = sha256(b"something else")
    c.bad("digest-diffid-docker", docker_archive(diff_ids=[other, sha256(LAYER1)]), "diff_id")
    c.tree("digest-diffid-oci", oci_files(diff_ids=[other]), False, "diff_id")
    wrong = gz(LAYER0 + bytes(BLOCK))  # same diff_id? no: one more zero block; blob digest differs anyway
    c.tree(
        "digest-blob-oci",
        oci_files([wrong], diff_ids=[sha256(LAYER0 + bytes(BLOCK))], layer_digests=[sha256(gz(LAYER0))]),
        False,
        "digest",
    )
    files = oci_files()
    cfg_name = next(n for n, d in files.items() if n.startswith("blobs/") and b"rootfs" in d)
    files[cfg_name] = files[cfg_name].replace(b"amd64", b"arm64")
    c.tree("digest-config-oci", files, False, "does not match its digest")
    files = oci_files()
    man_name = "blobs/sha256/" + oci_manifest_digest(files)[7:]
    files[man_name] = files[man_name] + b" "
    c.tree("digest-manifest-oci", files, False, "does not match its digest")
    c.tree("index-self-reference", _nested_index(1, self_ref=True), False, "does not match its digest")
    c.tree("index-nested-too-deep", _nested_index(20), False, "nested too deeply")
    c.tree("index-nested-at-limit", _nested_index(9), False, "nested too deeply")


def _names(c: _Corpus) -> None:
    def layer(*members: bytes) -> bytes:
        return docker_archive([tar(*members)])

    c.bad("layer-dotdot", layer(member("../evil", b"x")), "escapes the image root")
    c.bad("layer-dotdot-deep", layer(member("a/../../evil", b"x")), "escapes the image root")
    c.bad("layer-dotdot-pax", layer(pax({"path": "../../etc/passwd"}), member("x", b"x")), "escapes the image root")
    c.bad("layer-dotdot-longname", layer(member("././@LongLink", b"../../x\0", b"L"), member("x", b"x")), "escapes")
    c.ok("layer-absolute", layer(member("/etc/passwd", b"root:x:0:0\n")))
    c.ok("layer-dot-names", layer(directory("./"), member("./a", b"1"), directory("."), member("a/../b", b"2")))
    c.bad(
        "outer-dotdot-manifest",
        docker_archive(omit=frozenset({"manifest.json"}), after=[member("../manifest.json", b"[]")]),
        "neither manifest.json",
    )
    c.ok(
        "outer-absolute-manifest",
        docker_archive(omit=frozenset({"manifest.json"}), after=[member("/manifest.json", _good_manifest())]),
    )
    c.bad(
        "outer-symlink-loop",
        docker_archive(
            omit=frozenset({"manifest.json"}),
            after=[symlink("manifest.json", "a"), symlink("a", "b"), symlink("b", "a")],
        ),
        "manifest.json",
    )
    c.bad(
        "outer-symlink-self",
        docker_archive(omit=frozenset({"manifest.json"}), after=[symlink("manifest.json", "manifest.json")]),
        "manifest.json",
    )
    c.bad(
        "outer-symlink-escape",
        docker_archive(omit=frozenset({"manifest.json"}), after=[symlink("manifest.json", "../../../../etc/passwd")]),
        "manifest.json",
    )
    c.bad(
        "outer-symlink-absolute",
        docker_archive(omit=frozenset({"manifest.json"}), after=[symlink("manifest.json", "/etc/passwd")]),
        "manifest.json",
    )
    c.ok(
        "outer-symlink-ok",
        docker_archive(
            omit=frozenset({"manifest.json"}),
            after=[member("real/m.json", _good_manifest()), symlink("manifest.json", "real/m.json")],
        ),
    )
    c.ok(
        "outer-hardlink-ok",
        docker_archive(
            omit=frozenset({"manifest.json"}),
            after=[member("m.json", _good_manifest()), hardlink("manifest.json", "m.json")],
        ),
    )
    c.bad(
        "outer-hardlink-missing",
        docker_archive(omit=frozenset({"manifest.json"}), after=[hardlink("manifest.json", "nothing")]),
        "manifest.json",
    )
    c.bad(
        "outer-hardlink-dir",
        docker_archive(omit=frozenset({"manifest.json"}), after=[directory("d/"), hardlink("manifest.json", "d")]),
        "manifest.json",
    )
    long_loop = [symlink(f"l{i}", f"l{i + 1}") for i in range(100)] + [
        symlink("l100", "l0"),
        symlink("manifest.json", "l0"),
    ]
    c.bad(
        "outer-symlink-long-loop", docker_archive(omit=frozenset({"manifest.json"}), after=long_loop), "manifest.json"
    )
    c.ok("outer-duplicate-manifest", docker_archive(before=[member("manifest.json", b"garbage")]))
    c.ok("outer-non-utf8-member", docker_archive(before=[member(b"\xff\xfe\xfd", b"x")]))
    # Layers: links.
    c.bad("layer-symlink-loop", layer(symlink("a", "b"), symlink("b", "a"), member("a/x", b"1")), "symbolic links")
    c.bad("layer-symlink-self", layer(symlink("a", "a"), member("a/x", b"1")), "symbolic links")
    c.bad(
        "layer-symlink-loop-deep",
        layer(symlink("a", "b/c"), symlink("b", "a/d"), member("a/x/y", b"1")),
        "symbolic links",
    )
    c.ok("layer-symlink-out-of-root", layer(symlink("evil", "../../../../etc"), member("evil/passwd", b"x")))
    c.ok("layer-symlink-absolute", layer(symlink("evil", "/etc"), member("evil/passwd", b"x")))
    c.ok("layer-symlink-dangling", layer(symlink("a", "/nonexistent/x")))
    c.bad("layer-hardlink-missing", layer(hardlink("a", "nothing")), "points to missing")
    c.bad("layer-hardlink-dir", layer(directory("d/"), hardlink("a", "d")), "directory")
    c.bad("layer-hardlink-escape", layer(member("x", b"1"), hardlink("a", "../x")), "out of the image root")
    c.bad("layer-hardlink-root", layer(hardlink("a", "/")), "root directory")
    c.ok("layer-hardlink-self", layer(member("a", b"1"), hardlink("a", "a")))
    c.ok("layer-hardlink-absolute", layer(member("x", b"1"), hardlink("a", "/x")))
    c.bad("layer-hardlink-later", layer(hardlink("a", "b"), member("b", b"1")), "points to missing")
    c.bad("layer-file-then-below", layer(member("a", b"1"), member("a/b", b"2")), "not a directory")
    c.ok(
        "layer-duplicates",
        layer(member("a", b"1"), member("a", b"22"), directory("d/"), directory("d/"), member("a", b"3")),
    )
    c.ok("layer-non-utf8", layer(member(b"caf\xe9", b"1"), symlink(b"l\xff", b"\xfe")))
    c.ok("layer-pax-non-utf8", layer(pax({"path": b"\xff\xfe/\x80"}), member("x", b"1")))
    c.ok(
        "layer-unknown-types",
        layer(member("z", b"abc", b"Z"), header("c", 0, b"3"), header("f", 0, b"6"), header("b", 0, b"4")),
    )
    c.ok("layer-whiteouts-odd", layer(member(".wh..wh..opq"), member(".wh.nothing"), member("x/.wh..wh..opq")))


def _good_manifest() -> bytes:
    arch = docker_archive()
    for off, name, size in walk_tar(arch):
        if name == "manifest.json":
            return arch[off + BLOCK : off + BLOCK + size]
    raise AssertionError("no manifest.json")


def _headers(c: _Corpus) -> None:
    def layer(*members: bytes) -> bytes:
        return docker_archive([tar(*members)])

    huge_octal = b"77777777777\0"
    huge_b256 = bytes([0x80]) + (2**88 - 1).to_bytes(11, "big")
    neg_b256 = bytes([0xFF]) * 12
    for label, field in (
        ("octal", huge_octal),
        ("base256", huge_b256),
        ("negative", neg_b256),
        ("garbage", b"abcdefghijk\0"),
    ):
        expect = {"negative": "negative size", "garbage": "bad size"}.get(label, "truncated")
        c.bad(f"size-layer-{label}", layer(header("big", size_field=field), b"x" * BLOCK), expect)
        c.bad(f"size-outer-{label}", tar(header("manifest.json", size_field=field), b"[]".ljust(BLOCK, b"\0")), expect)
    c.bad("size-outer-huge-config", docker_archive(before=[header("x", size_field=huge_octal)]), "truncated")
    c.bad("checksum-outer-bad", tar(header("manifest.json", 2, checksum=b"0000000\0"), pad(b"[]")), "checksum")
    c.bad("checksum-layer-bad", layer(header("a", 1, checksum=b"1234567\0"), pad(b"x")), "checksum")
    c.bad("checksum-layer-garbage", layer(header("a", 1, checksum=b"zzzzzzz\0"), pad(b"x")), "checksum")
    bad_fields = {"mode": (100, 108), "uid": (108, 116), "gid": (116, 124)}
    for label, (lo, hi) in bad_fields.items():
        block = bytearray(header("a", 1))
        block[lo:hi] = b"9" * (hi - lo - 1) + b"\0"
        block[148:156] = b" " * 8
        block[148:156] = f"{sum(block):06o}".encode() + b"\0 "
        c.bad(f"field-layer-{label}", layer(bytes(block), pad(b"x")), label)
    # PAX headers.
    pax_cases: list[tuple[str, bytes, str]] = [
        ("size-negative", pax({"size": "-1"}), "size"),
        ("size-abc", pax({"size": "abc"}), "size"),
        ("size-superscript", pax({"size": "\u00b2"}), "size"),
        ("size-arabic", pax({"size": "\u0663"}), "size"),
        ("size-huge", pax({"size": "9" * 30}), "truncated"),
        ("size-empty", pax({"size": ""}), "size"),
        ("uid-superscript", pax({"uid": "\u00b9"}), "uid"),
        ("uid-negative", pax({"uid": "-5"}), "uid"),
        ("record-length-short", pax(b"5 path=abc\n"), "PAX record"),
        ("record-length-long", pax(b"99 path=abc\n"), "PAX record"),
        ("record-length-huge", pax(b"99999999999999999999999 path=abc\n"), "PAX record"),
        ("record-length-negative", pax(b"-12 path=abc\n"), "PAX record"),
        ("record-length-nonnumber", pax(b"xx path=abc\n"), "PAX record"),
        ("record-no-equals", pax(b"11 pathabc\n"), "PAX record"),
        ("record-no-space", pax(b"11pathabcde\n"), "PAX record"),
        ("record-length-underscore", pax(b"1_2 path=ab\n"), "PAX record"),
        ("record-length-plus", pax(b"+12 path=ab\n"), "PAX record"),
        (
            "header-huge",
            header("PaxHeader", 0, b"x", size_field=bytes([0x80]) + (1 << 40).to_bytes(11, "big")),
            "extended tar header",
        ),
        ("header-huge-gnu", header("././@LongLink", 1 << 30, b"L"), "extended tar header"),
        ("header-truncated", header("PaxHeader", 5000, b"x") + pad(b"10 path=a\n"), "truncated"),
        ("global-size-bad", pax({"size": "-1"}, b"g"), "size"),
        ("alone", b"", "extended header without a member"),
    ]
    for label, ext, expect in pax_cases:
        if label == "alone":
            c.bad(f"pax-{label}", layer(pax({"path": "x"})), expect)
        else:
            c.bad(f"pax-{label}", layer(ext, member("x", b"data")), expect)
    c.ok("pax-global-comment", layer(pax({"comment": "hi"}, b"g"), member("x", b"data"), member("y", b"d")))
    c.ok("pax-long-path", layer(pax({"path": "d/" * 200 + "f"}), member("x", b"data")))
    c.ok("pax-long-linkpath", layer(pax({"linkpath": "t" * 5000}), symlink("x", "t")))
    c.ok("pax-nul-padding", layer(pax(pax_record("path", "p") + bytes(20)), member("x", b"d")))
    c.bad("pax-outer-bad", tar(pax({"size": "zz"}), member("manifest.json", b"[]")), "size")
    c.bad("gnu-longname-alone", layer(member("././@LongLink", b"name\0", b"L")), "extended header without a member")
    # Sizes that are fine: a header declares a size its data really has.
    c.ok(
        "size-layer-base256-small",
        layer(header("b", size_field=bytes([0x80]) + (5).to_bytes(11, "big")), pad(b"12345")),
    )


def _compression(c: _Corpus) -> None:
    for label, blob in (
        ("bzip2", bz2.compress(LAYER0)),
        ("xz", lzma.compress(LAYER0)),
        ("lz4-magic", b"\x04\x22\x4d\x18" + bytes(100)),
    ):
        c.tree(f"compression-{label}", oci_files([blob], diff_ids=[sha256(LAYER0)]), False, "compressed layer")
        c.bad(f"compression-{label}-docker", docker_archive([blob], diff_ids=[sha256(LAYER0)]), "compressed layer")
    # A compressed save is read as one stream (imgscope.sources.stream_archive); cut short, it is one line.
    c.ok("outer-gzip", gz(docker_archive()))
    c.ok("outer-zstd", zst(docker_archive()))
    c.ok("outer-xz", lzma.compress(docker_archive()))
    c.ok("outer-gzip-oci", gz(oci_tar(oci_files())))
    c.bad("outer-gzip-cut", gz(docker_archive())[:-40], "truncated gzip")
    c.bad("outer-zstd-cut", zst(docker_archive())[:-40], "truncated zstd")
    c.bad("outer-xz-cut", lzma.compress(docker_archive())[:-40], "xz")
    c.bad("outer-gzip-not-tar", gz(b"hello, not a tar\n" * 100), "not a tar")
    c.bad("outer-bzip2", bz2.compress(docker_archive()), "not a valid tar")
    c.tree("layer-empty-blob", oci_files([b""], diff_ids=[sha256(b"")]), False, "empty layer blob")
    c.bad("layer-empty-blob-docker", docker_archive([b""], diff_ids=[sha256(b"")]), "empty layer blob")
    c.bad("layer-not-tar", docker_archive([b"hello, this is not a tar file\n" * 40]), "tar header")
    c.tree("layer-gzip-garbage-after", oci_files([gz(LAYER0) + b"garbage!"], diff_ids=[sha256(LAYER0)]), False, "gzip")
    c.tree("layer-zstd-bad-window", oci_files([_zstd_huge_window()], diff_ids=[sha256(LAYER0)]), False, "zstd")
    # zstd streams of other shapes: several frames, skippable frames, raw (incompressible) blocks.
    noise = random.Random(7).randbytes(300_000)
    noisy = tar(member("noise", noise), member("small", b"x"))
    skippable = b"\x50\x2a\x4d\x18" + (5).to_bytes(4, "little") + b"hello"
    half = len(noisy) // 2
    for label, zblob in (
        ("frames", zst(noisy[:half]) + zst(noisy[half:])),
        ("skippable", skippable + zst(noisy) + skippable),
        ("raw-blocks", zstandard.ZstdCompressor(level=1).compress(noisy)),
        ("no-content-size", zstandard.ZstdCompressor(write_content_size=False).compress(noisy)),
    ):
        c.tree(f"valid-zstd-{label}", oci_files([zblob], diff_ids=[sha256(noisy)]), True)
    for label, zblob in (
        ("skippable", zst(noisy) + skippable[:-2]),
        ("second-frame", zst(noisy[:half]) + zst(noisy[half:])[:100]),
        ("raw-block", zstandard.ZstdCompressor(level=1).compress(noisy)[:-1000]),
        ("magic-only", zst(noisy) + b"\x28\xb5\x2f\xfd"),
    ):
        c.tree(f"trunc-zstd-{label}", oci_files([zblob], diff_ids=[sha256(noisy)]), False, "truncated")
    c.tree("layer-trailing-junk-plain", oci_files([LAYER0 + b"\x01" * 100]), True)
    # Data after the end-of-archive marker, beyond the 16 MiB allowed: refused, quickly.
    trailing = gz(LAYER0 + bytes(64 * MIB))
    c.tree(
        "layer-trailing-zeros-gzip",
        oci_files([trailing], diff_ids=[sha256(LAYER0 + bytes(64 * MIB))]),
        False,
        "after the end of the tar",
    )


def _zstd_huge_window() -> bytes:
    # A frame header asking for a 2 GiB window (Window_Descriptor exponent 21): decoders must refuse it.
    frame = bytearray(zst(LAYER0))
    # Frame header descriptor: keep the checksum flag, drop single-segment (so a window descriptor is present).
    fhd = frame[4]
    if fhd & 0x20:  # single segment: rebuild a frame without it is complicated; write one by hand instead
        frame = bytearray(
            zstandard.ZstdCompressor(level=3, write_content_size=False, write_checksum=True).compress(LAYER0)
        )
        fhd = frame[4]
    assert not fhd & 0x20
    frame[5] = 31 << 3  # window log 10 + 31 = 41
    return bytes(frame)


def _bombs(c: _Corpus) -> None:
    # gzip: 1 GiB of zeros in one member, written as 1024 concatenated gzip members of 1 MiB each
    # (about 1 MiB on disk). gzip cannot pass a ratio of about 1032:1, so Limits lets it through:
    # imgscope must read it all in bounded memory and time. The diff_id is wrong on purpose, so the
    # result is a digest error after the whole stream was read.
    size = GIB
    one = gz(bytes(MIB))
    blob = gz(header("zeros", size)) + one * (size // MIB) + gz(bytes(2 * BLOCK))
    c.tree("bomb-gzip-1g", oci_files([blob], diff_ids=[sha256(b"not it")]), False, "diff_id", heavy=True)
    # zstd: 4 GiB of zeros in a few hundred KiB: read through in bounded memory (no ratio is refused: a layer
    # of zeros is valid), then the wrong diff_id is the error.
    zsize = 4 * GIB
    zc = zstandard.ZstdCompressor(level=1)
    chunk = zc.compress(bytes(64 * MIB))
    zblob = zst(header("zeros", zsize)) + chunk * (zsize // (64 * MIB)) + zst(bytes(2 * BLOCK))
    c.tree("bomb-zstd-4g", oci_files([zblob], diff_ids=[sha256(b"not it")]), False, "diff_id", heavy=True)


def _strict(c: _Corpus) -> None:
    """Where the OCI image spec says MUST: descriptor sizes, schemaVersion, UTF-8 JSON (issue 11)."""

    def layer_size(value: Any) -> Mutator:
        return lambda m: {**m, "layers": [{**m["layers"][0], "size": value}]}

    blob_len = len(gz(LAYER0))
    for label, value, expect in [
        ("string", str(blob_len), "size must be an integer"),
        ("float", float(blob_len), "size must be an integer"),
        ("bool", True, "size must be an integer"),
        ("huge", 1 << 64, "out of range"),
        ("negative", -1, "out of range"),
        ("larger", blob_len + 1, f"the blob has {blob_len}"),
        ("smaller", blob_len - 1, f"the blob has {blob_len}"),
    ]:
        c.tree(f"strict-layer-size-{label}", oci_files(manifest=layer_size(value)), False, expect)
    c.tree(
        "strict-config-size-wrong",
        oci_files(manifest=lambda m: {**m, "config": {**m["config"], "size": m["config"]["size"] + 7}}),
        False,
        "config.size",
    )
    c.tree(
        "strict-manifest-size-wrong",
        oci_files(index=lambda i: {**i, "manifests": [{**i["manifests"][0], "size": 3}]}),
        False,
        "manifests[].size",
    )
    c.tree(
        "strict-manifest-size-string",
        oci_files(index=lambda i: {**i, "manifests": [{**i["manifests"][0], "size": "1005"}]}),
        False,
        "size must be an integer",
    )
    c.tree("strict-index-schema-string", oci_files(index=lambda i: {**i, "schemaVersion": "2"}), False, "schemaVersion")
    c.tree("strict-index-schema-1", oci_files(index=lambda i: {**i, "schemaVersion": 1}), False, "schemaVersion")
    c.tree(
        "strict-manifest-schema-string",
        oci_files(manifest=lambda m: {**m, "schemaVersion": "2"}),
        False,
        "schemaVersion",
    )
    utf16 = _js(oci_files_index_obj()).decode().encode("utf-16")  # with a byte order mark
    c.tree("strict-index-utf16-bom", oci_files(index=_const(utf16)), False, "not UTF-8")
    c.tree("strict-index-utf16-no-bom", oci_files(index=_const(utf16[2:])), False, "not UTF-8")
    c.tree(
        "strict-manifest-utf16-bom",
        oci_files(manifest=lambda m: json.dumps(m).encode("utf-16")),
        False,
        "not UTF-8",
    )
    c.bad(
        "strict-docker-manifest-utf16-bom",
        docker_archive(manifest=lambda m: json.dumps(m).encode("utf-16")),
        "not UTF-8",
    )
    c.tree("strict-index-utf8-bom", oci_files(index=lambda i: b"\xef\xbb\xbf" + _js(i)), True)


def oci_files_index_obj() -> Any:
    """The index.json object ``oci_files()`` writes, parsed back."""
    return json.loads(oci_files()["index.json"])


def _zeros(c: _Corpus) -> None:
    # A valid image: one file of 3 GiB of zeros as a zstd layer of about 100 KiB (a ratio far above 2000:1).
    # Streaming bounds its memory; it is not refused for its ratio (the spec does not bound it).
    size = 3 * GIB
    zc = zstandard.ZstdCompressor(level=1)
    chunk = zc.compress(bytes(64 * MIB))
    head, tail = header("zeros", size), bytes(2 * BLOCK)
    blob = zst(head) + chunk * (size // (64 * MIB)) + zst(tail)
    h = hashlib.sha256(head)
    zero = bytes(64 * MIB)
    for _ in range(size // (64 * MIB)):
        h.update(zero)
    h.update(tail)
    c.tree("zstd-zeros-3g-valid", oci_files([blob], diff_ids=["sha256:" + h.hexdigest()]), True, heavy=True)


def _shapes(c: _Corpus) -> None:
    c.bad("input-zero-bytes", b"", "not a valid tar")
    c.bad("input-text", b"hello world\n" * 100, "not a valid tar")
    c.bad("input-one-block-garbage", b"\x01" * BLOCK, "checksum")
    c.bad("input-empty-tar", tar(), "neither manifest.json nor index.json")
    c.bad("input-only-zero-block", bytes(BLOCK), "neither manifest.json nor index.json")
    c.bad("input-json", b'[{"Config": "x"}]', "not a valid tar")
    c.tree("input-empty-dir", {}, False, "neither manifest.json nor index.json")
    c.tree("input-dir-oci-layout-only", {"oci-layout": b"{}"}, False, "neither")
    c.tree("input-dir-zero-index", {"index.json": b""}, False, "index.json")
    files = oci_files()
    for name in [n for n in files if n.startswith("blobs/")][:3]:
        smaller = dict(files)
        del smaller[name]
        c.tree(f"missing-blob-{name[-8:]}", smaller, False, "")
    c.bad("missing-docker-config", docker_archive(omit=frozenset({"config"})), "missing")
    c.bad("missing-docker-layers", docker_archive(omit=frozenset({"layers"})), "not in the image")
    # Deep paths: no Linux path is longer than PATH_MAX (4096 bytes), so deeper ones are refused by name, and
    # the deepest legal ones (2,000 components) must analyze.
    deep = "a/" * 10_000 + "f"
    c.bad("deep-path-one-member", docker_archive([tar(pax({"path": deep}), member("x", b"data"))]), "PATH_MAX")
    c.ok("deep-path-2000", docker_archive([tar(pax({"path": "a/" * 2_000 + "f"}), member("x", b"data"))]))
    members = []
    for depth in range(1, 10_001):
        members.append(pax({"path": "d/" * depth}))
        members.append(directory("x/"))
    c.bad("deep-tree-10000", docker_archive([tar(*members)]), "PATH_MAX")
    c.ok("deep-tree-2000", docker_archive([tar(*members[: 2 * 2_000])]), heavy=True)
    many = [member(f"f{i}", b"") for i in range(20_000)]
    c.ok("many-empty-files", docker_archive([tar(*many)]), heavy=True)
    # dpkg file lists of 40 million short lines (120 MB each, 126 kB gzipped): held as path strings they took
    # 6 GB; read up to a line budget, with a note
    status = b"".join(b"Package: p%d\nStatus: install ok installed\nVersion: 1\n\n" % i for i in range(3))
    lists = [member(f"var/lib/dpkg/info/p{i}.list", b"/a\n" * (40 << 20)) for i in range(3)]
    dpkg = tar(member("var/lib/dpkg/status", status), *lists)
    c.ok("dpkg-file-lists-40m-lines", docker_archive([gzip.compress(dpkg, 1)], diff_ids=[sha256(dpkg)]), heavy=True)


def _dir_specials(c: _Corpus) -> None:
    files = oci_files()
    path = c.tree("dir-symlink-escape-index", {k: v for k, v in files.items() if k != "index.json"}, False, "neither")
    os.symlink("/etc/passwd", os.path.join(path, "index.json"))
    path = c.tree("dir-symlink-loop-index", {k: v for k, v in files.items() if k != "index.json"}, False, "neither")
    os.symlink("a", os.path.join(path, "index.json"))
    os.symlink("index.json", os.path.join(path, "a"))
    path = c.tree("dir-fifo-index", {k: v for k, v in files.items() if k != "index.json"}, False, "neither")
    os.mkfifo(os.path.join(path, "index.json"))
    layer_blob = "blobs/sha256/" + sha256(gz(LAYER0))[7:]
    path = c.tree("dir-fifo-layer", {k: v for k, v in files.items() if k != layer_blob}, False, "not in the image")
    os.mkfifo(os.path.join(path, layer_blob))
    path = c.tree("dir-dir-index", {k: v for k, v in files.items() if k != "index.json"}, False, "neither")
    os.mkdir(os.path.join(path, "index.json"))
    path = c.tree("dir-sparse-index", {k: v for k, v in files.items() if k != "index.json"}, False, "allowed")
    with open(os.path.join(path, "index.json"), "wb") as f:
        f.truncate(100 * MIB)
    sized = oci_files(manifest=lambda m: {**m, "layers": [{**m["layers"][0], "size": 8 * GIB}]})
    path = c.tree(
        "dir-sparse-layer", {k: v for k, v in sized.items() if k != layer_blob}, False, "after the end of the tar"
    )
    with open(os.path.join(path, layer_blob), "wb") as f:
        f.truncate(8 * GIB)
    path = c.tree(
        "dir-symlink-layer-escape", {k: v for k, v in files.items() if k != layer_blob}, False, "not in the image"
    )
    os.symlink("/dev/zero", os.path.join(path, layer_blob))
    # An extracted docker save: Layers naming a file outside the directory.
    outside = os.path.join(c.dest, "outside-layer.tar")
    with open(outside, "wb") as f:
        f.write(LAYER0)
    man = [{"Config": "c.json", "Layers": ["../outside-layer.tar"]}]
    cfg = _js(base_config([sha256(LAYER0)]))
    c.tree("dir-docker-layer-outside", {"manifest.json": _js(man), "c.json": cfg}, False, "not in the image")


def _extras(c: _Corpus) -> None:
    """PAX values that are odd but legal, links through PAX, layers that are not layers, truncated OCI archives."""

    def layer(*members: bytes) -> bytes:
        return docker_archive([tar(*members)])

    # A global PAX path applies to every later member: all of them are the same path, the last one wins.
    c.ok("pax-global-path", layer(pax({"path": "same"}, b"g"), member("a", b"1"), member("b", b"22")))
    c.ok("pax-uid-huge", layer(pax({"uid": "9" * 30, "gid": "9" * 30}), member("x", b"data")))
    c.ok("pax-path-empty", layer(pax({"path": ""}), member("x", b"data")))
    c.ok("pax-mtime-garbage", layer(pax({"mtime": "yesterday", "atime": "-1e999"}), member("x", b"data")))
    c.ok(
        "pax-unknown-keys", layer(pax({"SCHILY.xattr.user.x": b"\xff\x00\x01", "LIBARCHIVE.x": "y"}), member("x", b"d"))
    )
    c.bad(
        "pax-linkpath-escape",
        layer(member("x", b"1"), pax({"linkpath": "../../etc/shadow"}), hardlink("a", "x")),
        "out of the image root",
    )
    c.bad("pax-linkpath-missing", layer(pax({"linkpath": "nothing/here"}), hardlink("a", "x")), "points to missing")
    c.bad("pax-global-dotdot", layer(pax({"path": "../up"}, b"g"), member("a", b"1")), "escapes the image root")
    c.bad(
        "gnu-longlink-escape",
        layer(member("x", b"1"), member("././@LongLink", b"../x\0", b"K"), hardlink("a", "x")),
        "out of",
    )
    # A hard link to a file whited out earlier in the same layer's lower tree.
    c.bad(
        "hardlink-to-whited-out",
        docker_archive([tar(member("a", b"1")), tar(member(".wh.a"), hardlink("b", "a"))]),
        "points to missing",
    )
    # File <-> directory replacement across layers, and a symlink replacing a directory.
    c.ok(
        "replace-file-dir-symlink",
        docker_archive(
            [
                tar(directory("d/"), member("d/f", b"1"), member("g", b"2")),
                tar(member("d", b"now a file"), directory("g/"), member("g/x", b"3")),
                tar(symlink("g", "d"), member(".wh.d")),
            ]
        ),
    )
    # The manifest names something that is not a layer: the manifest itself, the config, a directory.
    arch = docker_archive()
    cfg = next(n for _, n, _ in walk_tar(arch) if n.endswith(".json") and n != "manifest.json")
    c.bad(
        "docker-layer-is-manifest",
        docker_archive(manifest=lambda m: [{**m[0], "Layers": ["manifest.json", m[0]["Layers"][1]]}]),
        "truncated tar",
    )
    c.bad(
        "docker-layer-is-config",
        docker_archive(manifest=lambda m: [{**m[0], "Layers": [cfg, m[0]["Layers"][1]]}]),
        "tar header",
    )
    c.ok("docker-same-layer-twice", docker_archive([LAYER0, LAYER0]))
    # OCI archives (a tar of the layout) cut inside index.json and inside a blob.
    files = oci_files()
    archive = oci_tar(files)
    largest = max((size, name) for _, name, size in walk_tar(archive))[1]
    for off, name, size in walk_tar(archive):
        if name in ("index.json", largest):
            label = "index" if name == "index.json" else "blob"
            c.bad(f"trunc-oci-archive-in-{label}", archive[: off + BLOCK + size // 2], "truncated")
            c.bad(f"trunc-oci-archive-header-{label}", archive[: off + 300], "truncated")
    # The index lists a manifest digest that is the index's own bytes' digest (the closest to a self-reference
    # a content-addressed store allows): index.json is not a blob, so it is not found.
    idx = _js({"schemaVersion": 2, "manifests": [{"mediaType": OCI_MANIFEST, "digest": "", "size": 1}]})
    self_digest = sha256(idx)
    c.tree(
        "index-names-own-digest",
        {
            **files,
            "index.json": _js(
                {"schemaVersion": 2, "manifests": [{"mediaType": OCI_INDEX, "digest": self_digest, "size": 1}]}
            ),
        },
        False,
        "holds no image",
    )


def build_corpus(dest_dir: str) -> list[Case]:
    """Write every input below ``dest_dir`` (created if needed) and return the cases."""
    os.makedirs(dest_dir, exist_ok=True)
    c = _Corpus(dest_dir)
    for part in (
        _valid,
        _truncations,
        _bitflips,
        _json_cases,
        _digests,
        _names,
        _headers,
        _compression,
        _bombs,
        _strict,
        _zeros,
        _shapes,
        _dir_specials,
        _extras,
    ):
        part(c)
    return c.cases


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} DEST_DIR", file=sys.stderr)
        return 2
    cases = build_corpus(argv[1])
    for case in cases:
        want = "ok" if case.ok else f"fail: {case.expect}"
        print(f"{case.name}\t{want}")
    print(f"{len(cases)} cases in {argv[1]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
