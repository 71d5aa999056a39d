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


_TRICKY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "},\n    {", "\x00\x01\x02", '"\\', "a: b, c", "}, {", "\udcff", "é\u2028", "[]", "{}"]),
    st.text(),
    st.just(_Kind.A),
    st.just(_Number.X),
    st.just([]),
    st.just({}),
    st.just(()),
)
_RUNS = st.lists(
    st.one_of(
        st.dictionaries(st.one_of(st.text(), st.integers(), st.just(_Kind.A)), _TRICKY, min_size=1, max_size=5),
        st.dictionaries(st.text(max_size=3), st.lists(st.integers(), min_size=1, max_size=2), max_size=2),
        st.dictionaries(st.text(max_size=3), st.dictionaries(st.text(max_size=3), st.integers()), max_size=2),
        _TRICKY,
    ),
    max_size=40,
)


@settings(max_examples=400, deadline=None)
@given(_RUNS, st.integers(min_value=0, max_value=3))
def test_runs_of_flat_dicts_are_what_json_writes(items: list[Any], depth: int) -> None:
    """A list's runs of flat dicts go to json's C encoder in one piece (``_dict_run``): strings holding the
    separators it relies on, empty containers as values, and dicts that are not flat among them change nothing."""
    doc: Any = items
    for _ in range(depth):
        doc = {"in": doc}
    assert json_report.dumps(doc) == _json(doc)


def test_a_long_run_of_flat_dicts_is_split_and_exact() -> None:
    rows: list[dict[str, Any]] = [
        {"path": f"/a/{i}\n}},", "size": i, "reason": _Kind.A, "none": None, "empty": []} for i in range(1_500)
    ]
    rows[700] = {"path": "/nested", "size": [1]}  # not flat: written the general way, between two runs
    doc = {"dive": {"inefficient_files": rows}}
    pieces = list(json_report.iter_dumps(doc))
    assert "".join(pieces) == _json(doc)
    assert len(pieces) > 2
