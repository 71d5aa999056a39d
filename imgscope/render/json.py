"""JSON encoding of the result types' documents (``to_dict()``; schemas in ``docs/json.md``): strict, stable,
without recursion, streamable. Formatting only: the documents are built by the result types."""

from __future__ import annotations

import json
from collections.abc import Iterator
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
    """The pieces of ``dumps(doc)``, in order, from an explicit stack."""
    # Work items, last first: a str is written as it is; a (value, level) pair is encoded at that level.
    work: list[str | tuple[Any, int]] = [(doc, 0)]
    while work:
        item = work.pop()
        if isinstance(item, str):
            yield item
            continue
        value, level = item
        if isinstance(value, (dict, list, tuple)):
            is_dict = isinstance(value, dict)
            if not value:
                yield "{}" if is_dict else "[]"
                continue
            if isinstance(value, dict):
                members = [(_key(k) + ": ", v) for k, v in value.items()]
            else:
                members = [("", v) for v in value]
            inner = "\n" + "  " * (level + 1)
            yield "{" if is_dict else "["
            work.append("\n" + "  " * level + ("}" if is_dict else "]"))
            for position in range(len(members) - 1, -1, -1):
                label, member = members[position]
                work.append((member, level + 1))
                work.append(("," if position else "") + inner + label)
        elif isinstance(value, str):
            yield _string(value)
        elif type(value) is int:
            yield int.__repr__(value)
        elif value is None:
            yield "null"
        elif value is True or value is False:
            yield "true" if value else "false"
        else:
            yield json.dumps(value, allow_nan=False, ensure_ascii=False)


_string = json.encoder.encode_basestring  # json's own (C) string encoder, as ensure_ascii=False uses


def _key(key: Any) -> str:
    """A dict key as json writes it (json turns None, booleans and numbers into strings)."""
    if not isinstance(key, str):
        key = json.dumps(key, allow_nan=False)
    return _string(key)
