"""tree, diff, history and inspect through the CLI on hostile input: image-controlled names, commands, labels
and config values are shown escaped, never interpreted; bad configs are one line and exit 2."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from imgscope.cli import main
from tests.conftest import SAMPLES
from tests.hostile.make_corpus import docker_archive, member, symlink, tar

EVIL = "evil\x1b]0;pwned\x07\x1b[31mred[bold]x[/]\nline2"
CONTROL = re.compile(r"\x1b\]|\x07|\x1b\[31mred")


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def evil_config(cfg: dict[str, Any]) -> dict[str, Any]:
    cfg["history"] = [{"created_by": f"/bin/sh -c {EVIL}"}, {"created_by": f"/bin/sh -c #(nop) LABEL x={EVIL}"}]
    cfg["history"].insert(1, {"created_by": f"RUN /bin/sh -c {EVIL} # buildkit"})
    cfg["history"][2]["empty_layer"] = True
    cfg["config"] = {"Labels": {"x": EVIL}, "Env": [f"E={EVIL}"], "Cmd": [EVIL], "WorkingDir": EVIL}
    return cfg


@pytest.fixture(scope="module")
def evil_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("evil") / "evil.tar"
    layers = [tar(member(EVIL.encode(), b"x" * 1000), symlink("link", EVIL.encode())), tar(member("[/]", b"y"))]
    path.write_bytes(docker_archive(layers, config=evil_config))
    return str(path)


@pytest.mark.parametrize(
    "args",
    [
        ["tree"],
        ["tree", "--layer", "0", "--changes"],
        ["history"],
        ["history", "--dockerfile"],
        ["inspect"],
    ],
)
def test_image_text_cannot_drive_the_terminal(evil_image: str, args: list[str]) -> None:
    code, out, err = run(args[0], evil_image, *args[1:], env={"FORCE_COLOR": "1"})
    assert code == 0, err
    assert not CONTROL.search(out)
    assert "evil\\x1b]0;pwned" in out  # shown, escaped
    if args != ["history"]:  # (the history table cuts long commands short)
        assert "[bold]x[/]" in out  # markup shown, not interpreted


def test_diff_of_hostile_images(evil_image: str, tmp_path: Path) -> None:
    code, out, err = run("diff", evil_image, str(SAMPLES / "two-images.tar"), env={"FORCE_COLOR": "1"})
    assert code == 0, err
    assert not CONTROL.search(out)
    code, out, err = run("diff", evil_image, evil_image, "--json")
    assert code == 0 and json.loads(out)["identical"] is True


def test_json_keeps_the_text_as_is(evil_image: str) -> None:
    code, out, _ = run("inspect", evil_image, "--json")
    assert code == 0 and json.loads(out)["config"]["labels"] == {"x": EVIL}
    code, out, _ = run("history", evil_image, "--dockerfile", "--json")
    assert code == 0 and json.loads(out)["dockerfile"]["instructions"][1]["arguments"] == EVIL


@pytest.mark.parametrize(
    ("inner", "message"),
    [
        ({"Env": 5}, "config.config.Env must be a list"),
        ({"Labels": {"a": 1}}, "must be a string"),
        ({"ExposedPorts": ["80/tcp"]}, "config.config.ExposedPorts must be an object"),
    ],
)
def test_wrong_config_types_are_one_line(tmp_path: Path, inner: dict[str, Any], message: str) -> None:
    path = tmp_path / "bad.tar"
    path.write_bytes(docker_archive(config=lambda cfg: {**cfg, "config": inner}))
    for command in ("inspect", "diff"):
        args = [command, str(path)] + ([str(path)] if command == "diff" else [])
        code, _, err = run(*args)
        assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err, command


@pytest.mark.parametrize("command", ["tree", "diff", "history", "inspect"])
def test_help(command: str) -> None:
    code, out, _ = run(command, "--help")
    assert code == 0 and "Usage:" in out


def test_no_color_is_respected() -> None:
    colour = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-8]|9[0-7])(?:;\d+)*m")
    path = str(SAMPLES / "cases/docker-archive.tar")
    for args in (
        ["tree", path, "--layer", "3", "--changes"],
        ["diff", path, str(SAMPLES / "cases-vfs/docker-archive.tar")],
    ):
        assert colour.search(run(*args, env={"FORCE_COLOR": "1"})[1])
        assert not colour.search(run(*args, env={"NO_COLOR": "1", "FORCE_COLOR": "1"})[1])


def test_one_history_entry_is_one_entry(tmp_path: Path) -> None:
    path = tmp_path / "one.tar"
    path.write_bytes(docker_archive([tar(member("x", b"1"))], config=lambda c: {**c, "history": c["history"][1:]}))
    out = CliRunner().invoke(main, ["inspect", str(path)], env={"COLUMNS": "120"}).output
    [line] = [x for x in out.splitlines() if x.startswith("History")]
    assert line.split()[1:] == ["1", "entry,", "0", "without", "a", "layer"]
    cases = CliRunner().invoke(main, ["inspect", str(SAMPLES / "cases-vfs/docker-archive.tar")]).output
    assert "12 entries, 7 without a layer" in cases


def test_secret_looking_env_values_are_masked_in_text_only() -> None:
    """The terminal's text (which CI logs keep) masks a secret-looking variable's value, as analyze masks
    commands; the JSON document is data and keeps it."""
    args = ["inspect", str(SAMPLES / "advise.tar"), "--image", "wasteful"]
    text = CliRunner().invoke(main, args, env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert text.exit_code == 0
    assert "API_KEY=***" in text.output and "SECRETVALUE" not in text.output
    assert "APP_ENV=production" in text.output  # a name that does not look secret keeps its value
    doc = json.loads(CliRunner().invoke(main, [*args, "--json"]).output)
    assert "API_KEY=imgscope-fake-api-key-SECRETVALUE" in doc["config"]["env"]


def test_a_config_platform_of_the_wrong_type_is_read_as_analyze_reads_it(tmp_path: Path) -> None:
    """``"os": []`` in a config: analyze reads the image (no platform); inspect did exit 2 on it."""
    path = tmp_path / "odd.tar"
    path.write_bytes(docker_archive(config=lambda cfg: {**cfg, "os": [], "architecture": 64}))
    for command in ("analyze", "inspect"):
        result = CliRunner().invoke(main, [command, str(path), "--json"])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.output)
        assert doc["image" if command == "analyze" else "config"] is not None
    info = json.loads(CliRunner().invoke(main, ["inspect", str(path), "--json"]).output)
    assert (info["os"], info["architecture"], info["platform"]) == (None, None, None)
