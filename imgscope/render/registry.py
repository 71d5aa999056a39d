"""Registers the terminal and HTML renderers (``render.notebook.views``) into the display registry
(``imgscope._display``); imported on a result's first display (the package root names it)."""

from imgscope import _display
from imgscope.render.notebook import views

for _cls, _renderers in views():
    for _kind, _fn in _renderers.items():
        _display.register(_cls, _kind, _fn)
