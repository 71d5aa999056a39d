"""advise says what is true of the image: each finding's sentence checked where it applies and where it must not,
on an image buildah builds here (busybox base, then three RUN layers):

1. writes private keys (/usr/share/doc/pkg/rsakey.pem, /root/keys/deploy.pem, /app/tests/server.key, and a
   package's test fixture site-packages/tornado/test/test.key), a README and /app/run.sh;
2. ``cp -a`` copies /usr/share/doc onto itself (the same bytes, mode and owner, written again);
3. removes deploy.pem and chmods run.sh (the same bytes, another mode).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import imgscope
from imgscope.advise import Advice, Finding, advice
from imgscope.advise.secrets import is_package_test_fixture
from imgscope.cli import main
from tests.buildah import built_on_busybox, needs_buildah

KEY = (  # a PEM header is what makes it a private key to the sniffer; the body is filler
    "-----BEGIN RSA PRIVATE KEY-----\\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\\n"
    "-----END RSA PRIVATE KEY-----\\n"
)
FIXTURE = "/usr/lib/python3.11/site-packages/tornado/test/test.key"
STEPS = (
    "mkdir -p /usr/share/doc/pkg /root/keys /usr/lib/python3.11/site-packages/tornado/test /app/tests"
    f" && printf '%b' '{KEY}' > /usr/share/doc/pkg/rsakey.pem && printf '%b' '{KEY}' > /root/keys/deploy.pem"
    f" && printf '%b' '{KEY}' > /app/tests/server.key && printf '%b' '{KEY}' > {FIXTURE}"
    " && head -c 6000 /dev/zero | tr '\\\\0' d > /usr/share/doc/pkg/README"
    " && head -c 5000 /dev/zero | tr '\\\\0' r > /app/run.sh && chmod 644 /app/run.sh",
    "cp -a /usr/share/doc /tmp/doc && cp -a /tmp/doc/. /usr/share/doc/ && rm -rf /tmp/doc",
    "rm /root/keys/deploy.pem && chmod 755 /app/run.sh",
)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_on_busybox(tmp_path_factory, "truth", "FROM {base}\n" + "".join(f"RUN {step}\n" for step in STEPS))


@pytest.fixture(scope="module")
def adv(image: Path) -> Advice:
    return advice(image)


def _with(adv: Advice, rule: str) -> list[Finding]:
    return [f for f in adv.findings if f.id == rule]


@needs_buildah
def test_the_layers_are_what_the_steps_wrote(image: Path) -> None:
    a = imgscope.analyze(image)
    assert len(a.layers) == 4
    reasons = {(w.path, w.layer, w.hidden_by): w.reason.value for w in a.wasted_files}
    assert reasons[("/usr/share/doc/pkg/rsakey.pem", 1, 2)] == "identical-copy"
    assert reasons[("/usr/share/doc/pkg/README", 1, 2)] == "identical-copy"
    assert reasons[("/app/run.sh", 1, 3)] == "metadata-only"
    assert reasons[("/root/keys/deploy.pem", 1, 3)] == "deleted"
    assert "/usr/share/doc/pkg/rsakey.pem" in {f.path for f in a.files}


@needs_buildah
def test_a_key_written_again_is_not_called_removed(adv: Advice) -> None:
    layer1 = [f for f in _with(adv, "IS201") if f.layers[0] == 1 and f.severity.value == "error"]
    (f,) = layer1
    assert "/usr/share/doc/pkg/rsakey.pem" in f.paths and "/root/keys/deploy.pem" in f.paths
    assert "removed by layer 2" not in f.message and "layers 2" not in f.message
    assert "written again by layer 2 with the same content, so it is in the final image" in f.message
    assert "removed by layer 3, but still in layer 1" in f.message  # deploy.pem was removed: that is said
    (again,) = [f for f in _with(adv, "IS201") if f.layers[0] == 2]
    assert again.paths == ("/usr/share/doc/pkg/rsakey.pem",) and "removed" not in again.message


@needs_buildah
def test_identical_copies_are_not_called_a_mode_or_owner_change(adv: Advice) -> None:
    (mode,) = _with(adv, "IS106")
    assert mode.paths == ("/app/run.sh",) and mode.layers == (1, 3)
    assert "only to change mode or owner" in mode.message
    (same,) = _with(adv, "IS110")
    assert set(same.paths) == {"/usr/share/doc/pkg/README", "/usr/share/doc/pkg/rsakey.pem"}
    assert same.layers == (1, 2) and "same bytes, mode and owner" in same.message
    assert "chmod" not in same.fix and "chown" not in same.fix
    assert same.bytes_saved == 6000 + len(KEY.replace("\\n", "\n"))


@needs_buildah
def test_a_package_test_fixture_is_info_with_the_reason(adv: Advice) -> None:
    (fixture,) = [f for f in _with(adv, "IS201") if FIXTURE in f.paths]
    assert fixture.paths == (FIXTURE,)
    assert fixture.severity.value == "info" and "test fixture" in fixture.title
    assert "package's test directory" in fixture.message and "not a secret of yours" in fixture.message
    own = [f for f in _with(adv, "IS201") if "/app/tests/server.key" in f.paths]
    assert len(own) == 1 and own[0].severity.value == "error"  # your own tests/ is not a package's


def test_package_test_fixture_paths() -> None:
    for path in (
        FIXTURE,
        "/usr/lib/python3.11/test/certdata/keycert.pem",
        "/usr/local/lib/python3.12/site-packages/requests/tests/data/key.pem",
        "/app/node_modules/ssh2/test/fixtures/id_rsa",
        "/go/pkg/mod/golang.org/x/crypto@v0.1.0/ssh/testdata/keys.go",
        "/usr/local/go/src/crypto/tls/testdata/example-key.pem",  # Go's own library (the golang images)
        "/usr/lib/go-1.22/src/crypto/x509/testdata/test.key",
        "/usr/share/go-1.19/src/crypto/tls/testdata/example-key.pem",  # Debian's golang-1.19-src
        "/usr/lib/go/src/net/http/testdata/key.pem",  # Alpine's go
        "/usr/lib/golang/src/crypto/tls/testdata/example-key.pem",  # Fedora's golang
    ):
        assert is_package_test_fixture(path), path
    for path in (
        "/app/tests/server.key",
        "/root/.ssh/id_rsa",
        "/usr/lib/python3.11/site-packages/app/key.pem",
        "/usr/local/go/src/app/server.key",  # in Go's tree, but no test directory
        "/srv/go/src/app/testdata/key.pem",  # a GOPATH of one's own
    ):
        assert not is_package_test_fixture(path), path


@needs_buildah
def test_findings_by_severity_then_bytes_in_terminal_json_and_sarif(image: Path, adv: Advice) -> None:
    rank = {"error": 0, "warning": 1, "info": 2}
    order = [(rank[f.severity.value], -(f.bytes_saved or 0)) for f in adv.findings]
    assert order == sorted(order) and adv.findings[0].id == "IS201"
    runner = CliRunner()
    doc = json.loads(runner.invoke(main, ["advise", "--json", str(image)]).stdout)
    assert [(f["id"], f["paths"]) for f in doc["findings"]] == [(f.id, list(f.paths)) for f in adv.findings]
    sarif = json.loads(runner.invoke(main, ["advise", "--format", "sarif", str(image)]).stdout)
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == [f.id for f in adv.findings]
    text = runner.invoke(main, ["advise", str(image)], env={"COLUMNS": "200"}).stdout
    heads = [line.split()[1] for line in text.splitlines() if line.startswith(("ERROR", "WARNING", "INFO"))]
    assert heads == [f.id for f in adv.findings]
    assert runner.invoke(main, ["advise", "--fail-on", "error", str(image)]).exit_code == 1  # the real keys
