"""The content sniffer: verdicts from a file's first bytes, the tee that feeds it, and the hook in tar_stream."""

from __future__ import annotations

import hashlib
import io
import json

import pytest

from imgscope.analysis.sniff import HEAD_BYTES, MAX_SNIFF_SIZE, Sniffer, verdict
from imgscope.sources.blobs import LayerStream
from imgscope.sources.tar_stream import Tee, iter_entries
from tests.conftest import pax_layer
from tests.credentials import WORKLOAD_IDENTITY, pem_private_key, service_account_key

FAKE = "imgscope-fake-SECRETVALUE"
SA_KEY = service_account_key()
SA_KEY_SORTED = service_account_key(sort_keys=True)  # the key after the URLs, "type" near the end
EC_KEY = pem_private_key("ec")
# What a JSON file says about a credential without holding one: a schema, a documentation example, a certificate.
SA_SCHEMA = json.dumps(
    {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Google Cloud service account key",
        "properties": {
            "type": {"const": "service_account"},
            "private_key": {"type": "string", "pattern": "^-----BEGIN PRIVATE KEY-----\\n[A-Za-z0-9+/=\\n]+"},
        },
    },
    indent=2,
).encode()
SA_EXAMPLE = (
    b'{\n  "type": "service_account",\n  "project_id": "PROJECT_ID",\n  "private_key_id": "KEY_ID",\n'
    b'  "private_key": "-----BEGIN PRIVATE KEY-----\\nPRIVATE_KEY\\n-----END PRIVATE KEY-----\\n",\n'
    b'  "client_email": "SERVICE_ACCOUNT_EMAIL"\n}\n'
)
ADC = "root/.config/gcloud/application_default_credentials.json"
USER_CREDENTIALS = json.dumps(
    {
        "account": "",
        "client_id": "000000000000-imgscopefake.apps.googleusercontent.com",
        "client_secret": f"{FAKE}-client",
        "quota_project_id": "imgscope-demo",
        "refresh_token": f"1//0g{FAKE}",
        "type": "authorized_user",
        "universe_domain": "googleapis.com",
    },
    indent=2,
).encode()
IMPERSONATING = json.dumps(
    {
        "type": "impersonated_service_account",
        "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
        "ci@imgscope-demo.iam.gserviceaccount.com:generateAccessToken",
        "source_credentials": json.loads(USER_CREDENTIALS),
    }
).encode()


@pytest.mark.parametrize(
    ("path", "content", "kind"),
    [
        ("srv/tls.key", b"-----BEGIN PRIVATE KEY-----\nMIIE\n", "private-key"),
        ("x/id", b"\n  -----BEGIN RSA PRIVATE KEY-----\n", "private-key"),
        ("x/k", b"-----BEGIN EC PRIVATE KEY-----\n", "private-key"),
        ("x/k", b"-----BEGIN OPENSSH PRIVATE KEY-----\n", "private-key"),
        ("x/k", b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n", "private-key"),
        ("x/k", b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n", "private-key"),
        ("x/cert.pem", b"-----BEGIN CERTIFICATE-----\nMIIB\n", None),
        ("x/k.pub", b"-----BEGIN PUBLIC KEY-----\n", None),
        ("x/notes.txt", b"see -----BEGIN PRIVATE KEY----- below", None),  # not at the start
        ("root/.npmrc", f"//registry.npmjs.org/:_authToken={FAKE}\n".encode(), "npm-token"),
        ("root/.npmrc", b"registry=https://registry.example.com/\n", None),
        ("root/.npmrc", b"_auth = abc\n", "npm-token"),
        ("root/.pypirc", f"[pypi]\nusername = __token__\npassword = {FAKE}\n".encode(), "pypi-password"),
        ("root/.pypirc", b"[distutils]\nindex-servers = pypi\n", None),
        ("root/.netrc", f"machine h login u password {FAKE}\n".encode(), "netrc-password"),
        ("root/.netrc", b"machine h login u\n", None),
        ("root/.git-credentials", f"https://u:{FAKE}@example.com\n".encode(), "git-credentials"),
        ("root/.aws/credentials", f"[default]\naws_secret_access_key = {FAKE}\n".encode(), "aws-credentials"),
        ("root/.aws/credentials", b"[default]\nregion = eu-west-1\n", None),
        ("srv/credentials", f"aws_secret_access_key = {FAKE}\n".encode(), None),  # not under .aws/
        # an environment placeholder is read when the tool runs (npm's recommended form): no secret in the file
        ("app/.npmrc", b"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n", None),
        ("app/.npmrc", b'//registry.npmjs.org/:_authToken="${NPM_TOKEN}"\n', None),
        ("app/.npmrc", f"//a.example/:_authToken=${{A}}\n//b.example/:_authToken={FAKE}\n".encode(), "npm-token"),
        ("app/.npmrc", b"//registry.npmjs.org/:_authToken=${NPM_TOKEN}x\n", "npm-token"),  # not only a reference
        ("root/.pypirc", b"[pypi]\nusername = __token__\npassword = ${PYPI_TOKEN}\n", None),
        ("root/.aws/credentials", b"[default]\naws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}\n", None),
        ("root/.netrc", b"machine h login u password ${NETRC_PASSWORD}\n", None),
        ("root/.git-credentials", b"https://u:${GIT_TOKEN}@example.com\n", None),
        ("root/.docker/config.json", b'{"auths":{"r.example.com":{"auth":"dTpw"}}}', "docker-auth"),
        ("root/.docker/config.json", b'{"auths":{"r.example.com":{}},"credsStore":"pass"}', None),
        ("root/.docker/config.json", b"{not json", None),
        ("app/config.json", b'{"auths":{"r":{"auth":"dTpw"}}}', None),  # not under .docker/
        # a JSON document with a PEM private key in a string (\\n escaped): a Google Cloud service account key
        # whatever its name, compact or with its fields sorted; any other such key is a private key
        ("var/secrets/google/key.json", SA_KEY, "gcp-service-account-key"),
        ("app/conf/prod", SA_KEY_SORTED, "gcp-service-account-key"),
        ("x/k.json", json.dumps(json.loads(SA_KEY), separators=(",", ":")).encode(), "gcp-service-account-key"),
        ("x/k.json", b"\xef\xbb\xbf" + SA_KEY, "gcp-service-account-key"),  # a UTF-8 byte order mark
        ("x/k.json", SA_KEY_SORTED[:HEAD_BYTES], "private-key"),  # the sniffer's head of it: the key, not the type
        ("srv/signer.json", json.dumps({"kid": "a1", "signing_key": EC_KEY}).encode(), "private-key"),
        # ... and a file that only mentions one is none
        ("x/schema.json", SA_SCHEMA, None),
        ("docs/sa.json", SA_EXAMPLE, None),  # a placeholder where the key's base64 would be
        ("x/k.json", json.dumps({**json.loads(SA_KEY), "private_key": ""}).encode(), None),
        ("docs/auth.md", b"Create a key:\n```json\n" + SA_EXAMPLE + b"```\n", None),
        ("x/ca.json", json.dumps({"ca": EC_KEY.replace("EC PRIVATE KEY", "CERTIFICATE")}).encode(), None),
        ("x/pub.json", json.dumps({"public_key": EC_KEY.replace("EC PRIVATE KEY", "PUBLIC KEY")}).encode(), None),
        ("x/key.js", b"module.exports = " + SA_KEY, None),  # code, not a JSON document
        # gcloud's application default credentials: a user's refresh token, read whole by its name
        (ADC, USER_CREDENTIALS, "gcp-user-credentials"),
        (ADC, IMPERSONATING, "gcp-user-credentials"),  # --impersonate-service-account: the user's token inside
        (ADC, json.dumps({**json.loads(USER_CREDENTIALS), "refresh_token": ""}).encode(), None),
        (ADC, WORKLOAD_IDENTITY, None),  # workload identity federation: no secret in it
        (ADC, b"{not json", None),
        ("app/adc.json", USER_CREDENTIALS, None),  # by content alone: no key in it to see
    ],
)
def test_verdict(path: str, content: bytes, kind: str | None) -> None:
    assert verdict(path, content) == kind


# A hostile credential file, as large as the sniffer reads: blank lines, or white space, with a token on none of
# them. A pattern that let `^\s*` run on across lines tried again from every line (its square in time: 76 s).
HOSTILE_CREDENTIALS = [
    b"\n" * MAX_SNIFF_SIZE,
    b" \n" * (MAX_SNIFF_SIZE // 2),
    b"\r\n\t" * (MAX_SNIFF_SIZE // 3),
    b"x:" + b" " * (MAX_SNIFF_SIZE - 2),
    b"password" + b" " * (MAX_SNIFF_SIZE - 8),
]


@pytest.mark.parametrize(
    "path",
    [
        "root/.npmrc",
        "root/.pypirc",
        "root/.netrc",
        "root/.git-credentials",
        "root/.aws/credentials",
        "root/.docker/config.json",
        ADC,
        "x/k.json",
    ],
)
def test_a_hostile_credential_file_is_judged_in_linear_time(path: str) -> None:
    import time

    for content in HOSTILE_CREDENTIALS:
        start = time.process_time()
        assert verdict(path, content) is None
        assert time.process_time() - start < 0.5, (path, content[:10])


class _Hash:
    def __init__(self) -> None:
        self.h = hashlib.sha256()

    def update(self, data: memoryview) -> None:
        self.h.update(data)


def test_tee_hashes_everything_and_keeps_only_the_head() -> None:
    h = _Hash()
    tee = Tee(h, 10)
    tee.update(memoryview(b"0123456"))
    tee.update(memoryview(b"789abcdef"))
    assert bytes(tee.head) == b"0123456789"
    assert h.h.digest() == hashlib.sha256(b"0123456789abcdef").digest()


def test_sniffer_limits_and_forgets() -> None:
    s = Sniffer()
    assert s.wants("big.key", MAX_SNIFF_SIZE + 1) == 0
    assert s.wants("a/b/server.key", 100) == HEAD_BYTES
    assert s.wants("./root/.npmrc", 100) == MAX_SNIFF_SIZE
    s.layer = 3
    s.observe("root/.npmrc", 100, f"_authToken={FAKE}\n".encode())
    assert [(f.path, f.layer, f.kind) for f in s.found] == [("/root/.npmrc", 3, "npm-token")]
    assert FAKE not in repr(s)


def _layer(members: dict[str, bytes]) -> LayerStream:
    return LayerStream(io.BytesIO(pax_layer(members)), "test layer")


def test_hook_in_iter_entries_keeps_digests_and_flags_only_secrets() -> None:
    members = {
        "etc/ok.txt": b"hello\n",
        "srv/tls.key": b"-----BEGIN PRIVATE KEY-----\nFAKE\n-----END PRIVATE KEY-----\n",
        "root/.npmrc": f"//r/:_authToken={FAKE}\n".encode(),
        "big.bin": b"-----BEGIN PRIVATE KEY-----" + b"x" * MAX_SNIFF_SIZE,  # too large to be looked at
    }
    sniffer = Sniffer(layer=2)
    entries = list(iter_entries(_layer(members), [sniffer]))
    assert {e.path: e.digest for e in entries} == {p: hashlib.sha256(d).digest() for p, d in members.items()}
    assert sorted((f.path, f.layer, f.kind) for f in sniffer.found) == [
        ("/root/.npmrc", 2, "npm-token"),
        ("/srv/tls.key", 2, "private-key"),
    ]
    plain = list(iter_entries(_layer(members)))  # without a sniffer: the same entries
    assert plain == entries


class _WholeFile:
    """An observer asking for the whole content of one small file (as a package-database reader does)."""

    def __init__(self, wanted: str, bound: int) -> None:
        self.wanted, self.bound = wanted, bound
        self.seen: dict[str, bytes] = {}

    def wants(self, name: str, size: int) -> int:
        return self.bound if name.lstrip("./") == self.wanted and size <= self.bound else 0

    def observe(self, path: str, size: int, content: bytes) -> None:
        self.seen[path] = content


def test_observers_side_by_side_each_get_what_they_asked_for() -> None:
    status = b"Package: a\nVersion: 1\n\n" * 5000  # over 64 KiB: streamed, not read in one piece
    members = {"var/lib/dpkg/status": status, "srv/tls.key": b"-----BEGIN PRIVATE KEY-----\nFAKE\n"}
    sniffer, whole = Sniffer(), _WholeFile("var/lib/dpkg/status", 1 << 20)
    entries = list(iter_entries(_layer(members), [sniffer, whole]))
    assert whole.seen == {"var/lib/dpkg/status": status}
    assert [f.path for f in sniffer.found] == ["/srv/tls.key"]
    assert {e.path: e.digest for e in entries} == {p: hashlib.sha256(d).digest() for p, d in members.items()}


class _Recording(Sniffer):
    """The sniffer, recording what it was shown (path and bytes) as well."""

    def __init__(self) -> None:
        super().__init__(layer=1)
        self.shown: dict[str, bytes] = {}

    def observe(self, path: str, size: int, content: bytes) -> None:
        self.shown[path] = bytes(content)
        super().observe(path, size, content)


class _RecordingUnfiltered(_Recording):
    """The same, asked about every file, as an observer without a head filter is."""

    head_filter = None


def test_head_filter_finds_what_asking_about_every_file_finds() -> None:
    """With its head filter, the reader shows the sniffer only the files that can be secrets; the findings, and the
    bytes of each file it does show, are the ones it gets when asked about every file. The layer spans several
    read chunks, so keys and credential files sit inside chunks and across their edges; some keys start past the
    filter's first KiB, some files are too large, some names end like a credential file's without being one;
    service account keys (their private key ~160 or ~430 bytes in) and a schema that names their fields."""
    import random

    rng = random.Random(5)
    key = b"-----BEGIN OPENSSH PRIVATE KEY-----\nFAKE\n"
    members: dict[str, bytes] = {}
    for i in range(600):
        kind = rng.randrange(11)
        body = rng.randbytes(rng.choice([10, 300, 5000, 40000]))
        if kind == 0:
            members[f"k/{i}.key"] = key + body
        elif kind == 1:
            members[f"k/{i}.late"] = b" " * 1100 + key  # the header past the window: never a key
        elif kind == 8:
            members[f"j/{i}.json"] = SA_KEY
        elif kind == 9:
            members[f"j/{i}"] = SA_KEY_SORTED
        elif kind == 10:
            members[f"j/{i}.schema.json"] = SA_SCHEMA
        elif kind == 2:
            members[f"home/u{i}/.npmrc"] = f"//r/:_authToken={FAKE}\n".encode() + body
        elif kind == 3:
            members[f"home/u{i}/.aws/credentials"] = f"aws_secret_access_key = {FAKE}\n".encode()
        elif kind == 4:
            members[f"x/not.npmrc{i}"] = body
        elif kind == 5:
            members[f"big/{i}"] = key + b"x" * MAX_SNIFF_SIZE
        else:
            members[f"d/{i}"] = body
    found = {}
    shown = {}
    for filtered in (True, False):
        sniffer = _Recording() if filtered else _RecordingUnfiltered()
        entries = list(iter_entries(_layer(members), [sniffer]))
        assert len(entries) == len(members)
        found[filtered] = sorted((f.path, f.kind) for f in sniffer.found)
        shown[filtered] = sniffer.shown
    assert found[True] == found[False]
    assert {kind for _, kind in found[True]} == {
        "private-key",
        "npm-token",
        "aws-credentials",
        "gcp-service-account-key",
    }
    assert {path for path, kind in found[True] if kind == "gcp-service-account-key"} == {
        f"/{path}" for path, content in members.items() if content == SA_KEY
    }
    assert {path for path, kind in found[True] if kind == "private-key" and path.startswith("/j/")} == {
        f"/{path}" for path, content in members.items() if content == SA_KEY_SORTED
    }
    plain = [[path for path in shown[f] if path.startswith(("d/", "x/"))] for f in (True, False)]
    assert (
        len(plain[0]) < len(plain[1]) / 4
    )  # the filter kept most plain files from the sniffer (not those across chunks)
    assert all(shown[False][path] == head for path, head in shown[True].items())


def test_a_json_key_whose_pem_begins_late_in_the_first_kib_is_seen_whole() -> None:
    """The filter looks for a key's header in a file's first KiB; the sniffer then sees enough beyond it for the
    key's first base64, which tells a key from a placeholder. A key whose header begins just before the KiB's end
    (a long ``private_key_id``, other fields first) is reported; one beginning after it is not looked at."""
    key = json.loads(SA_KEY)
    late = {"type": "service_account", "notes": "", "private_key": key["private_key"]}
    body = json.dumps(late).encode()
    header = body.index(b"-----BEGIN")
    members = {}
    for offset in (1000, 1010, 1023 - len("-----BEGIN")):  # the header whole inside the first KiB
        late["notes"] = "n" * (offset - header)
        members[f"srv/keys/{offset}.json"] = json.dumps(late).encode()
        assert members[f"srv/keys/{offset}.json"].index(b"-----BEGIN") == offset
    late["notes"] = "n" * (1100 - header)
    members["srv/keys/after.json"] = json.dumps(late).encode()
    sniffer = Sniffer(layer=0)
    list(iter_entries(_layer(members), [sniffer]))
    assert sorted((f.path, f.kind) for f in sniffer.found) == [
        (f"/srv/keys/{offset}.json", "gcp-service-account-key") for offset in sorted((1000, 1010, 1013))
    ]


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("root/.config/gcloud/legacy_credentials/dev@example.com/adc.json", "gcp-user-credentials"),
        ("home/ci/.config/gcloud/legacy_credentials/ci@example.com/adc.json", "gcp-user-credentials"),
        ("app/fixtures/adc.json", None),  # not gcloud's: by content alone there is no key to see
    ],
)
def test_gclouds_legacy_credentials_are_a_users_refresh_token(path: str, kind: str | None) -> None:
    """``gcloud auth login`` keeps each account's application default credentials, a refresh token, in
    ``legacy_credentials/ACCOUNT/adc.json``: the same secret as ``application_default_credentials.json``."""
    assert verdict(path, USER_CREDENTIALS) == kind
    sniffer = Sniffer(layer=1)
    list(iter_entries(_layer({path: USER_CREDENTIALS, "etc/motd": b"hi\n"}), [sniffer]))
    assert [(f.path, f.kind) for f in sniffer.found] == ([("/" + path, kind)] if kind else [])
