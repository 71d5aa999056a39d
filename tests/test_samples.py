"""imgscope on real images made by real tools (samples/), checked against ground truth made by other tools:
umoci's unpacked root filesystem (samples/truth) and dive 0.13.1's own output (samples/dive)."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import imgscope
from imgscope import ChangeKind, EntryType, WasteReason
from imgscope.cli import main
from tests.conftest import CASES_FORMATS, SAMPLES, analysis_of


def truth_rows(name: str) -> set[tuple[str, ...]]:
    lines = (SAMPLES / "truth" / f"{name}.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["path", "type", "size", "mode", "uid", "gid", "link_target"]
    return {tuple(([*line.split("\t"), ""])[:7]) for line in lines[1:]}


def our_rows(a: imgscope.Analysis) -> set[tuple[str, ...]]:
    rows: set[tuple[str, ...]] = set()
    for f in a.files:
        kind = "file" if f.type in (EntryType.FILE, EntryType.HARDLINK) else f.type.value
        rows.add(
            (
                f.path,
                kind,
                str(f.size if kind == "file" else 0),
                f"{f.mode:04o}",
                str(f.uid),
                str(f.gid),
                f.link_target if kind == "symlink" else "",
            )
        )
    return rows


FINAL_TREES = [
    *[(rel, None, None, "cases") for rel in CASES_FORMATS],
    ("cases-vfs/docker-archive.tar", None, None, "cases-vfs"),
    ("multi-tag.tar", None, None, "tiny-a"),
    ("multi-tag.tar", "localhost/tiny-a:latest", None, "tiny-a"),
    ("two-images.tar", "localhost/tiny-a:1", None, "tiny-a"),
    ("two-images.tar", "tiny-b:1", None, "tiny-b"),
    ("multi-platform", None, "linux/amd64", "plat-amd64"),
    ("multi-platform", None, "linux/arm64", "plat-arm64"),
]


@pytest.mark.parametrize(("rel", "image", "platform", "truth"), FINAL_TREES)
def test_final_tree_equals_umoci_rootfs(rel: str, image: str | None, platform: str | None, truth: str) -> None:
    a = analysis_of(rel, image, platform)
    expected = truth_rows(truth)
    got = our_rows(a)
    assert sorted(expected - got) == [] and sorted(got - expected) == []


# Derived by hand from samples/src/cases/Containerfile: (path, bytes, layer written, layer that hid it, how).
CASES_WASTE = {
    ("/app/deleted.txt", 20000, 1, 3, WasteReason.DELETED),
    ("/app/overwritten.txt", 10000, 1, 3, WasteReason.OVERWRITTEN),
    ("/app/dir-gone/a.txt", 5000, 1, 3, WasteReason.DELETED),
    ("/app/dir-gone/b.txt", 6000, 1, 3, WasteReason.DELETED),
    ("/app/dir-gone/sub/c.txt", 7000, 1, 3, WasteReason.DELETED),
    ("/app/chmod-me.sh", 8000, 1, 3, WasteReason.METADATA_ONLY),
    ("/app/chown-me.txt", 6000, 1, 3, WasteReason.METADATA_ONLY),
    ("/app/same-content.txt", 4000, 1, 3, WasteReason.IDENTICAL),
    ("/app/file-then-dir", 3000, 1, 3, WasteReason.OVERWRITTEN),
    ("/app/was-file-dir/inner.txt", 2000, 1, 3, WasteReason.OVERWRITTEN),
    ("/srv/remove-me.txt", 4000, 2, 4, WasteReason.DELETED),
    ("/srv/config.txt", 3000, 2, 4, WasteReason.OVERWRITTEN),
}
# overlay hides /data's old files with an opaque marker, and copies the hard-link target up (same bytes again);
# vfs writes one whiteout per file and stores the new name as a plain copy, leaving the old file in place.
OVERLAY_ONLY = {
    ("/data/old1.txt", 3000, 1, 3, WasteReason.OPAQUE),
    ("/data/old2.txt", 3000, 1, 3, WasteReason.OPAQUE),
    ("/data/sub/old3.txt", 3000, 1, 3, WasteReason.OPAQUE),
    ("/app/lower-target.txt", 9000, 1, 3, WasteReason.IDENTICAL),
}
VFS_ONLY = {
    ("/data/old1.txt", 3000, 1, 3, WasteReason.DELETED),
    ("/data/old2.txt", 3000, 1, 3, WasteReason.DELETED),
    ("/data/sub/old3.txt", 3000, 1, 3, WasteReason.DELETED),
}


def wasted_set(a: imgscope.Analysis) -> set[tuple[str, int, int, int, WasteReason]]:
    return {(w.path, w.size, w.layer, w.hidden_by, w.reason) for w in a.wasted_files}


@pytest.mark.parametrize("rel", CASES_FORMATS)
def test_wasted_files_overlay_build(rel: str) -> None:
    a = analysis_of(rel)
    assert wasted_set(a) == CASES_WASTE | OVERLAY_ONLY
    assert a.summary.wasted_bytes == sum(w[1] for w in CASES_WASTE | OVERLAY_ONLY)


def test_wasted_files_vfs_build() -> None:
    a = analysis_of("cases-vfs/docker-archive.tar")
    assert wasted_set(a) == CASES_WASTE | VFS_ONLY
    # vfs stored the hard-linked pair as two copies: the same 9000 bytes twice in the final tree
    assert [(g.paths, g.wasted_bytes) for g in a.duplicates] == [
        (("/app/hardlink-to-lower.txt", "/app/lower-target.txt"), 9000)
    ]


@pytest.mark.parametrize("rel", [*CASES_FORMATS, "cases-vfs/docker-archive.tar", "two-images.tar"])
def test_every_stored_byte_is_visible_or_wasted(rel: str) -> None:
    a = analysis_of(rel)
    s = a.summary
    assert s.size == sum(layer.size for layer in a.layers)
    assert s.size == s.final_size + s.wasted_bytes
    visible = {}
    for f in a.files:
        if f.type is EntryType.FILE:
            visible[f.path] = f.size
    # hard links share bytes: the final size counts /app/hl-b once although hl-a was removed
    assert s.final_size <= sum(visible.values())


def test_all_formats_agree() -> None:
    reference = analysis_of(CASES_FORMATS[0])
    for rel in CASES_FORMATS[1:]:
        a = analysis_of(rel)
        for field in ("size", "final_size", "file_count", "layer_count", "wasted_bytes"):
            assert getattr(a.summary, field) == getattr(reference.summary, field), (rel, field)
        assert [layer.diff_id for layer in a.layers] == [layer.diff_id for layer in reference.layers]
        assert [(c.path, c.kind) for layer in a.layers for c in layer.changes] == [
            (c.path, c.kind) for layer in reference.layers for c in layer.changes
        ]


def test_compression_detected_from_bytes() -> None:
    assert {layer.compression for layer in analysis_of("cases/oci-gzip").layers} == {"gzip"}
    assert {layer.compression for layer in analysis_of("cases/oci-zstd").layers} == {"zstd"}
    assert {layer.compression for layer in analysis_of("cases/oci-plain").layers} == {"none"}
    zstd = analysis_of("cases/oci-zstd")
    assert all(layer.media_type and layer.media_type.endswith("zstd") for layer in zstd.layers)


def test_layer_changes_of_cases() -> None:
    a = analysis_of("cases/docker-archive.tar")
    layer3 = a.layers[3]
    added = {c.path for c in layer3.changes_of(ChangeKind.ADDED)}
    assert added == {"/app/file-then-dir/inside.txt", "/app/hardlink-to-lower.txt", "/data/x"}
    modified = {c.path: c.metadata_only for c in layer3.changes_of(ChangeKind.MODIFIED)}
    assert modified == {
        "/app/overwritten.txt": False,
        "/app/chmod-me.sh": True,
        "/app/chown-me.txt": True,
        "/app/file-then-dir": False,
        "/app/was-file-dir": False,
    }
    removed = {c.path for c in layer3.changes_of(ChangeKind.REMOVED)}
    assert {"/app/deleted.txt", "/app/dir-gone", "/app/dir-gone/sub/c.txt", "/data/old1.txt"} <= removed
    assert "/data" not in removed  # emptied and recreated, not removed
    assert layer3.removed_bytes == 20000 + 5000 + 6000 + 7000 + 9000 + 2000
    assert (layer3.metadata_only, layer3.metadata_only_bytes) == (2, 14000)
    assert (layer3.opaque_dirs, layer3.whiteouts) == (2, 2)
    layer4 = a.layers[4]
    assert {c.path for c in layer4.changes_of(ChangeKind.REMOVED)} == {"/srv/remove-me.txt", "/app/hl-a"}


def test_history_with_empty_layers_in_order() -> None:
    a = analysis_of("cases/docker-archive.tar")
    history = a.history
    assert len(history) == 12
    assert [h.layer_index for h in history if not h.empty_layer] == [0, 1, 2, 3, 4]
    commands = [h.command for h in history]
    assert commands[2].startswith("ENV APP_HOME=/app")
    assert commands[3].startswith("LABEL ")
    assert commands[-1].startswith("CMD ")
    assert a.layers[3].command.startswith("RUN set -e;")
    assert a.layers[2].command.startswith("COPY ")


def test_image_metadata() -> None:
    a = analysis_of("cases/docker25.tar")
    assert a.image.format == "docker-archive-oci"
    assert a.image.digest is not None and a.image.digest.startswith("sha256:")
    assert a.image.platform == imgscope.Platform("linux", "amd64")
    assert analysis_of("cases/docker-archive.tar").image.format == "docker-archive"
    assert analysis_of("cases/oci-archive.tar").image.format == "oci-archive"
    assert analysis_of("cases/oci-gzip").image.format == "oci-layout"


def test_largest_files() -> None:
    a = analysis_of("cases/docker-archive.tar")
    assert a.largest_files[0].path == "/bin/busybox"
    sizes = [f.size for f in a.largest_files]
    assert sizes == sorted(sizes, reverse=True)


# -- dive compatibility: compared with dive 0.13.1's own output on the same tars (samples/dive) ------------------

DIVE_SAMPLES = [
    ("cases/docker-archive.tar", "cases-docker-archive"),
    ("cases/docker25.tar", "cases-docker25"),
    ("cases-vfs/docker-archive.tar", "cases-vfs-docker-archive"),
    ("multi-tag.tar", "multi-tag"),
    ("two-images.tar", "two-images"),
]


@pytest.mark.parametrize(("rel", "stem"), DIVE_SAMPLES)
def test_dive_figures_equal_dive_output(rel: str, stem: str) -> None:
    a = analysis_of(rel)
    ci = (SAMPLES / "dive" / f"{stem}.ci.txt").read_text()
    exported = json.loads((SAMPLES / "dive" / f"{stem}.json").read_text())["image"]
    assert a.dive.efficiency == exported["efficiencyScore"]
    assert a.dive.wasted_bytes == exported["inefficientBytes"]
    assert a.summary.size == exported["sizeBytes"]
    efficiency = re.search(r"efficiency: ([0-9.]+) %", ci)
    wasted = re.search(r"wastedBytes: (\d+) bytes", ci)
    user = re.search(r"userWastedPercent: ([0-9.NaInf+]+) %", ci)
    assert efficiency and wasted and user
    lines = imgscope.dive.figures.format_ci_figures(a.dive)
    assert lines[0].strip() == f"efficiency: {efficiency.group(1)} %"
    assert a.dive.wasted_bytes == int(wasted.group(1))
    assert lines[2].strip() == f"userWastedPercent: {user.group(1)} %"
    exact = re.search(r"%-user-wasted-bytes=([0-9.e-]+) ", ci)
    if exact:  # dive prints the full float when its user-wasted rule fails
        assert repr(a.dive.user_wasted_percent) == exact.group(1)
    listed = [(f["file"], f["count"], f["sizeBytes"]) for f in exported["fileReference"]]
    assert [(i.path, i.count, i.cumulative_size) for i in a.dive.inefficiencies] == listed


TAR_EDGES = sorted(p.stem for p in (SAMPLES / "tar-edges").glob("*.tar"))


@pytest.mark.parametrize("stem", TAR_EDGES)
def test_tar_edges_read_as_dive_reads_them(stem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Members the common writers rarely write, read as Go's archive/tar reads them: a size field on a directory
    or a link (no data follows; dive counts the field), an old-style directory (type NUL, a trailing slash), a GNU
    long name beside a PAX path, the root with a size. Every figure and dive's verdict lines equal dive's own
    (samples/dive/tar-edges, recorded by samples/tar-edges/record.sh)."""
    a = analysis_of(f"tar-edges/{stem}.tar")
    exported = json.loads((SAMPLES / "dive" / "tar-edges" / f"{stem}.json").read_text())
    assert a.dive.efficiency == exported["image"]["efficiencyScore"]
    assert a.dive.wasted_bytes == exported["image"]["inefficientBytes"]
    listed = [(f["file"], f["count"], f["sizeBytes"]) for f in exported["image"]["fileReference"]]
    assert [(i.path, i.count, i.cumulative_size) for i in a.dive.inefficiencies] == listed
    layer_sizes = [layer["sizeBytes"] for layer in exported["layer"]]
    assert a.dive.user_wasted_percent == a.dive.wasted_bytes / sum(layer_sizes[1:])
    monkeypatch.chdir(tmp_path)  # no .dive-ci here: dive's defaults, as recorded
    result = CliRunner().invoke(main, ["check", "--format", "dive", str(SAMPLES / "tar-edges" / f"{stem}.tar")])
    ci = re.sub(r"\x1b\[[0-9;]*m", "", (SAMPLES / "dive" / "tar-edges" / f"{stem}.ci.txt").read_text())
    verdicts = ci[ci.index("Results:") :].rstrip()
    assert result.exit_code == (1 if "Result:FAIL" in verdicts else 0) and verdicts in result.stdout, result.stdout


def test_an_outer_archive_member_with_a_size_field_and_no_data(tmp_path: Path) -> None:
    """tarfile writes a directory's TarInfo.size into its header and no data: the archive index and the stream
    reader skip no data after it (they read the next header there), as the layer reader does."""
    original = SAMPLES / "tar-edges" / "dir-size.tar"
    path = tmp_path / "outer.tar"
    with tarfile.open(original) as src, tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as out:
        folder = tarfile.TarInfo("extra")
        folder.type, folder.size, folder.mode = tarfile.DIRTYPE, 4096, 0o755
        out.addfile(folder)  # the size in the header, no data after it
        for member in src.getmembers():
            out.addfile(member, src.extractfile(member))
    want = analysis_of("tar-edges/dir-size.tar").dive
    assert imgscope.analyze(path).dive == want
    with path.open("rb") as stdin:
        result = CliRunner().invoke(main, ["analyze", "-", "--json"], input=stdin.read())
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["dive"]["wasted_bytes"] == want.wasted_bytes


def test_dive_overcounts_where_imgscope_does_not() -> None:
    """The cases where dive is wrong, spelled out: imgscope's figure is the true one."""
    a = analysis_of("cases/docker-archive.tar")
    dive_paths = {i.path for i in a.dive.inefficiencies}
    true_paths = {w.path for w in a.wasted_files}
    assert "/app/hl-a" in dive_paths and "/app/hl-a" not in true_paths  # its bytes live on as /app/hl-b
    assert "/data/old1.txt" in true_paths and "/data/old1.txt" not in dive_paths  # dive skips opaque markers
    assert a.dive.wasted_bytes != a.summary.wasted_bytes


def test_list_images() -> None:
    refs = imgscope.list_images(str(SAMPLES / "two-images.tar"))
    assert [r.tags for r in refs] == [("localhost/tiny-a:1",), ("localhost/tiny-b:1",)]
    refs = imgscope.list_images(str(SAMPLES / "multi-platform"))
    assert sorted(str(r.platform) for r in refs) == ["linux/amd64", "linux/arm64"]
    refs = imgscope.list_images(str(SAMPLES / "multi-tag.tar"))
    assert refs[0].tags == ("localhost/tiny-a:1", "localhost/tiny-a:latest")


def test_choosing_images_and_platforms() -> None:
    a = analysis_of("two-images.tar")
    assert a.image.name == "localhost/tiny-a:1"
    assert any("2 images" in note for note in a.image.notes)
    b = analysis_of("two-images.tar", "tiny-b:1")
    assert b.image.name == "localhost/tiny-b:1" and not b.image.notes
    arm = analysis_of("multi-platform", None, "linux/arm64")
    assert str(arm.image.platform) == "linux/arm64"
    with pytest.raises(imgscope.ImageNotFoundError, match="tiny-c"):
        imgscope.open_image(str(SAMPLES / "two-images.tar"), image="tiny-c:1")
    with pytest.raises(imgscope.ImageNotFoundError, match="linux/s390x"):
        imgscope.open_image(str(SAMPLES / "multi-platform"), platform="linux/s390x")
    by_digest = imgscope.open_image(str(SAMPLES / "two-images.tar"), image=b.image.config_digest)
    assert by_digest.name == "localhost/tiny-b:1"


def test_open_image_is_lazy() -> None:
    img = imgscope.open_image(str(SAMPLES / "cases" / "oci-gzip"))
    assert len(img.layers) == 5 and all(layer.available for layer in img.layers)
    assert [layer.diff_id for layer in img.layers] == img.config["rootfs"]["diff_ids"]


def test_records_for_data_frames() -> None:
    a = analysis_of("cases/oci-zstd")
    assert a.layer_records() == a.to_dict()["layers"]
    files = a.file_records()
    assert len(files) == a.summary.file_count
    assert set(files[0]) == {"path", "type", "size", "mode", "uid", "gid", "link_target", "layer", "digest"}
    by_path = {f["path"]: f for f in files}
    assert by_path["/app/setuid-bin"]["mode"] == "4755"
    assert by_path["/app/link-rel"] == {**by_path["/app/link-rel"], "type": "symlink", "link_target": "overwritten.txt"}
    assert {f["path"] for f in files} == {row[0] for row in truth_rows("cases")}
