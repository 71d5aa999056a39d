"""Path globs for budgets and rules: ``/usr/lib/python3*/site-packages/**``, ``**/.git/**``, ``**/*.pem``.

Patterns match the absolute paths of an image (``/etc/passwd``); a pattern without a leading ``/`` is
anchored at the root all the same (``etc/*`` is ``/etc/*``). ``*`` matches within one path segment and
``?`` one character of it; neither crosses ``/``. ``**`` as a whole segment matches any number of segments:
``/a/**`` is everything below ``/a`` (not ``/a`` itself), ``/**/x`` is ``x`` at any depth, ``/a/**/b`` is ``b``
anywhere below ``/a``, ``/a/b`` included. ``[abc]``, ``[a-z]`` and ``[!abc]`` are character classes (never
matching ``/``). A malformed pattern raises ``ValueError`` saying what is wrong.

The paths come from untrusted images, so matching must not blow up on a hostile one (a path 10,000 segments
deep, a name of 100,000 ``a``): a pattern is compiled once into one matcher per segment, and a path is matched
segment by segment keeping the set of reachable positions (``**`` adds a range), so the work is bounded by
pattern segments x path segments, never exponential. A segment with at most one ``*`` is a regular expression
(linear); one with more uses the greedy wildcard algorithm, which backtracks only to the last ``*``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_DOUBLE = "**"


@dataclass(frozen=True)
class _Segment:
    """One pattern segment: a literal, a regular expression, or wildcard tokens."""

    literal: str | None
    regex: re.Pattern[str] | None
    tokens: tuple[tuple[str, str], ...]  # ("*", ""), ("?", ""), ("c", char), ("[", class regex)

    def matches(self, name: str) -> bool:
        if self.literal is not None:
            return name == self.literal
        if self.regex is not None:
            return self.regex.fullmatch(name) is not None
        return _wildcard(self.tokens, name)


@dataclass(frozen=True)
class Glob:
    """A compiled path pattern. ``Glob("**/*.pem").matches("/etc/ssl/key.pem")`` is True.

    Attributes:
        pattern: the glob as written (``**`` spans directories, ``*`` stays in one segment)
    """

    pattern: str
    _segments: tuple[_Segment | None, ...] = field(init=False, repr=False, compare=False)  # None: "**"

    def __post_init__(self) -> None:
        object.__setattr__(self, "_segments", _compile(self.pattern))

    def matches(self, path: str) -> bool:
        """True when the absolute ``path`` matches."""
        parts = [p for p in path.split("/") if p]
        count = len(parts)
        reach: set[int] = {0}
        last = len(self._segments) - 1
        for index, segment in enumerate(self._segments):
            if segment is None:  # "**": any number of segments; at the end, one at least
                low = min(reach) + (1 if index == last else 0)
                reach = set(range(low, count + 1))
            else:
                reach = {j + 1 for j in reach if j < count and segment.matches(parts[j])}
            if not reach:
                return False
        return count in reach

    def __str__(self) -> str:
        return self.pattern


def _compile(pattern: str) -> tuple[_Segment | None, ...]:
    if not pattern or not pattern.strip():
        raise ValueError("an empty pattern matches nothing")
    if "\x00" in pattern:
        raise ValueError(f"{pattern!r} holds a NUL character")
    segments = [s for s in pattern.split("/") if s]  # repeated and trailing slashes mean nothing
    if not segments:
        raise ValueError(f"{pattern!r} matches only the root directory")
    out: list[_Segment | None] = []
    for segment in segments:
        if segment == _DOUBLE:
            if not out or out[-1] is not None:  # "**/**" is "**"
                out.append(None)
            continue
        if _DOUBLE in segment:
            raise ValueError(f"{pattern!r}: '**' must be a whole path segment (write '/**/' or '*')")
        out.append(_segment(segment, pattern))
    return tuple(out)


def _segment(segment: str, pattern: str) -> _Segment:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(segment):
        ch = segment[i]
        if ch in "*?":
            tokens.append((ch, ""))
        elif ch == "[":
            end, cls = _char_class(segment, i, pattern)
            tokens.append(("[", cls))
            i = end
        elif ch == "]":
            raise ValueError(f"{pattern!r}: ']' without an opening '['")
        else:
            tokens.append(("c", ch))
        i += 1
    if all(kind == "c" for kind, _ in tokens):
        return _Segment(segment, None, ())
    if sum(1 for kind, _ in tokens if kind == "*") <= 1:
        parts = {"*": lambda _: "[^/]*", "?": lambda _: "[^/]", "[": lambda v: v, "c": re.escape}
        regex = re.compile("".join(parts[kind](v) for kind, v in tokens))
        return _Segment(None, regex, ())
    return _Segment(None, None, tuple((k, v) for k, v in tokens))


def _one(token: tuple[str, str], ch: str) -> bool:
    kind, v = token
    if kind == "?":
        return True
    if kind == "c":
        return ch == v
    return re.fullmatch(v, ch) is not None


def _wildcard(tokens: tuple[tuple[str, str], ...], name: str) -> bool:
    """Greedy wildcard matching: on a mismatch, retry from the last ``*`` one character later. O(len x tokens)."""
    t = s = 0
    star, star_s = -1, 0
    while s < len(name):
        if t < len(tokens) and tokens[t][0] == "*":
            star, star_s = t, s
            t += 1
        elif t < len(tokens) and _one(tokens[t], name[s]):
            t += 1
            s += 1
        elif star >= 0:
            t = star + 1
            star_s += 1
            s = star_s
        else:
            return False
    while t < len(tokens) and tokens[t][0] == "*":
        t += 1
    return t == len(tokens)


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
