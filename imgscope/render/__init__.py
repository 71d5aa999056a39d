"""Formatting only: results -> terminal output (rich), JSON text (``json``), SARIF, JUnit, markdown, dive's CI
text. Nothing here computes a figure or builds a JSON document (the result types' ``to_dict()`` do).

Registers the terminal and HTML renderers into the display registry (``imgscope._display``), so results show
themselves in a notebook or a rich console; ``imgscope/__init__.py`` imports this package for that.

May import: everything below (``advise``, ``budget``, ``compare``, ``inspect``, ``history``, ``analysis``, ...).
Never ``cli``.
"""

from imgscope import _display
from imgscope.packages import PackageReport
from imgscope.render.notebook import rich_html, views
from imgscope.render.packages import render_packages

for _cls, _renderers in views():
    for _kind, _fn in _renderers.items():
        _display.register(_cls, _kind, _fn)
_display.register(PackageReport, "rich", render_packages)
_display.register(PackageReport, "html", lambda report: rich_html(render_packages(report)))
