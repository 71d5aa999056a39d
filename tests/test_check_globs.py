"""The path globs of budgets and forbid rules: semantics, errors, and no blow-up on hostile paths."""

from __future__ import annotations

import fnmatch
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgscope.globs import Glob


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("**/.git/**", "/src/.git/HEAD", True),
        ("**/.git/**", "/.git/objects/ab/cd", True),
        ("**/.git/**", "/.git", False),  # "/a/**" is what is below /a
        ("**/.git", "/.git", True),
        ("**/*.pem", "/k.pem", True),
        ("**/*.pem", "/etc/ssl/private/k.pem", True),
        ("**/*.pem", "/etc/k.pem.bak", False),
        ("/usr/lib/python3*/site-packages/**", "/usr/lib/python3.12/site-packages/a/b.py", True),
        ("/usr/lib/python3*/site-packages/**", "/usr/lib/python3.12/x/site-packages/a", False),
        ("/a/*", "/a/b", True),
        ("/a/*", "/a/b/c", False),  # "*" does not cross "/"
        ("/a/**/b", "/a/b", True),
        ("/a/**/b", "/a/x/y/b", True),
        ("/a/**/b", "/ab", False),
        ("etc/pass?d", "/etc/passwd", True),  # anchored at the root without a leading "/"
        ("etc/pass?d", "/x/etc/passwd", False),
        ("/a/?", "/a/bc", False),
        ("[!a]*", "/b", True),
        ("[!a]*", "/a", False),
        ("/v[0-9]", "/v7", True),
        ("/v[0-9]", "/vx", False),
        ("/[]]", "/]", True),
        ("*a*b*", "/xaxbx", True),
        ("*a*b*", "/xbxax", False),
        ("/**", "/anything/at/all", True),
        ("**/**/x", "/x", True),
        ("/a//b/", "/a/b", True),
        ("/a.b", "/aXb", False),  # "." is literal
    ],
)
def test_glob_semantics(pattern: str, path: str, expected: bool) -> None:
    assert Glob(pattern).matches(path) is expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "empty pattern"),
        ("/", "only the root"),
        ("a**", "'**' must be a whole path segment"),
        ("/x/**y", "'**' must be a whole path segment"),
        ("[abc", "without a closing ']'"),
        ("a]", "without an opening '['"),
        ("[z-a]", "reversed"),
        ("a\x00b", "NUL"),
    ],
)
def test_bad_globs_say_what_is_wrong(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Glob(pattern)


@settings(max_examples=300, deadline=None)
@given(st.text("ab*?", min_size=1, max_size=8), st.text("ab", max_size=10))
def test_one_segment_matches_like_fnmatch(pattern: str, name: str) -> None:
    """Within one segment, ``*`` and ``?`` mean what they mean to fnmatch (which has no segments)."""
    pattern = re.sub(r"\*+", "*", pattern)  # "**" is a segment of its own, not a wildcard
    assert Glob("/" + pattern).matches("/" + name) is (bool(name) and fnmatch.fnmatchcase(name, pattern))


def test_hostile_paths_do_not_blow_up() -> None:
    """Patterns that make backtracking matchers exponential finish (bounded work per segment)."""
    deep = "/" + "/".join(["a"] * 3000)
    assert not Glob("**/a/**/a/**/a/**/b").matches(deep)
    assert Glob("**/a/**/a/**/a/**").matches(deep)
    assert not Glob("/*a*a*a*a*a*b").matches("/" + "a" * 20000)
    assert not Glob("**/*a*a*a*b").matches("/" + "a" * 5000 + "/" + "a" * 5000)
