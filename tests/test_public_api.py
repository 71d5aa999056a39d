"""The public namespace is explicit, and everything the CLI shows is reachable from it."""

from __future__ import annotations

import dataclasses

import imgscope


def test_all_names_exist_and_nothing_else_is_public() -> None:
    for name in imgscope.__all__:
        assert hasattr(imgscope, name), name
    public = {n for n in vars(imgscope) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(imgscope, n)).__name__ == "module"}
    assert public - modules == set(imgscope.__all__) - {"__version__"}


def test_results_are_frozen_dataclasses() -> None:
    for cls in (
        imgscope.Analysis,
        imgscope.LayerReport,
        imgscope.Summary,
        imgscope.FileRecord,
        imgscope.WastedFile,
        imgscope.DiveFigures,
        imgscope.Image,
        imgscope.LayerBlob,
        imgscope.HistoryEntry,
    ):
        assert dataclasses.is_dataclass(cls)
        assert cls.__dataclass_params__.frozen, cls  # type: ignore[union-attr]


def test_errors_share_one_root_and_subclass_builtins() -> None:
    assert issubclass(imgscope.ImageFormatError, ValueError)
    assert issubclass(imgscope.ImageNotFoundError, LookupError)
    assert issubclass(imgscope.MissingBlobError, FileNotFoundError)
    for cls in (
        imgscope.ImageFormatError,
        imgscope.ImageNotFoundError,
        imgscope.CorruptLayerError,
        imgscope.MissingBlobError,
        imgscope.UsageError,
    ):
        assert issubclass(cls, imgscope.ImgscopeError)
    err = imgscope.CorruptLayerError("x.tar:blobs/sha256/ab (layer 2)", "truncated tar")
    assert str(err) == "x.tar:blobs/sha256/ab (layer 2): truncated tar"
