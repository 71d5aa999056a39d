"""imgscope.diff on the real samples: an image against itself, tiny-a against tiny-b (one COPY apart), formats."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

import imgscope
from imgscope.cli import main
from imgscope.compare import _file_diffs, split_image_arg
from tests.conftest import SAMPLES, analysis_of

TWO = str(SAMPLES / "two-images.tar")


def test_an_image_against_itself_is_empty() -> None:
    a = analysis_of("cases/docker-archive.tar")
    d = imgscope.diff(a, a)
    assert d.identical and d.files == () and d.config == () and d.directories == ()
    assert d.common_layers == len(a.layers)
    assert all(x.shared for x in d.layers_a + d.layers_b)
    assert (d.size.delta, d.stored_size.delta, d.final_size.delta, d.file_count.delta) == (0, 0, 0, 0)


def test_tiny_a_against_tiny_b_is_one_file() -> None:
    """tiny-b = FROM tiny-a + COPY bye.txt (16 bytes) + LABEL org.example.image=tiny-b (samples/src/tiny-b)."""
    d = imgscope.diff(f"{TWO}:tiny-a:1", f"{TWO}:localhost/tiny-b:1")
    assert d.a.name == "localhost/tiny-a:1" and d.b.name == "localhost/tiny-b:1"
    assert [(f.path, f.kind, f.size_a, f.size_b, f.delta, f.layer_b) for f in d.files] == [
        ("/bye.txt", "added", 0, 16, 16, 2)
    ]
    assert d.common_layers == 2 and len(d.layers_b) == 3
    assert [x.shared for x in d.layers_b] == [True, True, False]
    assert d.size.delta == 16 and d.final_size.delta == 16 and d.file_count.delta == 1
    assert d.stored_size.delta == d.layers_b[2].stored_size > 0
    assert [(x.path, x.added, x.added_bytes, x.delta) for x in d.directories] == [("/", 1, 16, 16)]
    assert [(c.key, c.a, c.b) for c in d.config] == [("labels.org.example.image", "tiny-a", "tiny-b")]
    back = imgscope.diff(f"{TWO}:tiny-b:1", f"{TWO}:tiny-a:1")
    assert [(f.path, f.kind, f.delta) for f in back.files] == [("/bye.txt", "removed", -16)]
    assert back.directories[0].removed_bytes == 16


def test_overlay_and_vfs_builds_share_the_bottom_layers_and_the_final_tree() -> None:
    d = imgscope.diff(analysis_of("cases/docker-archive.tar"), analysis_of("cases-vfs/docker-archive.tar"))
    assert d.common_layers == 3  # base, first RUN, COPY; the RUNs that delete encode whiteouts differently
    # truth/cases.tsv == truth/cases-vfs.tsv path for path; but vfs stored the hard-linked pair of layer 3 as two
    # copies (truth/cases-vfs.layers.tsv has no link member), so the visible bytes differ by one copy, and the
    # diff must say which paths account for that (it said "the final filesystems are the same")
    assert d.final_size.delta == 9000
    assert [(f.path, f.changed, f.delta) for f in d.files] == [
        ("/app/hardlink-to-lower.txt", ("hard_links",), 0),
        ("/app/lower-target.txt", ("hard_links",), 0),
    ]
    # in A the second name of the pair shows bytes the first already counts: the directory's sum says 9000
    assert [(f.linked_a, f.linked_b) for f in d.files] == [(False, False), (True, False)]
    assert [(x.path, x.changed, x.delta) for x in d.directories] == [("/app", 2, 9000)]
    assert not d.identical
    both = [str(SAMPLES / "cases/docker-archive.tar"), str(SAMPLES / "cases-vfs/docker-archive.tar")]
    out = CliRunner().invoke(main, ["diff", *both]).output
    assert "The final filesystems are the same" not in out and "hard_links" in out


def test_formats_of_one_image_differ_only_where_skopeo_dropped_the_healthcheck() -> None:
    d = imgscope.diff(analysis_of("cases/docker-archive.tar"), analysis_of("cases/oci-zstd"))
    assert d.files == () and d.common_layers == 5 and d.size.delta == 0
    assert d.stored_size.delta < 0  # zstd against plain tars
    assert [c.key for c in d.config] == ["healthcheck"]
    assert d.config[0].b is None and d.config[0].a["Test"] == ["CMD", "/bin/true"]


def test_two_platforms_differ_in_one_changed_file() -> None:
    """samples/src/plat: the same Containerfile per platform; only arch.txt's content differs."""
    amd, arm = analysis_of("multi-platform", None, "linux/amd64"), analysis_of("multi-platform", None, "linux/arm64")
    d = imgscope.diff(amd, arm)
    [changed] = d.files
    assert (changed.path, changed.kind) == ("/arch.txt", "changed")
    assert "digest" in changed.changed and changed.layer_a == changed.layer_b == 1
    assert changed.delta == arm.tree().find("/arch.txt").size - amd.tree().find("/arch.txt").size  # type: ignore[union-attr]
    assert d.common_layers == 1  # common.txt
    assert ("platform", "linux/amd64", "linux/arm64") in [(c.key, c.a, c.b) for c in d.config]


def test_changed_files_name_what_changed() -> None:
    a = analysis_of("cases/docker-archive.tar")
    after = tuple(replace(f, uid=0, mode=0o600) if f.path == "/app/chown-me.txt" else f for f in a.files)
    [changed] = _file_diffs(a.files, after)
    assert (changed.path, changed.kind, changed.changed) == ("/app/chown-me.txt", "changed", ("mode", "uid"))


def test_split_image_arg(tmp_path: Path) -> None:
    odd = tmp_path / "with:colon.tar"
    odd.write_bytes(b"")
    assert split_image_arg(str(odd)) == (str(odd), None)
    assert split_image_arg(f"{odd}:app:1") == (str(odd), "app:1")
    assert split_image_arg(f"{TWO}:sha256:abcdef") == (TWO, "sha256:abcdef")
    assert split_image_arg(f"{TWO}:") == (TWO, None)
    assert split_image_arg("/no/such:app:1") == ("/no/such:app:1", None)


def test_cli_diff_json() -> None:
    result = CliRunner().invoke(main, ["diff", f"{TWO}:tiny-a:1", f"{TWO}:tiny-b:1", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["schema_version"] == 1 and doc["identical"] is False
    assert [f["path"] for f in doc["files"]] == ["/bye.txt"]
    assert doc["size"] == {"a": 33, "b": 49, "delta": 16}


def test_cli_diff_two_platforms() -> None:
    multi = str(SAMPLES / "multi-platform")
    args = ["diff", multi, multi, "--platform-a", "linux/amd64", "--platform-b", "linux/arm64", "--json"]
    doc = json.loads(CliRunner().invoke(main, args).output)
    assert [(f["path"], f["kind"]) for f in doc["files"]] == [("/arch.txt", "changed")]
    assert (doc["a"]["platform"], doc["b"]["platform"]) == ("linux/amd64", "linux/arm64")


@pytest.mark.parametrize("arg", ["/no/such.tar", f"{TWO}:tiny-c:1"])
def test_cli_diff_bad_input(arg: str) -> None:
    result = CliRunner().invoke(main, ["diff", TWO, arg])
    assert result.exit_code == 2
    assert result.output.startswith("imgscope: error:") and "Traceback" not in result.output


def test_cli_diff_says_which_image_it_picked() -> None:
    """Two images in each input and none named: both sides are the first image, and the user must be told, or
    'identical' reads as a verdict on two builds."""
    result = CliRunner().invoke(main, ["diff", TWO, TWO], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "identical" in result.output
    # in diff's words: it has no --image, a side is PATH:IMAGE
    assert "analyzing the first, localhost/tiny-a:1; choose with PATH:IMAGE as A" in result.output
    assert "analyzing the first, localhost/tiny-a:1; choose with PATH:IMAGE as B" in result.output
    assert "--image" not in result.output
    both = CliRunner().invoke(main, ["diff", TWO, TWO, "--json", "--html", "-"])
    assert both.exit_code == 2 and "would both write to stdout" in both.output
    doc = json.loads(CliRunner().invoke(main, ["diff", TWO, f"{TWO}:tiny-b:1", "--json"]).output)
    assert [n for n in doc["a"]["notes"] if "analyzing the first" in n] and doc["b"]["notes"] == []


def test_cli_diff_header_names_the_platforms() -> None:
    multi = str(SAMPLES / "multi-platform")
    args = ["diff", multi, multi, "--platform-a", "linux/amd64", "--platform-b", "linux/arm64"]
    result = CliRunner().invoke(main, args, env={"COLUMNS": "120"})
    lines = result.output.splitlines()
    assert lines[0].endswith("multi-platform, linux/amd64)") and lines[1].endswith("multi-platform, linux/arm64)")
    assert "layer 0 is the same in both" in result.output  # not "layers 0-0 are"


def test_an_added_directory_is_grouped_with_what_it_holds() -> None:
    """clean -> wasteful: /var is new and /app changed owner; each belongs to its own group, not to a '/' row."""
    d = imgscope.diff(f"{SAMPLES}/advise.tar:localhost/clean:1.0", f"{SAMPLES}/advise.tar:localhost/wasteful:latest")
    groups = {g.path: g for g in d.directories}
    assert "/" not in groups
    var = [f for f in d.files if f.path == "/var" or f.path.startswith("/var/")]
    assert groups["/var"].added == len(var) and any(f.path == "/var" for f in var)
    assert groups["/app"].changed == sum(1 for f in d.files if f.kind == "changed" and f.path.startswith("/app"))
    assert sum(g.added + g.removed + g.changed for g in d.directories) == len(d.files)


def test_secret_looking_config_values_are_masked_in_text_and_html(tmp_path: Path) -> None:
    """diff shows config differences as inspect shows the config: secret-looking values masked in the terminal
    and the HTML page (a CI log, a shared page), whole in --json."""
    from tests.hostile.make_corpus import docker_archive

    def image(name: str, token: str, password: str) -> Path:
        config: dict[str, object] = {"Env": [f"SECRET_TOKEN={token}", f"DATABASE_URL=postgres://u:{password}@db/x"]}
        config["Labels"] = {"api-token": f"tok_{token}", "version": name}
        path = tmp_path / f"{name}.tar"
        path.write_bytes(docker_archive(config=lambda c: {**c, "config": config}))
        return path

    a, b = image("a", "hunter2", "pw1"), image("b", "hunter3", "pw2")
    page = tmp_path / "diff.html"
    result = CliRunner().invoke(main, ["diff", str(a), str(b), "--html", str(page)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for shown in (result.stdout, page.read_text()):
        assert not any(secret in shown for secret in ("hunter2", "hunter3", "tok_", "pw1", "pw2")), shown
        assert "***" in shown and "postgres://u:***@db/x" in shown
    assert "version" in result.stdout  # what is no secret is shown as it is
    doc = json.loads(CliRunner().invoke(main, ["diff", str(a), str(b), "--json"]).stdout)
    assert "hunter2" in json.dumps(doc) and "pw2" in json.dumps(doc)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("cases/docker-archive.tar", "cases-vfs/docker-archive.tar"),
        ("cases-vfs/docker-archive.tar", "cases/docker-archive.tar"),
        ("cases/docker-archive.tar", "advise.tar"),
        ("advise.tar", "cases/docker-archive.tar"),
        ("two-images.tar:tiny-a:1", "two-images.tar:localhost/tiny-b:1"),  # PATH:IMAGE
    ],
)
def test_directory_deltas_add_up_to_the_visible_delta(a: str, b: str) -> None:
    """The paths that differ account for the whole change of the visible bytes: the directories' deltas add up to
    ``final_size.delta``, each stored copy counted once however many hard-linked names show it (they counted
    each name)."""
    d = imgscope.diff(str(SAMPLES / a), str(SAMPLES / b))
    assert sum(x.delta for x in d.directories) == d.final_size.delta
    assert sum(f.counted_b - f.counted_a for f in d.files) == d.final_size.delta
    doc = d.to_dict()
    assert [(f["linked_a"], f["linked_b"]) for f in doc["files"]] == [(f.linked_a, f.linked_b) for f in d.files]
