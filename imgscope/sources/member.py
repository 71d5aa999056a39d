"""One member's bytes from one layer: the layer blob is streamed from its start until the member, never extracted.

``read_member(image, layer, path)`` decompresses layer ``layer`` as ``analyze`` does (``LayerStream``: gzip, zstd
or plain by magic bytes, the same work limits), decodes tar headers with the strict decoder and returns the first
``limit`` bytes of the member named ``path``. Nothing is written to disk; memory holds at most ``limit`` bytes
plus one decompressed chunk. A hard link is followed to its target, in the same layer or (when the target was
written by an earlier layer) in the layer ``resolve`` names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from imgscope.errors import CorruptLayerError, MissingBlobError
from imgscope.model import Image
from imgscope.sources import tarheader as th
from imgscope.sources.blobs import LayerStream, Limits

DEFAULT_LIMIT = 256 << 10  # bytes of content read at most
MAX_LINK_HOPS = 8  # hard link to hard link: no real layer chains more than one


@dataclass(frozen=True)
class MemberContent:
    """The first bytes of one file as a layer stores it."""

    path: str  # "/etc/passwd"
    layer: int  # the layer whose blob held the bytes
    size: int  # the file's full size
    data: bytes  # its first ``min(size, limit)`` bytes
    link_target: str = ""  # for a symlink: its target (``data`` is empty)
    type: str = "file"  # file | symlink | dir | other

    @property
    def truncated(self) -> bool:
        """True when ``data`` holds less than the whole file."""
        return len(self.data) < self.size

    @property
    def binary(self) -> bool:
        """True when the bytes are not UTF-8 text (a NUL byte, or an invalid sequence before the cut)."""
        if b"\x00" in self.data:
            return True
        try:
            self.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut by the size limit is still text.
            return not (self.truncated and exc.start >= len(self.data) - 3)
        return False


def _norm(path: str) -> str:
    return "/".join(p for p in path.split("/") if p and p != ".")


def read_member(
    image: Image,
    layer: int,
    path: str,
    *,
    limit: int = DEFAULT_LIMIT,
    limits: Limits | None = None,
    resolve: Callable[[str], int | None] | None = None,
) -> MemberContent:
    """The first ``limit`` bytes of ``path`` as layer ``layer`` stores it.

    ``resolve(path)`` names the layer holding a hard link's target when the target is not in ``layer`` itself
    (e.g. the lower layer that last wrote it). Raises ``FileNotFoundError`` when the layer holds no such member,
    ``CorruptLayerError``/``MissingBlobError`` for a broken or absent blob.
    """
    wanted = _norm(path)
    for _ in range(MAX_LINK_HOPS):
        found = _scan(image, layer, wanted, limit, limits)
        if isinstance(found, MemberContent):
            return found
        # A hard link: its bytes are the target's, earlier in this layer or in a lower one.
        target = found
        in_layer = _scan(image, layer, target, limit, limits, before=wanted)
        if isinstance(in_layer, MemberContent):
            return MemberContent("/" + wanted, in_layer.layer, in_layer.size, in_layer.data)
        lower = resolve("/" + target) if resolve is not None else None
        if lower is None:
            raise FileNotFoundError(f"/{wanted}: hard link to /{target}, which no layer holds")
        wanted, layer = target, lower
    raise FileNotFoundError(f"/{wanted}: more than {MAX_LINK_HOPS} hard links in a row")


def _scan(
    image: Image, layer: int, wanted: str, limit: int, limits: Limits | None, before: str | None = None
) -> MemberContent | str:
    """The member's content, or the target of the hard link it is (a normalised path). With ``before``, only
    members ahead of that one count (a hard link's target precedes it in the tar)."""
    blob = image.layers[layer]
    where = f"{blob.member} (layer {layer})"
    if not blob.available:
        raise MissingBlobError(where, "the layer blob is not in the image")
    with blob.open() as raw, LayerStream(raw, where, limits=limits, hash_blob=False, hash_diff=False) as stream:
        decoder = th.HeaderDecoder(stream.read)
        while True:
            try:
                member = decoder.next()
            except th.TarFormatError as exc:
                raise CorruptLayerError(where, str(exc)) from None
            if member is None:
                break
            total = th.padded(member.data_size)
            try:
                name = th.normalize_name(member.name)
            except ValueError:
                name = ""
            if before is not None and name == before:
                break
            if name != wanted:
                if stream.consume(total) != total:
                    raise CorruptLayerError(where, f"truncated tar in member {member.name!r}")
                decoder.skipped(total)
                continue
            flag = member.typeflag
            if flag == th.HARDLINK:
                try:
                    return th.normalize_name(member.linkname)
                except ValueError:
                    raise CorruptLayerError(where, f"hard link {member.name!r} points out of the image") from None
            if flag == th.SYMLINK:
                return MemberContent("/" + wanted, layer, 0, b"", member.linkname, "symlink")
            if flag == th.DIRECTORY:
                return MemberContent("/" + wanted, layer, 0, b"", "", "dir")
            if flag not in th.REGULAR:
                return MemberContent("/" + wanted, layer, member.data_size, b"", "", "other")
            data = stream.read(min(member.size, max(0, limit)))
            return MemberContent("/" + wanted, layer, member.size, data)
    raise FileNotFoundError(f"/{wanted}: not in layer {layer}")
