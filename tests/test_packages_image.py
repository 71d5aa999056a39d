"""Packages of a real image (samples/packages/oci, built by samples/packages/build.sh with dpkg, rpm, pip and
npm) against what the real tools report on the image unpacked by umoci: the package sets of
``dpkg-query --admindir``, ``rpm --root -qa``, ``pip list --path`` and ``npm ls``, and the bytes each package
owns from the sizes of the files those tools list, measured with ``os.lstat``."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

import pytest

import imgscope
from imgscope.packages import Package, PackageReport
from tests.conftest import SAMPLES, analysis_of, require_tool

SAMPLE = SAMPLES / "packages" / "oci"
SITE = "/opt/venv/lib/python3.11/site-packages"


def _members(layer: imgscope.LayerBlob) -> list[tuple[str, bytes]]:
    import io
    import tarfile

    with layer.open() as stream:
        data = stream.read()
    out = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf:
            f = tf.extractfile(m) if m.isfile() else None
            if f is not None:
                out.append(("/" + m.name.removeprefix("./").lstrip("/"), f.read()))
    return out


@cache
def scanned() -> imgscope.ImagePackages:
    """One pass over the sample: the analysis and the databases its layers' content observers kept."""
    return imgscope.scan_packages(SAMPLE)


def report(layer: int | None = None) -> PackageReport:
    return scanned().report(layer)


def test_one_pass_matches_the_plain_analysis() -> None:
    # the capture rides on the pass: same analysis as without it; and a reader fed the members (tarfile) agrees
    from imgscope.packages.report import report_from_members

    plain = analysis_of("packages/oci")
    assert scanned().analysis.summary == plain.summary and scanned().analysis.files == plain.files
    fed = report_from_members(plain, [_members(b) for b in plain.image.layers])
    assert fed.to_dict() == report().to_dict()


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_tool("umoci")
    bundle = tmp_path_factory.mktemp("bundle") / "b"
    subprocess.run(["umoci", "unpack", "--image", f"{SAMPLE}:1", str(bundle)], check=True, capture_output=True)
    yield bundle / "rootfs"


def _inside(root: Path, path: str) -> Path | None:
    """``path`` of the image under ``root``, its directories resolved inside the image (relative links only)."""
    parent = Path(os.path.realpath(root / os.path.dirname(path).lstrip("/")))
    if not str(parent).startswith(str(root)):
        return None
    return parent / os.path.basename(path)


def _bytes_of(root: Path, paths: list[str]) -> int:
    seen: set[int] = set()
    total = 0
    for p in paths:
        real = _inside(root, p)
        if real is None or (not real.exists() and not real.is_symlink()):
            continue
        st = os.lstat(real)
        if (st.st_mode & 0o170000) == 0o100000 and st.st_ino not in seen:
            seen.add(st.st_ino)
            total += st.st_size
    return total


def _present(eco: str) -> dict[str, Package]:
    return {p.name if eco != "npm" else p.location: p for p in report().packages if p.ecosystem == eco}


def test_dpkg_packages_and_bytes(rootfs: Path) -> None:
    require_tool("dpkg-query")
    admindir = str(rootfs / "var/lib/dpkg")
    out = subprocess.run(
        ["dpkg-query", f"--admindir={admindir}", "-W", "-f=${db:Status-Status}\\t${Package}\\t${Version}\\n"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    truth = {
        name: version
        for status, name, version in (line.split("\t") for line in out.splitlines())
        if status == "installed"
    }
    ours = _present("deb")
    assert {n: p.version for n, p in ours.items()} == truth
    for name in truth:
        listed = subprocess.run(
            ["dpkg-query", f"--admindir={admindir}", "-L", name], check=True, capture_output=True, text=True
        ).stdout.split("\n")
        assert ours[name].size == _bytes_of(rootfs, [p for p in listed if p]), name
        assert ours[name].missing_files == 0


def test_rpm_packages_and_bytes(rootfs: Path) -> None:
    require_tool("rpm")
    query = ["rpm", "--root", str(rootfs), "--dbpath", "/var/lib/rpm"]
    # rpm opens the database read-write (it may checkpoint it): query a copy of the unpacked root
    out = subprocess.run(
        [*query, "-qa", "--qf", "%{NAME}\\t%{VERSION}-%{RELEASE}\\n"], check=True, capture_output=True, text=True
    ).stdout
    truth = dict(line.split("\t") for line in out.splitlines())
    ours = _present("rpm")
    assert {n: p.version for n, p in ours.items()} == truth
    for name in truth:
        listed = subprocess.run([*query, "-ql", name], check=True, capture_output=True, text=True).stdout.split()
        assert ours[name].size == _bytes_of(rootfs, listed)


def test_pip_packages_and_bytes(rootfs: Path) -> None:
    site = rootfs / SITE.lstrip("/")
    out = subprocess.run(
        [sys.executable, "-m", "pip", "list", "--path", str(site), "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    truth = {d["name"]: d["version"] for d in json.loads(out)}
    ours = _present("pypi")
    assert {n: p.version for n, p in ours.items()} == truth
    for dist in distributions(path=[str(site)]):
        name = dist.metadata["Name"]
        paths = [str(dist.locate_file(f)) for f in dist.files or ()]
        expected = sum(os.lstat(p).st_size for p in paths if os.path.isfile(p) and not os.path.islink(p))
        assert ours[name].size == expected, name
        assert ours[name].location == SITE


def test_npm_packages_dev_flags_and_bytes(rootfs: Path) -> None:
    require_tool("npm")
    app = rootfs / "app"
    every = subprocess.run(
        ["npm", "ls", "--all", "--parseable", "--long", "--prefix", str(app)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    prod = set(
        subprocess.run(
            ["npm", "ls", "--all", "--parseable", "--omit=dev", "--prefix", str(app)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
    )
    truth = {}
    for line in every[1:]:  # the first is the project itself
        folder, _, spec = line.partition(":")
        truth["/" + os.path.relpath(folder, rootfs)] = (spec.rpartition("@")[2], folder not in prod)
    ours = _present("npm")
    assert {loc: (p.version, p.dev) for loc, p in ours.items()} == truth
    for loc in truth:
        top = rootfs / loc.lstrip("/")
        total = 0
        for dirpath, dirnames, filenames in os.walk(top):
            if "node_modules" in dirnames:
                dirnames.remove("node_modules")  # nested packages own themselves
            total += sum(
                os.lstat(os.path.join(dirpath, f)).st_size
                for f in filenames
                if os.path.isfile(os.path.join(dirpath, f))
            )
        assert ours[loc].size == total, loc


def test_apk_database_as_written(rootfs: Path) -> None:
    # No apk tool here: samples/packages/src/installed.apk is written as apk writes lib/apk/db/installed.
    text = (SAMPLES / "packages/src/installed.apk").read_text()
    names = [line[2:] for line in text.splitlines() if line.startswith("P:")]
    versions = [line[2:] for line in text.splitlines() if line.startswith("V:")]
    ours = _present("apk")
    assert {n: p.version for n, p in ours.items()} == dict(zip(names, versions, strict=True))
    # musl-demo's files are under /lib, which is a symlink to usr/lib in this image
    assert ours["musl-demo"].size == _bytes_of(rootfs, ["/lib/ld-musl-demo.so.1", "/lib/libc.musl-demo.so.1"])
    assert ours["apk-demo-doc"].size == _bytes_of(rootfs, ["/usr/share/doc/apk-demo/README"])


def test_totals_add_up(rootfs: Path) -> None:
    r = report()
    analysis = scanned().analysis
    assert r.total_bytes == analysis.summary.final_size
    assert r.owned_bytes + r.unowned_bytes == r.total_bytes
    assert sum(u.size for u in r.unowned) == r.unowned_bytes
    assert r.owned_bytes == sum(p.size for p in r.packages)


def test_layers_events_and_waste() -> None:
    r = report()
    events = {(e.layer, e.change, e.name) for e in r.events}
    assert (5, "removed", "sensible-utils") in events
    assert (5, "upgraded", "imgscope-demo") in events
    (gone,) = r.removed
    assert gone.name == "sensible-utils" and not gone.present and gone.layer == 1 and gone.removed_in == 5
    layer1 = {pl.layer: pl for pl in gone.layers}[1]
    # every byte it stored in layer 1 is wasted: stored, then purged
    assert gone.wasted_bytes == layer1.added_bytes == layer1.wasted_bytes > 0
    assert {pl.layer: pl for pl in gone.layers}[5].removed_bytes == layer1.added_bytes
    demo = report().find("imgscope-demo")[0]
    assert demo.version == "1.1" and demo.layer == 5
    # 1.0's data file (hard-linked: its bytes stored once). Its /bin script, same size and mtime in 1.1, is not
    # in layer 5 at all: buildah's vfs diff compares size and mtime only.
    assert demo.wasted_bytes == 20000
    # the report after layer 4 still has sensible-utils and imgscope-demo 1.0, and nothing wasted yet
    before = report(4)
    assert [p.version for p in before.find("imgscope-demo")] == ["1.0"]
    assert before.find("sensible-utils") and before.wasted_bytes == 0


def _validator(schema_file: str) -> object:
    jsonschema: Any = pytest.importorskip("jsonschema")
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    data = Path(__file__).parent / "data" / "sbom"
    registry: Registry = Registry()
    for f in data.glob("*.json"):
        doc = json.loads(f.read_text())
        resource = Resource.from_contents(doc, default_specification=DRAFT7)
        registry = registry.with_resource(f.name, resource)
        if "$id" in doc:
            registry = registry.with_resource(doc["$id"], resource)
    schema = json.loads((data / schema_file).read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)


def test_cyclonedx_valid_and_complete() -> None:
    from imgscope.packages.sbom import cyclonedx

    doc = json.loads(cyclonedx(report(), "0.1.0"))
    validator = _validator("bom-1.6.schema.json")
    validator.validate(doc)  # type: ignore[attr-defined]
    broken = json.loads(json.dumps(doc))
    broken["components"][0]["type"] = "no-such-type"
    assert not validator.is_valid(broken)  # type: ignore[attr-defined]  # the schema does bite
    assert doc["specVersion"] == "1.6"
    by_purl = {c["purl"]: c for c in doc["components"]}
    assert set(by_purl) == {p.purl for p in report().packages}
    hello = by_purl["pkg:deb/debian/hello@2.10-3?arch=amd64&distro=debian-12"]  # os-release: ID, VERSION_ID
    props = {p["name"]: p["value"] for p in hello["properties"]}
    assert props["imgscope:layer"] == "1" and int(props["imgscope:bytes"]) == report().find("hello")[0].size


def test_cyclonedx_scoped_npm_package_has_its_scope_as_group() -> None:
    """A scoped npm package is group ``@scope`` and name ``name`` in CycloneDX (its purl's namespace and name),
    not one name holding the scope; an unscoped one and a Debian package have no group."""
    from imgscope.packages.sbom import cyclonedx

    base = report()
    left_pad = next(p for p in base.packages if p.name == "left-pad")
    scoped = dataclasses.replace(left_pad, name="@types/left-pad", purl="pkg:npm/%40types/left-pad@1.3.0")
    doc = json.loads(cyclonedx(dataclasses.replace(base, packages=(*base.packages, scoped)), "0.1.0"))
    _validator("bom-1.6.schema.json").validate(doc)  # type: ignore[attr-defined]
    by_purl = {c["purl"]: c for c in doc["components"]}
    assert (by_purl[scoped.purl]["group"], by_purl[scoped.purl]["name"]) == ("@types", "left-pad")
    assert "group" not in by_purl[left_pad.purl] and by_purl[left_pad.purl]["name"] == "left-pad"
    assert all("group" not in c for c in doc["components"] if c["purl"].startswith("pkg:deb/"))


def test_spdx_valid_and_complete() -> None:
    from imgscope.packages.sbom import spdx

    doc = json.loads(spdx(report(), "0.1.0"))
    validator = _validator("spdx-2.3.schema.json")
    validator.validate(doc)  # type: ignore[attr-defined]
    assert not validator.is_valid({**doc, "packages": [{"name": "x"}]})  # type: ignore[attr-defined]
    purls = {r["referenceLocator"] for p in doc["packages"] for r in p.get("externalRefs", ())}
    assert purls == {p.purl for p in report().packages}
    six = next(p for p in doc["packages"] if p["name"] == "six")
    assert six["versionInfo"] == "1.16.0" and six["licenseDeclared"] == "MIT"
    assert len({p["SPDXID"] for p in doc["packages"]}) == len(doc["packages"])


def test_rules_and_diff_between_layers() -> None:
    from imgscope.packages.judge import diff_packages, forbidden, too_large

    assert [p.name for p in forbidden(report(), ["build-essential", "gcc*"])] == ["build-essential"]
    assert [p.name for p in too_large(report(), 100_000)] == ["idna", "hello"]
    changes = {c.name: c for c in diff_packages(report(4), report())}
    assert set(changes) == {"sensible-utils", "imgscope-demo"}
    gone, demo = changes["sensible-utils"], changes["imgscope-demo"]
    assert gone.change == "removed" and gone.delta == -gone.size_a < 0
    assert (demo.change, demo.version_a, demo.version_b) == ("upgraded", "1.0", "1.1")
    assert (
        demo.size_b == report().find("imgscope-demo")[0].size and demo.size_a == report(4).find("imgscope-demo")[0].size
    )
    # after an earlier layer, hard links are not known (each name counts): 1.0's 20,000-byte data file twice
    # (1.1 stores a 25,000-byte data file; 1.0 a 20,000-byte one; their other files are the same size)
    assert demo.size_a == demo.size_b - 25000 + 2 * 20000


def test_lying_database_invents_no_bytes() -> None:
    # The real layers, with layer 5's dpkg database replaced by a lying one: an absurd Installed-Size, a file
    # list naming files that are not there (and one that escapes with ..), and a truncated last paragraph.
    from imgscope.packages.report import report_from_members

    analysis = analysis_of("packages/oci")
    layers = [_members(b) for b in analysis.image.layers]
    status = dict(layers[5])["/var/lib/dpkg/status"]
    lie = (
        status.replace(b"Installed-Size: 277", b"Installed-Size: 999999999999999999")
        + b"\nPackage: ghost\nStatus: install ok installed\nVers"
    )
    layers[5] = [(p, d) for p, d in layers[5] if p != "/var/lib/dpkg/status"] + [
        ("/var/lib/dpkg/status", lie),
        ("/var/lib/dpkg/info/hello.list", b"/usr/bin/hello\n/usr/bin/not-there\n/../../usr/share/nope\n"),
    ]
    lied = report_from_members(analysis, layers)
    hello = lied.find("hello")[0]
    truth = next(f for f in analysis.files if f.path == "/usr/bin/hello")
    assert hello.size == truth.size and hello.declared_size is None and hello.missing_files == 2
    assert [p.version for p in lied.find("ghost")] == [""]
    assert any("absurd" in n for n in lied.notes) and any("truncated" in n for n in lied.notes)
    assert lied.total_bytes == report().total_bytes and lied.owned_bytes < report().owned_bytes


def test_parallel_scan_keeps_the_same_databases(monkeypatch: pytest.MonkeyPatch) -> None:
    # a worker process (--jobs) makes the observers of the layers it scans; they come back pickled with the scans.
    # This process scans layer 0 itself (and any layer no worker has started), with the observers made here.
    import multiprocessing

    import imgscope.analysis.scan as layer_scan
    import imgscope.packages.scan as scan_module

    restored: list[int] = []
    original = scan_module._restore

    def spy(token: int, index: int, written: dict[str, bytes], notes: list[str]) -> object:
        restored.append(index)
        return original(token, index, written, notes)

    spy.__module__, spy.__qualname__ = original.__module__, original.__qualname__  # pickled by name
    parent, worker_started = os.getpid(), multiprocessing.get_context("fork").Event()
    real_scan = layer_scan.scan_layer

    def scan(image: imgscope.Image, index: int, **options: Any) -> layer_scan.LayerScan:
        if os.getpid() != parent:
            worker_started.set()
        elif index == 0:
            assert worker_started.wait(60)  # layer 0 is scanned here once a worker has a layer: both kinds run
        return real_scan(image, index, **options)

    monkeypatch.setattr(layer_scan, "scan_layer", scan)
    scan_module._restore = spy  # type: ignore[assignment]
    try:
        parallel = imgscope.scan_packages(SAMPLE, jobs=2)
    finally:
        scan_module._restore = original
    assert restored and 0 not in restored  # observers came back from the worker; layer 0's was made here
    assert len(set(restored)) == len(restored)
    assert parallel.report().to_dict() == report().to_dict()
    assert parallel.report(3).to_dict() == report(3).to_dict()


def test_a_package_for_two_architectures_is_two_packages(tmp_path: Path) -> None:
    """Debian multiarch: libc:amd64 and libc:i386 in one database are two packages, each with its own bytes, its
    own events and, in an SPDX document, its own SPDXID (they were merged, and their SPDXIDs repeated)."""
    from imgscope.packages.sbom import spdx
    from tests.hostile.make_corpus import docker_archive, member, tar

    def status(*archs: str) -> bytes:
        return b"".join(
            f"Package: c\nStatus: install ok installed\nVersion: 1.0\nArchitecture: {a}\n\n".encode() for a in archs
        )

    layer0 = tar(
        member("var/lib/dpkg/status", status("amd64", "i386")),
        member("var/lib/dpkg/info/c:amd64.list", b"/usr/lib/x86_64/c.so\n"),
        member("var/lib/dpkg/info/c:i386.list", b"/usr/lib/i386/c.so\n"),
        member("usr/lib/x86_64/c.so", b"c" * 50),
        member("usr/lib/i386/c.so", b"C" * 60),
    )
    layer1 = tar(  # the i386 package purged
        member("var/lib/dpkg/status", status("amd64")),
        member("var/lib/dpkg/info/.wh.c:i386.list", b""),
        member("usr/lib/i386/.wh.c.so", b""),
    )
    image = tmp_path / "multiarch.tar"
    image.write_bytes(docker_archive([layer0, layer1]))
    scanned = imgscope.scan_packages(image)
    first, last = scanned.report(0), scanned.report(1)
    assert sorted((p.arch, p.size) for p in first.packages) == [("amd64", 50), ("i386", 60)]
    assert [(p.arch, p.size) for p in last.packages] == [("amd64", 50)]
    assert [(p.arch, p.present, p.wasted_bytes) for p in last.removed] == [("i386", False, 60)]
    assert sorted((e.change, e.arch) for e in last.events) == [
        ("installed", "amd64"),
        ("installed", "i386"),
        ("removed", "i386"),
    ]
    ids = [p["SPDXID"] for p in json.loads(spdx(first, "test"))["packages"]]
    assert len(ids) == len(set(ids)) == 3  # the image and the two packages


def test_purls_follow_the_purl_spec_for_os_packages() -> None:
    """The deb, rpm and apk types' qualifiers: distro from os-release (scanners pick an advisory feed by it), an rpm
    epoch as a qualifier, never in the version (https://github.com/package-url/purl-spec, PURL-TYPES.rst)."""
    from imgscope.packages.records import PackageRecord
    from imgscope.packages.report import purl

    rpm = PackageRecord("rpm", "openssl", "1:3.1.1-4.fc39", "/var/lib/rpm/rpmdb.sqlite", "x86_64")
    assert purl(rpm, "fedora 39") == "pkg:rpm/fedora/openssl@3.1.1-4.fc39?arch=x86_64&distro=fedora-39&epoch=1"
    apk = PackageRecord("apk", "musl", "1.2.4-r2", "/lib/apk/db/installed", "x86_64")
    assert purl(apk, "alpine 3.18.4") == "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4"
    deb = PackageRecord("deb", "libc6", "2.36-9+deb12u4", "/var/lib/dpkg/status", "amd64")
    assert purl(deb, "") == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64"  # no os-release: no distro


def test_a_hard_linked_copy_counts_for_the_package_that_owns_one_of_its_names(tmp_path: Path) -> None:
    """A copy stored once under two names (a hard link) is counted once, for the package that lists one of its
    names, whichever name the tar wrote first (it went to "unowned" when the unowned name came first)."""
    from tests.hostile.make_corpus import docker_archive, hardlink, member, tar

    layer = tar(
        member("var/lib/dpkg/status", b"Package: p\nStatus: install ok installed\nVersion: 1\n\n"),
        member("var/lib/dpkg/info/p.list", b"/usr/share/p/z.bin\n"),
        member("a/zlink", b"Z" * 100),
        hardlink("usr/share/p/z.bin", "a/zlink"),
    )
    image = tmp_path / "hardlink.tar"
    image.write_bytes(docker_archive([layer]))
    got = imgscope.scan_packages(image).report()
    assert [(p.name, p.size) for p in got.packages] == [("p", 100)]
    assert all(u.size == 0 for u in got.unowned if u.directory == "/a")
    assert got.owned_bytes == 100 and got.total_bytes - got.owned_bytes == got.unowned_bytes  # the rest: /var
