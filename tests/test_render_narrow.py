"""What the terminal views show on a narrow terminal and with wide characters (docs/cli.md: "tables choose what to
cut when the terminal is narrow"): widths are terminal cells (a CJK character or an emoji takes two), a path loses
its middle, the identifying column keeps a usable minimum, numbers are never cut and no table is wider than the
terminal."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile

import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from imgscope.cli import main
from tests.conftest import SAMPLES

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CJK_TAG = "localhost/日本語:タグ"
FULL_WIDTH = "".join(chr(ord(c) + 0xFEE0) for c in "FULLWIDTH_NAME_FOR_TESTING")  # U+FF21 and on
CJK_FILES = {
    "app/日本語のファイル名/とても長い名前のファイル.txt": 5000,
    "app/emoji/" + "🐳" * 20 + ".bin": 4000,
    "app/中文目录/中文文件名称非常非常非常非常长的文件名称.dat": 3000,
    f"app/wide/{FULL_WIDTH}.txt": 900,
}


def _layer(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs: set[str] = set()
        for name, data in files.items():
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                if (d := "/".join(parts[:i])) not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture(scope="module")
def cjk_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A docker save of two layers whose files have CJK, emoji and full-width names (the second overwrites them,
    so they are wasted files too), tagged with a CJK tag."""
    blobs = [
        _layer({name: b"x" * n for name, n in CJK_FILES.items()}),
        _layer({name: b"y" * (n + 500) for name, n in CJK_FILES.items()}),
    ]
    diff_ids = ["sha256:" + hashlib.sha256(b).hexdigest() for b in blobs]
    commands = ["COPY 日本語のファイル名 🐳🐳🐳 /app", "RUN echo 日本語日本語日本語日本語日本語日本語 > /app/x"]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": c} for c in commands],
        }
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    members = {config_name: config, **{d[7:] + ".tar": b for d, b in zip(diff_ids, blobs, strict=True)}}
    manifest = [{"Config": config_name, "RepoTags": [CJK_TAG], "Layers": [d[7:] + ".tar" for d in diff_ids]}]
    members["manifest.json"] = json.dumps(manifest).encode()
    path = tmp_path_factory.mktemp("cjk") / "cjk.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return str(path)


def run(args: list[str], width: int, tty: bool = False) -> list[str]:
    env = {"COLUMNS": str(width), "NO_COLOR": None, "FORCE_COLOR": "1" if tty else None}
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code in (0, 1), result.stderr
    return ANSI.sub("", result.stdout).splitlines()


@pytest.mark.parametrize("width", [60, 80, 120])
def test_wide_character_paths_lose_their_middle(cjk_image: str, width: int) -> None:
    lines = run(["analyze", cjk_image], width)
    assert all(cell_len(line) <= width for line in lines), [line for line in lines if cell_len(line) > width]
    for name in CJK_FILES:
        extension = name[name.rfind(".") :]
        rows = [line for line in lines if line.startswith("│") and "/app/" + name[4:6] in line]
        assert len(rows) == 2, (name, lines)  # a wasted file and a largest file
        for row in rows:
            path = next(cell for cell in row.split("│") if "/app/" in cell).strip()
            assert path.count("…") <= 1 and path.endswith(extension), row


def test_tree_keeps_a_wide_name_s_extension(cjk_image: str) -> None:
    lines = run(["tree", cjk_image, "-L"], 80)
    assert all(cell_len(line) <= 80 for line in lines)
    rows = [line for line in lines if "中文文件名称" in line]
    assert len(rows) == 1 and rows[0].endswith(".dat") and rows[0].count("…") == 1, rows


def test_ls_shows_a_cjk_tag_whole(cjk_image: str) -> None:
    lines = run(["ls", cjk_image], 80)
    assert any(f"│ {CJK_TAG} " in line for line in lines), lines


def test_ls_drops_the_image_id_before_it_cuts_the_name() -> None:
    lines = run(["ls", str(SAMPLES / "hostile-names.tar")], 80)
    assert any("│ localhost/hostile-names:1 │" in line for line in lines) and "Image ID" not in "".join(lines), lines


@pytest.mark.parametrize("tty", [False, True])
def test_the_samples_fit_a_narrow_terminal(tty: bool) -> None:
    """Each command's output fits 30, 40 and 60 columns (the title lines and the text between tables fold; at 30,
    where no column is left to leave out, the command or path column takes what is left, not rich's cut)."""
    for width in (30, 40, 60):
        for args in (
            ["analyze", str(SAMPLES / "cases/docker-archive.tar")],
            ["history", str(SAMPLES / "cases/docker-archive.tar")],
            ["packages", str(SAMPLES / "packages/oci")],
            ["ls", str(SAMPLES / "multi-platform")],
            ["inspect", str(SAMPLES / "cases/docker-archive.tar")],
        ):
            lines = run(args, width, tty)
            wide = [line for line in lines if cell_len(line) > width and not re.search("sha256:[0-9a-f]{64}$", line)]
            assert not wide, (args, width, wide)  # inspect's Id and Manifest lines are whole, never folded


def test_at_40_columns_numbers_stay_whole_and_the_key_column_stays_readable() -> None:
    """Optional columns go before a number is cut (``2…``) or the command or name column shrinks to nothing."""
    out = "\n".join(run(["analyze", str(SAMPLES / "cases/docker-archive.tar")], 40))
    assert re.search(r"│ 0 │ +2\.0 MB │ .*281 │ busybox", out) and "105.0 kB" in out and "│ RUN set -e" in out
    out = "\n".join(run(["history", str(SAMPLES / "cases/docker-archive.tar")], 40))
    assert "│  105.0 kB │ RUN set -e" in out
    out = "\n".join(run(["packages", str(SAMPLES / "packages/oci")], 40))
    assert all(f"│ {name} " in out for name in ("uuid-dev", "hello", "musl-demo", "left-pad")), out
    assert re.search(r"│ build-\S*ential ", out), out  # its middle cut to the column: 13 cells here


@pytest.mark.parametrize("width", [30, 40, 60])
def test_a_digest_is_whole_or_short_never_cut_without_a_sign(width: int) -> None:
    lines = run(["inspect", str(SAMPLES / "cases/docker-archive.tar")], width)
    rows = [line for line in lines if line.startswith("│") and "sha256:" in line]
    assert len(rows) == 5, lines
    for row in rows:
        digest = re.search(r"sha256:\S*", row)
        assert digest and re.fullmatch(r"sha256:[0-9a-f]{12}…?|sha256:[0-9a-f]{64}", digest[0]), row


def test_a_package_the_layer_removed_shows_its_version_not_an_upgrade_to_itself() -> None:
    out = "\n".join(run(["packages", str(SAMPLES / "packages/oci"), "--layer", "-1"], 150))
    assert re.search(r"│ removed +│ sensible-utils +│ 0\.0\.17\+nmu1 +│", out), out
    assert re.search(r"│ upgraded +│ imgscope-demo +│ 1\.0 -> 1\.1 +│", out), out


def test_one_package_owns() -> None:
    out = "\n".join(run(["packages", str(SAMPLES / "advise.tar"), "--image", "localhost/wasteful:latest"], 120))
    assert ": 1 package owns " in out and "1 packages" not in out, out


def test_diff_shows_no_size_for_a_package_one_side_lacks() -> None:
    out = run(["diff", str(SAMPLES / "cases/docker-archive.tar"), str(SAMPLES / "advise.tar")], 200)
    rows = [line for line in out if re.match(r"│ (added|removed) ", line)]
    assert rows, out
    for row in rows:
        cells = [cell.strip() for cell in row.split("│")[1:-1]]  # Change Package Type A B SizeA SizeB Delta
        side = 3 if cells[0] == "added" else 4
        assert cells[side] == "-" and cells[side + 2] == "-", row


def test_top_0_leaves_the_file_tables_out() -> None:
    out = "\n".join(run(["analyze", str(SAMPLES / "cases/docker-archive.tar"), "--top", "0"], 120))
    assert "Layers and history" in out and "Wasted files" not in out and "Largest files" not in out, out
    out = "\n".join(run(["analyze", str(SAMPLES / "packages/oci"), "--top", "0"], 120))
    assert "Layers and history" in out and "Largest packages" not in out and "Largest files" not in out, out


@pytest.mark.parametrize("width", [40, 80, 120])
def test_diff_shows_a_layer_on_one_line_and_config_values_unbroken(width: int) -> None:
    lines = run(
        ["diff", str(SAMPLES / "two-images.tar") + ":tiny-a:1", str(SAMPLES / "two-images.tar") + ":tiny-b:1"], width
    )
    start = lines.index("Layers (same diff_id = shared)")
    body = lines[start + 4 : lines.index(next(line for line in lines[start:] if line.startswith("└")))]
    assert [line.split("│")[1].strip() for line in body] == ["0", "1", "2"], body  # no continuation line
    assert all(cell_len(line) <= width for line in lines)
    assert any("│ tiny-a │ tiny-b │" in line for line in lines), lines
