"""Where the base image ends: which of an image's layers and history entries its ``FROM`` brought in.

An image does not record its base in one agreed place, so the evidence is weighed, strongest first:

1. **buildah/podman** write ``FROM <name>`` as the comment of the first history entry of each build (later
   steps of the same build say ``FROM <12-hex id>``, the previous step's image). The last entry whose comment
   names an image by name starts the final build; everything before it is the base.
2. **BuildKit** marks each entry it writes with the comment ``buildkit.dockerfile.v0``. When the first entries
   lack it (a base built another way) and the rest carry it, the first marked entry starts the build.
3. **A base image's CMD or ENTRYPOINT in mid-history.** Official images end with ``CMD``/``ENTRYPOINT``
   (``CMD ["bash"]``); a Dockerfile built on them rarely sets one before its own steps. The last such entry
   that is followed by an entry making a layer closes the base.
4. **A jump in ``created``**: the build's steps are minutes apart, the base was made earlier. A gap of at least
   an hour before the last run of entries closes the base. Reproducible builds (``SOURCE_DATE_EPOCH``) defeat
   this rule, so it comes last.

The manifest annotations ``org.opencontainers.image.base.name`` / ``.base.digest`` (BuildKit, buildah with
``--identity-label``) name the base but do not say how many layers it has; they fill ``name`` and ``digest``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from imgscope.model import HistoryEntry, Image
from imgscope.sources.created_by import parse_created_by

BASE_NAME_ANNOTATION = "org.opencontainers.image.base.name"
BASE_DIGEST_ANNOTATION = "org.opencontainers.image.base.digest"
_IMAGE_ID = re.compile(r"^(?:sha256:)?[0-9a-f]{12,64}$")
_TIME_GAP = timedelta(hours=1)
_BUILDKIT_MARK = "buildkit.dockerfile.v0"


@dataclass(frozen=True)
class BaseImage:
    """The part of an image that its base brought in.

    Attributes:
        layer_count: layers 0 .. layer_count-1 come from the base image
        history_count: the first history_count history entries belong to the base
        name: e.g. "localhost/imgscope-base:1", when the image says
        digest: the org.opencontainers.image.base.digest annotation, when present
        evidence: how it was found, one line for the user
    """

    layer_count: int
    history_count: int
    name: str | None
    digest: str | None
    evidence: str

    def to_dict(self, *, history_count: bool = True) -> dict[str, Any]:
        """The base as in the JSON documents (``docs/json.md``); the advice document leaves ``history_count`` out."""
        doc: dict[str, Any] = {"name": self.name, "digest": self.digest, "layer_count": self.layer_count}
        if history_count:
            doc["history_count"] = self.history_count
        doc["evidence"] = self.evidence
        return doc


def find_base(image: Image) -> BaseImage | None:
    """The base of ``image``, or None when nothing in the image tells where it ends."""
    history = image.history
    name = image.annotations.get(BASE_NAME_ANNOTATION)
    digest = image.annotations.get(BASE_DIGEST_ANNOTATION)
    for rule in (_from_comment, _from_buildkit_mark, _from_mid_history_cmd, _from_time_gap):
        found = rule(history)
        if found is None:
            continue
        count, found_name, evidence = found
        layers = _layers_before(history, count)
        if layers == 0:
            continue  # a base without layers (FROM scratch) is no base worth naming
        return BaseImage(layers, count, found_name or name, digest, evidence)
    return None


def _layers_before(history: tuple[HistoryEntry, ...], count: int) -> int:
    indexes = [h.layer_index for h in history[:count] if h.layer_index is not None]
    return max(indexes) + 1 if indexes else 0


def _from_comment(history: tuple[HistoryEntry, ...]) -> tuple[int, str | None, str] | None:
    for position in range(len(history) - 1, 0, -1):
        comment = (history[position].comment or "").strip()
        if not comment.startswith("FROM "):
            continue
        ref = comment[len("FROM ") :].strip()
        if ref and not _IMAGE_ID.match(ref) and ref != "scratch":
            return position, ref, f"history entry {position} says 'FROM {ref}' (buildah's mark of a new build)"
    return None


def _from_buildkit_mark(history: tuple[HistoryEntry, ...]) -> tuple[int, str | None, str] | None:
    marked = [(h.comment or "").strip() == _BUILDKIT_MARK for h in history]
    if not any(marked) or marked[0]:
        return None
    first = marked.index(True)
    if not all(marked[first:]):
        return None  # marks come and go: no clean boundary
    return first, None, f"history entries from {first} on carry BuildKit's mark ({_BUILDKIT_MARK}), those before not"


def _from_mid_history_cmd(history: tuple[HistoryEntry, ...]) -> tuple[int, str | None, str] | None:
    for position in range(len(history) - 1, -1, -1):
        instruction = parse_created_by(history[position].created_by or "").text.split(" ", 1)[0].upper()
        if instruction not in ("CMD", "ENTRYPOINT"):
            continue
        if any(not h.empty_layer for h in history[position + 1 :]):
            return (
                position + 1,
                None,
                f"history entry {position} is a {instruction} followed by layers (a base image's last step)",
            )
        # A final CMD is the Dockerfile's own; keep looking further up.
    return None


def _from_time_gap(history: tuple[HistoryEntry, ...]) -> tuple[int, str | None, str] | None:
    times = [_parse_time(h.created) for h in history]
    for position in range(len(history) - 1, 0, -1):
        before, after = times[position - 1], times[position]
        if before is not None and after is not None and after - before >= _TIME_GAP:
            return (
                position,
                None,
                f"history entry {position} was created {_humane(after - before)} after the one before it",
            )
    return None


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    # RFC 3339 with nanoseconds (Go writes up to 9 fraction digits; Python takes 6).
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _humane(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.0f} days"
