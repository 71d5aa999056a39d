"""Write the tar-edges samples: docker-archive images whose layer tars hold members the common writers rarely
write, each of which dive 0.13.1 (Go's archive/tar) reads in a definite way. Their figures in dive's own words are
recorded by ``record.sh`` into ``samples/dive/tar-edges/``; ``tests/test_samples.py`` compares imgscope's.

The layer tars are written header by header here (no tar library writes these members on purpose); the outer
archive is an ordinary ``docker save`` layout written with ``tarfile``. Deterministic: run it again, the same
bytes. Usage: ``python samples/tar-edges/make.py [OUT_DIR]`` (default: this directory).
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path


def header(name: bytes, flag: bytes = b"0", size: int = 0, mode: int = 0o644, link: bytes = b"") -> bytes:
    """One 512-byte header (GNU magic), its checksum computed."""
    block = bytearray(512)
    block[: len(name)] = name
    block[100:108] = b"%07o\0" % mode
    block[108:124] = b"0000000\0" * 2
    block[124:136] = b"%011o\0" % size
    block[136:148] = b"00000000000\0"
    block[156:157] = flag
    block[157 : 157 + len(link)] = link
    block[257:265] = b"ustar  \0"
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def data(content: bytes) -> bytes:
    return content + b"\0" * (-len(content) % 512)


def file(name: bytes, size: int) -> bytes:
    return header(name, b"0", size) + data(b"x" * size)


def pax(records: list[tuple[bytes, bytes]], flag: bytes = b"x") -> bytes:
    body = b""
    for key, value in records:
        record = b" " + key + b"=" + value + b"\n"
        n = len(record) + 1
        while len(str(n)) + len(record) != n:
            n += 1
        body += str(n).encode() + record
    return header(b"PaxHeader/x", flag, len(body)) + data(body)


def gnu_long_name(name: bytes) -> bytes:
    return header(b"././@LongLink", b"L", len(name) + 1) + data(name + b"\0")


def save(path: Path, layers: list[bytes]) -> None:
    """A classic ``docker save`` of these layers (members only: the end-of-archive marker is added)."""
    tars = [layer + b"\0" * 1024 for layer in layers]
    ids = [hashlib.sha256(t).hexdigest() for t in tars]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{i}" for i in ids]},
            "history": [{"created_by": f"layer {n}"} for n in range(len(ids))],
        },
        sort_keys=True,
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps(
        [{"Config": config_name, "RepoTags": [f"tar-edges/{path.stem}:1"], "Layers": [f"{i}/layer.tar" for i in ids]}]
    ).encode()
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as out:
        for name, content in [*((f"{i}/layer.tar", t) for i, t in zip(ids, tars, strict=True)), (config_name, config)]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(content), 1700000000
            out.addfile(info, io.BytesIO(content))
        info = tarfile.TarInfo("manifest.json")
        info.size, info.mtime = len(manifest), 1700000000
        out.addfile(info, io.BytesIO(manifest))


SAMPLES: dict[str, list[bytes]] = {
    # a directory header with a size field: no data follows it (Go, tarfile); dive counts the field
    "dir-size": [file(b"a", 3) + header(b"d/", b"5", 100, 0o755) + file(b"d/x", 5), file(b"a", 4) + file(b".wh.d", 0)],
    # the same for a symbolic link, a hard link and a character device
    "link-sizes": [
        header(b"s", b"2", 7, 0o777, b"zzz") + file(b"a", 3) + header(b"c", b"3", 9),
        header(b"s", b"2", 9, 0o777, b"yyy")
        + file(b"a", 4)
        + header(b"h", b"1", 11, link=b"a")
        + header(b"c", b"3", 2),
    ],
    # type flag NUL and a trailing slash: an old-style directory, with children in the next layer
    "nul-type-dir": [
        header(b"d", b"5", 0, 0o755) + file(b"d/x", 5) + file(b"k", 1),
        header(b"d/", b"\0", 0, 0o755) + file(b"d/y", 6) + file(b"k", 2),
        file(b".wh.d", 0),
    ],
    # a GNU long name and a PAX path on one member: Go takes the long name
    "long-name-and-pax": [file(b"a", 3) + file(b"b", 3), gnu_long_name(b"a") + pax([(b"path", b"b")]) + file(b"zz", 4)],
    # Solaris's extended header (type X): not one for Go, which reads it as a file named by its header
    "solaris-x": [file(b"a", 10) + file(b"k", 1), pax([(b"path", b"a")], b"X") + file(b"zzz", 20) + file(b"k", 1)],
    # the root directory with a size field
    "root-size": [file(b"a", 3), header(b"./", b"5", 1000, 0o755) + file(b"a", 4)],
    # a file whose header mode carries the directory bits (0o40000): Go's FileInfo calls it a directory, so dive
    # counts a later whiteout of it with its size (its "subtree"), where a plain file's whiteout counts 0
    "dir-mode-file": [
        file(b"k", 1) + header(b"d", b"0", 10, 0o40644) + data(b"y" * 10),
        file(b".wh.d", 0) + file(b"k", 2),
    ],
    # dive's user-wasted figure above 1e6 (a link's size field counts, and no data follows it): printed as Go's
    # %v prints it, 2e+06
    "big-ratio": [
        header(b"s", b"2", 2000000, 0o777, b"a") + file(b"a", 1),
        header(b"s", b"2", 0, 0o777, b"b") + file(b"b", 1),
    ],
}


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    out.mkdir(parents=True, exist_ok=True)
    for name, layers in SAMPLES.items():
        save(out / f"{name}.tar", layers)


if __name__ == "__main__":
    main()
