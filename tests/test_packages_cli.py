"""``imgscope packages`` through click's runner: the table, --json, --layer, --sort, SBOMs, exit codes."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

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
    assert names == sorted(names, key=str.casefold)
    code, out, _ = run("packages", SAMPLE, "--json", "--top", "2")
    assert code == 0 and [p["name"] for p in json.loads(out)["packages"]] == [p["name"] for p in lib["packages"][:2]]
    code, _, err = run("packages", SAMPLE, "--format", "spdx", "--top", "2")
    assert code == 2 and "an SBOM lists every package" in err


def test_sort_by_name_ignores_case() -> None:
    from imgscope.render.packages import sort_packages

    packages = tuple(replace(p, name=n) for p, n in zip(report().packages, ["Zope", "busybox", "My_Pkg"], strict=False))
    assert [p.name for p in sort_packages(packages, "name")] == ["busybox", "My_Pkg", "Zope"]


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
    # two documents asked for: refused, as advise and check refuse --json with another format (spdx won)
    code, out, err = run("packages", SAMPLE, "--json", "--format", "spdx")
    assert (code, out, err) == (2, "", "imgscope: error: --json and --format spdx: choose one\n")


def test_bad_input_exits_2_with_one_line(tmp_path: object) -> None:
    code, out, err = run("packages", SAMPLE, "--layer", "6")
    assert code == 2 and "out of range" in err and err.count("\n") == 1 and not out
    code, _, err = run("packages", str(SAMPLES / "nope.tar"))
    assert code == 2 and err.startswith("imgscope: error:") and err.count("\n") == 1


def test_analyze_shows_largest_packages_and_package_savings() -> None:
    code, out, _ = run("analyze", SAMPLE, "--top", "3")
    assert code == 0
    assert "Largest packages" in out and "… and 10 more; imgscope packages IMAGE lists them all" in out
    table = out[out.index("Largest packages") :]
    assert table.index("idna") < table.index("hello") < table.index("uuid-dev")
    assert "IS111" in out and "IS112" in out


def test_check_package_rules() -> None:
    largest = report().packages[0]
    code, out, _ = run(
        "check",
        SAMPLE,
        "--max-package-size",
        str(largest.size - 1),
        "--forbid-package",
        "build-essential,gcc*",
        "--json",
    )
    assert code == 1
    results = {r["name"]: r for r in json.loads(out)["results"]}
    assert results["max-package-size"]["status"] == "fail" and results["max-package-size"]["actual"] == largest.size
    assert results["forbid-package build-essential"]["status"] == "fail"
    assert results["forbid-package gcc*"]["status"] == "pass"
    code, _, _ = run("check", SAMPLE, "--max-package-size", str(largest.size), "--forbid-package", "gcc*")
    assert code == 0


def test_check_library_skips_package_rules_without_databases() -> None:
    import imgscope
    from tests.test_packages_image import scanned

    budget = imgscope.Budget(max_package_size=1, forbid_package=("hello,gcc*",))
    assert budget.forbid_package == ("hello", "gcc*")
    with_dbs = imgscope.check(scanned(), budget)
    assert {r.name: r.status.value for r in with_dbs.results} == {
        "max-package-size": "fail",
        "forbid-package hello": "fail",
        "forbid-package gcc*": "pass",
    }
    without = imgscope.check(scanned().analysis, budget)
    assert {r.status.value for r in without.results} == {"skip"}


def test_diff_lists_package_changes_with_bytes(tmp_path: Path) -> None:
    import imgscope
    from tests.conftest import require_tool
    from tests.test_packages_image import _bytes_of

    require_tool("umoci")
    roots = {}
    for name in ("oci-4", "oci"):
        bundle = tmp_path / name
        subprocess.run(
            ["umoci", "unpack", "--image", f"{SAMPLES / 'packages' / name}:1", str(bundle)],
            check=True,
            capture_output=True,
        )
        roots[name] = bundle / "rootfs"

    def truth(name: str, package: str) -> tuple[str, int]:
        admin = f"--admindir={roots[name]}/var/lib/dpkg"
        q = ["dpkg-query", admin]
        version = subprocess.run([*q, "-W", "-f=${Version}", package], capture_output=True, text=True).stdout
        listed = subprocess.run([*q, "-L", package], capture_output=True, text=True).stdout.split("\n")
        return version, _bytes_of(roots[name], [p for p in listed if p.startswith("/")])

    d = imgscope.diff(SAMPLES / "packages" / "oci-4", SAMPLES / "packages" / "oci")
    assert d.packages is not None
    changes = {c.name: c for c in d.packages}
    assert set(changes) == {"sensible-utils", "imgscope-demo"}
    gone, demo = changes["sensible-utils"], changes["imgscope-demo"]
    assert (gone.change, gone.version_a, gone.size_a, gone.size_b) == (
        "removed",
        *truth("oci-4", "sensible-utils"),
        0,
    )
    assert (demo.change, demo.version_a, demo.size_a) == ("upgraded", *truth("oci-4", "imgscope-demo"))
    assert (demo.version_b, demo.size_b) == truth("oci", "imgscope-demo")
    code, out, _ = run("diff", str(SAMPLES / "packages" / "oci-4"), SAMPLE, "--json")
    assert code == 0 and [c["name"] for c in json.loads(out)["packages"]] == [c.name for c in d.packages]
    code, out, _ = run("diff", str(SAMPLES / "packages" / "oci-4"), SAMPLE)
    assert "Packages: 2 changed" in out and "upgraded" in out
    # Analyses alone carry no package databases: no package delta, said by null
    plain = imgscope.diff(d_a := imgscope.analyze(SAMPLES / "packages" / "oci-4"), d_a)
    assert plain.packages is None and plain.to_dict()["packages"] is None


def test_json_docs_match_the_document() -> None:
    # every key the docs/json.md example shows is emitted, and every key emitted is shown
    import re

    from tests.conftest import ROOT
    from tests.test_explore_json_docs import _emitted

    text = (ROOT / "docs" / "json.md").read_text()
    start = text.index("## Packages: `imgscope packages --json`")
    block = text[start : text.index("```\n", text.index("```jsonc", start) + 8)]
    documented = set(re.findall(r'"([a-z_]+)"\s*:', block))
    code, out, _ = run("packages", SAMPLE, "--json")
    assert code == 0
    assert documented == _emitted(json.loads(out))


def test_a_negative_top_is_a_usage_error() -> None:
    from click.testing import CliRunner

    from imgscope.cli import main

    result = CliRunner().invoke(main, ["packages", str(SAMPLES / "packages" / "oci"), "--top", "-1"])
    assert result.exit_code == 2 and "--top" in result.output


def test_narrow_table_cuts_cells_and_never_folds_them() -> None:
    """At 80 columns, piped: a name, version or path that does not fit is cut (``…``), never split across lines
    (a package is one line, and its place below it when it is a pip or npm one), and no line ends in spaces."""
    result = CliRunner().invoke(main, ["packages", SAMPLE], env={"NO_COLOR": "1", "COLUMNS": "80"})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert not [line for line in lines if line != line.rstrip()]
    assert max(len(line) for line in lines) <= 80
    start = lines.index("Packages") + 4  # the title, the top rule, the heading and its rule
    body = lines[start : lines.index(next(line for line in lines[start:] if line.startswith("└")))]
    packages = report().packages
    assert len(body) == len(packages) + sum(p.ecosystem in ("pypi", "npm") for p in packages)
    assert any("…" in line for line in body)  # this sample does not fit in 80 columns: something was cut
