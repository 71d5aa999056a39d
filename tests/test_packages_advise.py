"""The package findings of ``imgscope advise`` (IS105's packages, IS111, IS112) on samples/packages, their
bytes from the files of the unpacked image (umoci) that the real tools say each package owns."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import imgscope
from imgscope.advise import AdviseSettings, Finding
from tests.test_packages_image import SAMPLE, report, rootfs, scanned

__all__ = ["rootfs"]  # the fixture, shared


def _finding(rule_id: str) -> Finding:
    (found,) = [f for f in imgscope.advice(scanned()).findings if f.id == rule_id]
    return found


def _regular(root: Path, paths: list[str]) -> dict[str, int]:
    """Path -> size of the regular files among ``paths`` (directories resolved inside the image)."""
    out = {}
    seen: set[int] = set()
    for p in paths:
        real = Path(os.path.realpath(root / os.path.dirname(p).lstrip("/"))) / os.path.basename(p)
        if real.is_file() and not real.is_symlink():
            st = os.lstat(real)
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                out[p] = st.st_size
    return out


def _listed(root: Path, package: str) -> list[str]:
    out = subprocess.run(
        ["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-L", package], check=True, capture_output=True, text=True
    ).stdout
    return [line for line in out.splitlines() if line]


def test_build_toolchain_names_packages_and_counts_their_files(rootfs: Path) -> None:
    f = _finding("IS105")
    assert "uuid-dev 2.38.1-5+deb12u3" in f.message and "build-essential 12.9" in f.message
    files = _regular(rootfs, _listed(rootfs, "uuid-dev") + _listed(rootfs, "build-essential"))
    assert f.bytes_saved == sum(files.values())
    assert f.layers == (1,)


def test_docs_and_locales_keep_copyright(rootfs: Path) -> None:
    f = _finding("IS111")
    docs = {}
    for dirpath, _dirs, names in os.walk(rootfs / "usr/share"):
        for n in names:
            p = "/" + os.path.relpath(os.path.join(dirpath, n), rootfs)
            st = os.lstat(os.path.join(dirpath, n))
            doc = p.startswith(("/usr/share/doc/", "/usr/share/man/", "/usr/share/info/", "/usr/share/locale/"))
            copyright_ = p.startswith("/usr/share/doc/") and p.endswith("/copyright")
            if doc and not copyright_ and (st.st_mode & 0o170000) == 0o100000:  # regular files: symlinks weigh 0
                docs[p] = st.st_size
    # every such file in this image belongs to an OS package (dpkg's and apk's)
    assert f.bytes_saved == sum(docs.values()) > 0
    assert not any(p.endswith("/copyright") for p in f.paths)


def test_npm_dev_dependencies(rootfs: Path) -> None:
    f = _finding("IS112")
    assert set(f.paths) == {"/app/node_modules/is-odd", "/app/node_modules/is-odd/node_modules/is-number"}
    dev = [p for p in report().packages if p.dev]
    assert f.bytes_saved == sum(p.size for p in dev) > 0 and f.layers == (4,)


def test_an_analysis_alone_has_no_package_findings() -> None:
    ids = {f.id for f in imgscope.advice(scanned().analysis).findings}
    assert not ids & {"IS111", "IS112"}
    # a path is read once, with its databases
    assert {"IS111", "IS112"} <= {f.id for f in imgscope.advice(SAMPLE).findings}


def test_ignored_like_any_rule() -> None:
    adv = imgscope.advice(scanned(), AdviseSettings(ignore=("docs-locales", "IS112")))
    assert not {f.id for f in adv.findings} & {"IS111", "IS112"} and adv.ignored == 2


@pytest.mark.parametrize("rule_id", ["IS111", "IS112"])
def test_documented(rule_id: str) -> None:
    text = (Path(__file__).parent.parent / "docs" / "advice.md").read_text()
    assert f"## {rule_id} " in text
