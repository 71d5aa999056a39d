"""Go, as dive's code runs it: number formatting and parsing (``%v``, ``%2.4f``, ``strconv.ParseFloat``,
go-humanize) and ``sort.Sort`` (pdqsort, not stable), so imgscope's dive figures and messages match dive's to the
character. Imports nothing from imgscope."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_MASK64 = (1 << 64) - 1
_GO_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GO_HEX = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+")
_GO_INF = re.compile(r"[+-]?(?:inf|infinity)", re.IGNORECASE)


def go_sort(data: list[T], key: Callable[[T], int]) -> None:
    """Go 1.24 ``sort.Sort`` by ``key(x) < key(y)`` (pdqsort, unstable), in place.

    Ties land exactly where Go puts them.
    """
    n = len(data)
    if n <= 1:
        return
    keys = [key(x) for x in data]
    if len(set(keys)) == n:  # no ties: any correct sort gives Go's order
        order = sorted(range(n), key=keys.__getitem__)
        data[:] = [data[i] for i in order]
        return
    _GoSorter(data, keys).pdqsort(0, n, n.bit_length())


class _GoSorter(Generic[T]):
    """Port of Go's ``sort/zsortinterface.go`` + ``sort.go`` helpers (go1.24)."""

    def __init__(self, data: list[T], keys: list[int]) -> None:
        self.d = data
        self.k = keys

    def less(self, i: int, j: int) -> bool:
        k = self.k
        return k[i] < k[j]

    def swap(self, i: int, j: int) -> None:
        d = self.d
        k = self.k
        d[i], d[j] = d[j], d[i]
        k[i], k[j] = k[j], k[i]

    def insertion_sort(self, a: int, b: int) -> None:
        for i in range(a + 1, b):
            j = i
            while j > a and self.less(j, j - 1):
                self.swap(j, j - 1)
                j -= 1

    def sift_down(self, lo: int, hi: int, first: int) -> None:
        root = lo
        while True:
            child = 2 * root + 1
            if child >= hi:
                return
            if child + 1 < hi and self.less(first + child, first + child + 1):
                child += 1
            if not self.less(first + root, first + child):
                return
            self.swap(first + root, first + child)
            root = child

    def heap_sort(self, a: int, b: int) -> None:
        first, lo, hi = a, 0, b - a
        for i in range((hi - 1) // 2, -1, -1):
            self.sift_down(i, hi, first)
        for i in range(hi - 1, -1, -1):
            self.swap(first, first + i)
            self.sift_down(lo, i, first)

    def pdqsort(self, a: int, b: int, limit: int) -> None:
        was_balanced = True
        was_partitioned = True
        while True:
            length = b - a
            if length <= 12:
                self.insertion_sort(a, b)
                return
            if limit == 0:
                self.heap_sort(a, b)
                return
            if not was_balanced:
                self.break_patterns(a, b)
                limit -= 1
            pivot, hint = self.choose_pivot(a, b)
            if hint == _DECREASING:
                self.reverse_range(a, b)
                pivot = (b - 1) - (pivot - a)
                hint = _INCREASING
            if was_balanced and was_partitioned and hint == _INCREASING and self.partial_insertion_sort(a, b):
                return
            if a > 0 and not self.less(a - 1, pivot):
                a = self.partition_equal(a, b, pivot)
                continue
            mid, was_partitioned = self.partition(a, b, pivot)
            left, right = mid - a, b - mid
            threshold = length // 8
            if left < right:
                was_balanced = left >= threshold
                self.pdqsort(a, mid, limit)
                a = mid + 1
            else:
                was_balanced = right >= threshold
                self.pdqsort(mid + 1, b, limit)
                b = mid

    def partition(self, a: int, b: int, pivot: int) -> tuple[int, bool]:
        k = self.k
        swap = self.swap
        swap(a, pivot)
        p = k[a]
        i, j = a + 1, b - 1
        while i <= j and k[i] < p:
            i += 1
        while i <= j and not k[j] < p:
            j -= 1
        if i > j:
            swap(j, a)
            return j, True
        swap(i, j)
        i += 1
        j -= 1
        while True:
            while i <= j and k[i] < p:
                i += 1
            while i <= j and not k[j] < p:
                j -= 1
            if i > j:
                break
            swap(i, j)
            i += 1
            j -= 1
        swap(j, a)
        return j, False

    def partition_equal(self, a: int, b: int, pivot: int) -> int:
        self.swap(a, pivot)
        i, j = a + 1, b - 1
        while True:
            while i <= j and not self.less(a, i):
                i += 1
            while i <= j and self.less(a, j):
                j -= 1
            if i > j:
                break
            self.swap(i, j)
            i += 1
            j -= 1
        return i

    def partial_insertion_sort(self, a: int, b: int) -> bool:
        i = a + 1
        for _ in range(5):
            while i < b and not self.less(i, i - 1):
                i += 1
            if i == b:
                return True
            if b - a < 50:
                return False
            self.swap(i, i - 1)
            if i - a >= 2:
                j = i - 1
                while j >= 1:
                    if not self.less(j, j - 1):
                        break
                    self.swap(j, j - 1)
                    j -= 1
            if b - i >= 2:
                j = i + 1
                while j < b:
                    if not self.less(j, j - 1):
                        break
                    self.swap(j, j - 1)
                    j += 1
        return False

    def break_patterns(self, a: int, b: int) -> None:
        length = b - a
        if length >= 8:
            rnd = length
            modulus = 1 << length.bit_length()
            idx = a + (length // 4) * 2 - 1
            while idx <= a + (length // 4) * 2 + 1:
                rnd ^= (rnd << 13) & _MASK64
                rnd ^= rnd >> 7
                rnd ^= (rnd << 17) & _MASK64
                other = rnd & (modulus - 1)
                if other >= length:
                    other -= length
                self.swap(idx, a + other)
                idx += 1

    def choose_pivot(self, a: int, b: int) -> tuple[int, int]:
        length = b - a
        swaps = [0]
        i = a + length // 4 * 1
        j = a + length // 4 * 2
        k = a + length // 4 * 3
        if length >= 8:
            if length >= 50:
                i = self.median(i - 1, i, i + 1, swaps)
                j = self.median(j - 1, j, j + 1, swaps)
                k = self.median(k - 1, k, k + 1, swaps)
            j = self.median(i, j, k, swaps)
        if swaps[0] == 0:
            return j, _INCREASING
        if swaps[0] == 12:
            return j, _DECREASING
        return j, _UNKNOWN

    def order2(self, a: int, b: int, swaps: list[int]) -> tuple[int, int]:
        if self.less(b, a):
            swaps[0] += 1
            return b, a
        return a, b

    def median(self, a: int, b: int, c: int, swaps: list[int]) -> int:
        a, b = self.order2(a, b, swaps)
        b, c = self.order2(b, c, swaps)
        a, b = self.order2(a, b, swaps)
        return b

    def reverse_range(self, a: int, b: int) -> None:
        i, j = a, b - 1
        while i < j:
            self.swap(i, j)
            i += 1
            j -= 1


_UNKNOWN, _INCREASING, _DECREASING = 0, 1, 2


def go_parse_float(text: str) -> float:
    """Go's ``strconv.ParseFloat(text, 64)``: no spaces; underscores only between digits or after a base prefix
    (``0.9_9`` is 0.99, as dive reads a quoted value; ``underscoreOK``); ``NaN``/``Inf`` spelled as Go accepts
    them; out-of-range values refused. ValueError otherwise."""
    if "_" in text:
        if not _underscores_ok(text) or _GO_INF.fullmatch(text.replace("_", "")):
            raise ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax')
        try:
            return go_parse_float(text.replace("_", ""))
        except ValueError as exc:
            raise ValueError(str(exc).replace(f'"{text.replace("_", "")}"', f'"{text}"')) from None
    if _GO_DECIMAL.fullmatch(text):
        value = float(text)
    elif _GO_HEX.fullmatch(text):
        value = float.fromhex(text)
    elif _GO_INF.fullmatch(text):
        return float(text.lower().replace("infinity", "inf"))
    elif text.lower() == "nan":
        return math.nan
    else:
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax')
    if math.isinf(value):
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": value out of range')
    return value


def _underscores_ok(text: str) -> bool:
    """Go's ``strconv.underscoreOK``: each ``_`` between two digits (or after a base prefix)."""
    s = text[1:] if text[:1] in ("+", "-") else text
    saw, i, hexa = "^", 0, False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "box":
        i, saw, hexa = 2, "0", s[1].lower() == "x"
    for c in s[i:]:
        if c.isascii() and (c.isdigit() or (hexa and c.lower() in "abcdef")):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def go_parse_int(text: str, base: int, *, unsigned: bool = False) -> int | None:
    """Go's ``strconv.ParseInt(text, base, 64)`` (``ParseUint`` when ``unsigned``) without underscores; None
    where Go returns an error. Base 0: a ``0x``/``0o``/``0b`` prefix, or a leading ``0`` for octal."""
    s, negative = text, False
    if not unsigned and s[:1] in ("+", "-"):
        s, negative = s[1:], s[0] == "-"
    if not s:
        return None
    if base == 0:
        base = 10
        if s[0] == "0":
            prefixed = {"b": 2, "o": 8, "x": 16}.get(s[1:2].lower()) if len(s) >= 3 else None
            base, s = (prefixed, s[2:]) if prefixed else (8, s[1:])
    if any(c not in _DIGITS[:base] for c in s.lower()):
        return None
    value = int(s, base) if s else 0
    if unsigned:
        return value if value < 1 << 64 else None
    value = -value if negative else value
    return value if -(1 << 63) <= value < 1 << 63 else None


def go_format(value: float) -> str:
    """A float64 as Go's ``%v`` prints it: ``strconv``'s shortest ``%g``, an exponent below 1e-4 or from 1e6
    (``2e+06``; the 1e21 of ``encoding/json`` is another rule)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    d = Decimal(repr(value)).normalize()
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    point = len(digits) + exponent - 1  # the decimal exponent of the first digit
    text = "".join(map(str, digits))
    if point < -4 or point >= 6:  # ftoa.go: "if precision was the shortest possible, use precision 6"
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        out = f"{mantissa}e{'-' if point < 0 else '+'}{abs(point):02d}"
    else:
        out = format(d.copy_abs(), "f")
    return ("-" if sign else "") + out


def yaml_to_go_string(value: Any) -> str:
    """A YAML scalar as viper's ``GetString`` gives it to dive (``0.9`` -> ``"0.9"``, ``1e3`` -> ``"1000"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return go_format(value)
        return format(Decimal(repr(value)).normalize(), "f")  # Go's FormatFloat(f, 'f', -1, 64)
    if isinstance(value, str):
        return value
    return str(value)  # e.g. a YAML date


def humanize_bytes(size: int) -> str:
    """go-humanize ``Bytes``: ``999 B``, ``1.0 kB``, ``10 kB``, ``1000 kB``, ``2.1 GB``."""
    if size < 10:
        return f"{size} B"
    exp = math.floor(math.log(float(size)) / math.log(1000.0))
    suffix = ("B", "kB", "MB", "GB", "TB", "PB", "EB")[exp]
    val = math.floor(float(size) / math.pow(1000.0, exp) * 10 + 0.5) / 10
    return f"{val:.1f} {suffix}" if val < 10 else f"{val:.0f} {suffix}"


def go_f4(value: float) -> str:
    """Go's ``%2.4f``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.4f}"
