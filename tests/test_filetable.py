"""The final file table (``Analysis.files``) stored by column: the same records as one object per path, read in
every way a sequence is read, and the largest files chosen from it as a sort of every record would choose them."""

from __future__ import annotations

import hashlib
import pickle

import pytest

import imgscope
from imgscope.analysis.result import FileRecord, FileTable
from imgscope.model import EntryType
from tests.conftest import SAMPLES
from tests.test_samples import truth_rows


def test_table_reads_as_a_sequence_of_records() -> None:
    a = imgscope.analyze(SAMPLES / "cases" / "docker-archive.tar")
    table = a.files
    assert isinstance(table, FileTable)
    records = list(table)
    # The final tree as umoci unpacked it: every path once, in walk order (depth first, names sorted).
    assert {f.path for f in records} == {row[0] for row in truth_rows("cases")}
    assert len(records) == len(table) == a.summary.file_count
    assert [table[i] for i in range(len(table))] == records
    assert table[-1] == records[-1] and table[-len(table)] == records[0]
    assert table[2:7] == tuple(records[2:7]) and table[::-3] == tuple(records[::-3])
    with pytest.raises(IndexError):
        table[len(table)]
    assert table == tuple(records) and tuple(records) == table
    assert FileTable(records) == table and hash(FileTable(records)) == hash(table)
    assert [f.record for f in FileTable(records)] == [f.record for f in records]
    assert pickle.loads(pickle.dumps(table)) == table
    busybox = next(f for f in records if f.path == "/bin/busybox")
    assert busybox.digest is not None and busybox.type is EntryType.FILE
    data = b"".join(m for m in _member_bytes(a, "bin/busybox"))
    assert busybox.digest == hashlib.sha256(data).hexdigest()
    assert all((f.digest is None) == (f.type is not EntryType.FILE) for f in records if f.type is not EntryType.DIR)


def _member_bytes(a: imgscope.Analysis, path: str) -> list[bytes]:
    import tarfile

    with tarfile.open(SAMPLES / "cases" / "docker-archive.tar") as outer:
        for layer in a.image.layers:
            member = outer.extractfile(layer.member.rpartition(":")[2])
            assert member is not None
            with tarfile.open(fileobj=member) as inner:
                for m in inner:
                    if m.name.lstrip("./") == path and m.isfile():
                        f = inner.extractfile(m)
                        assert f is not None
                        return [f.read()]
    return []


@pytest.mark.parametrize("top", [0, 1, 3, 10, 1000])
def test_largest_files_as_a_full_sort_chooses_them(top: int) -> None:
    a = imgscope.analyze(SAMPLES / "advise.tar", top=top)
    regular = [f for f in a.files if f.type is EntryType.FILE]
    assert list(a.largest_files) == sorted(regular, key=lambda f: (-f.size, f.path))[:top]


def test_owner_beyond_32_bits_and_odd_digests_are_kept() -> None:
    records = [
        FileRecord("/a", EntryType.DIR, 0, 0o755, 2**40, 7, "", 0),
        FileRecord("/a/b", EntryType.FILE, 2**50, 0o644, 0, 2**63, "", 1, 0, "ab" * 32),
        FileRecord("/a/c", EntryType.SYMLINK, 0, 0o777, 0, 0, "b", 1),
        FileRecord("/d", EntryType.FILE, 3, 0o600, 1, 1, "", 0, 1, "cd" * 64),
    ]
    table = FileTable(records)
    assert list(table) == records and [f.digest for f in table] == [r.digest for r in records]


def test_layer_members_by_column_read_as_the_entries() -> None:
    """A scan keeps its members by column (``TarEntries``); they read back as the entries the tar reader gave."""
    from imgscope.analysis.scan import LayerScan, scan_layer
    from imgscope.model import TarEntries, TarEntry, entry_names, entry_paths

    img = imgscope.open_image(SAMPLES / "cases-vfs" / "docker-archive.tar")
    for index in range(len(img.layers)):
        scan = scan_layer(img, index)
        members = scan.entries
        assert isinstance(members, TarEntries)
        listed = list(members)
        assert all(isinstance(e, TarEntry) for e in listed)
        assert TarEntries(listed) == listed and members == listed and listed == members
        assert list(entry_paths(members)) == [e.path for e in listed] == list(entry_paths(listed))
        assert list(entry_names(members)) == [e.path.rpartition("/")[2] for e in listed]
        assert members[-1] == listed[-1] and members[1:4] == listed[1:4]
        assert all(members.has_path(e.path) for e in listed[:50]) and not members.has_path("no/such/path")
        assert all((e.digest is not None) == (e.type is EntryType.FILE) for e in listed)
        back = LayerScan.from_bytes(scan.to_bytes())
        assert back.entries == listed and back.dive == scan.dive
        back_entries = back.entries
        assert isinstance(back_entries, TarEntries)
        more = TarEntry("x/late", EntryType.FILE, 1, 0o644, 2**40, 0, "", b"\x01" * 32)
        back_entries.append(more)  # a table read back takes more members, a uid beyond 32 bits too
        assert list(back_entries) == [*listed, more]
