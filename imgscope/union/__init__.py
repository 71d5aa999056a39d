"""The union filesystem of an image's layers and its display trees. Knows nothing of image formats.

Owns: ``filesystem`` (layers applied in order with the OCI whiteout rules: what each layer changed, what is
wasted, the final filesystem) and ``tree`` (the file tree after any layer, or one layer's changes, as
``TreeNode`` dataclasses, and their trimming for display).

May import: ``model``, ``errors`` and the other bottom modules. Never ``sources`` or anything above.
"""
