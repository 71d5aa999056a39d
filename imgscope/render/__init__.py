"""Formatting only: results -> terminal output (rich), JSON text (``json``), SARIF, JUnit, markdown, dive's CI
text. Nothing here computes a figure or builds a JSON document (the result types' ``to_dict()`` do).

Registers the terminal and HTML renderers into the display registry (``imgscope._display``), so results show
themselves in a notebook or a rich console; ``imgscope/__init__.py`` imports this package for that.

May import: everything below (``advise``, ``budget``, ``compare``, ``inspect``, ``history``, ``analysis``, ...).
Never ``cli``.
"""

from imgscope import _display
from imgscope.render.notebook import views

for _cls, _renderers in views():
    for _kind, _fn in _renderers.items():
        _display.register(_cls, _kind, _fn)
