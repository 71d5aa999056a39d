"""Read a layer's tar once, front to back, into metadata records with content hashes.

Content observers (``ContentObserver``) may look at regular files' bytes as they stream past, together with the
content hash (no second read): each says how many of a file's first bytes it wants (all of them, up to a bound,
for a whole small file such as ``var/lib/dpkg/status``; a few hundred for a file header), and is handed them once
the member is read. The reader knows nothing of what observers look for (secrets, package databases).
"""

from __future__ import annotations

import hashlib
import re
import struct
from array import array
from collections import defaultdict
from collections.abc import Iterator, MutableSequence, Sequence
from itertools import chain, compress, count, repeat
from operator import add, and_, getitem, itemgetter, mul, sub
from typing import NamedTuple, NoReturn, Protocol, cast
from zlib import adler32

from imgscope.errors import CorruptLayerError
from imgscope.model import ENTRY_CODE, EntryType, TarEntries, TarEntry
from imgscope.sources import tarheader as th
from imgscope.sources.blobs import LayerStream

_TYPES = {
    th.HARDLINK: EntryType.HARDLINK,
    th.SYMLINK: EntryType.SYMLINK,
    th.CHAR: EntryType.CHAR,
    th.BLOCKDEV: EntryType.BLOCK,
    th.DIRECTORY: EntryType.DIR,
    th.GNU_DUMPDIR: EntryType.DIR,
    th.FIFO: EntryType.FIFO,
}
_CODES = {flag: ENTRY_CODE[etype] for flag, etype in _TYPES.items()}  # the type code of each non-file type flag
_FILE_CODE = ENTRY_CODE[EntryType.FILE]
_HARDLINK_CODE = ENTRY_CODE[EntryType.HARDLINK]
_EMPTY_DIGEST = hashlib.sha256().digest()
PATH_MAX = 4096  # Linux: no runtime can create a longer path, so no real layer holds one
# Members that estargz adds to a layer; snapshotters drop them, so do we.
ESTARGZ_MEMBERS = frozenset({"stargz.index.json", ".prefetch.landmark", ".no.prefetch.landmark"})


class Prefilter(NamedTuple):
    """Which regular files an observer can have any use for, said in a form the reader tests without calling it.

    An observer that declares one (``ContentObserver.prefilter``) promises that its ``observe`` does nothing with,
    and that nothing else depends on its ``wants`` for, any regular file unless the file has at most ``max_size``
    bytes and either ``marker`` occurs in its first ``window`` bytes or the last component of its name (as the tar
    writes it, or normalised) is in ``names``. The reader may then skip both calls for every other file.
    """

    max_size: int
    window: int
    marker: bytes
    names: frozenset[str]


class ContentObserver(Protocol):
    """Looks at regular files' content while the tar reader streams it (``iter_entries``).

    It may also have a ``prefilter`` attribute (a ``Prefilter``, or None): the files it can have any use for.
    """

    def wants(self, name: str, size: int) -> int:
        """How many of the first bytes of the regular file ``name`` (as the tar writes it, not normalised) of
        ``size`` bytes to see: 0 for none; ``size`` or more for the whole content."""
        ...

    def observe(self, path: str, size: int, content: bytes) -> None:
        """The first ``wants(...)`` bytes of the file (fewer if the file is shorter), once the member is read;
        ``path`` is normalised (no leading ``/``). Not called for the root directory or a bad member."""
        ...


class _Hasher(Protocol):
    def update(self, data: memoryview, /) -> None: ...


class Tee:
    """A sink that forwards every chunk to the content hasher and keeps the first ``limit`` bytes."""

    __slots__ = ("hasher", "head", "limit")

    def __init__(self, hasher: _Hasher, limit: int) -> None:
        self.hasher = hasher
        self.limit = limit
        self.head = bytearray()

    def update(self, data: memoryview) -> None:
        """Hash ``data`` and keep what still fits of it."""
        self.hasher.update(data)
        room = self.limit - len(self.head)
        if room > 0:
            self.head += data[:room]


# -- the members by column, as the reader adds them ------------------------------------------------------------


class _Columns:
    """A layer's members by column while the reader adds them, one at a time (``add``) or a run at once (``_run``);
    ``entries`` hands them to ``model.TarEntries`` as they are. The string table is a dict whose missing keys
    number themselves (its keys, in order, are the table), so a run interns its strings in one ``map``."""

    __slots__ = ("digests", "dirs", "gids", "index", "links", "modes", "names", "owners", "sizes", "types", "uids")

    def __init__(self) -> None:
        self.index: defaultdict[str, int] = defaultdict(count(1).__next__, {"": 0})
        self.dirs = array("I")
        self.names = array("I")
        self.links = array("I")
        self.types = bytearray()
        self.sizes: MutableSequence[int] = array("Q")
        self.modes: MutableSequence[int] = array("I")
        self.uids: MutableSequence[int] = array("I")
        self.gids: MutableSequence[int] = array("I")
        self.digests = bytearray()
        self.owners = _Owners()  # a run's mode, uid and gid fields, decoded (``_run``)

    def add(
        self, path: str, code: int, size: int, mode: int, uid: int, gid: int, link: str, digest: bytes | None
    ) -> None:
        """One member after the others (as ``TarEntries.add``)."""
        index = self.index
        parent, _, name = path.rpartition("/")
        at_dir = index[parent]
        at_name = index[name]
        at_link = index[link]
        try:
            self.sizes.append(size)
            self.modes.append(mode)
            self.uids.append(uid)
            self.gids.append(gid)
        except OverflowError:  # a value no machine int holds (a PAX uid): these columns become lists
            self.widen()
            self.sizes.append(size)
            self.modes.append(mode)
            self.uids.append(uid)
            self.gids.append(gid)
        self.dirs.append(at_dir)
        self.names.append(at_name)
        self.links.append(at_link)
        self.types.append(code)
        if digest is not None:
            self.digests += digest

    def widen(self) -> None:
        """Make the four int columns lists (a value too large for a machine int), dropping a half-added member's."""
        n = len(self.types)
        self.sizes, self.modes, self.uids, self.gids = (
            list(c[:n]) for c in (self.sizes, self.modes, self.uids, self.gids)
        )

    def entries(self) -> TarEntries:
        """The members, as ``model.TarEntries`` (which takes the columns, not a copy)."""
        return TarEntries.from_columns(
            list(self.index),
            self.dirs,
            self.names,
            self.links,
            self.types,
            self.sizes,
            self.modes,
            self.uids,
            self.gids,
            self.digests,
        )


#: take runs of plain members at once (``_run``); off, every member goes the member-by-member way (tests compare)
RUNS = True

# Each type flag's type code (a regular file's for regular and unknown types, as ``read_members`` reads them) and
# whether that code is a regular file's (1) or not (0); the flags a run leaves to the member-by-member path.
_FLAG_CODE = bytes(_CODES.get(flag, _FILE_CODE) for flag in range(256))
_FLAG_IS_FILE = bytes(int(code == _FILE_CODE) for code in _FLAG_CODE)
_RUN_STOPS = frozenset(b"LKxgX1")  # extended headers (GNU, PAX, Solaris) and hard links
_PAX = th.PAX_HEADER
_ONE_PATH = re.compile(rb"([1-9][0-9]*) path=(.*)\n", re.DOTALL)  # a PAX header's data: one path record, whole
_PAX_VALUES = frozenset({"size", "uid", "gid", "linkpath"})  # PAX records that change a member's values
_RUN_FIRST, _RUN_MOST = 16, 1 << 16  # the first and the longest walk of a run (``_run``)
_DIGEST = type(hashlib.sha256()).digest
#: name, mode+uid+gid (24 bytes), size, checksum, type flag: what a run reads of each header (``_run``)
_RUN_HEADER = struct.Struct("100s24s12s12x8sc")
_OWNERS_SHAPE = b"dddddddt" * 3  # mode, uid, gid: 7 octal digits and a NUL or space each (``tarheader.SHAPE``)
_SIZE_SHAPE = b"d" * 11 + b"t"
_FIRST_HALF, _SECOND_HALF = slice(0, 256), slice(256, 512)


def _pax_path(buf: bytes, at: int, size: int) -> str | None:
    """The ``path`` record of the PAX header at ``at`` ("" for none) when the header is on the fast path's form
    with a right checksum and its records are well formed and say nothing else that matters (no ``size``,
    ``uid``, ``gid`` or ``linkpath``); else None: the member-by-member path decides it."""
    _name, numbers, checksum, _flag, _link, _magic, _prefix = th.FAST_HEADER.unpack_from(buf, at)
    if not (
        size <= th.MAX_EXTENDED_HEADER
        and numbers.translate(th.SHAPE) == th.NUMBERS_SHAPE
        and checksum.translate(th.SHAPE) in th.CHECKSUM_SHAPES
        and int(checksum.rstrip(b" \x00"), 8)
        == (adler32(buf[at : at + 256]) & 0xFFFF) + (adler32(buf[at + 256 : at + 512]) & 0xFFFF) + 254 - sum(checksum)
    ):
        return None
    data = buf[at + 512 : at + 512 + size]
    one = _ONE_PATH.fullmatch(data)
    if one is not None and int(one[1]) == size:  # a single path record (what _parse_pax makes of it, sooner)
        return one[2].decode("utf-8", "backslashreplace")
    try:
        records = th._parse_pax(data, at)
    except th.TarFormatError:
        return None
    if not _PAX_VALUES.isdisjoint(records):
        return None
    return records.get("path", "")


def _first(flags: Sequence[bool], limit: int) -> int:
    """The first position below ``limit`` where ``flags`` is false (``limit`` when none)."""
    for i in range(limit):
        if not flags[i]:
            return i
    return limit


def _run(
    buf: bytes,
    view: memoryview,
    pos: int,
    columns: _Columns,
    observers: Sequence[ContentObserver],
    filters: Sequence[Prefilter],
    limit: int,
) -> tuple[int, bool]:
    """Take the run of plain members that starts at ``pos`` in the chunk ``buf`` (at most ``limit`` of them), all
    at once; return where the first member it leaves begins (``pos`` when it takes none), and whether it took
    every member its walk passed (when not, the caller walks less far next time: a layer where runs keep stopping
    early costs a few steps per member, never a walk to the chunk's end per member).

    A member is taken when it and its content lie whole in the chunk and the per-member path
    (``read_members``' in-place header, ``HeaderDecoder``) would take it with nothing to decide: a header on the fast
    path's form (``tarheader.FAST_HEADER``) with a right checksum, no extended header or hard link, a name that
    normalises to a non-empty path shorter than ``PATH_MAX``. The run stops at the first other member, which the
    per-member path then decides (and raises for, when it must), so every member is still read in order and any
    error is the same. Each step is a C-level ``map`` over the run, not a Python statement per member: the walk
    from header to header (one ``int`` per member) is the only loop. ``filters``: each observer's ``Prefilter``;
    the files they let through are shown to ``observers`` as ``read_members`` shows them.
    """
    end = len(buf)
    offsets: list[int] = []  # each member's header
    heads: list[int] = []  # where each member begins: its PAX header when it has one, else its header
    sizes: list[int] = []
    paxes: list[tuple[int, int, int]] = []  # (member, its PAX header's offset, that header's size)
    pax = -1  # the offset of a PAX header whose member comes next
    pax_size = 0
    at = pos
    stops = _RUN_STOPS
    for _ in range(limit):  # the walk: each header's size says where the next begins; its form is checked below
        try:
            size = int(buf[at + 124 : at + 135], 8)
        except ValueError:  # not 11 octal digits (a zero block, another form, the chunk's end)
            break
        nxt = at + 512 + ((size + 511) & ~511)
        if nxt > end or size < 0:
            break
        if buf[at + 156] in stops:
            if buf[at + 156] != _PAX or pax >= 0:
                break
            pax, pax_size = at, size  # a PAX header: its member is the next header
            at = nxt
            continue
        if pax >= 0:
            paxes.append((len(offsets), pax, pax_size))
            heads.append(pax)
            pax = -1
        else:
            heads.append(at)
        offsets.append(at)
        sizes.append(size)
        at = nxt
    walked = taken = len(offsets)
    if not taken:
        return pos, True
    overrides: dict[int, str] = {}
    for member, x, x_size in paxes:  # a member's PAX records: taken here when they only name it
        path = _pax_path(buf, x, x_size)
        if path is None or "\x00" in path:  # (a NUL in a name: the run's names are held NUL-separated)
            taken = member
            break
        if path:
            overrides[member] = path
    if not taken:
        return pos, False
    del offsets[taken:]
    name_f, owners, size_f, checksums, flag_f = zip(*map(_RUN_HEADER.unpack_from, repeat(buf), offsets), strict=True)
    # How far the headers are on the fast path's form: mode, uid, gid and size, the checksum field.
    shape = th.SHAPE
    forms = list(map(bytes.translate, owners, repeat(shape)))
    if forms.count(_OWNERS_SHAPE) != taken:
        taken = _first([f == _OWNERS_SHAPE for f in forms], taken)
    forms = list(map(bytes.translate, size_f[:taken], repeat(shape)))
    if forms.count(_SIZE_SHAPE) != taken:
        taken = _first([f == _SIZE_SHAPE for f in forms], taken)
    forms = list(map(bytes.translate, checksums[:taken], repeat(shape)))
    if not th.CHECKSUM_SHAPES.issuperset(forms):
        taken = _first([f in th.CHECKSUM_SHAPES for f in forms], taken)
    if not taken:
        return pos, False
    # The checksums: the stored value plus the field's own bytes is the header's byte sum plus 8 spaces (as
    # ``read_members``' fast path has it). A header of ASCII bytes sums to at most 127 * 512 = 65024, exact in
    # Adler-32's low word (1 + the sum, modulo 65521); otherwise each half is summed alone (at most 65280).
    del offsets[taken:]
    blocks = cast("list[bytes]", list(map(getitem, repeat(buf), map(slice, offsets, map(add, offsets, repeat(512))))))
    if b"".join(blocks).isascii():
        sums = map(and_, map(adler32, blocks), repeat(0xFFFF))
        expected = 255  # 1 + the sum of 8 spaces less the field's bytes
    else:
        sums = map(
            add,
            map(and_, map(adler32, map(bytes.__getitem__, blocks, repeat(_FIRST_HALF))), repeat(0xFFFF)),
            map(and_, map(adler32, map(bytes.__getitem__, blocks, repeat(_SECOND_HALF))), repeat(0xFFFF)),
        )
        expected = 254
    stored = map(add, map(int, map(bytes.rstrip, checksums[:taken], repeat(b" \x00")), repeat(8)), map(sum, checksums))
    off = list(map(sub, stored, sums))
    if off.count(expected) != taken:
        taken = _first([d == expected for d in off], taken)
        if not taken:
            return pos, False
        del blocks[taken:]
    # The names: the field up to its first NUL, after the ustar prefix when there is one; as text, all at once (a
    # NUL ends any UTF-8 sequence, so the names decode apart as they decode together).
    raw = list(map(bytes.rstrip, name_f[:taken], repeat(b"\x00")))
    if b"\x00" in b"".join(raw):  # a NUL inside the field: the name ends at the first
        raw = [n[: n.find(0)] if 0 in n else n for n in raw]
    if any(map(getitem, blocks, repeat(345))):  # a prefix field, if the magic says it is one
        raw = [
            _prefixed(block, n) if block[257:263] == b"ustar\x00" and block[345] else n
            for n, block in zip(raw, blocks, strict=True)
        ]
    joined = b"\x00".join(raw).decode("utf-8", "backslashreplace")
    if overrides:
        texts = joined.split("\x00")
        for member, path in overrides.items():
            if member < taken:
                texts[member] = path
        joined = "\x00".join(texts)
    clean = not (
        "//" in joined
        or "\x00/" in joined
        or "\x00\x00" in joined
        or joined.startswith(("/", "\x00"))
        or joined.endswith("\x00")
        or not joined
        or (("/." in joined or "\x00." in joined or joined[0] == ".") and _dot_component(joined))
    )
    if clean:  # every name already normal (``tarheader.normalize_name``'s own test), but for a trailing "/"
        paths = joined.replace("/\x00", "\x00").removesuffix("/").split("\x00")
    else:
        paths = []  # each normalised
        normalize = th.normalize_name
        for text in joined.split("\x00"):
            try:
                path = normalize(text)
            except ValueError:
                break
            if not path:
                break
            paths.append(path)
        taken = len(paths)
        if not taken:
            return pos, False
    if len(joined) >= PATH_MAX // 4 and max(map(len, paths)) >= PATH_MAX // 4:
        for i, path in enumerate(paths):
            if len(path) >= PATH_MAX // 4 and len(path.encode()) >= PATH_MAX:
                taken = i
                break
        if not taken:
            return pos, False
        del paths[taken:]
    # What the run is now decided to be: each column's part in a few calls.
    del offsets[taken:], sizes[taken:], blocks[taken:]
    flags = b"".join(flag_f[:taken])
    if any(map(getitem, blocks, repeat(157))):
        links = [_text(block[157:257]) if block[157] else "" for block in blocks]
    else:
        links = [""] * taken
    is_file = flags.translate(_FLAG_IS_FILE)
    starts = list(map(add, compress(offsets, is_file), repeat(512)))
    file_sizes = list(compress(sizes, is_file))
    if any(file_sizes):
        contents = cast(
            "Iterator[memoryview]", map(getitem, repeat(view), map(slice, starts, map(add, starts, file_sizes)))
        )
        digests = b"".join(map(_DIGEST, map(hashlib.sha256, contents)))
    else:  # empty files only
        digests = _EMPTY_DIGEST * len(file_sizes)
    split = list(map(str.rpartition, paths, repeat("/")))
    names = list(map(itemgetter(2), split))
    if filters and any(file_sizes):
        _observe_run(buf, view, joined, clean, paths, names, starts, file_sizes, is_file, observers, filters)
    parents = map(itemgetter(0), split)
    ids = list(map(columns.index.__getitem__, chain.from_iterable(zip(parents, names, links, strict=False))))
    columns.dirs.extend(array("I", ids[0::3]))
    columns.names.extend(array("I", ids[1::3]))
    columns.links.extend(array("I", ids[2::3]))
    columns.types += flags.translate(_FLAG_CODE)
    columns.sizes.extend(map(mul, sizes, is_file))
    owned = columns.owners
    if len(owned) > 4096:  # a bound on the cache, whatever the layer
        owned.clear()
    values = list(map(owned.__getitem__, owners[:taken]))
    columns.modes.extend(map(itemgetter(0), values))
    columns.uids.extend(map(itemgetter(1), values))
    columns.gids.extend(map(itemgetter(2), values))
    columns.digests += digests
    if taken < walked:
        return heads[taken], False
    last = taken - 1
    return offsets[last] + 512 + ((sizes[last] + 511) & ~511), True


def _dot_component(joined: str) -> bool:
    """True when one of the names (NUL between them) has a ``.`` or ``..`` component."""
    return (
        "/./" in joined
        or "/../" in joined
        or "/.\x00" in joined
        or "/..\x00" in joined
        or "\x00./" in joined
        or "\x00../" in joined
        or "\x00.\x00" in joined
        or "\x00..\x00" in joined
        or joined.startswith(("./", "../", ".\x00", "..\x00"))
        or joined.endswith(("/.", "/..", "\x00.", "\x00.."))
        or joined in (".", "..")
    )


def _prefixed(block: bytes, name: bytes) -> bytes:
    """``name`` after the ustar prefix field of ``block`` (which has one)."""
    prefix = block[345:500]
    return (prefix[: prefix.find(0)] if 0 in prefix else prefix) + b"/" + name


def _text(field: bytes) -> str:
    """A NUL-padded name field as text (``HeaderDecoder``'s way)."""
    return (field[: field.find(0)] if 0 in field else field).decode("utf-8", "backslashreplace")


class _Owners(dict[bytes, tuple[int, int, int]]):
    """(mode's permission bits, uid, gid) of each mode, uid and gid field (24 bytes, on the fast path's form),
    each decoded once: a layer has few."""

    def __missing__(self, key: bytes) -> tuple[int, int, int]:
        value = self[key] = (int(key[0:7], 8) & 0o7777, int(key[8:15], 8), int(key[16:23], 8))
        return value


def _observe_run(
    buf: bytes,
    view: memoryview,
    joined: str,
    clean: bool,
    paths: Sequence[str],
    names: Sequence[str],
    starts: Sequence[int],
    file_sizes: Sequence[int],
    is_file: bytes,
    observers: Sequence[ContentObserver],
    filters: Sequence[Prefilter],
) -> None:
    """Show a run's regular files to the observers, as ``read_members`` shows a member's; only the files some
    observer's ``Prefilter`` lets through are looked at one by one. ``joined``: the names as written, NUL
    between; ``clean``: each path is its name as written (a trailing ``/`` aside)."""
    files = list(compress(range(len(paths)), is_file))
    texts: list[str] = []
    wanted_files: set[int] = set()
    for f in filters:
        hits = list(map(buf.find, repeat(f.marker), starts, map(add, starts, map(min, file_sizes, repeat(f.window)))))
        if max(hits, default=-1) >= 0:
            wanted_files.update(j for j, hit in enumerate(hits) if hit >= 0 and file_sizes[j] <= f.max_size)
        if f.names.isdisjoint(names) and clean:  # a clean name's last component is its path's (or "")
            continue
        texts = texts or joined.split("\x00")
        wanted_files.update(
            j
            for j, i in enumerate(files)
            if file_sizes[j] <= f.max_size and (names[i] in f.names or texts[i].rpartition("/")[2] in f.names)
        )
    if not wanted_files:
        return
    texts = texts or joined.split("\x00")
    for j in sorted(wanted_files):
        size = file_sizes[j]
        if not size:
            continue
        i = files[j]
        name = texts[i]
        wanted = [o.wants(name, size) for o in observers]
        limit = max(wanted)
        if limit <= 0:
            continue
        head = bytes(view[starts[j] : starts[j] + min(size, limit)])
        for observer, want in zip(observers, wanted, strict=True):
            if want > 0:
                observer.observe(paths[i], size, head[:want] if want < len(head) else head)


def _truncated(where: str, name: str, size: int, got: int) -> NoReturn:
    if got < size:
        raise CorruptLayerError(where, f"truncated tar: member {name!r} declares {size} bytes, stream ends after {got}")
    raise CorruptLayerError(where, f"truncated tar: stream ends in the padding of {name!r}")


def iter_entries(stream: LayerStream, observers: Sequence[ContentObserver] = ()) -> Iterator[TarEntry]:
    """Each member of the layer tar as a ``TarEntry`` (``read_members``, then its entries)."""
    yield from read_members(stream, observers)


def read_members(stream: LayerStream, observers: Sequence[ContentObserver] = ()) -> TarEntries:
    """Every member of the layer tar, in order, by column (``model.TarEntries``), regular files' content hashed.

    Stops at the end-of-archive marker; the caller then calls ``stream.finish()``.
    Raises ``CorruptLayerError`` for anything malformed, naming the stream. Each of ``observers`` sees the
    first bytes it asks for of each regular file (``ContentObserver``).

    The per-member work is the scan's cost, so the common case is done here without a call per field: a plain
    header in the current chunk is decoded in place (``tarheader.FAST_HEADER``; anything else, an extended header,
    one across chunks or one the fast path does not take, goes to ``HeaderDecoder.next``, which decides it as
    strictly as ever), a small file's content is hashed from the chunk without a copy, and the member's fields go
    to the columns without a ``TarEntry``.
    """
    where = stream.where
    decoder = th.HeaderDecoder(stream.read)
    next_member = decoder.next
    columns = _Columns()
    add = columns.add
    filters = [getattr(o, "prefilter", None) for o in observers]
    runs = RUNS and None not in filters  # runs of plain members at once (``_run``): each observer says what it may skip
    walk = _RUN_FIRST
    sha256 = hashlib.sha256
    regular = th.REGULAR
    codes = _CODES
    file_code = _FILE_CODE
    hardlink_code = _HARDLINK_CODE
    normalize = th.normalize_name
    unpack = th.FAST_HEADER.unpack_from
    shape = th.SHAPE
    numbers_shape = th.NUMBERS_SHAPE
    checksum_shapes = th.CHECKSUM_SHAPES
    as_zero = th.TERMINATORS_AS_ZERO
    extended = th.EXTENDED_FLAGS
    size_mask = (1 << 36) - 1  # the size field and its terminator: 12 octal digits
    field_mask = (1 << 24) - 1  # mode, uid, gid and their terminators: 8 octal digits
    view_of: bytes | None = None
    view = memoryview(b"")
    while True:
        buf = stream.buf
        pos = stream.pos
        fast = False
        if runs and pos + 512 <= len(buf) and not decoder.has_global:
            if buf is not view_of:
                view, view_of = memoryview(buf), buf
            after, whole = _run(buf, view, pos, columns, observers, filters, walk)  # type: ignore[arg-type]
            walk = min(walk * 2, _RUN_MOST) if whole else _RUN_FIRST
            if after != pos:
                decoder.position += after - pos
                stream.pos = after
                continue  # another run, or the member it stopped at
        if pos + 512 <= len(buf) and not decoder.has_global:
            name, numbers, checksum, flag, link, magic, prefix = unpack(buf, pos)
            if (
                flag not in extended
                and numbers.translate(shape) == numbers_shape
                and checksum.translate(shape) in checksum_shapes
                and int(checksum.rstrip(b" \x00"), 8)
                == (adler32(buf[pos : pos + 256]) & 0xFFFF)
                + (adler32(buf[pos + 256 : pos + 512]) & 0xFFFF)
                + 254
                - sum(checksum)
            ):
                fast = True
                value = int(numbers.translate(as_zero), 8)
                size = (value & size_mask) >> 3
                value >>= 36
                gid = (value & field_mask) >> 3
                value >>= 24
                uid = (value & field_mask) >> 3
                mode = value >> 27
                typeflag = flag[0]
                nul = name.find(0)
                if nul >= 0:
                    name = name[:nul]
                if magic == b"ustar\x00" and prefix[0]:  # POSIX: a prefix field extends the name
                    nul = prefix.find(0)
                    name = (prefix[:nul] if nul >= 0 else prefix) + b"/" + name
                member_name = name.decode("utf-8", "backslashreplace")
                if link[0]:
                    nul = link.find(0)
                    link_text = (link[:nul] if nul >= 0 else link).decode("utf-8", "backslashreplace")
                else:
                    link_text = ""
                pos += 512
                decoder.position += 512
        if not fast:
            try:
                member = next_member()
            except th.TarFormatError as exc:
                raise CorruptLayerError(where, str(exc)) from None
            if member is None:
                break
            member_name, typeflag, size = member.name, member.typeflag, member.size
            mode, uid, gid, link_text = member.mode, member.uid, member.gid, member.linkname
            buf = stream.buf
            pos = stream.pos
        padded = (size + 511) & ~511
        digest: bytes | None = None
        head: bytes | None = None
        wanted: list[int] | None = None
        is_file = typeflag in regular or typeflag not in codes  # POSIX: an unknown type is read as a regular file
        if is_file:
            code = file_code
            if not size:
                digest = _EMPTY_DIGEST
            else:
                limit = 0
                if observers:
                    wanted = [o.wants(member_name, size) for o in observers]
                    limit = max(wanted)
                if pos + padded <= len(buf):  # the whole member is in this chunk: hashed from it, no copy
                    if buf is not view_of:
                        view, view_of = memoryview(buf), buf
                    content = view[pos : pos + size]
                    digest = sha256(content).digest()
                    if limit > 0:
                        head = bytes(content[:limit])
                    pos += padded
                else:
                    stream.pos = pos
                    hasher = sha256()
                    tee = Tee(hasher, limit) if limit > 0 else None
                    got = stream.consume(size, tee or hasher)
                    if got != size:
                        _truncated(where, member_name, size, got)
                    digest = hasher.digest()
                    if tee is not None:
                        head = bytes(tee.head)
                    if padded != size and stream.consume(padded - size) != padded - size:
                        _truncated(where, member_name, size, size)
                    buf = stream.buf
                    pos = stream.pos
        else:
            code = codes[typeflag]
            if size:  # a non-file member's data (rare) is skipped
                if pos + padded <= len(buf):
                    pos += padded
                else:
                    stream.pos = pos
                    got = stream.consume(size)
                    if got != size:
                        _truncated(where, member_name, size, got)
                    if padded != size and stream.consume(padded - size) != padded - size:
                        _truncated(where, member_name, size, size)
                    buf = stream.buf
                    pos = stream.pos
        stream.pos = pos
        decoder.position += padded
        try:
            path = normalize(member_name)
        except ValueError:
            raise CorruptLayerError(where, f"member {member_name!r} escapes the image root") from None
        if not path:
            continue  # the root directory itself
        if head is not None and wanted is not None:
            for observer, want in zip(observers, wanted, strict=True):
                if want > 0:
                    observer.observe(path, size, head[:want] if want < len(head) else head)
        if len(path) >= PATH_MAX // 4 and len(path.encode()) >= PATH_MAX:
            raise CorruptLayerError(
                where, f"member name of {len(path.encode())} bytes, longer than PATH_MAX ({PATH_MAX})"
            )
        if code == hardlink_code:
            try:
                target = normalize(link_text)
            except ValueError:
                raise CorruptLayerError(
                    where, f"hard link {member_name!r} points out of the image root ({link_text!r})"
                ) from None
            if not target:
                raise CorruptLayerError(where, f"hard link {member_name!r} points to the root directory")
            link_text = target
        add(path, code, size if is_file else 0, mode & 0o7777, uid, gid, link_text, digest)
    return columns.entries()
