"""dive 0.13.1, reproduced: its figures (``figures``: efficiency, wasted bytes, user wasted percent, inefficient
files, quirks included), its CI rules and ``.dive-ci`` files (``ci``), and the Go number formatting, parsing and
sorting both rely on (``golang``), so every figure and message matches dive's to the character.

May import: ``model``, ``errors``, ``units``. Never ``union``, ``sources`` or anything above.
"""
