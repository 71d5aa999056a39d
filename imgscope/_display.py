"""How result types show themselves in a notebook or a rich console, without importing ``render/``.

A bottom-level registry: ``render/`` registers a function per (result class, kind) and the result types, through
``Displayable``, ask it. So a result type knows nothing of rich or HTML, and nothing here imports upwards.
Kinds: ``"rich"`` (a rich renderable, for ``__rich__``), ``"html"`` (a string, for ``_repr_html_``: a fragment,
styles scoped), ``"text"`` (a string, for IPython's ``_repr_pretty_``), ``"repr"`` (one line, for ``__repr__``;
the result dataclasses are declared with ``repr=False`` so this one is used). ``imgscope/__init__.py`` names
``render.registry`` (``load_renderers``), which is imported, and registers the renderers, on the first look-up.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

_RENDERERS: dict[tuple[type, str], Callable[[Any], Any]] = {}
_PENDING: list[str] = []  # modules that register renderers, imported on the first look-up
_LOADING = threading.RLock()  # re-entrant: a renderer module may look a renderer up while it is imported


def load_renderers(module: str) -> None:
    """Import ``module`` (which registers renderers) when a renderer is first looked up, not now: the package root
    names ``imgscope.render.registry`` here, so a program that never displays a result never imports rich."""
    _PENDING.append(module)


def register(cls: type, kind: str, fn: Callable[[Any], Any]) -> None:
    """Show instances of ``cls`` (and its subclasses) in ``kind`` with ``fn(obj)``."""
    _RENDERERS[(cls, kind)] = fn


def renderer(cls: type, kind: str) -> Callable[[Any], Any] | None:
    """The function registered for ``cls`` or its nearest base class, or None."""
    if _PENDING:
        with _LOADING:  # another thread's first look-up waits until the renderers are registered
            while _PENDING:
                module = _PENDING[0]
                importlib.import_module(module)
                if _PENDING and _PENDING[0] == module:  # taken off only once imported: a failed one is tried again
                    del _PENDING[0]
    for base in cls.__mro__:
        fn = _RENDERERS.get((base, kind))
        if fn is not None:
            return fn
    return None


def render(obj: object, kind: str) -> Any:
    """``obj`` shown in ``kind`` by its registered renderer, or None when there is none."""
    fn = renderer(type(obj), kind)
    return None if fn is None else fn(obj)


class Displayable:
    """Mixin for result types: notebook and rich display through the registry (plain ``repr`` without one)."""

    __slots__ = ()

    def __repr__(self) -> str:
        """One line (the registered ``"repr"`` view): a result can hold 100,000 paths."""
        shown = render(self, "repr")
        return object.__repr__(self) if shown is None else str(shown)

    def __rich__(self) -> Any:
        shown = render(self, "rich")
        return repr(self) if shown is None else shown

    def _repr_html_(self) -> str | None:
        shown = render(self, "html")
        return None if shown is None else str(shown)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        shown = None if cycle else render(self, "text")
        p.text(repr(self) if shown is None else str(shown))
