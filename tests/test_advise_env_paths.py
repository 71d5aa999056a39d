"""A variable whose value is a path (``GOOGLE_APPLICATION_CREDENTIALS=/var/secrets/key.json``) names where a
credential is, not the credential: IS202 leaves it out; IS201 reports the file it names when a layer stores it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import imgscope
from imgscope.advise import Finding, Severity, advice
from imgscope.advise.secrets import _is_secret_var
from imgscope.text import redact
from tests.buildah import Buildah, needs_buildah
from tests.credentials import WORKLOAD_IDENTITY, service_account_key

# A key file whose key is a placeholder, as documentation shows one: nothing in its content is a secret the sniffer
# can see, so only a variable naming it says it holds one.
SA_KEY_PLACEHOLDER = json.dumps(
    {
        "type": "service_account",
        "project_id": "demo",
        "private_key_id": "0123456789abcdef",
        "private_key": "-----BEGIN PRIVATE KEY-----\nSECRETVALUE\n-----END PRIVATE KEY-----\n",
        "client_email": "ci@demo.iam.gserviceaccount.com",
    }
)

# name -> (value, reported by IS202). Every name is one IS202 would report (a secret word, no pointer suffix such
# as _FILE), so each row is decided by its value alone (text.is_path_value): a path says where a credential is, and
# a secret that looks like a path (a slash, a dot, an extension, a top directory) is still one.
VARIABLES = {
    "GOOGLE_APPLICATION_CREDENTIALS": ("/var/secrets/google/key.json", False),
    "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE": ("~/.config/gcloud/sa.json", False),
    "VAULT_TOKEN_LOCATION": ("./secrets/vault-token", False),
    "API_KEY": ("../keys/api.key", False),
    "SPARK_CREDENTIALS": ("/etc/spark/credentials", False),
    "PASSWORD": ("/run/secrets/db_password", False),
    "TLS_PRIVATE_KEY": ("/etc/ssl/private/tls.key", False),
    # values, not paths: a JSON key, a token, and secrets with a slash, a dot or a top directory in them
    "GOOGLE_CREDENTIALS": ('{"type": "service_account"}', True),
    "API_TOKEN": ("ghp_SECRETVALUE0123456789", True),
    "AWS_SECRET_ACCESS_KEY": ("/k8sXq2Lr9Tz3Wm1Vb5Np7Yc4Hd6Jf0Ga8Se2Qu1", True),
    "DB_PASSWORD": ("correct/horse.battery", True),
    "SESSION_SECRET": ("my.secret.key", True),
    "REDIS_PASSWORD": ("hunter2.txt", True),
    "JWT_SECRET": ("QmFzZTY0/c2VjcmV0.cGFk", True),
    "ADMIN_PASSWORD": ("$ecret/pass", True),
    "SMTP_PASSWORD": ("/data/K7MDENG+bPxRfiCYEXAMPLEKEY", True),
    "GITLAB_TOKEN": ("/tmp/K7MDENG/bPxRfiCY=", True),
}


def _is202(findings: tuple[Finding, ...]) -> set[str]:
    return {p for f in findings if f.id == "IS202" for p in f.paths}


def test_a_variable_whose_value_is_a_path_is_no_secret_in_the_config(tmp_path: Path) -> None:
    from tests.hostile.make_corpus import directory, docker_archive, member, tar

    assert all(_is_secret_var(name) for name in VARIABLES)  # no row passes by its name alone
    env = [f"{name}={value}" for name, (value, _) in VARIABLES.items()]

    def config(cfg: dict[str, object]) -> dict[str, object]:
        cfg["config"] = {"Env": env}
        cfg["history"] = [
            {"created_by": "/bin/sh -c #(nop) ADD file:0123 in / "},
            # a build ARG naming a file (recorded in the RUN's entry), and one holding a value
            {"created_by": "|2 GOOGLE_APPLICATION_CREDENTIALS=/tmp/sa.json NPM_TOKEN=npm_Ab/cd.Ef12 /bin/sh -c true"},
            *({"created_by": f"/bin/sh -c #(nop)  ENV {item}", "empty_layer": True} for item in env),
        ]
        return cfg

    layers = [tar(directory("etc/"), member("etc/os-release", b"x")), tar(directory("tmp/"))]
    path = tmp_path / "env.tar"
    path.write_bytes(docker_archive(layers, config=config))
    adv = advice(imgscope.analyze(path))
    expected = {f"ENV {name}" for name, (_, secret) in VARIABLES.items() if secret} | {"ARG NPM_TOKEN"}
    (is202,) = [f for f in adv.findings if f.id == "IS202"]
    # the message names every variable (the paths stop at 10)
    named = {f"{kind} {name}" for kind in ("ENV", "ARG") for name in [*VARIABLES, "NPM_TOKEN"]}
    assert {label for label in named if f"{label} (in " in is202.message} == expected
    assert is202.path_count == len(expected)
    # none of the files they name is in the image: nothing else to say
    assert "IS201" not in {f.id for f in adv.findings}


@needs_buildah
def test_a_credential_file_a_variable_names_is_reported_where_a_layer_stores_it(tmp_path: Path) -> None:
    b = Buildah(tmp_path)
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "sa.json").write_bytes(service_account_key())  # a real key: the sniffer knows it by its content
    (context / "settings.json").write_text("{}")
    (context / "Containerfile").write_text(
        "FROM scratch\n"
        "COPY sa.json settings.json /app/\n"
        "ENV GOOGLE_APPLICATION_CREDENTIALS=/app/sa.json APP_SETTINGS_PATH=/app/settings.json\n"
        "ENV DB_PASSWORD_FILE=/run/secrets/db_password\n"  # a run-time mount: not in the image
    )
    b(
        *("bud", "-q", "--layers", "--format", "docker", "-t", "localhost/gac:1", "-f", str(context / "Containerfile")),
        str(context),
    )
    adv = advice(imgscope.analyze(b.push("localhost/gac:1", tmp_path / "gac.tar")))
    assert _is202(adv.findings) == set()
    (found,) = [f for f in adv.findings if f.id == "IS201"]
    assert found.paths == ("/app/sa.json",) and found.severity is Severity.ERROR and found.layers == (0,)
    assert found.title == "Google Cloud service account key in a layer"
    assert "PRIVATE KEY" not in found.message and "not seen to hold a secret" not in found.message
    assert found.bytes_saved is None


def test_a_relative_path_is_the_working_directorys_and_a_word_is_no_path(tmp_path: Path) -> None:
    from tests.hostile.make_corpus import directory, docker_archive, member, tar

    def config(cfg: dict[str, object]) -> dict[str, object]:
        cfg["config"] = {
            "Env": ["GOOGLE_APPLICATION_CREDENTIALS=./sa.json", "API_KEY_ENABLED=true"],
            "WorkingDir": "/app",
        }
        return cfg

    sa_json = member("app/sa.json", SA_KEY_PLACEHOLDER.encode())
    layer = tar(directory("app/"), sa_json, member("app/true", b"#!/bin/sh\n"))
    path = tmp_path / "relative.tar"
    path.write_bytes(docker_archive([layer], config=config))
    adv = advice(imgscope.analyze(path))
    (found,) = [f for f in adv.findings if f.id == "IS201"]
    assert found.paths == ("/app/sa.json",) and "ENV GOOGLE_APPLICATION_CREDENTIALS" in found.message
    assert "API_KEY_ENABLED" not in found.message
    assert "ENV GOOGLE_APPLICATION_CREDENTIALS" not in _is202(adv.findings)


# (name, value, secret): one table for redact and IS202, as both take a value for a path with text.is_path_value. A
# path is one that clearly is: absolute under a usual top directory, or from ./, ../ or ~/, of path characters
# only, its last name no token. A password with a slash or a dot in it is no path: when in doubt, a value is masked
# and reported.
PATH_LOOKING = [
    ("GOOGLE_APPLICATION_CREDENTIALS", "/var/secrets/key.json", False),
    ("PASSWORD", "/run/secrets/pw", False),
    ("SPARK_CREDENTIALS", "/etc/spark/credentials", False),
    ("GOOGLE_APPLICATION_CREDENTIALS", "./sa.json", False),
    ("VAULT_TOKEN_LOCATION", "../secrets/vault-token", False),
    ("CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE", "~/.config/gcloud/sa.json", False),
    ("DB_PASSWORD", "correct/horse.battery", True),
    ("DB_PASSWORD", "'Pa55/w0rd.Ab'", True),
    ("DB_PASSWORD", "hunter2.txt", True),
    ("API_TOKEN", "hunter2.txt", True),
    ("DB_PASSWORD", "my.secret.key", True),
    ("SECRET", "QmFzZTY0/c2VjcmV0.cGFk", True),
    ("DB_PASSWORD", "$ecret/pass", True),
    ("DB_PASSWORD", "${X}/abc", True),
    ("NPM_TOKEN", "npm_Ab/cd.Ef12", True),
    ("AWS_SECRET_ACCESS_KEY", "/data/K7MDENG+bPxRfiCYEXAMPLEKEY", True),
    ("AWS_SECRET_ACCESS_KEY", "/tmp/K7MDENG/bPxRfiCY=", True),
    ("AWS_SECRET_ACCESS_KEY", "/k8sXq2Lr9Tz3Wm1Vb5Np7Yc4Hd6Jf0Ga8Se2Qu1", True),
    # path characters only, under a top directory, but the last name is a token, not a file's: no extension,
    # upper- and lower-case letters and digits (a generated password, base62 or base64url)
    ("PASSWORD", "/data/AbCdEf123", True),
    ("API_TOKEN", "/tmp/x9Kq2LmZ7vBn", True),
    ("SESSION_SECRET", "/app/static/Zx8-Qw2_Er", True),
    ("DB_PASSWORD", "./Tr0ub4dor", True),
    ("SECRET_KEY", "~/kP3xQ9zL", True),
    # ... while a file's name is a word: an extension, or letters of one case, with or without digits
    ("TLS_PRIVATE_KEY", "/etc/ssl/private/Server2024.key", False),
    ("PASSWORD", "/run/secrets/DB_PASSWORD", False),
    ("SSH_PRIVATE_KEY", "/root/.ssh/id_ed25519", False),
    ("KUBE_TOKEN", "/var/run/secrets/kubernetes.io/serviceaccount/token", False),
    ("APP_SECRET", "/opt/App2/config/AppSettings", False),
    ("API_KEY", "/tmp/tmp.Xy3kLm9QzA", False),  # mktemp's file: a random name after a dot
    ("DB_PASSWORD", "/run/secrets/", False),
]


@pytest.mark.parametrize(("name", "value", "secret"), PATH_LOOKING)
def test_a_value_is_a_path_only_when_it_clearly_is_one(tmp_path: Path, name: str, value: str, secret: bool) -> None:
    from tests.hostile.make_corpus import directory, docker_archive, member, tar

    def config(cfg: dict[str, object]) -> dict[str, object]:
        cfg["config"] = {"Env": [f"{name}={value.strip(chr(39))}"]}
        cfg["history"] = [
            {"created_by": "/bin/sh -c #(nop) ADD file:0123 in / "},
            {"created_by": f"|1 {name}={value} /bin/sh -c true"},
            {"created_by": f"/bin/sh -c #(nop)  ENV {name}={value}", "empty_layer": True},
        ]
        return cfg

    layers = [tar(directory("etc/"), member("etc/os-release", b"x")), tar(directory("tmp/"))]
    path = tmp_path / "env.tar"
    path.write_bytes(docker_archive(layers, config=config))
    found = [f for f in advice(imgscope.analyze(path)).findings if f.id == "IS202"]
    if secret:
        (is202,) = found
        assert is202.paths == (f"ARG {name}", f"ENV {name}")
        assert f"ENV {name} (in history entry 2, the image config)" in is202.message
        assert f"ARG {name} (in history entry 1)" in is202.message
    else:
        assert found == []
    assert redact(f"ENV {name}={value}") == (f"ENV {name}=***" if secret else f"ENV {name}={value}")


def test_a_password_option_with_a_slash_is_masked() -> None:
    assert redact("mysql -pfoo --password=s3cr/et.Q1 db") == "mysql -pfoo --password=*** db"
    assert redact("psql PGPASSWORD=/app/x+y=z") == "psql PGPASSWORD=***"


def _named_files(tmp_path: Path, env: list[str], *files: tuple[str, bytes]) -> tuple[Finding, ...]:
    """IS201's findings on an image whose one layer stores ``files`` and whose config sets ``env``."""
    from tests.hostile.make_corpus import directory, docker_archive, member, tar

    def config(cfg: dict[str, object]) -> dict[str, object]:
        cfg["config"] = {"Env": env}
        return cfg

    dirs = sorted({f"{p.rpartition('/')[0]}/" for p, _ in files})
    layer = tar(*(directory(d) for d in dirs), *(member(p, content) for p, content in files))
    path = tmp_path / "named.tar"
    path.write_bytes(docker_archive([layer], config=config))
    return tuple(f for f in advice(imgscope.analyze(path)).findings if f.id == "IS201")


AWS_PLACEHOLDERS = (
    b"[default]\naws_access_key_id = ${AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}\n"
    b"region = eu-west-1\n"
)


def test_a_named_credential_file_the_sniffer_read_as_holding_no_secret_or_an_empty_one_is_not_reported(
    tmp_path: Path,
) -> None:
    found = _named_files(
        tmp_path,
        [
            "AWS_SHARED_CREDENTIALS_FILE=/root/.aws/credentials",
            "REGISTRY_CREDENTIALS=/kaniko/.docker/config.json",
            "API_TOKEN_FILE=/app/placeholder.env.json",
        ],
        ("root/.aws/credentials", AWS_PLACEHOLDERS),  # only ${...} placeholders and a region (docs/advice.md)
        ("kaniko/.docker/config.json", b'{"credHelpers": {"gcr.io": "gcloud"}}'),  # no auths
        ("app/placeholder.env.json", b""),  # empty: `RUN touch`
    )
    assert found == ()


def test_a_named_credential_file_whose_content_was_not_seen_is_a_warning_that_says_why(tmp_path: Path) -> None:
    found = _named_files(
        tmp_path,
        ["TOKEN_CACHE=/srv/config.json", "GOOGLE_APPLICATION_CREDENTIALS=/app/wif.json"],
        ("srv/config.json", b'{"cache": {}}'),
        ("app/wif.json", WORKLOAD_IDENTITY),  # a workload identity configuration: no secret in it
    )
    (named,) = found
    assert named.severity is Severity.WARNING
    assert named.paths == ("/app/wif.json", "/srv/config.json")
    assert "ENV GOOGLE_APPLICATION_CREDENTIALS, ENV TOKEN_CACHE name" in named.message
    assert "as credential files" in named.message and "not seen to hold a secret" in named.message
    assert "has been published" not in named.message + named.fix
    assert "Rotate this one" not in named.fix


def test_a_stored_google_credential_is_an_error_whether_a_variable_names_it_or_not(tmp_path: Path) -> None:
    key = service_account_key()
    user = json.dumps({"type": "authorized_user", "client_id": "x", "refresh_token": "1//0gSECRETVALUE"}).encode()
    found = _named_files(
        tmp_path,
        ["GOOGLE_APPLICATION_CREDENTIALS=/var/secrets/google/key.json"],
        ("var/secrets/google/key.json", key),
        ("opt/app/conf/prod.json", key),  # a copy no variable names: its content says what it is
        ("root/.config/gcloud/application_default_credentials.json", user),  # `gcloud auth application-default`
    )
    by_title = {f.title: f for f in found}
    keys = by_title.pop("Google Cloud service account key in a layer")
    user_found = by_title.pop("Google Cloud user credentials file in a layer")
    assert by_title == {}
    assert keys.paths == ("/opt/app/conf/prod.json", "/var/secrets/google/key.json")
    assert user_found.paths == ("/root/.config/gcloud/application_default_credentials.json",)
    for f in found:
        assert f.severity is Severity.ERROR and "Rotate this one: it has been published" in f.fix
        assert "not seen to hold a secret" not in f.message and "SECRETVALUE" not in f.message + f.fix
    assert "2 Google Cloud service account keys stored in layer 0" in keys.message


def test_a_named_credential_file_the_sniffer_found_a_secret_in_is_the_usual_error(tmp_path: Path) -> None:
    secret = b"[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCY\n"
    (found,) = _named_files(
        tmp_path, ["AWS_SHARED_CREDENTIALS_FILE=/root/.aws/credentials"], ("root/.aws/credentials", secret)
    )
    assert found.severity is Severity.ERROR and found.title == "AWS credentials file in a layer"
    assert "Rotate this one: it has been published" in found.fix
