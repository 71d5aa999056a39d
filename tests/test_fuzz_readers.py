"""Property tests: whatever bytes the readers are given, they yield results or raise ImgscopeError, nothing else."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import threading
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgscope.errors import ImgscopeError
from imgscope.sources.blobs import LayerStream, Limits
from imgscope.sources.config import parse_config
from imgscope.sources.store import TarStore, parse_json
from imgscope.sources.tar_stream import iter_entries
from tests.hostile.make_corpus import LAYER0, LAYER1, docker_archive, gz, zst

FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SMALL_LIMITS = Limits(max_layer_bytes=64 << 20, ratio_floor=1 << 20, max_trailing_bytes=1 << 20)
VALID_BLOBS = [LAYER0, LAYER1, gz(LAYER0), zst(LAYER0), gz(LAYER1), zst(LAYER1)]


def read_layer(blob: bytes) -> int:
    """Read a blob the way analyze does; the number of entries, or ImgscopeError."""
    stream = LayerStream(io.BytesIO(blob), "fuzz", limits=SMALL_LIMITS)
    count = sum(1 for _ in iter_entries(stream))
    stream.finish()
    assert stream.diff_id is not None and stream.diff_id.startswith("sha256:")
    return count


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(VALID_BLOBS)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=600))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 600))]
    return bytes(data)


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_as_layer(blob: bytes) -> None:
    with contextlib.suppress(ImgscopeError):
        read_layer(blob)


@FUZZ
@given(st.sampled_from([b"", b"\x1f\x8b", b"\x28\xb5\x2f\xfd"]), st.binary(max_size=2048))
def test_random_bytes_after_a_magic(magic: bytes, rest: bytes) -> None:
    with contextlib.suppress(ImgscopeError):
        read_layer(magic + rest)


@FUZZ
@given(mutated())
def test_mutated_valid_layers(blob: bytes) -> None:
    with contextlib.suppress(ImgscopeError):
        read_layer(blob)


def test_valid_layers_read() -> None:
    assert [read_layer(b) for b in VALID_BLOBS] == [6, 4, 6, 6, 4, 4]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
CONFIG_KEYS = st.sampled_from(["rootfs", "history", "config", "os", "architecture", "variant", "diff_ids"])


@FUZZ
@given(st.dictionaries(CONFIG_KEYS, JSON | st.dictionaries(st.sampled_from(["diff_ids", "type"]), JSON)))
def test_config_of_any_shape(config: dict[str, Any]) -> None:
    with contextlib.suppress(ImgscopeError):
        parse_config(config, "config.json")


@FUZZ
@given(st.binary(max_size=512))
def test_json_of_any_bytes(data: bytes) -> None:
    with contextlib.suppress(ImgscopeError):
        parse_json(data, "x.json")


OUTER = docker_archive([LAYER0])


@FUZZ
@given(st.integers(0, len(OUTER) - 1), st.integers(0, 255), st.integers(0, len(OUTER)))
def test_mutated_outer_tar(pos: int, value: int, cut: int) -> None:
    data = bytearray(OUTER)
    data[pos] = value
    fd, path = tempfile.mkstemp(suffix=".tar")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data[:cut] if cut < len(data) // 2 else data)
        try:
            store = TarStore(path)
            for name in store.names():
                if store.has(name):
                    with store.open(name) as member:
                        member.read(store.size(name))
        except ImgscopeError:
            pass
    finally:
        os.unlink(path)


def _outcome(blob: bytes, threaded: bool) -> tuple[object, ...]:
    """Everything a read of ``blob`` gives: the entries and both digests, or the error message."""
    try:
        with LayerStream(io.BytesIO(blob), "fuzz", limits=SMALL_LIMITS, threaded=threaded) as stream:
            entries = list(iter_entries(stream))
            stream.finish()
    except ImgscopeError as exc:
        return ("error", str(exc))
    return ("ok", tuple(entries), stream.diff_id, stream.blob_digest, stream.uncompressed_size)


@FUZZ
@given(mutated())
def test_reader_thread_changes_nothing(blob: bytes) -> None:
    """The reader thread (``threaded=True``, as analyze uses it) gives exactly what the plain stream gives."""
    assert _outcome(blob, threaded=True) == _outcome(blob, threaded=False)


def test_reader_thread_stops_when_closed_early() -> None:
    big = gz(b"".join([LAYER0[:-1024]] * 2000) + bytes(1024))  # many chunks' worth, so the thread is still reading
    before = threading.active_count()
    with LayerStream(io.BytesIO(big), "early", threaded=True) as stream:
        assert stream.read(512)
        assert threading.active_count() == before + 1
    assert threading.active_count() == before
