"""Helpers shared by the parsers: decoding, path normalisation, RFC 822-style paragraphs."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

#: Sizes above this (1 PiB) are absurd for one package: reported, never used.
ABSURD_SIZE = 1 << 50
#: Lines read of one database file. The largest real ones hold a few hundred thousand (a dpkg status of 10,000
#: packages, Alpine's installed database, a large package's file list); a hostile file list of 40 million short
#: lines (120 MB, 126 kB gzipped) took 6 GB as path strings.
MAX_LINES = 2_000_000


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


class LineBudget:
    """Lines left to read in one database: its files together read at most ``MAX_LINES`` (a database of many
    small file lists is bounded as one large list is)."""

    __slots__ = ("left",)

    def __init__(self, limit: int = MAX_LINES) -> None:
        self.left = limit


def lines(text: str, where: str, notes: list[str], budget: LineBudget | None = None) -> Iterator[str]:
    """The lines of ``text`` (split at ``\\n``, which is dropped), one at a time (no list of every line), as many
    as ``budget`` has left (``MAX_LINES`` without one): past that, a note says so and the rest is not read."""
    budget = budget or LineBudget()
    start, find = 0, text.find
    while True:
        if budget.left <= 0:
            notes.append(f"{where}: more than {MAX_LINES:,} lines in this database; the rest not read")
            return
        budget.left -= 1
        end = find("\n", start)
        if end < 0:
            yield text[start:]  # the last line ("" after a final newline, as str.split gives it)
            return
        yield text[start:end]
        start = end + 1


def paragraphs(
    text: str, where: str = "", notes: list[str] | None = None, budget: LineBudget | None = None
) -> Iterator[tuple[dict[str, str], int]]:
    """RFC 822-style paragraphs (dpkg status files): each as {field: value} with its first line number.

    Field names are case-insensitive (kept as written, looked up lower-cased by the caller); continuation
    lines (starting with a space or tab) are joined with newlines. Linear in the text's length.
    """
    fields: dict[str, str] = {}
    start = 1
    last = ""
    for number, line in enumerate(lines(text, where, [] if notes is None else notes, budget), 1):
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
