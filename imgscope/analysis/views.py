"""``tree(image) -> ImageTree``: the file tree of an image after a layer, or one layer's changes, as a result
with its JSON document (``imgscope tree``). The trees themselves are built by ``union.tree``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from imgscope._display import Displayable
from imgscope.analysis.merge import analyze
from imgscope.analysis.result import Analysis
from imgscope.model import Image
from imgscope.union.tree import LayerIndexError, TreeNode

#: The version of the tree JSON document (``docs/json.md``); bump it on any breaking change.
TREE_SCHEMA_VERSION = 1


@dataclass(frozen=True, repr=False)  # repr: one line, from the display registry
class ImageTree(Displayable):
    """A file tree of an image, and which one it is.

    Attributes:
        root: the tree, rooted at ``/`` (``union.tree.TreeNode``).
        layer: the layer it stands after (or whose changes it shows); None for an image without layers.
        changes: True when it shows only what ``layer`` added, modified and removed.
        command: the history command of ``layer`` ("" when unknown; None without a layer).
        image: the image's name, when it has one.
        notes: the image's notes (what was chosen for the user, and why).
        layer_count: the image's layers.
    """

    root: TreeNode
    layer: int | None
    changes: bool
    command: str | None
    image: str | None
    notes: tuple[str, ...] = ()
    layer_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``imgscope tree --json`` (``docs/json.md``)."""
        return {
            "schema_version": TREE_SCHEMA_VERSION,
            "image": self.image,
            "layer": self.layer,
            "changes": self.changes,
            "command": self.command,
            "tree": self.root.to_dict(),
            "notes": list(self.notes),
        }


def tree(
    source: str | os.PathLike[str] | Image | Analysis,
    layer: int | None = None,
    *,
    changes: bool = False,
    image: str | None = None,
    platform: str | None = None,
    verify: bool = True,
) -> ImageTree:
    """The file tree of an image (a path, an ``Image`` or an ``Analysis``) after ``layer`` (default: the last;
    negative counts from the end), or with ``changes`` only what that layer added, modified and removed.

    ``LayerIndexError`` (a ``UsageError`` and an ``IndexError``) for a layer the image does not have, or for
    ``changes`` of an image without layers.
    """
    analysis = analyze(source, image=image, platform=platform, verify=verify, top=0)
    count = len(analysis.layers)
    if layer is not None and not -count <= layer < count:
        span = f"layers 0 to {count - 1}" if count else "no layers"
        raise LayerIndexError(f"layer {layer}", f"the image has {span}")
    index = (layer % count if layer is not None else count - 1) if count else None
    if index is None and changes:
        raise LayerIndexError(analysis.image.source, "the image has no layers, so no layer changed anything")
    return ImageTree(
        root=analysis.tree(index, changes=changes),
        layer=index,
        changes=changes,
        command=analysis.layers[index].command if index is not None else None,
        image=analysis.image.name,
        notes=analysis.image.notes,
        layer_count=count,
    )
