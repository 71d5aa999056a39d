"""A strict tar header decoder (ustar, GNU and PAX), shared by every tar reader in imgscope.

The standard library's ``tarfile`` treats a header with a bad checksum, or a
truncated one, as the end of the archive and stops without a word, so a corrupt
layer would pass for a short one. This decoder raises instead: every header's
checksum is checked, every numeric field is validated, a stream that ends before
its end-of-archive marker is an error, and extended headers (GNU long names,
PAX records) are size-limited.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from zlib import adler32

BLOCK = 512
MAX_EXTENDED_HEADER = 1 << 20  # GNU long names and PAX records: far above any real use
_EMPTY_BLOCK = bytes(BLOCK)

# Type flags (POSIX ustar plus the GNU/PAX extensions we understand).
REGULAR = frozenset(b"07\x00")
HARDLINK = ord("1")
SYMLINK = ord("2")
CHAR = ord("3")
BLOCKDEV = ord("4")
DIRECTORY = ord("5")
FIFO = ord("6")
GNU_LONGNAME = ord("L")
GNU_LONGLINK = ord("K")
PAX_HEADER = ord("x")
PAX_GLOBAL = ord("g")
GNU_DUMPDIR = ord("D")
SOLARIS_PAX = ord("X")  # not read as an extended header: Go's archive/tar (dive's) reads it as a member (a file)
#: Types no data follows, whatever the size field says: Go's archive/tar (what Docker and containerd unpack layers
#: with) and the standard library's tarfile read none; a writer may still fill in the field (tarfile writes a
#: TarInfo's size for any type).
HEADER_ONLY = frozenset({HARDLINK, SYMLINK, CHAR, BLOCKDEV, DIRECTORY, FIFO})


# -- the fast path of a plain header (``tar_stream.read_members``) ---------------------------------------------
# A header whose numeric fields are in the form every common writer uses (mode, uid and gid as 7 octal digits, size
# as 11, each ended by a NUL or a space), whose checksum is 6 or 7 octal digits and right, and whose type is not an
# extended header is decoded in a few C calls: one ``struct`` unpack, one ``bytes.translate`` to check the form of
# the four numbers and one ``int`` for all of them. Any other header goes to ``HeaderDecoder.next``, which decides
# it (and raises for a bad one) exactly as before; the fast path accepts only what it would accept, with the same
# values.

#: name, mode+uid+gid+size (36 bytes), checksum, type flag, link name, magic, prefix
FAST_HEADER = struct.Struct("100s36s12x8sc100s6s82x155s12x")
_shape = bytearray(b"x" * 256)
_shape[ord("0") : ord("7") + 1] = b"d" * 8
_shape[0] = _shape[ord(" ")] = ord("t")
#: maps octal digits to ``d``, NUL and space to ``t``, any other byte to ``x``
SHAPE = bytes(_shape)
#: the form of the four numeric fields (``FAST_HEADER``'s second field) the fast path takes
NUMBERS_SHAPE = b"dddddddt" * 3 + b"dddddddddddt"
_zeros = bytearray(range(256))
_zeros[0] = _zeros[ord(" ")] = ord("0")
#: maps NUL and space to ``0``: the four fields become one octal number of 36 digits (each ends in a 0)
TERMINATORS_AS_ZERO = bytes(_zeros)
#: the forms of the checksum field the fast path takes: 6 digits, NUL, space (GNU, Python, Go) or 7 digits, NUL
CHECKSUM_SHAPES = frozenset({b"ddddddtt", b"dddddddt"})
#: the type flags of extended headers (never on the fast path), as ``FAST_HEADER`` unpacks them
EXTENDED_FLAGS = frozenset(bytes([c]) for c in b"LKxg")
del _shape, _zeros


class TarFormatError(Exception):
    """A header is malformed; the message says how and where (byte offset)."""


@dataclass(slots=True)
class Member:
    """One decoded tar member: its metadata and the size of the data that follows."""

    name: str
    typeflag: int
    size: int
    mode: int
    uid: int
    gid: int
    linkname: str
    offset: int  # offset of the member's data in the uncompressed stream

    @property
    def data_size(self) -> int:
        """The bytes of data after the header (``padded`` to whole blocks in the stream): ``size``, or none for
        a type that has no data (``HEADER_ONLY``)."""
        return 0 if self.typeflag in HEADER_ONLY else self.size


def _decode_text(raw: bytes) -> str:
    # Names are bytes in tar. Non-UTF-8 bytes are kept visible as \xNN escapes, so a name
    # can always be printed and written to JSON.
    return raw.decode("utf-8", "backslashreplace")


def _cstring(field: bytes) -> bytes:
    end = field.find(0)
    return field if end < 0 else field[:end]


def _number(field: bytes, what: str, offset: int) -> int:
    """A numeric header field: octal digits padded with NULs/spaces, or GNU base-256."""
    text = field.strip(b" \x00")
    if text.isdigit():  # the common case; bytes.isdigit() is ASCII 0-9 only (no sign, no "_")
        try:
            return int(text, 8)
        except ValueError:  # an 8 or a 9
            raise TarFormatError(f"bad {what} {text[:20]!r} in tar header at byte {offset}") from None
    if field and field[0] & 0x80:
        if field[0] == 0xFF:
            raise TarFormatError(f"negative {what} in tar header at byte {offset}")
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    if not field.replace(b"\x00", b" ").strip():
        return 0
    raise TarFormatError(f"bad {what} {text[:20]!r} in tar header at byte {offset}")


def _checksum_ok(block: bytes, offset: int) -> bool:
    stored = _number(block[148:156], "checksum", offset)
    # The unsigned sum of the block with the checksum field read as spaces. Each half's byte sum
    # (at most 256 * 255 = 65280) is exact in Adler-32's low word (1 + sum mod 65521), which zlib
    # computes ten times faster than sum() iterates the bytes.
    unsigned = (adler32(block[:256]) & 0xFFFF) + (adler32(block[256:]) & 0xFFFF) - 2
    unsigned += 256 - sum(block[148:156])
    if stored == unsigned:
        return True
    # Some old writers summed signed chars.
    signed = sum(b - 256 if b > 127 else b for b in block)
    signed -= sum(b - 256 if b > 127 else b for b in block[148:156]) - 8 * 32
    return stored == signed


def _parse_pax(data: bytes, offset: int) -> dict[str, str]:
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        if data[pos] == 0:  # some writers pad PAX data with NULs
            break
        space = data.find(b" ", pos)
        if space < 0:
            raise TarFormatError(f"bad PAX record in header at byte {offset}")
        digits = data[pos:space]
        if not (digits.isdigit() and digits.isascii()):  # int() would also take " 12", "+12", "1_2"
            raise TarFormatError(f"bad PAX record length in header at byte {offset}")
        length = int(digits)
        end = pos + length
        if length <= space - pos + 1 or end > len(data) or data[end - 1] != 0x0A:
            raise TarFormatError(f"bad PAX record length in header at byte {offset}")
        key, eq, value = data[space + 1 : end - 1].partition(b"=")
        if not eq:
            raise TarFormatError(f"PAX record without '=' in header at byte {offset}")
        records[_decode_text(key)] = _decode_text(value)
        pos = end
    return records


def _pax_int(records: dict[str, str], key: str, default: int, offset: int) -> int:
    if key not in records:
        return default
    value = records[key]
    if not (value.isdigit() and value.isascii()):  # str.isdigit() is also true of "²" and "٣"
        raise TarFormatError(f"bad PAX {key}={value[:20]!r} in header at byte {offset}")
    return int(value)


def normalize_name(name: str) -> str:
    """A member name as a path relative to the root: no ``/``, ``.`` or ``..`` components; ``""`` for the root.

    Raises ValueError when ``..`` climbs out of the root.
    """
    plain = name[:-1] if name[-1:] == "/" else name
    if plain and plain[0] not in "./" and plain[-1] != "/" and "/." not in plain and "//" not in plain:
        return plain  # already normal (no empty, "." or ".." component): the common case, decided without a split
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise ValueError(name)
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


def padded(size: int) -> int:
    """``size`` rounded up to a whole number of tar blocks."""
    return (size + BLOCK - 1) // BLOCK * BLOCK


class HeaderDecoder:
    """Decodes the members of one tar stream, one header at a time.

    ``read(n)`` must return exactly ``n`` bytes or fewer only at the end of the
    stream. The decoder consumes headers and the data of extended headers; the
    caller consumes (or skips) each member's data, ``padded(member.size)`` bytes.
    """

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read
        self._global: dict[str, str] = {}
        self.position = 0  # bytes of the stream consumed so far, for messages

    def _read_exact(self, n: int, what: str) -> bytes:
        data = self._read(n)
        if len(data) != n:
            raise TarFormatError(f"truncated tar: stream ends inside {what} at byte {self.position + len(data)}")
        self.position += n
        return data

    @property
    def has_global(self) -> bool:
        """True once a global PAX header applies to every later member (which the fast path then leaves alone)."""
        return bool(self._global)

    def skipped(self, n: int) -> None:
        """Record that the caller consumed ``n`` bytes of member data."""
        self.position += n

    def next(self) -> Member | None:
        """The next member, or None at the end-of-archive marker."""
        long_name: str | None = None
        long_link: str | None = None
        pax: dict[str, str] = {}
        while True:
            offset = self.position
            block = self._read(BLOCK)
            if not block:
                raise TarFormatError(f"truncated tar: no end-of-archive marker (stream ends at byte {offset})")
            if len(block) != BLOCK:
                raise TarFormatError(f"truncated tar: stream ends inside a header at byte {offset}")
            self.position += BLOCK
            if block == _EMPTY_BLOCK:
                if long_name is not None or long_link is not None or pax:
                    raise TarFormatError(f"extended header without a member at byte {offset}")
                # The marker is two zero blocks. One, then the stream's end or zeros (even a cut block of them,
                # which Go calls unexpected EOF), is read as the end; one, then anything else, is an error (Go's
                # archive/tar, which Docker and containerd unpack layers with, refuses it), not a member skipped
                # without a word as what follows the end.
                second = self._read(BLOCK)
                self.position += len(second)
                if second.count(0) != len(second):
                    raise TarFormatError(f"data after a single zero block at byte {offset} (the end is two)")
                return None
            if not _checksum_ok(block, offset):
                raise TarFormatError(f"bad tar header checksum at byte {offset}")
            typeflag = block[156]
            size = _number(block[124:136], "size", offset)
            if typeflag in (GNU_LONGNAME, GNU_LONGLINK, PAX_HEADER, PAX_GLOBAL):
                if size > MAX_EXTENDED_HEADER:
                    raise TarFormatError(
                        f"extended tar header of {size} bytes at byte {offset} (limit {MAX_EXTENDED_HEADER})"
                    )
                data = self._read_exact(padded(size), "an extended header")[:size]
                if typeflag == GNU_LONGNAME:
                    long_name = _decode_text(_cstring(data))
                elif typeflag == GNU_LONGLINK:
                    long_link = _decode_text(_cstring(data))
                elif typeflag == PAX_GLOBAL:
                    self._global.update(_parse_pax(data, offset))
                else:
                    pax.update(_parse_pax(data, offset))
                continue
            name = block[0:100]
            nul = name.find(0)
            if nul >= 0:
                name = name[:nul]
            if block[257:263] == b"ustar\x00":  # POSIX: a prefix field extends the name
                prefix = _cstring(block[345:500])
                if prefix:
                    name = prefix + b"/" + name
            mode = _number(block[100:108], "mode", offset)
            uid = _number(block[108:116], "uid", offset)
            gid = _number(block[116:124], "gid", offset)
            link = block[157:257]
            link_text = _decode_text(_cstring(link)) if link[0] else ""
            if not (pax or self._global or long_name is not None or long_link is not None):
                text_name = name.decode("utf-8", "backslashreplace")
                if typeflag == 0 and text_name.endswith("/"):
                    typeflag = DIRECTORY
                return Member(text_name, typeflag, size, mode, uid, gid, link_text, self.position)
            records = {**self._global, **pax} if self._global else pax
            # as Go's archive/tar reads a member with both: a GNU long name (unless empty) over a PAX path
            text_name = long_name or records.get("path") or _decode_text(name)
            linkname = long_link or records.get("linkpath") or link_text
            size = _pax_int(records, "size", size, offset)
            uid = _pax_int(records, "uid", uid, offset)
            gid = _pax_int(records, "gid", gid, offset)
            if typeflag == 0 and text_name.endswith("/"):  # an old-style directory (Go, tarfile): NUL type, "/"
                typeflag = DIRECTORY
            return Member(text_name, typeflag, size, mode, uid, gid, linkname, self.position)
