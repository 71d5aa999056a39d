"""Sizes and percents as users write them (go-humanize's ParseBytes semantics for sizes)."""

from __future__ import annotations

import pytest

from imgscope.units import parse_percent, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("512", 512),
        (512, 512),
        ("10B", 10),
        ("1k", 1000),
        ("1kB", 1000),
        ("1KiB", 1024),
        ("1.5 KiB", 1536),
        ("150MB", 150_000_000),
        ("150mb", 150_000_000),
        ("2M", 2_000_000),
        ("2Mi", 2 * 1024**2),
        ("1.5GiB", int(1.5 * 1024**3)),
        ("1GB", 10**9),
        ("2,000,000", 2_000_000),
        ("1TB", 10**12),
    ],
)
def test_sizes(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "-1", "-5MB", "10 bananas", "MB", "1.2.3MB", "inf", "nan", "1e400", True])
def test_bad_sizes(text: object) -> None:
    with pytest.raises(ValueError):
        parse_size(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"), [("5%", 0.05), ("0.05", 0.05), (0.5, 0.5), ("100%", 1.0), ("0", 0.0), ("1", 1.0)]
)
def test_percents(text: str | float, expected: float) -> None:
    assert parse_percent(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["5", "-1%", "abc", "%", "1.5", True])
def test_bad_percents(text: object) -> None:
    with pytest.raises(ValueError):
        parse_percent(text)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["-1", "-5MB", "-1 GiB", " -0.5kB"])
def test_a_negative_size_is_called_negative(text: str) -> None:
    """Not "unknown unit '-5mb'": the unit is fine, the sign is not."""
    with pytest.raises(ValueError, match="it must be zero or more"):
        parse_size(text)
