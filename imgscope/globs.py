"""Path globs for budgets and rules: ``/usr/lib/python3*/site-packages/**``, ``**/.git/**``, ``**/*.pem``.

Patterns match the absolute paths of an image (``/etc/passwd``); a pattern without a leading ``/`` is
anchored at the root all the same (``etc/*`` is ``/etc/*``). ``*`` matches within one path segment and
``?`` one character of it; neither crosses ``/``. ``**`` as a whole segment matches any number of segments:
``/a/**`` is everything below ``/a`` (not ``/a`` itself), ``/**/x`` is ``x`` at any depth, ``/a/**/b`` is ``b``
anywhere below ``/a``, ``/a/b`` included. ``[abc]``, ``[a-z]`` and ``[!abc]`` are character classes (never
matching ``/``). A pattern is compiled to one regular expression when it is built; a malformed pattern
raises ``ValueError`` saying what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Glob:
    """A compiled path pattern. ``Glob("**/*.pem").matches("/etc/ssl/key.pem")`` is True."""

    pattern: str
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(_translate(self.pattern)))

    def matches(self, path: str) -> bool:
        """True when the absolute ``path`` matches."""
        return self._regex.fullmatch(path) is not None

    def __str__(self) -> str:
        return self.pattern


def _translate(pattern: str) -> str:
    if not pattern or not pattern.strip():
        raise ValueError("an empty pattern matches nothing")
    if "\x00" in pattern:
        raise ValueError(f"{pattern!r} holds a NUL character")
    segments = [s for s in pattern.split("/") if s]  # repeated and trailing slashes mean nothing
    if not segments:
        raise ValueError(f"{pattern!r} matches only the root directory")
    out: list[str] = []
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if segment == "**":
            # "/**" at the end: one or more segments below; elsewhere: zero or more segments.
            out.append("/.+" if index == last else "(?:/[^/]+)*")
            continue
        if "**" in segment:
            raise ValueError(f"{pattern!r}: '**' must be a whole path segment (write '/**/' or '*')")
        out.append("/" + _segment(segment, pattern))
    return "".join(out)


def _segment(segment: str, pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(segment):
        ch = segment[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end, cls = _char_class(segment, i, pattern)
            out.append(cls)
            i = end
        elif ch == "]":
            raise ValueError(f"{pattern!r}: ']' without an opening '['")
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _char_class(segment: str, start: int, pattern: str) -> tuple[int, str]:
    """The class starting at ``segment[start] == '['``: (index of its ``]``, regex)."""
    i = start + 1
    negate = i < len(segment) and segment[i] in "!^"
    if negate:
        i += 1
    body_start = i
    if i < len(segment) and segment[i] == "]":  # a leading ']' is a literal member
        i += 1
    while i < len(segment) and segment[i] != "]":
        i += 1
    if i >= len(segment):
        raise ValueError(f"{pattern!r}: '[' without a closing ']'")
    body = segment[body_start:i]
    members: list[str] = []
    j = 0
    while j < len(body):
        if j + 2 < len(body) and body[j + 1] == "-":
            low, high = body[j], body[j + 2]
            if low > high:
                raise ValueError(f"{pattern!r}: range {low}-{high} is reversed")
            members.append(f"{re.escape(low)}-{re.escape(high)}")
            j += 3
        else:
            members.append(re.escape(body[j]))
            j += 1
    return i, f"[{'^' if negate else ''}{''.join(members)}{'/' if negate else ''}]"
