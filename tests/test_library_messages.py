"""The library's messages name its parameters (``image=``, ``platform=``, ``source=``, ``insecure=True``), not the
command line's flags, which a caller of ``imgscope.open_image``/``imgscope.analyze`` has none of; the command line
shows the same messages with its flags (``errors.option``: the words are the CLI's while a command runs)."""

from __future__ import annotations

import ast
import importlib
import re
import ssl
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import imgscope
from imgscope.budget.config import load_budget
from imgscope.cli import main
from imgscope.errors import ImgscopeError, UsageError
from imgscope.packages.sbom import sbom
from imgscope.sources.catalog import parse_catalog_spec
from imgscope.sources.reference import resolve_source
from imgscope.sources.registry import _connect_problem
from tests.conftest import ROOT, SAMPLES

TWO_IMAGES = SAMPLES / "two-images.tar"
MULTI = SAMPLES / "multi-platform"
CASES = SAMPLES / "cases" / "docker-archive.tar"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def no_flag(text: str) -> str:
    assert not FLAG.search(text), text
    return text


def test_notes_name_the_parameter_that_chooses() -> None:
    several = imgscope.open_image(TWO_IMAGES)
    assert no_flag(several.notes[0]).endswith("; choose with image=")
    platforms = imgscope.open_image(MULTI)
    [note] = [n for n in platforms.notes if "platforms here" in n]
    assert no_flag(note).endswith("; choose with platform=")
    assert [no_flag(n) for n in imgscope.analyze(TWO_IMAGES).image.notes]
    # the command line says its flags, as it did
    code, out, _ = cli("analyze", str(TWO_IMAGES), "--json")
    assert code == 0 and "choose with --image" in out and "choose with image=" not in out
    code, out, _ = cli("analyze", str(MULTI), "--json")
    assert code == 0 and "choose with --platform" in out


def test_errors_name_the_parameter() -> None:
    with pytest.raises(UsageError) as bad_platform:
        imgscope.open_image(CASES, platform="linux")
    assert bad_platform.value.where == "platform" and no_flag(str(bad_platform.value))
    with pytest.raises(UsageError) as short_digest:
        imgscope.open_image(TWO_IMAGES, image="sha256:abc")
    assert short_digest.value.where == "image" and no_flag(str(short_digest.value))
    with pytest.raises(UsageError, match=r"names one image already; image= is for archives and layouts") as one:
        imgscope.open_source("docker://registry.example/app:1", image="x")
    assert one.value.where == "image" and no_flag(str(one.value))
    with pytest.raises(UsageError, match=r"names image 'localhost/tiny-a:1' and image='x': give one") as both:
        imgscope.open_source(f"{TWO_IMAGES}:localhost/tiny-a:1", image="x")
    no_flag(str(both.value))
    with pytest.raises(UsageError, match=r"but source='docker' was given") as contradicts:
        resolve_source("oci:x", "docker")
    no_flag(str(contradicts.value))
    with pytest.raises(UsageError) as unknown:
        resolve_source("x", "hub")
    assert unknown.value.where == "source" and no_flag(str(unknown.value))
    with pytest.raises(UsageError) as catalog:
        parse_catalog_spec("/team")
    assert catalog.value.where == "registry_catalog" and no_flag(str(catalog.value))
    with pytest.raises(UsageError, match=r"baseline_optional=True") as growth:
        load_budget({"max-growth": "1MB"}, dive_ci_file=False, start=ROOT / "samples")
    assert growth.value.where == "options['max-growth']" and no_flag(str(growth.value))
    with pytest.raises(UsageError, match=r"^options: unknown setting 'max-sise' \(did you mean 'max-size'\?\)$"):
        load_budget({"max-sise": "1MB"}, dive_ci_file=False, start=ROOT / "samples")
    with pytest.raises(UsageError) as baseline:
        load_budget({"baseline": 3}, dive_ci_file=False, start=ROOT / "samples")
    assert baseline.value.where == "options['baseline']"
    budget = load_budget({"max-size": "1GB", "paths": ["/usr=1MB"]}, dive_ci_file=False, start=ROOT / "samples")
    assert [no_flag(place) for _key, place in budget.budget.origins]
    report = imgscope.scan_packages(CASES).report()
    with pytest.raises(UsageError) as fmt:
        sbom(report, "swid", "0")
    assert fmt.value.where == "fmt" and no_flag(str(fmt.value))


def test_registry_tls_hints_name_the_option() -> None:
    untrusted = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    untrusted.reason = "CERTIFICATE_VERIFY_FAILED"
    assert "insecure=True" in no_flag(_connect_problem(untrusted, "vm:5073"))
    plain = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    plain.reason = "WRONG_VERSION_NUMBER"
    assert "needs insecure=True" in no_flag(_connect_problem(plain, "vm:5073"))


def test_engine_errors_name_the_parameter(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``imgscope.fleet.batch``'s engine errors name its ``engine=`` and ``address=``, where they said
    ``--engine`` and ``--scheduler``; ``imgscope batch`` still shows its flags."""
    pytest.importorskip("pyarrow")
    from imgscope.fleet import engines

    with pytest.raises(UsageError) as local:
        engines.make_engine("local", address="tcp://scheduler:8786")
    assert local.value.where == "address" and no_flag(str(local.value))
    assert str(local.value).endswith("use engine='dask' or engine='ray'"), local.value
    with pytest.raises(UsageError, match=r"^engine: unknown engine 'hub'; choose one of local, dask, ray$") as hub:
        engines.make_engine("hub")
    assert hub.value.where == "engine"
    real = importlib.import_module

    def without_extras(name: str) -> Any:
        if name in ("distributed", "ray"):
            raise ImportError(name)
        return real(name)

    monkeypatch.setattr(importlib, "import_module", without_extras)  # the engines import their extras so
    for name, needs in (("dask", "needs dask.distributed"), ("ray", "needs Ray")):
        with pytest.raises(UsageError) as missing:
            engines.make_engine(name)
        assert missing.value.where == f"engine={name!r}" and needs in no_flag(str(missing.value))
    # the command line says its flags, as it did
    out = str(tmp_path / "out")
    code, _, err = cli("batch", str(CASES), "--out", out, "--engine", "local", "--scheduler", "tcp://scheduler:8786")
    assert code == 2 and err.startswith("imgscope: error: --scheduler: the local engine takes no scheduler"), err
    assert "use --engine 'dask' or --engine 'ray'" in err, err
    code, _, err = cli("batch", str(CASES), "--out", out, "--engine", "dask")
    assert code == 2 and err.startswith("imgscope: error: --engine 'dask': needs dask.distributed"), err


def test_the_command_line_shows_its_flags() -> None:
    code, _, err = cli("analyze", str(CASES), "--platform", "linux")
    assert code == 2 and err.startswith("imgscope: error: --platform: platform 'linux'"), err
    code, _, err = cli("analyze", str(TWO_IMAGES), "--image", "sha256:abc")
    assert code == 2 and err.startswith("imgscope: error: --image: 'sha256:abc'"), err
    code, _, err = cli("analyze", "docker://registry.example/app:1", "--image", "x")
    assert code == 2 and "names one image already; --image is for archives and layouts" in err, err
    code, _, err = cli("analyze", f"{TWO_IMAGES}:localhost/tiny-a:1", "--image", "x")
    assert code == 2 and "names image 'localhost/tiny-a:1' and --image 'x': give one" in err, err
    code, _, err = cli("analyze", "oci:x", "--source", "docker")
    assert code == 2 and "but --source 'docker' was given" in err, err
    code, _, err = cli("packages", str(CASES), "--format", "spdx")
    assert code == 0, err
    code, _, err = cli("check", "--no-dive-ci", "--max-growth", "1MB", str(CASES))
    assert code == 2 and err.startswith("imgscope: error: --max-growth: max-growth needs a baseline: give --baseline")
    assert "or --baseline-optional to skip" in err
    code, _, err = cli("check", "--no-dive-ci", "--max-path", "/usr/lib/**=lots", str(CASES))
    assert code == 2 and "error: --max-path: '/usr/lib/**': 'lots' is not a size" in err, err
    # nothing of the command line's words stays behind for the library once a command has run
    with pytest.raises(UsageError) as after:
        imgscope.open_image(CASES, platform="linux")
    assert after.value.where == "platform"


#: Modules whose strings are the command line's own words, or other sessions' to change: the command line
#: (``cli/``), the views it prints (``render/``), the terminal app (``explore/``), and ``advise/``.
_NOT_LIBRARY = ("cli", "render", "explore", "advise")
#: The flags whose concepts are library parameters; a written-out command (``imgscope check --format json``)
#: may name them.
_PARAMETER_FLAGS = re.compile(
    r"--(image|platform|source|insecure|format|registry-catalog|baseline(-optional)?|engine|scheduler|address)\b"
)
_COMMAND = re.compile(r"imgscope \w+( [\w.-]+)* --[\w-]+")


def _strings(tree: ast.AST) -> list[ast.Constant]:
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_library_message_names_a_flag() -> None:
    found = []
    for path in sorted((ROOT / "imgscope").rglob("*.py")):
        rel = path.relative_to(ROOT / "imgscope")
        if rel.parts[0] in _NOT_LIBRARY:
            continue
        tree = ast.parse(path.read_text())
        for node in _strings(tree):
            text = _COMMAND.sub("", str(node.value))
            if _PARAMETER_FLAGS.search(text):
                found.append(f"{rel}:{node.lineno}: {node.value!r}")
        for joined in ast.walk(tree):  # a flag made from a name: f"--{key}"
            if not isinstance(joined, ast.JoinedStr):
                continue
            parts = joined.values
            if len(parts) == 2 and isinstance(parts[0], ast.Constant) and parts[0].value == "--":
                found.append(f"{rel}:{joined.lineno}: {ast.unparse(joined)}")
    assert not found, "\n".join(found)


def test_imgscope_errors_keep_their_shape() -> None:
    error = UsageError("image", "problem")
    assert isinstance(error, ImgscopeError) and str(error) == "image: problem"
    assert not Path(error.where).is_absolute()
