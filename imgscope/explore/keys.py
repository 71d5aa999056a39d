"""The explorer's keys: dive 0.13.1's defaults (its ``cmd/root.go``), imgscope's own, and the settings file's.

Each binding has dive's config name as its id, so a ``.dive.yaml`` ``keybinding:`` section reads the same:
``[tool.imgscope.explore.keys]`` (``[explore.keys]`` in ``.imgscope.toml``) maps an id to keys, comma-separated,
in Textual's names (``ctrl+f``, ``slash``, ``pageup``, ``space``); dive's ``pgup``/``pgdn``/``ctrl+slash`` are read
too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from imgscope.errors import UsageError
from imgscope.settings import find_settings, load_settings, section


@dataclass(frozen=True)
class Key:
    """One action: its id, default keys (Textual names), where it acts, and what it does."""

    id: str
    keys: str
    where: str  # global | layers | tree
    help: str
    dive: bool = True  # dive 0.13.1 has it


KEYS: tuple[Key, ...] = (
    # dive 0.13.1, cmd/root.go; "/" is added, as issue 13 asks. Where a terminal without the kitty keyboard protocol
    # sends a control byte, Textual names the key by that byte, and both names are bound: Ctrl+/ sends 0x1f
    # (ctrl+underscore), Ctrl+Space NUL (ctrl+@), Ctrl+M a carriage return (enter).
    Key("quit", "ctrl+c,q", "global", "Quit"),
    Key("toggle-view", "tab", "global", "Switch view"),
    Key("filter-files", "ctrl+f,ctrl+slash,ctrl+underscore,slash", "global", "Filter"),
    Key("close-filter-files", "escape", "global", "Close filter"),
    Key("up", "up,k", "global", "Up"),
    Key("down", "down,j", "global", "Down"),
    Key("left", "left,h", "global", "Previous pane / parent directory"),
    Key("right", "right,l", "global", "Next pane / open directory"),
    Key("page-up", "pageup,u", "global", "Page up"),
    Key("page-down", "pagedown,d", "global", "Page down"),
    Key("compare-layer", "ctrl+l", "layers", "Show layer changes"),
    Key("compare-all", "ctrl+a", "layers", "Show aggregated changes"),
    Key("toggle-collapse-dir", "space", "tree", "Collapse dir"),
    Key("toggle-collapse-all-dir", "ctrl+space,ctrl+@", "tree", "Collapse all dir"),
    Key("toggle-sort-order", "ctrl+o", "tree", "Sort order"),
    Key("toggle-filetree-attributes", "ctrl+b", "tree", "Attributes"),
    Key("toggle-added-files", "ctrl+a", "tree", "Added"),
    Key("toggle-removed-files", "ctrl+r", "tree", "Removed"),
    Key("toggle-modified-files", "ctrl+m,enter", "tree", "Modified"),
    Key("toggle-unmodified-files", "ctrl+u", "tree", "Unmodified"),
    Key("toggle-wrap-tree", "ctrl+p", "tree", "Wrap"),
    Key("extract-file", "ctrl+e,v", "tree", "View file (read from the layer, never extracted)"),
    # imgscope's own
    Key("waste-lens", "w", "global", "Why is this wasted?", dive=False),
    Key("path-history", "p", "tree", "History of the path", dive=False),
    Key("copy-path", "c", "tree", "Copy path", dive=False),
    Key("compare-mark", "x", "layers", "Compare with this layer (x again: off)", dive=False),
    Key("compare-images", "i", "global", "Image B against image A (--against)", dive=False),
    Key("advise", "a", "global", "Advice for the layer", dive=False),
    Key("help", "question_mark,f1", "global", "Keys", dive=False),
)
KEYS_BY_ID = {k.id: k for k in KEYS}

# dive's key names where Textual's differ
_DIVE_NAMES = {"pgup": "pageup", "pgdn": "pagedown", "esc": "escape", "/": "slash", "?": "question_mark"}


def normalize(keys: str) -> str:
    """``"pgup, u"`` -> ``"pageup,u"``."""
    return ",".join(_DIVE_NAMES.get(k.strip(), k.strip()) for k in keys.split(",") if k.strip())


def keymap_from_table(table: dict[str, Any], where: str) -> dict[str, str]:
    """``{binding id: keys}`` from a ``[explore.keys]`` table; UsageError on an unknown id or a non-string."""
    keymap: dict[str, str] = {}
    for name, value in table.items():
        if name not in KEYS_BY_ID:
            raise UsageError(where, f"[explore.keys] {name}: no such key binding (known: {', '.join(KEYS_BY_ID)})")
        if not isinstance(value, str) or not normalize(value):
            raise UsageError(where, f'[explore.keys] {name}: give the keys as a string, e.g. "ctrl+f,slash"')
        keymap[name] = normalize(value)
    return keymap


@dataclass(frozen=True)
class ExploreSettings:
    """``[tool.imgscope.explore]``: ``keys`` (a table), ``sort`` (size|name), ``attributes`` (bool),
    ``aggregated`` (bool, dive's ``layer.show-aggregated-changes``), ``hide`` (kinds, dive's ``diff.hide``)."""

    keymap: tuple[tuple[str, str], ...] = ()
    sort: str = "size"
    attributes: bool = True
    aggregated: bool = False
    hide: tuple[str, ...] = ()

    @classmethod
    def from_table(cls, table: dict[str, Any], where: str) -> ExploreSettings:
        known = {"keys", "sort", "attributes", "aggregated", "hide"}
        unknown = sorted(set(table) - known)
        if unknown:
            raise UsageError(where, f"[explore] unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        keys = section(table, "keys", where)
        sort = table.get("sort", "size")
        if sort not in ("size", "name"):
            raise UsageError(where, f"[explore] sort: {sort!r} is not size or name")
        hide = table.get("hide", [])
        kinds = ("added", "removed", "modified", "unmodified")
        if not isinstance(hide, list) or any(h not in kinds for h in hide):
            raise UsageError(where, f"[explore] hide: a list of {', '.join(kinds)}")
        flags = {}
        for flag, default in (("attributes", True), ("aggregated", False)):
            value = table.get(flag, default)
            if not isinstance(value, bool):
                raise UsageError(where, f"[explore] {flag}: true or false")
            flags[flag] = value
        return cls(
            tuple(keymap_from_table(keys, where).items()), sort, flags["attributes"], flags["aggregated"], tuple(hide)
        )

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None = None, *, start: str | os.PathLike[str] = "."
    ) -> ExploreSettings:
        """The explore table of ``path`` or of the settings file found from ``start``; defaults when none."""
        file = path if path is not None else find_settings(start)
        if file is None:
            return cls()
        return cls.from_table(section(load_settings(file), "explore", str(file)), str(file))
