"""``imgscope packages`` through click's runner: the table, --json, --layer, --sort, SBOMs, exit codes."""

from __future__ import annotations

import json

from click.testing import CliRunner

from imgscope.cli import main
from tests.conftest import SAMPLES
from tests.test_packages_image import report

SAMPLE = str(SAMPLES / "packages" / "oci")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_table() -> None:
    code, out, _ = run("packages", SAMPLE)
    assert code == 0
    for text in (
        "Packages",
        "hello",
        "2.10-3",
        "Removed packages",
        "sensible-utils",
        "Bytes no package owns",
        "/app/node_modules/is-odd/node_modules/is-number",
        "(dev)",
        "/var/lib/rpm/rpmdb.sqlite (1)",
    ):
        assert text in out, text
    assert out.index("idna") < out.index("hello") < out.index("six")  # largest first


def test_json_matches_the_library_and_sorts_by_name() -> None:
    code, out, _ = run("packages", SAMPLE, "--json", "--sort", "name")
    assert code == 0
    doc = json.loads(out)
    lib = report().to_dict()
    assert doc["schema_version"] == 1 and doc["total_bytes"] == lib["total_bytes"]
    assert sorted(doc["packages"], key=lambda p: (-p["size"], p["name"], p["location"])) == lib["packages"]
    names = [p["name"] for p in doc["packages"]]
    assert names == sorted(names)


def test_layer_view() -> None:
    code, out, _ = run("packages", SAMPLE, "--layer", "5")
    assert code == 0
    assert "Layer 5: what it did to packages" in out and "1.0 -> 1.1" in out and "removed" in out
    code, out, _ = run("packages", SAMPLE, "--layer", "-3", "--json")
    doc = json.loads(out)
    assert doc["layer"] == 3 and {p["ecosystem"] for p in doc["packages"]} == {"deb", "rpm", "apk", "pypi"}


def test_sboms() -> None:
    code, out, _ = run("packages", SAMPLE, "--format", "cyclonedx")
    assert code == 0 and json.loads(out)["bomFormat"] == "CycloneDX"
    code, out, _ = run("packages", SAMPLE, "--format", "spdx")
    assert code == 0 and json.loads(out)["spdxVersion"] == "SPDX-2.3"


def test_bad_input_exits_2_with_one_line(tmp_path: object) -> None:
    code, out, err = run("packages", SAMPLE, "--layer", "6")
    assert code == 2 and "out of range" in err and err.count("\n") == 1 and not out
    code, _, err = run("packages", str(SAMPLES / "nope.tar"))
    assert code == 2 and err.startswith("imgscope: error:") and err.count("\n") == 1
