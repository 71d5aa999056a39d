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
