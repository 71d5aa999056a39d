"""JSON encoding of the result types' documents (``to_dict()``; schemas in ``docs/json.md``): strict, stable,
without recursion, streamable. Formatting only: the documents are built by the result types."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any


def dumps(doc: Any) -> str:
    """Serialise a document: strict JSON (no NaN), stable key order as built; the text of
    ``json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False)``, written without recursion, since a tree
    document nests two levels per directory and a path may be 2,000 directories deep (json's encoder recurses)."""
    return "".join(_tokens(doc))


def iter_dumps(doc: Any, batch: int = 1 << 16) -> Iterator[str]:
    """``dumps(doc)`` in pieces of about ``batch`` characters, so a large document is never one string in memory."""
    pending: list[str] = []
    held = 0
    for token in _tokens(doc):
        pending.append(token)
        held += len(token)
        if held >= batch:
            yield "".join(pending)
            pending.clear()
            held = 0
    if pending:
        yield "".join(pending)


def _tokens(doc: Any) -> Iterator[str]:
    """The pieces of ``dumps(doc)``, in order, from an explicit stack of the containers being written."""
    text = _leaf(doc, 0)
    if text is not None:
        yield text
        return
    # Each open container: its members still to write (each with the text before it) and its level.
    stack: list[tuple[Iterator[tuple[str, Any]], int]] = []
    yield _open(doc, 0, stack)
    while stack:
        members, level = stack[-1]
        run: list[str] = []
        held = 0
        if type(members) is _ListMembers:
            text = members.flat_dicts(level + 1)
            if text is not None:  # a run of flat dicts, in one piece
                yield text
                continue
        for before, member in members:
            text = _leaf(member, level + 1)
            if text is None:  # a container with a container in it: written member by member
                run.append(before)
                run.append(_open(member, level + 1, stack))
                break
            run.append(before)
            run.append(text)
            held += len(text)
            if held >= _PIECE:
                break
        else:
            stack.pop()
            run.append("\n" + "  " * level + ("}" if isinstance(members, _DictMembers) else "]"))
        yield "".join(run)


_PIECE = 1 << 16  # characters of members written in one piece at most (a large list is not one string)


class _DictMembers(Iterator[tuple[str, Any]]):
    """A dict's members to write, each with its separator, indentation and key (a list's: ``_ListMembers``)."""

    __slots__ = ("_inner", "_items", "_sep")

    def __init__(self, value: dict[Any, Any], level: int) -> None:
        self._items = iter(value.items())
        self._inner = "\n" + "  " * (level + 1)
        self._sep = ""

    def __next__(self) -> tuple[str, Any]:
        k, v = next(self._items)
        before = f"{self._sep}{self._inner}{_string(k) if type(k) is str else _key(k)}: "
        self._sep = ","
        return before, v


class _ListMembers(Iterator[tuple[str, Any]]):
    """A list's (or tuple's) members to write, each with its separator and indentation."""

    __slots__ = ("_at", "_inner", "_items", "_sep")

    def __init__(self, value: list[Any] | tuple[Any, ...], level: int) -> None:
        self._items = value
        self._at = 0
        self._inner = "\n" + "  " * (level + 1)
        self._sep = ""

    def __next__(self) -> tuple[str, Any]:
        at = self._at
        if at >= len(self._items):
            raise StopIteration
        self._at = at + 1
        before = self._sep + self._inner
        self._sep = ","
        return before, self._items[at]

    def flat_dicts(self, level: int) -> str | None:
        """The next members, with the text before each, when they are a run of non-empty dicts of plain values
        (``_dict_run``); None, and nothing taken, when the next member is not such a dict."""
        at = self._at
        items = self._items[at : at + _RUN]
        end = 0
        for item in items:  # the run stops at the first member that is not a non-empty dict
            if type(item) is not dict or not item:
                break
            end += 1
        if end < len(items):
            items = items[:end]
        text = _dict_run(items, level) if items else None
        if text is None:
            return None
        self._at = at + len(items)
        before = self._sep + self._inner
        self._sep = ","
        return before + text


def _open(value: Any, level: int, stack: list[tuple[Iterator[tuple[str, Any]], int]]) -> str:
    """Start writing a non-empty container at ``level``: its members pushed on ``stack``; its opening returned."""
    if isinstance(value, dict):
        stack.append((_DictMembers(value, level), level))
        return "{"
    stack.append((_ListMembers(value, level), level))
    return "["


def _leaf(value: Any, level: int) -> str | None:
    """The whole text of ``value`` at ``level`` when it is not a container holding a container (None then)."""
    encode = _SCALARS.get(type(value))
    if encode is not None:
        return encode(value)
    if isinstance(value, (dict, list, tuple)):
        if not value:
            return "{}" if isinstance(value, dict) else "[]"
        return _flat(value, level)
    if isinstance(value, str):
        return _string(value)
    return json.dumps(value, allow_nan=False, ensure_ascii=False)


_string = json.encoder.encode_basestring  # json's own (C) string encoder, as ensure_ascii=False uses

# The scalars written without json.dumps, by exact type (a subclass, such as a str enum, takes the general way).
_SCALARS: dict[type, Callable[[Any], str]] = {
    str: _string,
    int: int.__repr__,
    bool: lambda v: "true" if v else "false",
    type(None): lambda v: "null",
}


def _flat(value: dict[Any, Any] | list[Any] | tuple[Any, ...], level: int) -> str | None:
    """The text of a non-empty container at ``level`` whose members are all plain scalars (``_SCALARS``), as the
    general way writes it; None when a member is anything else. Most of a large document is such containers (a
    wasted file, an inefficient file, a layer): one string each instead of a work item per member."""
    scalar = _SCALARS.get
    parts = []
    if isinstance(value, dict):
        for k, v in value.items():
            encode = scalar(type(v))
            if encode is None:
                return None
            parts.append(f"{_string(k) if type(k) is str else _key(k)}: {encode(v)}")
        opening, closing = "{", "}"
    else:
        if len(value) > _PIECE // 16:
            return None  # a long list is written a piece at a time (``_tokens``)
        for v in value:
            encode = scalar(type(v))
            if encode is None:
                return None
            parts.append(encode(v))
        opening, closing = "[", "]"
    inner = "\n" + "  " * (level + 1)
    return f"{opening}{inner}{(',' + inner).join(parts)}\n{'  ' * level}{closing}"


_RUN = 512  # dicts written by one call of json's C encoder at most

# json's C encoder, one per level, with the separators the indented text has between a dict's members, and
# \x01 after a key, which no encoded string holds (control characters are escaped), so that it can be counted.
_RUN_ENCODERS: dict[int, json.JSONEncoder] = {}


def _dict_run(items: list[Any] | tuple[Any, ...], level: int) -> str | None:
    """The text of non-empty dicts ``items`` at ``level``, each as ``_flat`` writes it, joined as list members
    are; None unless every value in them is a plain value (no container but an empty one, written the same
    either way). A large document is mostly such runs (wasted files, dive's inefficient files): json's C
    encoder writes them, instead of a Python step per value."""
    outer = "\n" + "  " * level
    inner = outer + "  "
    encoder = _RUN_ENCODERS.get(level)
    if encoder is None:
        encoder = _RUN_ENCODERS[level] = json.JSONEncoder(
            ensure_ascii=False, allow_nan=False, separators=("," + inner, "\x01")
        )
    try:
        text = encoder.encode(items)
    except (ValueError, TypeError, RecursionError):  # NaN, an unknown type: the general way says what is wrong
        return None
    # Every key is followed by \x01, and no value opens a container (an empty one is written the same either
    # way): then the dicts are flat. A container's key, or its first member, would follow a \x01.
    if text.count("\x01") != sum(map(len, items)):
        return None
    if "\x01[" in text or "\x01{" in text:
        bare = text.replace("\x01[]", "").replace("\x01{}", "")
        if "\x01[" in bare or "\x01{" in bare:
            return None
    # Between two dicts: "}," + inner + "{", which no string holds (a line break in one is escaped).
    body = text[2:-2].replace("\x01", ": ").replace(f"}},{inner}{{", f"{outer}}},{outer}{{{inner}")
    return f"{{{inner}{body}{outer}}}"


def _key(key: Any) -> str:
    """A dict key as json writes it (json turns None, booleans and numbers into strings)."""
    if not isinstance(key, str):
        key = json.dumps(key, allow_nan=False)
    return _string(key)
