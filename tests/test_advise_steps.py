"""advise on steps users write, in an image buildah builds here (busybox base, then the Dockerfile's layers):

1. ``RUN chmod -R g+w /bin``: copies the base's busybox whole again, only to change its mode;
2. writes an SSH key, a key in Go's own test data (``/usr/local/go/src/.../testdata``), and credential files
   holding only ``${VAR}`` placeholders (``.npmrc``, ``.pypirc``, ``.aws/credentials``), with build ARGs;
3. ``chmod 600`` the SSH key (the same bytes written again);
4. ``rm`` the SSH key.

ENV ``PGPASSWORD`` (a secret in a name without a separator before the word) and names that are not secrets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import imgscope
from imgscope.advise import Advice, Finding, advice
from tests.buildah import built_on_busybox, needs_buildah

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\\nIMGSCOPE-FAKE-KEY-NOT-A-REAL-KEY\\n-----END OPENSSH PRIVATE KEY-----\\n"
SSH_KEY = "/root/.ssh/id_ed25519"
GO_KEY = "/usr/local/go/src/crypto/tls/testdata/example-key.pem"
PLACEHOLDERS = (
    ("/app/.npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}"),
    ("/app/.pypirc", "[pypi]\\nusername = __token__\\npassword = ${PYPI_TOKEN}"),
    ("/root/.aws/credentials", "[default]\\naws_access_key_id = ${AWS_ID}\\naws_secret_access_key = ${AWS_SECRET}"),
)
CONTAINERFILE = (
    "FROM {base}\n"
    "ENV PGPASSWORD=imgscope-fake-SECRETVALUE TOKENIZERS_PARALLELISM=false PASSWORD_FILE=/run/secrets/db\n"
    "ARG MYSQLPASSWORD=imgscope-fake-SECRETVALUE\n"
    "RUN chmod -R g+w /bin\n"
    "RUN mkdir -p /root/.ssh /root/.aws /app /usr/local/go/src/crypto/tls/testdata"
    f" && printf '%b' '{KEY}' > {SSH_KEY} && printf '%b' '{KEY}' > {GO_KEY}"
    + "".join(f" && printf '%b\\n' '{text}' > {path}" for path, text in PLACEHOLDERS)
    + " && echo $MYSQLPASSWORD > /dev/null\n"
    f"RUN chmod 600 {SSH_KEY}\n"
    f"RUN rm {SSH_KEY}\n"
)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_on_busybox(tmp_path_factory, "steps", CONTAINERFILE)


@pytest.fixture(scope="module")
def adv(image: Path) -> Advice:
    return advice(image)


def _with(adv: Advice, rule: str) -> list[Finding]:
    return [f for f in adv.findings if f.id == rule]


@needs_buildah
def test_the_layers_are_what_the_steps_wrote(image: Path, adv: Advice) -> None:
    a = imgscope.analyze(image)
    assert len(a.layers) == 5 and adv.base is not None and adv.base.layer_count == 1
    reasons = {(w.path, w.layer, w.hidden_by): w.reason.value for w in a.wasted_files}
    assert reasons[("/bin/busybox", 0, 1)] == "metadata-only"
    assert reasons[(SSH_KEY, 2, 3)] == "metadata-only"
    assert reasons[(SSH_KEY, 3, 4)] == "deleted"
    assert SSH_KEY not in {f.path for f in a.files}


@needs_buildah
def test_credential_files_holding_only_placeholders_are_no_secret(image: Path, adv: Advice) -> None:
    assert not {s.path for s in imgscope.analyze(image).sniffed} & {p for p, _ in PLACEHOLDERS}
    named = {p for f in _with(adv, "IS201") for p in f.paths}
    assert named == {SSH_KEY, GO_KEY}


@needs_buildah
def test_go_standard_library_test_keys_are_info(adv: Advice) -> None:
    (go,) = [f for f in _with(adv, "IS201") if GO_KEY in f.paths]
    assert go.paths == (GO_KEY,) and go.severity.value == "info" and "test fixture" in go.title


@needs_buildah
def test_a_key_written_again_then_removed_is_not_in_the_final_image(adv: Advice) -> None:
    (first,) = [f for f in _with(adv, "IS201") if f.layers[0] == 2 and SSH_KEY in f.paths]
    assert "in the final image and" not in first.message and "so it is in the final image" not in first.message
    assert "written again by layer 3 with the same content, then removed by layer 4" in first.message
    assert "still in layers 2, 3" in first.message and "not in the final image" in first.message
    assert first.layers == (2, 3, 4)
    (second,) = [f for f in _with(adv, "IS201") if f.layers[0] == 3]
    assert "removed by layer 4, but still in layer 3" in second.message


@needs_buildah
def test_a_chmod_of_the_base_files_is_the_dockerfiles_waste(image: Path, adv: Advice) -> None:
    busybox = {f.path: f.size for f in imgscope.analyze(image).files}["/bin/busybox"]
    (f,) = [f for f in _with(adv, "IS106") if f.layers == (0, 1)]
    assert f.paths == ("/bin/busybox",) and f.bytes_saved == busybox > 100_000
    assert [(c.layer, c.path) for c in f.copies] == [(1, "/bin/busybox")]  # the copy the chmod stores
    assert "base image" in f.message and "layer 1" in f.message
    assert "chmod" in f.fix and "-R" in f.fix
    assert adv.total_saved >= busybox


@needs_buildah
def test_secret_variable_names_without_a_separator_before_the_word(adv: Advice) -> None:
    (f,) = _with(adv, "IS202")
    assert set(f.paths) == {"ENV PGPASSWORD", "ARG MYSQLPASSWORD"}
    assert "SECRETVALUE" not in f.message
