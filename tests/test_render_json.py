"""``render.json`` writes exactly what ``json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False)`` writes,
whatever the document: its fast ways (a container of plain scalars in one piece, a long list a piece at a time)
checked against json's own encoder on Hypothesis-made documents."""

from __future__ import annotations

import enum
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from imgscope.render import json as json_report


class _Kind(str, enum.Enum):  # a str subclass, as the result types' enums are
    A = "a\n"


class _Number(enum.IntEnum):
    X = 3


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.just(_Kind.A),
    st.just(_Number.X),
)
_KEYS = st.one_of(st.text(), st.integers(), st.none(), st.booleans(), st.just(_Kind.A))
_DOCS = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.lists(inner, max_size=6).map(tuple),
        st.dictionaries(_KEYS, inner, max_size=6),
    ),
    max_leaves=60,
)


def _json(doc: Any) -> str:
    return json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False)


@settings(max_examples=400, deadline=None)
@given(_DOCS)
def test_dumps_and_its_pieces_are_what_json_writes(doc: Any) -> None:
    assert json_report.dumps(doc) == _json(doc)
    assert "".join(json_report.iter_dumps(doc, batch=7)) == _json(doc)


def test_long_lists_are_written_in_pieces() -> None:
    doc = {
        "flat": [{"path": f"/a/{i}", "size": i, "none": None, "yes": i % 2 == 0} for i in range(12_000)],
        "ints": list(range(9_000)),
        "mixed": [[i, [i]] for i in range(3_000)],
    }
    pieces = list(json_report.iter_dumps(doc))
    assert "".join(pieces) == _json(doc)
    assert max(len(p) for p in pieces) < 4 * (1 << 16)  # never one string of the whole document
