#!/usr/bin/env python3
"""atheris (libFuzzer) harness for imgscope's readers. Instructions: docs/security.md.

Whatever bytes it is given, imgscope must return a result or raise ``ImgscopeError``;
any other exception (or a crash, a hang, a memory blow-up caught by libFuzzer's
``-timeout``/``-rss_limit_mb``) is a bug. The first input byte picks the target:

* 0: one layer blob (plain, gzip or zstd) through the whole layer pipeline:
  ``LayerStream`` -> ``iter_entries`` -> ``FileSystem.apply_layer`` -> ``DiveCompat``;
* 1: a whole image archive (``docker save`` or OCI archive) through ``analyze()``,
  from a file in a private temporary directory;
* 2: JSON bytes through ``parse_json`` and ``parse_config``.

Run from the repository root::

    python fuzz/fuzz_readers.py -atheris_runs=1000000 fuzz/corpus   # the corpus directory is created
    python fuzz/fuzz_readers.py -help=1                            # libFuzzer's options
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile

import atheris

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

with atheris.instrument_imports(include=["imgscope"]):
    from imgscope.analysis.result import analyze
    from imgscope.dive.figures import DiveCompat
    from imgscope.errors import ImgscopeError
    from imgscope.sources.blobs import LayerStream, Limits
    from imgscope.sources.config import parse_config
    from imgscope.sources.store import parse_json
    from imgscope.sources.tar_stream import iter_entries
    from imgscope.union.filesystem import FileSystem

# Small bounds, so a bomb is refused within milliseconds instead of reading a gigabyte.
LIMITS = Limits(max_layer_bytes=32 << 20, ratio_floor=1 << 20, max_trailing_bytes=1 << 20)
_TMP = tempfile.mkdtemp(prefix="imgscope-fuzz-")
_IMAGE = os.path.join(_TMP, "image.tar")


def layer(blob: bytes) -> None:
    stream = LayerStream(io.BytesIO(blob), "fuzz", limits=LIMITS)
    entries = list(iter_entries(stream))
    stream.finish()
    FileSystem().apply_layer(entries, "fuzz")
    dive = DiveCompat()
    dive.add_layer(entries)
    dive.add_layer(entries)
    dive.figures()


def image(data: bytes) -> None:
    with open(_IMAGE, "wb") as f:
        f.write(data)
    analyze(_IMAGE, limits=LIMITS)


def config(data: bytes) -> None:
    parse_config(parse_json(data, "config.json"), "config.json")


TARGETS = (layer, image, config)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    with contextlib.suppress(ImgscopeError):
        TARGETS[data[0] % len(TARGETS)](data[1:])


def seeds(directory: str) -> None:
    """Write valid starting inputs (from the hostile corpus's builders) into ``directory`` if it is empty."""
    os.makedirs(directory, exist_ok=True)
    if os.listdir(directory):
        return
    from tests.hostile.make_corpus import LAYER0, LAYER1, _js, base_config, docker_archive, gz, oci_files, oci_tar, zst

    inputs = {
        "layer-plain": b"\0" + LAYER0,
        "layer-plain-1": b"\0" + LAYER1,
        "layer-gzip": b"\0" + gz(LAYER0),
        "layer-zstd": b"\0" + zst(LAYER1),
        "image-docker": b"\1" + docker_archive(),
        "image-oci": b"\1" + oci_tar(oci_files()),
        "config": b"\2" + _js(base_config(["sha256:" + "0" * 64])),
    }
    for name, data in inputs.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


def main() -> None:
    corpus_dirs = [a for a in sys.argv[1:] if not a.startswith("-")]
    for d in corpus_dirs[:1]:
        seeds(d)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
