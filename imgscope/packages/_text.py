"""Helpers shared by the parsers: decoding, path normalisation, RFC 822-style paragraphs."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

#: Sizes above this (1 PiB) are absurd for one package: reported, never used.
ABSURD_SIZE = 1 << 50


def decode(data: bytes) -> str:
    """Bytes as text, as tar member names are decoded (undecodable bytes escaped, never dropped)."""
    return data.decode("utf-8", "backslashreplace")


def rooted(path: str, base: str = "/") -> str:
    """``path`` (absolute, or relative to ``base``) as a normalised ``/``-rooted path that cannot leave the root."""
    joined = path if path.startswith("/") else posixpath.join(base, path)
    norm = posixpath.normpath("/" + joined.lstrip("/"))
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    return norm


def paragraphs(text: str) -> Iterator[tuple[dict[str, str], int]]:
    """RFC 822-style paragraphs (dpkg status files): each as {field: value} with its first line number.

    Field names are case-insensitive (kept as written, looked up lower-cased by the caller); continuation
    lines (starting with a space or tab) are joined with newlines. Linear in the text's length.
    """
    fields: dict[str, str] = {}
    start = 1
    last = ""
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            if fields:
                yield fields, start
            fields = {}
            last = ""
            continue
        if not fields:
            start = number
        if line[0] in " \t":
            if last:
                fields[last] += "\n" + line[1:]
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        last = name.strip().lower()
        fields[last] = value.strip()
    if fields:
        yield fields, start
