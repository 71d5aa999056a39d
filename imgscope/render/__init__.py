"""Formatting only: results -> terminal output (rich), JSON text (``json``), SARIF, JUnit, markdown, dive's CI
text. Nothing here computes a figure or builds a JSON document (the result types' ``to_dict()`` do).

``render.registry`` registers the terminal and HTML renderers into the display registry (``imgscope._display``),
so results show themselves in a notebook or a rich console; the package root names it for the first display
(``_display.load_renderers``). This package's root imports nothing, so ``render.json`` costs no rich.

May import: everything below (``advise``, ``budget``, ``compare``, ``inspect``, ``history``, ``analysis``, ...).
Never ``cli``.
"""
