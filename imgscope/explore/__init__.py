"""``imgscope explore``: a Textual app over an ``Analysis`` (dive's panes and keys, and the lenses dive lacks).

``model`` computes what the panes show (no Textual there), ``member`` reads one file's bytes from a layer,
``keys`` holds the key bindings and the settings, ``app`` is the Textual app.
"""

from imgscope.explore.app import ExploreApp
from imgscope.explore.keys import KEYS, ExploreSettings

__all__ = ["KEYS", "ExploreApp", "ExploreSettings"]
