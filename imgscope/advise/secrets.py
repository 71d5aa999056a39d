"""The secrets rules (``IS2xx``): secrets stored in a layer, secret-looking values in the config or history.

Secrets are reported wherever they are, the base image's layers included. A secret's value is never kept or
shown: files are judged by name and by ``analysis.sniff``'s verdicts, variables by their names.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import NamedTuple

from imgscope.advise.context import Context
from imgscope.advise.model import Copy, Finding, Rule, Severity, rule
from imgscope.analysis.sniff import MAX_SNIFF_SIZE, config_kind
from imgscope.text import SECRET_WORDS, is_path_value
from imgscope.union.filesystem import WasteReason

_SSH_KEYS = frozenset({"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk"})
_DOTENV = re.compile(r"^\.env(?:\..+)?$")
_ENV_EXAMPLE = re.compile(r"\.(?:example|sample|template|dist|defaults)$")
# The word anywhere (PGPASSWORD, DB_PASSWORD), but ending a word of the name: TOKENIZERS_PARALLELISM is none.
_SECRET_VAR = re.compile(rf"(?i){SECRET_WORDS}(?:[_.-]|$)")
_POINTER_VAR = re.compile(r"(?i)_(?:FILE|PATH|DIR|URL|URI|HOST|PORT|NAME|USER|ID)$")
_ARGS_PREFIX = re.compile(r"^\|(\d+)((?: [^\s=]+=\S*)*) ")

_SECRET_KINDS = {
    "private-key": "private key",
    "gcp-service-account-key": "Google Cloud service account key",
    "ssh-private-key": "SSH private key",
    "dotenv": ".env file",
    "npm-token": ".npmrc with an auth token",
    "pypi-password": ".pypirc with a password",
    "netrc-password": ".netrc with a password",
    "git-credentials": ".git-credentials with a password",
    "aws-credentials": "AWS credentials file",
    "docker-auth": "Docker config with registry auths",
    "gcp-user-credentials": "Google Cloud user credentials file",
    "variable-named": "credential file named by a variable",
}
# The usual way to give each kind to the build without writing it into a layer.
_SECRET_FIXES = {
    "private-key": "mount the key for the step that needs it: `RUN --mount=type=secret,id=tls_key ...`, "
    "or give it to the container at run time (a volume or an orchestrator secret)",
    "gcp-service-account-key": "give the workload an identity instead of a key (its attached service account on "
    "Google Cloud, Workload Identity Federation elsewhere), or the key at run time (a volume or an orchestrator "
    "secret, GOOGLE_APPLICATION_CREDENTIALS pointing to it); a build step that needs it: "
    "`RUN --mount=type=secret,id=gcp_key,target=/run/secrets/gcp_key.json ...`. Delete this key "
    "(`gcloud iam service-accounts keys delete`)",
    "ssh-private-key": "use the build's SSH agent instead of a key file: `RUN --mount=type=ssh git clone ...` "
    "(`docker build --ssh default`)",
    "dotenv": "add `**/.env*` to .dockerignore and pass the values at run time (`docker run --env-file .env`)",
    "npm-token": "`RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci`",
    "pypi-password": "`RUN --mount=type=secret,id=pypirc,target=/root/.pypirc pip install ...`",
    "netrc-password": "`RUN --mount=type=secret,id=netrc,target=/root/.netrc ...`",
    "git-credentials": "`RUN --mount=type=secret,id=gitcreds,target=/root/.git-credentials git clone ...`",
    "aws-credentials": "`RUN --mount=type=secret,id=aws,target=/root/.aws/credentials aws s3 cp ...`, "
    "or an IAM role at run time",
    "docker-auth": "`RUN --mount=type=secret,id=dockercfg,target=/root/.docker/config.json ...`",
    "gcp-user-credentials": "`RUN --mount=type=secret,id=adc,target=/root/.config/gcloud/"
    "application_default_credentials.json ...`, or a service account's identity at run time. Revoke this one "
    "(`gcloud auth application-default revoke`)",
    "variable-named": "give the file at run time where the variable points (a volume or an orchestrator secret), "
    "or mount it for the step that needs it: `RUN --mount=type=secret,id=cred,target=PATH ...`",
}
# A file only a variable's name calls a credential file: its content was not seen to hold a secret.
_UNSEEN_NOTE = (
    ". The content was not seen to hold a secret (imgscope reads each small file's first KiB for a private key, in PEM "
    "or in a JSON key file such as a service account key, and known credential files such as .aws/credentials "
    "whole), so this is a warning: the variable's name is the only sign that it holds one"
)


@rule(
    "IS201",
    "secret-file",
    Severity.ERROR,
    title="Secret stored in a layer",
    why="Anyone who can pull the image can read every layer; a secret deleted later is still in the layer below.",
    fix="Never write secrets into a layer: `RUN --mount=type=secret`, run-time secrets; rotate the one published.",
)
def secret_file(rule: Rule, ctx: Context) -> Iterator[Finding]:
    # By name: SSH keys and .env files; by content (imgscope.analysis.sniff): private keys (PEM, JSON key files),
    # credential files.
    # And what a credential variable names (GOOGLE_APPLICATION_CREDENTIALS=/app/sa.json), where a layer stores it:
    # a warning, as its content was not seen to hold a secret. Not an empty file, nor one the sniffer read whole
    # and found no secret in (an .aws/credentials of ${...} placeholders); one it found a secret in is that kind.
    kinds: dict[tuple[int, str], str] = {}
    named_by = _credential_paths(ctx)
    pointed: list[tuple[int, str]] = []
    for layer in ctx.a.layers:
        for path, size in ctx.stored(layer):
            name = path.rpartition("/")[2]
            if name in _SSH_KEYS:
                kinds[(layer.index, path)] = "ssh-private-key"
            elif _DOTENV.match(name) and not _ENV_EXAMPLE.search(name):
                kinds[(layer.index, path)] = "dotenv"
            elif path in named_by and size and not _judged_by_content(path, size):
                pointed.append((layer.index, path))
    for s in ctx.a.sniffed:
        if not ctx.settings.allowed(s.path):
            kinds.setdefault((s.layer, s.path), s.kind)
    for key in pointed:
        kinds.setdefault(key, "variable-named")
    groups: dict[tuple[int, str, bool], list[Copy]] = defaultdict(list)
    for (layer_index, path), kind in kinds.items():
        groups[(layer_index, kind, is_package_test_fixture(path))].append(Copy(layer_index, path, 0))
    for (layer_index, kind, fixture), copies in sorted(groups.items()):
        ctx.claimed.update((c.layer, c.path) for c in copies)
        label = _SECRET_KINDS[kind]
        n = len(copies)
        named = kind == "variable-named"
        if named:
            variables = sorted({v for c in copies for v in named_by[c.path]})
            text = (
                f"{', '.join(variables)} name{'s' * (len(variables) == 1)} "
                f"{'a file as a credential file' if n == 1 else f'{n} files as credential files'}, stored in "
                f"{ctx.where(layer_index)}"
            )
        else:
            text = f"{n} {label}{'s' if n > 1 and not label.endswith('s') else ''} stored in {ctx.where(layer_index)}"
        if fixture:
            text += (
                " inside a package's test directory: test fixtures published with the package, most likely not a "
                "secret of yours, so this is info, not an error"
            )
        fate, later = _what_became_of(ctx, layer_index, copies)
        text += fate
        if layer_index < ctx.first:
            text += " (this layer comes from the base image)"
        if named and not fixture:
            text += _UNSEEN_NOTE
        text += ". The content is not shown."
        if fixture:
            fix = (
                "Nothing to rotate if these are the package's own test files; to ship less, leave packages' tests "
                "out of the image (delete them in the RUN that installs the package), or allow the paths in "
                "[tool.imgscope.advise] allow. If you put a real key there, treat it as below: "
                f"{_SECRET_FIXES[kind]}."
            )
        elif named:
            fix = (
                "If the file holds a secret (a service account key, a token, a password), it is published with the "
                f"image: {_SECRET_FIXES[kind]}, and rotate the secret. If it holds none (a workload identity "
                "configuration, settings), allow its path in [tool.imgscope.advise] allow."
            )
        else:
            fix = (
                f"Never COPY or write secrets into a layer; {_SECRET_FIXES[kind]}. Keep secrets out of the build "
                "context with .dockerignore. Rotate this one: it has been published with the image."
            )
        yield ctx.finding(
            rule,
            text,
            [layer_index, *later],
            copies,
            fix,
            saves=False,
            title=f"{label[0].upper()}{label[1:]} in a layer" + (" (a package's test fixture)" if fixture else ""),
            severity=Severity.INFO if fixture else Severity.WARNING if named else None,
        )


def _judged_by_content(path: str, size: int) -> bool:
    """True for a file ``analysis.sniff`` read whole and judged by its content (a credential file it knows, up to
    64 KiB: ``.aws/credentials``, ``.npmrc``, ...): had it held a secret, ``ctx.a.sniffed`` would name it."""
    return size <= MAX_SNIFF_SIZE and config_kind(path) is not None


# A package's own tree (Python, Node, Ruby, Go modules, vendored code), or Python's or Go's own library (the
# golang images: /usr/local/go/src; distributions: /usr/lib/go-1.22/src, /usr/share/go-1.19/src,
# /usr/lib/golang/src), then a test directory below it.
_PACKAGE_ROOT = re.compile(
    r"/(?:site-packages|dist-packages|node_modules|gems|pkg/mod|vendor)/|^/usr(?:/local)?/lib/python3[^/]*/"
    r"|^/usr/local/go/src/|^/usr/(?:lib|share)/go(?:lang)?(?:-[0-9.]+)?/src/"
)
_TEST_DIR = re.compile(r"/(?:tests?|testing|testdata|test_data|fixtures|__tests__|spec)/", re.IGNORECASE)


def is_package_test_fixture(path: str) -> bool:
    """True for a file in a test directory inside an installed package (``site-packages/tornado/test/test.key``,
    ``/usr/lib/python3.11/test/keycert.pem``, ``node_modules/x/tests/fixtures/key.pem``) or Go's own library
    (``/usr/local/go/src/crypto/tls/testdata/example-key.pem``): shipped and published with the package, not a
    secret the image's author added. ``/app/tests/server.key`` is not one."""
    root = _PACKAGE_ROOT.search(path)
    return root is not None and _TEST_DIR.search(path, root.end() - 1) is not None


def _what_became_of(ctx: Context, layer_index: int, copies: list[Copy]) -> tuple[str, set[int]]:
    """What later layers did to the copies, each followed to its end, said as it is: written again unchanged
    (each copy stored too), then removed (still in the layers' tars), replaced by other content, or kept in the
    final image; and the later layers that did it."""
    ends: dict[tuple[tuple[int, ...], str], set[int]] = defaultdict(set)  # (written again by, end) -> ended by
    for c in copies:
        again: list[int] = []
        key = (c.layer, c.path)
        end, by = "kept", -1
        while key in ctx.hidden_by:
            how, later = ctx.hidden_how[key], ctx.hidden_by[key]
            if how not in (WasteReason.IDENTICAL, WasteReason.METADATA_ONLY):
                end, by = ("replaced" if how is WasteReason.OVERWRITTEN else "removed"), later
                break
            again.append(later)
            key = (later, c.path)
        if end == "kept" and (not again or c.path not in ctx.final_paths):
            continue  # never hidden (in the final image: nothing to add), or an end the union did not record
        ends[(tuple(again), end)].add(by)
    out = ""
    named: set[int] = set()
    for (rewrites, end), by_layers in sorted(ends.items()):
        named.update(rewrites)
        named.update(by_layers - {-1})
        if not rewrites:
            if end == "removed":
                out += (
                    f"; removed by {_layers(by_layers)}, but still in layer {layer_index}: anyone who pulls the image "
                    "can extract it from that layer's tar"
                )
            else:
                out += (
                    f"; replaced with other content by {_layers(by_layers)}, but the old one is still in layer "
                    f"{layer_index}"
                )
            continue
        stored = _layers({layer_index, *rewrites})
        out += f"; written again by {_layers(set(rewrites))} with the same content"
        if end == "kept":
            out += f", so it is in the final image and in {stored}"
        elif end == "removed":
            out += (
                f", then removed by {_layers(by_layers)}: not in the final image, but still in {stored}, where "
                "anyone who pulls the image can extract it"
            )
        else:
            out += f", then replaced with other content by {_layers(by_layers)}: the old one is still in {stored}"
    return out, named


def _layers(indexes: set[int]) -> str:
    ordered = sorted(indexes)
    return f"layer{'s' * (len(ordered) > 1)} {', '.join(map(str, ordered))}"


@rule(
    "IS202",
    "secret-in-config",
    Severity.ERROR,
    title="Secret-looking ENV or ARG value in the config or history",
    why="ENV values and build ARGs are recorded in the image config and history, readable by anyone who pulls it.",
    fix="No secrets in ENV or ARG: `RUN --mount=type=secret` at build time, inject at run time; rotate them.",
)
def secret_in_config(rule: Rule, ctx: Context) -> Iterator[Finding]:
    names: dict[str, set[str]] = defaultdict(set)  # variable -> where
    layers: set[int] = set()
    for var in _variables(ctx):
        if var.value and _is_secret_var(var.name) and not is_path_value(var.value):
            names[var.label].add(var.where)
            if var.layer is not None:
                layers.add(var.layer)
    if not names:
        return
    described = "; ".join(f"{var} (in {_places(w)})" for var, w in sorted(names.items()))
    fix = (
        "Do not pass secrets with ENV or ARG: use `RUN --mount=type=secret,id=NAME` at build time and inject "
        "them at run time (`docker run --env-file`, orchestrator secrets). Rotate the values: they are published."
    )
    yield ctx.finding(
        rule,
        f"Secret-looking variables with values recorded in the image: {described}. The values are not shown.",
        layers,
        [],
        fix,
        saves=False,
        paths=sorted(names),
    )


class _Variable(NamedTuple):
    label: str  # "ENV NAME" or "ARG NAME"
    name: str
    value: str  # only tested, never shown
    where: str  # "the image config" or "history entry N"
    layer: int | None  # the layer of the RUN a build ARG was recorded for


def _variables(ctx: Context) -> Iterator[_Variable]:
    """Every ENV of the config and the history, and every build ARG a RUN's history entry recorded."""
    for item in ctx.runtime.env:
        if "=" in item:
            name, value = item.split("=", 1)
            yield _Variable(f"ENV {name}", name, value, "the image config", None)
    for position, h in enumerate(ctx.a.history):
        created_by = (h.created_by or "").strip()
        if created_by.startswith("RUN "):
            created_by = created_by[4:]
        match = _ARGS_PREFIX.match(created_by)
        if match:
            for pair in match.group(2).split():
                name, _, value = pair.partition("=")
                yield _Variable(f"ARG {name}", name, value, f"history entry {position}", h.layer_index)
        command = h.command
        if command.startswith("ENV "):
            for name, value in _env_pairs(command[4:]):
                yield _Variable(f"ENV {name}", name, value, f"history entry {position}", None)


def _credential_paths(ctx: Context) -> dict[str, set[str]]:
    """The absolute paths that variables named like a credential point to (``GOOGLE_APPLICATION_CREDENTIALS``,
    ``DB_PASSWORD_FILE``), each with the variables naming it; a relative one (``./sa.json``, ``../x``) from the
    config's working directory."""
    paths: dict[str, set[str]] = defaultdict(set)
    for var in _variables(ctx):
        value = var.value
        if not value or _SECRET_VAR.search(var.name) is None or value.startswith(("~", "$")):
            continue
        if not value.startswith("/"):
            # A word (API_KEY_ENABLED=true, sa.json, a/b.json) is no relative path: ./x or ../x is (text.is_path_value).
            if not ctx.runtime.workdir.startswith("/") or not is_path_value(value):
                continue
            value = posixpath.join(ctx.runtime.workdir, value)
        paths["/" + posixpath.normpath(value).lstrip("/")].add(var.label)
    return paths


def _is_secret_var(name: str) -> bool:
    return _SECRET_VAR.search(name) is not None and _POINTER_VAR.search(name) is None


def _env_pairs(text: str) -> Iterator[tuple[str, str]]:
    """``A=1 B="x y"`` (or the legacy ``A 1``) as name/value pairs; values are only tested, never kept."""
    if "=" not in text.split(" ", 1)[0]:
        name, _, value = text.partition(" ")
        yield name, value.strip()
        return
    for match in re.finditer(r"([^\s=]+)=(\"(?:[^\"\\]|\\.)*\"|'[^']*'|\S*)", text):
        yield match.group(1), match.group(2).strip("\"'")


def _places(where: set[str]) -> str:
    entries = sorted(int(w.rpartition(" ")[2]) for w in where if w.startswith("history entry "))
    named = sorted(w for w in where if not w.startswith("history entry "))
    if entries:
        named.insert(0, f"history entr{'y' if len(entries) == 1 else 'ies'} {_ranges(entries)}")
    return ", ".join(named)


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 5]`` as ``1-3, 5``."""
    out: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(out)
