"""Every CLI command through click's runner: output, JSON schema, exit codes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import imgscope
from imgscope.cli import main
from tests.conftest import SAMPLES

CASES = str(SAMPLES / "cases" / "docker-archive.tar")


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_analyze_terminal_report() -> None:
    code, out, _ = run("analyze", CASES, "--top", "3")
    assert code == 0
    for text in (
        "localhost/cases:1",
        "Layers and history",
        "Wasted files",
        "/app/deleted.txt",
        # dive's figures with dive's digits (dive prints "efficiency: 96.1646 %")
        "efficiency: 96.1646%",
        "userWastedPercent: 69.6328%",
        "Largest files",
        "ENV APP_HOME=/app",
    ):
        assert text in out
    assert "\x1b[" not in out  # not a terminal: no colour codes


def test_analyze_json_document() -> None:
    code, out, _ = run("analyze", CASES, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema_version"] == 2
    assert set(doc["image"]) >= {"name", "digest", "platform"}
    assert doc["image"]["name"] == "localhost/cases:1" and doc["image"]["platform"] == "linux/amd64"
    layer = doc["layers"][3]
    for key in ("index", "digest", "diff_id", "size", "compressed_size", "created_by", "added", "modified", "removed"):
        assert key in layer
    assert (layer["added"], layer["modified"], layer["removed"]) == (3, 5, 11)
    assert doc["summary"]["wasted_bytes"] == 96000
    assert doc["summary"]["size"] == doc["summary"]["final_size"] + doc["summary"]["wasted_bytes"]
    assert doc["dive"] == {**doc["dive"], "efficiency": 0.961646111909252, "wasted_bytes": 114000}
    assert doc["wasted_files"][0] == {
        "path": "/app/deleted.txt",
        "size": 20000,
        "layer": 1,
        "hidden_by": 3,
        "reason": "deleted",
    }
    assert doc["largest_files"][0]["path"] == "/bin/busybox"
    assert [h["empty_layer"] for h in doc["history"]].count(True) == 7


def test_json_equals_library_dict() -> None:
    _code, out, _ = run("analyze", CASES, "--json")
    assert json.loads(out) == json.loads(json.dumps(imgscope.analyze(CASES).to_dict()))


def test_json_lists_the_largest_files_top_asks_for() -> None:
    """``--top N`` given with ``--json`` is how many largest files the document lists; 50 when not given."""
    advise = str(SAMPLES / "advise.tar")
    counts = []
    for extra in ([], ["--top", "3"], ["--top", "70"]):
        code, out, _ = run("analyze", advise, "--json", *extra)
        assert code == 0
        counts.append(len(json.loads(out)["largest_files"]))
    files = len(imgscope.analyze(advise, top=10_000).largest_files)
    assert files > 50 and counts == [50, 3, min(70, files)]


def test_nan_becomes_null() -> None:
    # tiny-a has a base layer only plus one COPY of 0 wasted bytes: dive's user wasted percent is 0/N, not NaN;
    # an image of one empty layer gives 0/0.
    a = imgscope.analyze(str(SAMPLES / "multi-tag.tar"))
    doc = a.to_dict()
    assert doc["dive"]["user_wasted_percent"] == 0.0
    json.dumps(doc, allow_nan=False)


def test_ls_lists_images_and_platforms() -> None:
    code, out, _ = run("ls", str(SAMPLES / "two-images.tar"))
    assert code == 0 and "localhost/tiny-a:1" in out and "localhost/tiny-b:1" in out
    code, out, _ = run("ls", str(SAMPLES / "multi-platform"), "--json")
    assert code == 0
    assert sorted(i["platform"] for i in json.loads(out)["images"]) == ["linux/amd64", "linux/arm64"]


def test_ls_gives_the_configs_platform_where_the_source_says_none() -> None:
    """A docker save and an index entry without a platform: the config says it (``analyze`` showed it, ``ls`` a
    dash); digests in their short form, ``sha256:`` and 12 hex digits."""
    for source in (SAMPLES / "two-images.tar", SAMPLES / "cases" / "oci-zstd"):
        code, out, _ = run("ls", str(source), "--json")
        assert code == 0 and {i["platform"] for i in json.loads(out)["images"]} == {"linux/amd64"}
    code, out, _ = run("ls", str(SAMPLES / "cases" / "oci-zstd"))
    digest = imgscope.list_images(SAMPLES / "cases" / "oci-zstd")[0].digest
    assert digest is not None
    assert code == 0 and "linux/amd64" in out and f" {digest[:19]} " in out


def test_image_takes_the_name_shown() -> None:
    """An OCI layout's image is shown as its directory's name and its tag: that name picks it."""
    code, out, _ = run("analyze", str(SAMPLES / "cases" / "oci-gzip"), "--image", "oci-gzip:1", "--json")
    assert code == 0 and json.loads(out)["image"]["name"] == "oci-gzip:1"


def test_a_short_layer_blob_is_named(tmp_path: Path) -> None:
    """A layer blob shorter than its descriptor says: the error names that blob and its layer, not the manifest."""
    layout = tmp_path / "oci"
    shutil.copytree(SAMPLES / "cases" / "oci-zstd", layout)
    img = imgscope.open_image(layout)
    assert img.layers[0].digest is not None
    blob = layout / "blobs" / "sha256" / img.layers[0].digest.removeprefix("sha256:")
    blob.write_bytes(blob.read_bytes()[:1000])
    code, _, err = run("analyze", str(layout))
    assert code == 2
    assert f"{blob.name} (layer 0): the manifest's layers[0].size says" in err and "the blob has 1000" in err


def test_image_and_platform_options() -> None:
    code, out, _ = run("analyze", str(SAMPLES / "two-images.tar"), "--image", "localhost/tiny-b:1", "--json")
    assert code == 0 and json.loads(out)["image"]["name"] == "localhost/tiny-b:1"
    code, out, _ = run("analyze", str(SAMPLES / "multi-platform"), "--platform", "linux/arm64", "--json")
    assert code == 0 and json.loads(out)["image"]["platform"] == "linux/arm64"
    code, out, _ = run("analyze", str(SAMPLES / "two-images.tar"), "--top", "1")
    assert code == 0 and "2 images here; analyzing the first" in out
    # the platform a docker save's config states is the one asked for: taken
    code, out, _ = run("analyze", CASES, "--platform", "linux/amd64", "--json")
    assert code == 0 and json.loads(out)["image"]["platform"] == "linux/amd64"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze", "/nonexistent/image.tar"], "/nonexistent/image.tar: no such file or directory"),
        (["analyze", str(SAMPLES / "README.md")], "not a valid tar archive"),
        (["analyze", str(SAMPLES / "two-images.tar"), "--image", "nope:1"], "no image 'nope:1'"),
        (["analyze", str(SAMPLES / "multi-platform"), "--platform", "linux"], "not os/arch"),
        (["analyze", str(SAMPLES / "multi-platform"), "--platform", "linux/s390x"], "no image for platform"),
        # A source that does not say the platform (a docker save, an index entry without one): the config does.
        (
            ["check", CASES, "--platform", "windows/amd64", "--max-size", "1GB"],
            "no image for platform windows/amd64; platforms here: linux/amd64",
        ),
        (["analyze", str(SAMPLES / "cases" / "oci-gzip"), "--platform", "linux/arm64"], "no image for platform"),
        # --image naming two images is not a choice: check would otherwise judge the first
        (
            ["check", str(SAMPLES / "two-images.tar"), "--image", "1", "--max-size", "1GB"],
            "'1' names 2 images here: localhost/tiny-a:1, localhost/tiny-b:1; name one",
        ),
        (["analyze", str(SAMPLES / "two-images.tar"), "--image", "sha256:"], "at least 12 hex digits"),
        # two documents on one stdout would be neither
        (["analyze", CASES, "--html", "-", "--ncdu", "-"], "--html and --ncdu would both write to stdout"),
        (["analyze", CASES, "--json", "--ncdu", "-"], "--ncdu and --json would both write to stdout"),
        (["analyze", CASES, "--json", "--html", "-", "--ncdu", "-"], "--html, --ncdu and --json would all write"),
        (["analyze", str(SAMPLES / "two-images.tar"), "--image", "sha256:0eda"], "at least 12 hex digits"),
        (["ls", str(SAMPLES / "src")], "not a container image"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("imgscope: error: ") and message in err
    assert "Traceback" not in err


def test_usage_errors_exit_2() -> None:
    assert run("analyze")[0] == 2
    assert run("frobnicate")[0] == 2
    assert run("analyze", CASES, "--top", "-1")[0] == 2


@pytest.mark.parametrize("command", [[], ["analyze"], ["ls"]])
def test_help_on_every_command(command: list[str]) -> None:
    code, out, _ = run(*command, "--help")
    assert code == 0 and "Usage:" in out


def test_corrupt_layer_names_the_layer(tmp_path: Path) -> None:
    data = bytearray((SAMPLES / "cases" / "docker-archive.tar").read_bytes())
    # flip one byte inside busybox's bytes in the base layer: the digest check must catch it
    at = data.find(b"BusyBox v")
    assert at > 0
    data[at] ^= 0x01
    bad = tmp_path / "bad.tar"
    bad.write_bytes(bytes(data))
    code, _, err = run("analyze", str(bad))
    assert code == 2 and "layer 0" in err and "does not match its diff_id" in err
    code, out, _ = run("analyze", str(bad), "--no-verify", "--json")
    assert code == 0 and json.loads(out)["image"]["verified"] is False


def test_no_color_is_respected() -> None:
    colour = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-8]|9[0-7])(?:;\d+)*m")
    code, out, _ = run("analyze", CASES, env={"FORCE_COLOR": "1"})
    assert code == 0 and colour.search(out)  # the check can see colour when there is some
    code, out, _ = run("analyze", CASES, env={"NO_COLOR": "1", "FORCE_COLOR": "1"})
    assert code == 0 and not colour.search(out)


def test_version() -> None:
    code, out, _ = run("--version")
    assert code == 0 and imgscope.__version__ in out


def test_foreign_layer_without_blob_is_named(tmp_path: Path) -> None:
    import shutil

    layout = tmp_path / "oci"
    shutil.copytree(SAMPLES / "cases" / "oci-gzip", layout)
    index = json.loads((layout / "index.json").read_text())
    manifest_path = layout / "blobs" / "sha256" / index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads(manifest_path.read_text())
    layer = manifest["layers"][0]
    layer["mediaType"] = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    (layout / "blobs" / "sha256" / layer["digest"].split(":")[1]).unlink()
    data = json.dumps(manifest).encode()
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    index["manifests"][0]["digest"] = f"sha256:{digest}"
    index["manifests"][0]["size"] = len(data)
    (layout / "index.json").write_text(json.dumps(index))
    code, _, err = run("analyze", str(layout))
    assert code == 2 and "foreign (non-distributable) layer" in err and "layer 0" in err


def test_notebook_html_shows_the_report() -> None:
    html = imgscope.analyze(CASES)._repr_html_()
    assert html is not None and "Wasted files" in html and "/app/deleted.txt" in html


def test_image_controlled_text_cannot_drive_the_terminal(tmp_path: Path) -> None:
    from tests.hostile.make_corpus import docker_archive, member, tar

    evil = b"evil\x1b]0;pwned\x07\x1b[31mred[bold]x[/]\nline2"
    image = tmp_path / "evil.tar"
    image.write_bytes(docker_archive([tar(member(evil, b"x" * 100_000), member("[/]", b"y"))]))
    code, out, err = run("analyze", str(image), env={"FORCE_COLOR": "1"})
    assert code == 0, err
    assert "\x1b]0;" not in out and "\x1b[31mred" not in out and "\x07" not in out
    assert "evil\\x1b]0;pwned\\x07\\x1b[31mred[bold]x[/]\\nline2" in out  # shown, escaped, markup not parsed


def test_a_bug_of_ours_is_still_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("'<' not supported")

    monkeypatch.setattr(imgscope, "analyze", broken)
    monkeypatch.setattr(imgscope, "scan_packages", broken)  # analyze reads the package databases in its pass
    code, _, err = run("analyze", CASES)
    assert code == 2 and err.count("\n") == 1 and "internal error (TypeError" in err and "--debug" in err
    assert "Traceback" in CliRunner().invoke(main, ["--debug", "analyze", CASES]).stderr


def test_image_by_repository_without_its_tag() -> None:
    code, out, err = run("analyze", str(SAMPLES / "advise.tar"), "--image", "wasteful", "--json")
    assert code == 0, err
    assert json.loads(out)["image"]["name"] == "localhost/wasteful:latest"
    code, _, err = run("analyze", str(SAMPLES / "advise.tar"), "--image", "asteful")
    assert code == 2 and "no image 'asteful'" in err  # a repository name matches whole, not a suffix of one


def test_a_long_run_of_empty_history_entries_is_folded(tmp_path: Path) -> None:
    """analyze's table shows the first and last five of a run of entries that made no layer and counts the
    rest (200,000 of them took 83 s to lay out); the JSON keeps every one."""
    from tests.hostile.make_corpus import docker_archive

    empty = [{"created_by": f"RUN echo {i}", "empty_layer": True} for i in range(100)]
    image = tmp_path / "history.tar"
    image.write_bytes(docker_archive(config=lambda c: {**c, "history": empty + c["history"]}))
    code, out, _ = run("analyze", str(image))
    assert code == 0
    shown = re.findall(r"RUN echo (\d+)", out)
    # the run is these 100 and the sample config's own ENV entry: its last five are 96-99 and the ENV
    assert shown == ["0", "1", "2", "3", "4", "96", "97", "98", "99"] and "ENV A=1" in out
    assert "… 91 more entries that made no layer" in out
    code, out, _ = run("analyze", str(image), "--json")
    assert sum(h["created_by"].startswith("RUN echo") for h in json.loads(out)["history"]) == 100


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("analyze", "x", "--top", "-1"), "Invalid value for '--top': -1 is not in the range 0<=x<=10000."),
        (("analyze",), "Missing argument 'PATH'."),
        (("tree", "x", "--sort", "bogus"), "Invalid value for '--sort': 'bogus' is not one of 'size', 'name'."),
        (("report", "x"), "Missing option '-o' / '--output'."),
        (("nosuch",), "No such command 'nosuch'."),
        (("analyze", "--html"), "Option '--html' requires an argument."),  # an error click raises without context
    ],
)
def test_a_usage_error_is_one_line(args: tuple[str, ...], message: str) -> None:
    """A usage error is one line and exit 2, as docs/cli.md says of every error: click printed the usage, a hint
    and the error over four lines."""
    code, out, err = run(*args)
    command = "imgscope" if args[0] == "nosuch" else f"imgscope {args[0]}"
    assert (code, out) == (2, "")
    assert err == f"imgscope: error: {message} (see {command} --help)\n", err
