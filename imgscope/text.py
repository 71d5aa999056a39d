"""Text from an image, made safe to show: names and commands are the image author's, not ours."""

from __future__ import annotations


def printable(text: str) -> str:
    """``text`` with control and other unprintable characters escaped (``\\x1b``, ``\\n``), so it stays one
    harmless line on a terminal or in a message."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def first_layers(count: int) -> str:
    """``layer 0`` or ``layers 0-3``: the bottom ``count`` layers (a base image's), in words."""
    return "layer 0" if count == 1 else f"layers 0-{count - 1}"


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 layer``, ``2 layers``, ``1,234 files``: the count with thousands separators and the word to match
    (``many`` for an irregular plural: ``plural(n, "entry", "entries")``)."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def middle_ellipsis(text: str, width: int) -> str:
    """``text`` cut in the middle to ``width`` characters (``/usr/lib/…/site-packages/x.py``): the start and the
    end of a path say the most; a path keeps its last component whole when it can."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    tail_start = text.rfind("/")
    keep = width - 1
    if tail_start > 0 and len(text) - tail_start <= keep * 2 // 3:
        tail = text[tail_start:]
        return text[: keep - len(tail)] + "…" + tail
    head = (keep + 1) // 2
    return text[:head] + "…" + text[len(text) - (keep - head) :]
