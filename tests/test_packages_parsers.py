"""The package-database parsers on hand-made and hostile bytes: what they read, and that bad input becomes a
note (never an exception, never an invented byte)."""

from __future__ import annotations

import functools
import json
import sqlite3
import struct
import tempfile
from itertools import pairwise
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from imgscope.packages import apk, dpkg, npm, python, rpm
from imgscope.packages.capture import DatabaseCapture, history, parse_state
from imgscope.packages.versions import compare

STATUS = b"""Package: a
Status: install ok installed
Architecture: amd64
Version: 1.0-1
Installed-Size: 12
Description: first
 continued

Package: b
Status: deinstall ok config-files
Version: 2

Package: c
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Version: 3
Installed-Size: 99999999999999999999
"""


def test_dpkg_status_lists_and_md5sums() -> None:
    files = {
        "/var/lib/dpkg/status": STATUS,
        "/var/lib/dpkg/info/a.list": b"/.\n/usr\n/usr/bin/a\n",
        "/var/lib/dpkg/info/c:amd64.md5sums": b"d41d8cd98f00b204e9800998ecf8427e  usr/lib/c.so\n",
    }
    (db,) = dpkg.parse_dpkg(dpkg.ADMINDIR, files)
    by = {p.name: p for p in db.packages}
    assert set(by) == {"a", "c"}  # b keeps only its config files
    assert by["a"].files == ("/usr", "/usr/bin/a") and by["a"].declared_size == 12 * 1024
    assert by["c"].files == ("/usr/lib/c.so",) and by["c"].declared_size is None
    assert any("absurd" in n for n in db.notes)


def test_dpkg_truncated_and_distroless() -> None:
    (db,) = dpkg.parse_dpkg(dpkg.ADMINDIR, {"/var/lib/dpkg/status": STATUS[:58]})
    assert [p.name for p in db.packages] == ["a"] and any("truncated" in n for n in db.notes)
    assert any("no file list" in n for n in db.notes)
    distroless = {
        "/var/lib/dpkg/status.d/libc6": b"Package: libc6\nVersion: 2.36\nArchitecture: amd64\n",
        "/var/lib/dpkg/status.d/libc6.md5sums": b"0  lib/x86_64-linux-gnu/libc.so.6\n",
    }
    (db,) = dpkg.parse_dpkg(dpkg.ADMINDIR, distroless)
    assert db.format == "dpkg-status.d"
    assert [(p.name, p.files) for p in db.packages] == [("libc6", ("/lib/x86_64-linux-gnu/libc.so.6",))]


def test_apk_records() -> None:
    data = b"P:x\nV:1-r0\nI:4096\nF:usr/bin\nR:x\nR:../../etc/evil\nF:lib\nR:libx.so\n\nV:2\nR:orphan\n\nP:y\nI:abc"
    db = apk.parse_apk(data)
    x, y = db.packages
    assert x.files == ("/usr/bin", "/usr/bin/x", "/etc/evil", "/lib", "/lib/libx.so") and x.declared_size == 4096
    assert y.version == "" and y.declared_size is None
    assert any("without a P:" in n for n in db.notes) and any("truncated" in n for n in db.notes)


def _header(tags: list[tuple[int, int, bytes, int]]) -> bytes:
    index, store = b"", b""
    for tag, kind, data, count in tags:
        index += struct.pack(">IIII", tag, kind, len(store), count)
        store += data
    return struct.pack(">II", len(tags), len(store)) + index + store


def _rpmdb(blobs: list[bytes]) -> bytes:
    """An rpmdb.sqlite as rpm lays it out (the Packages table of hnum and header blob), written by SQLite."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rpmdb.sqlite"
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
        con.executemany("INSERT INTO Packages (blob) VALUES (?)", [(b,) for b in blobs])
        con.commit()
        con.close()
        return path.read_bytes()


def test_rpm_header_and_sqlite() -> None:
    good = _header(
        [
            (1000, 6, b"tool\0", 1),
            (1001, 6, b"1.0\0", 1),
            (1002, 6, b"2.el9\0", 1),
            (1003, 4, struct.pack(">I", 1), 1),
            (1022, 6, b"x86_64\0", 1),
            (1116, 4, struct.pack(">II", 0, 1), 2),
            (1117, 8, b"tool\0README\0", 2),
            (1118, 8, b"/usr/bin/\0/usr/share/doc/tool/\0", 2),
        ]
    )
    db = rpm.parse_rpmdb_sqlite(_rpmdb([good, good[:20], b"junk"]), "/var/lib/rpm/rpmdb.sqlite")
    (pkg,) = db.packages
    assert (pkg.name, pkg.version, pkg.arch) == ("tool", "1:1.0-2.el9", "x86_64")
    assert pkg.files == ("/usr/bin/tool", "/usr/share/doc/tool/README")
    assert len(db.notes) == 2
    bad = rpm.parse_rpmdb_sqlite(b"SQLite format 3\0" + b"\0" * 50, "/var/lib/rpm/rpmdb.sqlite")
    assert not bad.packages and "not an SQLite database" in bad.notes[0]
    cut = _rpmdb([good])
    cut = cut[: len(cut) // 2]
    assert "not a readable" in rpm.parse_rpmdb_sqlite(cut, "/var/lib/rpm/rpmdb.sqlite").notes[0]
    unread = rpm.unread("/var/lib/rpm/Packages")
    assert not unread.read and unread.format == "rpm-bdb"


def test_rpm_write_ahead_log(tmp_path: Path) -> None:
    # A real WAL written by SQLite, copied before any checkpoint (as an image layer can hold it).
    path = tmp_path / "rpmdb.sqlite"
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
    con.commit()
    main_only = path.read_bytes()
    con.execute("INSERT INTO Packages (blob) VALUES (?)", (_header([(1000, 6, b"late\0", 1)]),))
    con.commit()
    db_bytes, wal_bytes = path.read_bytes(), (tmp_path / "rpmdb.sqlite-wal").read_bytes()
    con.close()
    assert db_bytes == main_only and wal_bytes  # the row is only in the log
    assert [p.name for p in rpm.parse_rpmdb_sqlite(db_bytes, "/x", wal_bytes).packages] == ["late"]
    assert rpm.parse_rpmdb_sqlite(db_bytes, "/x").packages == ()
    torn = wal_bytes[:-10]  # a frame cut short is not applied
    assert rpm.parse_rpmdb_sqlite(db_bytes, "/x", torn).packages == ()


def test_python_dist_info_and_egg_info() -> None:
    site = "/usr/lib/python3/dist-packages"
    files = {
        f"{site}/req-2.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: req\nVersion: 2.0\nLicense: MIT\n\nbody",
        f"{site}/req-2.0.dist-info/RECORD": b'req/__init__.py,sha256=x,10\n"req/a,b.py",,\n../../../bin/req,,\n',
        f"{site}/old.egg-info/PKG-INFO": b"Name: old\nVersion: 0.1\n",
        f"{site}/old.egg-info/installed-files.txt": b"../old.py\n",
        f"{site}/nometa-1.dist-info/RECORD": b"x.py,,\n",
    }
    assert all(python.wants(p) for p in files)
    (db,) = python.parse_python(files)
    by = {p.name: p for p in db.packages}
    assert by["req"].files == (
        f"{site}/req-2.0.dist-info",
        f"{site}/req/__init__.py",
        f"{site}/req/a,b.py",
        "/usr/bin/req",
    )
    assert by["req"].license == "MIT" and by["req"].where == site
    assert by["old"].files == (f"{site}/old.egg-info", f"{site}/old.py")
    assert any("no METADATA" in n for n in db.notes)
    assert python.reduce(f"{site}/req-2.0.dist-info/METADATA", files[f"{site}/req-2.0.dist-info/METADATA"]).endswith(
        b"MIT\n"
    )


def test_npm_packages_and_lockfile() -> None:
    raw = {
        "/app/package-lock.json": json.dumps(
            {"lockfileVersion": 3, "packages": {"": {}, "node_modules/a": {}, "node_modules/@s/b": {"dev": True}}}
        ).encode(),
        "/app/node_modules/a/package.json": b'{"name": "a", "version": "1.0.0", "description": "long"}',
        "/app/node_modules/@s/b/package.json": b'{"name": "@s/b", "version": "2.0.0"}',
        "/app/node_modules/a/lib/package.json": b"{}",  # not a package: not wanted
        "/app/node_modules/broken/package.json": b"{nope",
    }
    files = {p: npm.reduce(p, d) for p, d in raw.items() if npm.wants(p)}
    assert "/app/node_modules/a/lib/package.json" not in files
    (db,) = npm.parse_npm(files)
    by = {p.name: p for p in db.packages}
    assert by["a"].tree == "/app/node_modules/a" and not by["a"].dev
    assert by["@s/b"].dev and by["@s/b"].version == "2.0.0"
    assert by["broken"].version == "" and any("not a JSON object" in n for n in db.notes)


def test_capture_history_replays_writes_and_removals() -> None:
    cap = DatabaseCapture()
    cap.feed(0, [("/var/lib/dpkg/status", STATUS), ("/etc/passwd", b"root")])
    cap.feed(2, [("/var/lib/dpkg/status", STATUS[:120])])
    hist = history(cap, [[], [], [], ["/var/lib/dpkg/status"]])
    assert [len(s[0].packages) if s else 0 for s in hist.states] == [2, 2, 1, 0]
    assert hist.changed == (True, False, True, True)
    assert "/etc/passwd" not in cap.written[0]
    big = DatabaseCapture(max_file_size=10)
    assert big.wants("/var/lib/dpkg/status", 11) == 0 and "cap" in big.notes[0]
    cut = DatabaseCapture()
    cut.add(0, "/var/lib/dpkg/status", b"Package: a\n", size=500)
    assert not cut.written and "not read" in cut.notes[0]


def test_versions() -> None:
    assert compare("deb", "1:1.0", "2.0") == 1
    assert compare("deb", "1.0~rc1", "1.0") == -1
    assert compare("pypi", "1.10", "1.9") == 1
    assert compare("pypi", "2.0rc1", "2.0") == -1


@functools.cache
def _empty_rpmdb() -> bytes:
    return _rpmdb([])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_rpm_header_parser_never_raises_but_header_error(data: bytes) -> None:
    try:
        header = rpm.parse_header(data)
    except rpm.HeaderError:
        return
    assert header.name


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(["dpkg", "apk", "rpm", "python", "npm", "wal"]))
def test_parsers_never_raise(data: bytes, kind: str) -> None:
    site = "/usr/lib/python3.11/site-packages/x-1.dist-info"
    files = {
        "dpkg": {"/var/lib/dpkg/status": data, "/var/lib/dpkg/info/x.list": data},
        "apk": {"/lib/apk/db/installed": data},
        "rpm": {"/var/lib/rpm/rpmdb.sqlite": _empty_rpmdb()[:100] + data},
        "python": {f"{site}/METADATA": data, f"{site}/RECORD": data},
        "npm": {
            "/a/node_modules/x/package.json": npm.reduce("/a/node_modules/x/package.json", data),
            "/a/package-lock.json": npm.reduce("/a/package-lock.json", data),
        },
        "wal": {"/var/lib/rpm/rpmdb.sqlite": _empty_rpmdb(), "/var/lib/rpm/rpmdb.sqlite-wal": data},
    }[kind]
    for db in parse_state(files):
        for pkg in db.packages:
            assert all(f.startswith("/") and "/../" not in f for f in pkg.files)


def test_cheap_prefilter_never_rejects_a_wanted_path() -> None:
    from imgscope.packages.capture import maybe_wanted, wanted

    paths = [
        "/var/lib/dpkg/status",
        "/var/lib/dpkg/status.d/libc6",
        "/var/lib/dpkg/status.d/libc6.md5sums",
        "/var/lib/dpkg/info/a:amd64.list",
        "/var/lib/dpkg/info/a.md5sums",
        "/lib/apk/db/installed",
        "/usr/lib/sysimage/rpm/rpmdb.sqlite",
        "/var/lib/rpm/rpmdb.sqlite-wal",
        "/var/lib/rpm/Packages",
        "/var/lib/rpm/Packages.db",
        "/usr/lib/python3/dist-packages/x-1.dist-info/METADATA",
        "/usr/lib/python3/dist-packages/x-1.dist-info/RECORD",
        "/usr/lib/python3/dist-packages/x.egg-info",
        "/usr/lib/python3/dist-packages/x.egg-info/installed-files.txt",
        "/app/node_modules/@s/b/package.json",
        "/app/node_modules/.package-lock.json",
        "/app/package-lock.json",
        "/etc/os-release",
    ]
    for p in paths:
        assert wanted(p), p
        assert maybe_wanted(p.lstrip("/")) and maybe_wanted("./" + p.lstrip("/")), p
    assert not maybe_wanted("usr/bin/ls") and not wanted("/usr/lib/x/status")


def test_npm_versions_order_as_semver() -> None:
    """SemVer 2.0.0, section 11's own example order, and build metadata ignored: 2.0.0-beta.2 -> 2.0.0 is an
    upgrade (Debian's order, used before for npm, called it a downgrade)."""
    order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11"]
    order += ["1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"]
    for lower, higher in pairwise(order):
        assert compare("npm", lower, higher) == -1 and compare("npm", higher, lower) == 1, (lower, higher)
    assert compare("npm", "1.0.0+build2", "1.0.0+build1") == 0
    assert compare("npm", "2.0.0-beta.2", "2.0.0") == -1
    assert compare("npm", "not-semver-2", "not-semver-1") == 1  # not SemVer: Debian's order, as before
