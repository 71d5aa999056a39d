"""imgscope advise on real images built by buildah (samples/advise.tar: "wasteful" commits every sin, "clean" none).

Expected bytes come from the ground truth the real tools wrote (samples/truth/wasteful.layers.tsv: each layer's tar
members as Python's tarfile read them from skopeo's OCI export), for paths listed by hand from
samples/src/wasteful/Containerfile and make-context.sh, never from imgscope's own output.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner

import imgscope
import imgscope.dive.figures
from imgscope.advise import RULES, Advice, AdviseSettings, Finding, Severity, advice, redact
from imgscope.cli import main
from imgscope.errors import UsageError
from tests.conftest import SAMPLES, analysis_of
from tests.test_samples import CASES_WASTE, OVERLAY_ONLY, our_rows, truth_rows

ADVISE_TAR = str(SAMPLES / "advise.tar")
WASTEFUL = "localhost/wasteful:latest"
CLEAN = "localhost/clean:1.0"
SECRET_MARK = "SECRETVALUE"  # in every planted secret's value (samples/src/wasteful), never in a path or name


@cache
def truth_sizes(name: str) -> dict[tuple[int, str], int]:
    """(layer, /path) -> bytes of each regular file a layer stores, from the ground-truth layer listing."""
    lines = (SAMPLES / "truth" / f"{name}.layers.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["layer", "name", "typeflag", "size", "linkname"]
    sizes: dict[tuple[int, str], int] = {}
    for line in lines[1:]:
        layer, member, flag, size, _ = line.split("\t")
        base = member.rstrip("/").rpartition("/")[2]
        if flag == "0" and not base.startswith(".wh."):
            sizes[(int(layer), "/" + member.removeprefix("./").rstrip("/"))] = int(size)
    return sizes


def expected_bytes(layer: int, paths: set[str]) -> int:
    sizes = truth_sizes("wasteful")
    missing = {p for p in paths if (layer, p) not in sizes}
    assert not missing, f"not stored in layer {layer} according to the truth: {missing}"
    return sum(sizes[(layer, p)] for p in paths)


@cache
def wasteful() -> Advice:
    return advice(analysis_of("advise.tar", WASTEFUL))


def only(findings: list[Finding], rule_id: str, layer: int | None = None, title: str | None = None) -> Finding:
    hits = [
        f
        for f in findings
        if f.id == rule_id and (layer is None or layer in f.layers) and (title is None or f.title == title)
    ]
    assert len(hits) == 1, f"{rule_id} layer {layer} {title}: {[(f.id, f.layers, f.title) for f in findings]}"
    return hits[0]


@pytest.mark.parametrize(("image", "truth"), [(WASTEFUL, "wasteful"), (CLEAN, "clean")])
def test_advise_samples_final_tree_equals_umoci_rootfs(image: str, truth: str) -> None:
    expected, got = truth_rows(truth), our_rows(analysis_of("advise.tar", image))
    assert sorted(expected - got) == [] and sorted(got - expected) == []


@pytest.mark.parametrize(("image", "stem"), [(WASTEFUL, "wasteful"), (CLEAN, "clean")])
def test_advise_samples_dive_figures_equal_dive_output(image: str, stem: str) -> None:
    a = analysis_of("advise.tar", image)
    ci = (SAMPLES / "dive" / f"{stem}.ci.txt").read_text()
    exported = json.loads((SAMPLES / "dive" / f"{stem}.json").read_text())["image"]
    assert (a.dive.efficiency, a.dive.wasted_bytes, a.summary.size) == (
        exported["efficiencyScore"],
        exported["inefficientBytes"],
        exported["sizeBytes"],
    )
    user = re.search(r"userWastedPercent: ([0-9.]+) %", ci)
    assert user and imgscope.dive.figures.format_ci_figures(a.dive)[2].strip() == f"userWastedPercent: {user[1]} %"


# (id, title, layers, paths, layer that stores them) — from the Containerfile, by hand.
SIZE_FINDINGS = [
    (
        "IS102",
        "Apt package lists left in a layer",
        (1, 7),
        {
            "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
            "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
        },
        1,
    ),
    (
        "IS102",
        "Apt package archives left in a layer",
        (1,),
        {"/var/cache/apt/archives/build-essential_12.9_amd64.deb", "/var/cache/apt/pkgcache.bin"},
        1,
    ),
    ("IS102", "Apk cache left in a layer", (2,), {"/var/cache/apk/APKINDEX.5022a8a2.tar.gz"}, 2),
    ("IS102", "Dnf/yum cache left in a layer", (2,), {"/var/cache/dnf/fedora-0123/packages/gcc-13.rpm"}, 2),
    ("IS102", "Pip cache left in a layer", (3,), {"/root/.cache/pip/http/a/b/0123abcd"}, 3),
    ("IS102", "Npm cache left in a layer", (4,), {"/root/.npm/_cacache/content-v2/sha512/ab/cdef"}, 4),
    ("IS102", "Yarn cache left in a layer", (4,), {"/usr/local/share/.cache/yarn/v6/npm-left-pad/index.js"}, 4),
    ("IS102", "Go build cache left in a layer", (5,), {"/root/.cache/go-build/ab/abcdef0123-d"}, 5),
    (
        "IS103",
        None,
        (3,),
        {"/usr/lib/python3/site-packages/app/__pycache__/mod.cpython-311.pyc"},
        3,
    ),
    (
        "IS104",
        None,
        (8,),
        {
            "/app/.git/HEAD",
            "/app/.git/config",
            "/app/.git/objects/pack/pack-0123.pack",
            "/app/node_modules/left-pad/index.js",
            "/app/node_modules/left-pad/package.json",
            "/app/debug.log",
            "/app/npm-debug.log",
            "/app/.DS_Store",
            "/app/Thumbs.db",
            "/app/.vscode/settings.json",
            "/app/.idea/workspace.xml",
            "/app/Dockerfile",
            "/app/tests/test_app.py",
            "/app/src/__pycache__/app.cpython-311.pyc",
            "/app/.pytest_cache/v/cache/nodeids",
            "/app/.env",
        },
        8,
    ),
    ("IS101", None, (1, 7), {"/tmp/build/src.tar.gz"}, 1),
    ("IS101", None, (3, 7), {"/etc/app.conf"}, 3),
    ("IS106", None, (8, 9), {"/app/run.sh"}, 8),
    (
        "IS105",
        None,
        (1,),
        {
            "/usr/bin/gcc",
            "/usr/bin/g++",
            "/usr/bin/make",
            "/usr/lib/gcc/x86_64-linux-gnu/12/cc1",
            "/usr/include/stdio.h",
            "/usr/include/linux/types.h",
            "/usr/share/doc/build-essential/copyright",
        },
        1,
    ),
    ("IS107", None, (9,), {"/app/assets/logo-copy.bin"}, 9),
]


@pytest.mark.parametrize(("rule_id", "title", "layers", "paths", "stored_in"), SIZE_FINDINGS)
def test_size_finding_fires_with_the_bytes_the_truth_gives(
    rule_id: str, title: str | None, layers: tuple[int, ...], paths: set[str], stored_in: int
) -> None:
    f = only([g for g in wasteful().findings if g.layers == layers], rule_id, title=title)
    assert f.path_count == len(paths) + (rule_id == "IS105")  # the /usr/bin/cc symlink is named, stores no bytes
    assert set(f.paths) - {"/usr/bin/cc"} <= paths
    assert f.bytes_saved == expected_bytes(stored_in, paths)
    assert {(c[0], c[1]) for c in f.copies} == {(stored_in, p) for p in paths}
    assert f.fix
    assert all(f"layer {i}" in f.message for i in layers)


def test_cleanup_names_both_commands() -> None:
    f = only([g for g in wasteful().findings if g.layers == (1, 7)], "IS101")
    assert f.commands[0].startswith("RUN set -e;") and "apt/lists/partial" in f.commands[0]
    assert f.commands[1].startswith("RUN set -e;") and "rm -rf /var/lib/apt/lists/*" in f.commands[1]
    assert "same RUN" in f.fix


def test_cache_removed_later_says_the_bytes_stay() -> None:
    f = only(list(wasteful().findings), "IS102", title="Apt package lists left in a layer")
    assert "removed in layer 7" in f.message and "bytes stay in layer 1" in f.message
    assert "rm -rf /var/lib/apt/lists/*" in f.fix


def test_junk_suggests_dockerignore_lines() -> None:
    f = only(list(wasteful().findings), "IS104")
    lines = f.fix.splitlines()[1:]
    assert {"**/.git", "**/node_modules", "**/*.log", "**/.DS_Store", "**/Thumbs.db", "**/.vscode"} <= set(lines)
    assert "**/.idea" in lines
    assert {"**/Dockerfile*", "**/tests", "**/__pycache__", "**/.pytest_cache", "**/.env*"} <= set(lines)
    assert f.path_count == 16 and len(f.paths) == 10  # bounded list, full count


# (path, layer that stored it, kind title) — planted by the Containerfile / make-context.sh.
SECRETS = {
    ("/root/.npmrc", 4, ".npmrc with an auth token in a layer"),
    ("/root/.ssh/id_rsa", 6, "SSH private key in a layer"),
    ("/root/.aws/credentials", 6, "AWS credentials file in a layer"),
    ("/root/.docker/config.json", 6, "Docker config with registry auths in a layer"),
    ("/root/.netrc", 6, ".netrc with a password in a layer"),
    ("/app/.env", 8, ".env file in a layer"),
    ("/app/certs/server.key", 8, "Private key in a layer"),
}


def test_every_planted_secret_file_is_found() -> None:
    got = {(p, f.layers[0], f.title) for f in wasteful().findings if f.id == "IS201" for p in f.paths}
    assert got == SECRETS
    assert all(f.severity is Severity.ERROR and f.bytes_saved is None for f in wasteful().findings if f.id == "IS201")


def test_deleted_secret_is_still_a_finding_and_says_so() -> None:
    f = only(list(wasteful().findings), "IS201", title="SSH private key in a layer")
    assert f.layers == (6, 7)
    assert "removed by layer 7, but still in layer 6" in f.message and "extract" in f.message


def test_sniffer_flags_by_content_on_the_real_layers() -> None:
    a = analysis_of("advise.tar", WASTEFUL)
    assert {(s.path, s.layer, s.kind) for s in a.sniffed} == {
        ("/root/.npmrc", 4, "npm-token"),
        ("/root/.ssh/id_rsa", 6, "private-key"),
        ("/root/.aws/credentials", 6, "aws-credentials"),
        ("/root/.docker/config.json", 6, "docker-auth"),
        ("/root/.netrc", 6, "netrc-password"),
        ("/app/certs/server.key", 8, "private-key"),  # found by its content: the name says nothing
    }


def test_secret_env_and_arg_names_without_values() -> None:
    f = only(list(wasteful().findings), "IS202")
    assert set(f.paths) == {"ARG NPM_TOKEN", "ENV API_KEY"}
    assert "APP_ENV" not in f.message  # not secret-looking
    assert SECRET_MARK not in f.message


def test_runtime_hygiene_findings() -> None:
    findings = list(wasteful().findings)
    assert "no User" in only(findings, "IS301").message
    assert "localhost/wasteful:latest" in only(findings, "IS302").message
    only(findings, "IS303")
    suid = only(findings, "IS304")
    assert suid.paths == ("/usr/local/bin/suid-helper",) and "4755" in suid.message
    ww = only(findings, "IS305")
    assert set(ww.paths) == {"/app/shared", "/app/shared/open.txt"}
    layers = only(findings, "IS108")
    assert layers.layers == (1, 2, 3, 4, 5, 6, 7) and "could be 1" in layers.message


def test_findings_sorted_by_severity_then_bytes_saved_and_total_counts_each_copy_once() -> None:
    adv = wasteful()
    order = [(-f.severity.rank, -(f.bytes_saved or 0)) for f in adv.findings]
    assert order == sorted(order) and adv.findings[0].severity.value == "error"
    # /app/.env is both junk (IS104) and a secret; only size findings carry copies, each counted once
    union: dict[tuple[int, str], int] = {}
    for _rule, _title, _layers, paths, stored_in in SIZE_FINDINGS:
        for p in paths:
            union[(stored_in, p)] = truth_sizes("wasteful")[(stored_in, p)]
    assert adv.total_saved == sum(union.values())
    stored = sum(truth_sizes("wasteful").values())
    assert adv.image_size == stored
    assert adv.saved_fraction == pytest.approx(sum(union.values()) / stored)


def test_every_rule_but_large_base_fires_on_the_wasteful_sample() -> None:
    fired = {f.id for f in wasteful().findings}
    # the busybox base is 2 MB: not large by default; no file is written again unchanged (IS110: the cases sample);
    # the wasteful image has no package database: the package rules (IS111, IS112) fire on samples/packages
    # (tests/test_packages_advise.py)
    assert fired == {r.id for r in RULES} - {"IS109", "IS110", "IS111", "IS112"}


def test_large_base_with_a_lower_threshold() -> None:
    a = analysis_of("advise.tar", WASTEFUL)
    settings = AdviseSettings(large_base=1_000_000, large_base_share=0.5)
    f = only(list(advice(a, settings).findings), "IS109")
    base_bytes = sum(size for (layer, _), size in truth_sizes("wasteful").items() if layer == 0)
    assert f"{base_bytes:,} bytes" in f.message and "localhost/imgscope-base:1" in f.message
    assert f.layers == (0,)


def test_base_layers_are_not_blamed() -> None:
    # the busybox base has /tmp 1777 (fine) and 300 applet links; nothing of layer 0 may be reported
    for f in wasteful().findings:
        if f.id not in ("IS109",):
            assert 0 not in f.layers, f


def test_clean_sample_has_no_findings() -> None:
    adv = advice(analysis_of("advise.tar", CLEAN))
    assert adv.findings == () and adv.total_saved == 0
    assert adv.base is not None and adv.base.name == "localhost/imgscope-base:1"


def test_cases_sample_cleanup_and_rewrites_match_the_hand_derived_waste() -> None:
    adv = advice(analysis_of("cases/docker-archive.tar"))
    waste = CASES_WASTE | OVERLAY_ONLY
    for (written, hidden), rule, reasons in (
        ((1, 3), "IS101", {"deleted", "overwritten", "opaque"}),
        ((2, 4), "IS101", {"deleted", "overwritten"}),
        ((1, 3), "IS106", {"metadata-only"}),
        ((1, 3), "IS110", {"identical-copy"}),
    ):
        expected = {(w[0], w[1]) for w in waste if (w[2], w[3]) == (written, hidden) and w[4].value in reasons}
        f = only([g for g in adv.findings if g.layers == (written, hidden)], rule)
        assert {(c[1], c[2]) for c in f.copies} == expected
        assert f.bytes_saved == sum(size for _, size in expected)
    # USER 1000:1000 and HEALTHCHECK in the Containerfile: neither finding
    assert not {"IS301", "IS303"} & {f.id for f in adv.findings}
    assert set(only(list(adv.findings), "IS304").paths) == {"/app/setuid-bin", "/app/setgid-bin"}


def test_healthcheck_seen_in_history_when_the_oci_config_dropped_it() -> None:
    a = analysis_of("cases/oci-gzip")
    assert "Healthcheck" not in a.image.config.get("config", {})
    assert "IS303" not in {f.id for f in advice(a).findings}


def test_settings_ignore_and_allow() -> None:
    a = analysis_of("advise.tar", WASTEFUL)
    adv = advice(a, AdviseSettings(ignore=("IS201", "package-cache"), allow=("/app/**", "/usr/include/**")))
    ids = {f.id for f in adv.findings}
    assert not {"IS201", "IS102", "IS104", "IS106", "IS107", "IS305"} & ids
    # eight IS102 findings and five IS201 dropped (the allowlist already took /app/.env and /app/certs/server.key)
    assert adv.ignored == 8 + 5
    tool = only(list(adv.findings), "IS105")
    assert not any(p.startswith("/usr/include/") for p in tool.paths)
    assert tool.bytes_saved == expected_bytes(
        1,
        {
            "/usr/bin/gcc",
            "/usr/bin/g++",
            "/usr/bin/make",
            "/usr/lib/gcc/x86_64-linux-gnu/12/cc1",
            "/usr/share/doc/build-essential/copyright",
        },
    )


APT_LISTS = {  # written by layer 1, removed by layer 7 (samples/src/wasteful/Containerfile)
    "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
    "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
}


@pytest.mark.parametrize(
    ("ignored", "written", "paths"),
    [
        ("IS102", 1, APT_LISTS | {"/tmp/build/src.tar.gz"}),  # the apt lists were package-cache's copies
        ("secret-file", 6, {"/root/.ssh/id_rsa"}),  # the key was secret-file's
    ],
)
def test_an_ignored_rule_leaves_its_copies_to_the_cleanup_rule(ignored: str, written: int, paths: set[str]) -> None:
    """IS101 leaves out the copies a cache or secret finding names; once that finding is ignored, nothing would."""
    adv = advice(analysis_of("advise.tar", WASTEFUL), AdviseSettings(ignore=(ignored,)))
    assert ignored not in {f.id for f in adv.findings} | {f.name for f in adv.findings} and adv.ignored
    cleanup = only([f for f in adv.findings if f.layers == (written, 7)], "IS101")
    assert set(cleanup.paths) == paths and cleanup.bytes_saved == expected_bytes(written, paths)


def test_allow_globs_are_the_same_as_check_globs() -> None:
    """One glob dialect in the settings file: ``*`` stays in one segment, ``**`` spans directories."""
    a = analysis_of("advise.tar", WASTEFUL)
    tool = only(list(advice(a, AdviseSettings(allow=("/usr/include/*",))).findings), "IS105")
    assert "/usr/include/stdio.h" not in tool.paths and "/usr/include/linux/types.h" in tool.paths
    tool = only(list(advice(a, AdviseSettings(allow=("**/*.h",))).findings), "IS105")
    assert not any(p.endswith(".h") for p in tool.paths)


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"allow": ["/app/[oops"]}, "allow: '/app/\\[oops': .* without a closing"),
        ({"ignore": "IS101"}, "list of strings"),
        ({"ignore": ["IS999"]}, "no finding id"),
        ({"large_base": "huge"}, "large_base"),
        ({"colour": "red"}, "unknown key"),
    ],
)
def test_bad_settings_are_usage_errors(table: dict[str, object], problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        AdviseSettings.from_table(table, "pyproject.toml")


def test_library_entry_point() -> None:
    a = analysis_of("advise.tar", WASTEFUL)
    assert imgscope.advise(a) == list(wasteful().findings)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("ENV API_KEY=abc123 MODE=x", "ENV API_KEY=*** MODE=x"),
        ("RUN export GITHUB_TOKEN='t0k' && make", "RUN export GITHUB_TOKEN=*** && make"),
        ("RUN curl https://user:hunter2@example.com/x", "RUN curl https://user:***@example.com/x"),
        ("RUN printf 'machine h login u password hunter2'", "RUN printf 'machine h login u password ***'"),
        ("aws_secret_access_key = abc/def", "aws_secret_access_key = ***"),
        ('{"auths":{"r":{"auth":"dXNlcjpwdw=="}}}', '{"auths":{"r":{"auth":"***"}}}'),
        ("echo '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----'", None),
        ("RUN make && make install", "RUN make && make install"),
        # a value that is a path says where a credential is, not what it is (IS202 does not report it either)
        (
            "ENV GOOGLE_APPLICATION_CREDENTIALS=/var/secrets/key.json DB_PASSWORD_FILE=/run/secrets/db API_TOKEN=t0k",
            "ENV GOOGLE_APPLICATION_CREDENTIALS=/var/secrets/key.json DB_PASSWORD_FILE=/run/secrets/db API_TOKEN=***",
        ),
        ("AWS_SECRET_ACCESS_KEY=/k8sXq2Lr9Tz3Wm1Vb5Np7Yc4H", "AWS_SECRET_ACCESS_KEY=***"),
        ("ENV PASSWORD=/run/secrets/pw", "ENV PASSWORD=/run/secrets/pw"),
        ("RUN printf 'machine h password /etc/pw'", "RUN printf 'machine h password ***'"),  # netrc's: a value
    ],
)
def test_redact(text: str, kept: str | None) -> None:
    out = redact(text)
    if kept is not None:
        assert out == kept
    else:
        assert "MIIE" not in out and "PRIVATE KEY" in out


# ---------------------------------------------------------------------------- CLI, JSON, SARIF


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_no_secret_value_in_any_output(fmt: str) -> None:
    code, out, err = run("advise", ADVISE_TAR, "--image", WASTEFUL, "--format", fmt)
    assert code == 0
    assert SECRET_MARK not in out and SECRET_MARK not in err
    for leak in ("IMGSCOPE-FAKE", "aW1nc2NvcGU6U0VDUkVUVkFMVUU", "imgscope-fake-"):
        assert leak not in out
    assert "/root/.ssh/id_rsa" in out  # the path is shown, its content is not


def test_no_secret_value_in_the_library_objects() -> None:
    assert SECRET_MARK not in repr(wasteful()) and SECRET_MARK not in json.dumps(wasteful().to_dict())
    assert SECRET_MARK not in repr(analysis_of("advise.tar", WASTEFUL).sniffed)


def test_json_document() -> None:
    code, out, _ = run("advise", ADVISE_TAR, "--image", WASTEFUL, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema_version"] == 1 and doc["kind"] == "advice"
    assert doc["image"]["name"] == WASTEFUL
    assert doc["base"]["name"] == "localhost/imgscope-base:1" and doc["base"]["layer_count"] == 1
    assert doc["summary"]["total_saved"] == wasteful().total_saved
    assert doc["summary"]["by_severity"] == {"error": 8, "warning": 17, "info": 4}
    first = doc["findings"][0]
    assert set(first) == {
        "id",
        "name",
        "severity",
        "title",
        "message",
        "layers",
        "commands",
        "paths",
        "path_count",
        "bytes_saved",
        "fix",
    }
    rank = {"error": 0, "warning": 1, "info": 2}
    order = [(rank[f["severity"]], -(f["bytes_saved"] or 0)) for f in doc["findings"]]
    assert order == sorted(order)  # errors (the secrets) first, then the largest saving


def sarif_schema() -> dict[str, object]:
    schema: dict[str, object] = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
    return schema


@pytest.mark.parametrize("image", [WASTEFUL, CLEAN])
def test_sarif_validates_against_the_sarif_2_1_0_schema(image: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    code, out, _ = run("advise", ADVISE_TAR, "--image", image, "--format", "sarif")
    assert code == 0
    log = json.loads(out)
    schema = sarif_schema()
    assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    jsonschema.Draft4Validator(schema).validate(log)
    run0 = log["runs"][0]
    rules = run0["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.id for r in RULES]
    for result in run0["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
    assert len(run0["results"]) == (len(wasteful().findings) if image == WASTEFUL else 0)


def test_sarif_schema_catches_a_broken_log() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    _, out, _ = run("advise", ADVISE_TAR, "--image", WASTEFUL, "--format", "sarif")
    log = json.loads(out)
    log["runs"][0]["results"][0]["level"] = "critical"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(sarif_schema()).validate(log)


def test_fail_on() -> None:
    code, _, err = run("advise", ADVISE_TAR, "--image", WASTEFUL, "--fail-on", "error")
    assert code == 1 and err == "imgscope: 8 findings at or above error (--fail-on error)\n"
    assert run("advise", ADVISE_TAR, "--image", CLEAN, "--fail-on", "info")[0] == 0
    errors = [r.id for r in RULES if r.severity is Severity.ERROR]
    args = [a for rid in errors for a in ("--ignore", rid)]
    assert run("advise", ADVISE_TAR, "--image", WASTEFUL, "--fail-on", "error", *args)[0] == 0
    assert run("advise", ADVISE_TAR, "--image", WASTEFUL, "--fail-on", "warning", *args)[0] == 1


def test_the_total_line_does_not_blame_the_settings_for_ignore_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no settings file here
    code, out, _ = run("advise", ADVISE_TAR, "--image", WASTEFUL, "--ignore", "IS201", "--ignore", "IS202")
    last = out.splitlines()[-1]
    assert code == 0 and "8 ignored" in last and "by settings" not in last and "--ignore" in last


def test_unknown_ignore_id_is_a_usage_error() -> None:
    code, _, err = run("advise", ADVISE_TAR, "--ignore", "IS999")
    assert code == 2 and "IS999" in err


def test_settings_file_from_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".imgscope.toml").write_text('[advise]\nignore = ["secret-file", "IS202"]\n')
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("advise", ADVISE_TAR, "--image", WASTEFUL, "--json", "--fail-on", "error")
    assert code == 0
    doc = json.loads(out)
    assert doc["summary"]["by_severity"]["error"] == 0 and doc["summary"]["ignored"] == 8


def test_bad_settings_file_is_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".imgscope.toml").write_text('[advise]\nallow = "/app"\n')
    monkeypatch.chdir(tmp_path)
    code, _, err = run("advise", ADVISE_TAR)
    assert code == 2 and err.count("\n") == 1 and "allow" in err


def test_text_report_and_top_savings_in_analyze() -> None:
    code, out, _ = run("advise", ADVISE_TAR, "--image", WASTEFUL)
    assert code == 0
    assert "IS102 package-cache" in out and "Could save" in out and "fix:" in out
    assert "with:\\n" not in out  # a multi-line fix (the .dockerignore lines) prints as lines, not escapes
    assert "\n       **/node_modules\n" in out
    code, out, _ = run("analyze", ADVISE_TAR, "--image", WASTEFUL)
    assert code == 0
    tail = out[out.index("Top savings") :]
    assert "IS102 Apt package lists left in a layer" in tail and "Could save" in tail
    assert SECRET_MARK not in tail
    assert " ".join(tail.split()).count("8 error findings (IS201, IS202) save no bytes but matter most") == 1
    code, out, _ = run("analyze", ADVISE_TAR, "--image", CLEAN)
    assert code == 0 and "error finding" not in out


def test_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"not a tar")
    code, _, err = run("advise", str(bad))
    assert code == 2 and err.startswith("imgscope: error:") and err.count("\n") == 1


def test_hard_linked_toolchain_counts_once(tmp_path: Path) -> None:
    # Alpine's gcc package: /usr/bin/gcc and its target-triplet name are one file with two names.
    from tests.hostile.make_corpus import directory, docker_archive, hardlink, member, tar

    gcc = b"fake gcc " * 1000
    layer = tar(
        directory("usr/"),
        directory("usr/bin/"),
        member("usr/bin/x86_64-alpine-linux-musl-gcc", gcc, mode=0o755),
        hardlink("usr/bin/gcc", "usr/bin/x86_64-alpine-linux-musl-gcc"),
    )
    path = tmp_path / "alpine-gcc.tar"
    path.write_bytes(docker_archive([layer]))
    f = only(list(advice(imgscope.analyze(path)).findings), "IS105")
    assert f.path_count == 2 and f.bytes_saved == len(gcc)


def test_junk_test_folders_count_only_at_the_top_of_the_copied_tree(tmp_path: Path) -> None:
    from tests.hostile.make_corpus import directory, docker_archive, member, tar

    site = "usr/lib/python3/site-packages"
    layer = tar(
        *(directory(d) for d in ("usr/", "usr/lib/", "usr/lib/python3/", f"{site}/", f"{site}/numpy/")),
        directory(f"{site}/numpy/tests/"),
        member(f"{site}/numpy/tests/test_core.py", b"t" * 500),  # a library's own tests: not context junk
        member(f"{site}/numpy/Dockerfile", b"d" * 300),
        member(f"{site}/numpy/core.py", b"c" * 700),
        member(f"{site}/numpy/.DS_Store", b"s" * 200),  # junk wherever it is
    )

    def copy_history(cfg: dict[str, object]) -> dict[str, object]:
        cfg["history"] = [{"created_by": f"/bin/sh -c #(nop) COPY dir:0123 in /{site}"}]
        return cfg

    path = tmp_path / "copy-from-stage.tar"
    path.write_bytes(docker_archive([layer], config=copy_history))
    f = only(list(advice(imgscope.analyze(path)).findings), "IS104")
    assert f.paths == (f"/{site}/numpy/.DS_Store",) and f.bytes_saved == 200


def test_junk_removed_by_a_later_run_is_junk_not_cleanup(tmp_path: Path) -> None:
    from tests.hostile.make_corpus import directory, docker_archive, member, tar

    copy = tar(directory("app/"), directory("app/.git/"), member("app/.git/pack", b"p" * 4000), member("app/x", b"x"))
    remove = tar(directory("app/"), member("app/.wh..git"))

    def history(cfg: dict[str, object]) -> dict[str, object]:
        cfg["history"] = [
            {"created_by": "/bin/sh -c #(nop) COPY dir:0123 in /app"},
            {"created_by": "/bin/sh -c rm -rf /app/.git"},
        ]
        return cfg

    path = tmp_path / "copy-then-rm.tar"
    path.write_bytes(docker_archive([copy, remove], config=history))
    adv = advice(imgscope.analyze(path))
    junk = only(list(adv.findings), "IS104")
    assert junk.paths == ("/app/.git/pack",) and junk.bytes_saved == 4000
    assert "IS101" not in {f.id for f in adv.findings}
    assert adv.total_saved == 4000


def test_a_secret_is_followed_to_the_end_of_its_copies(tmp_path: Path) -> None:
    """Removed, then made again with other content: removed (not "replaced"); written again unchanged, then
    replaced: both copies stay, the final image holds other content."""
    from tests.hostile.make_corpus import directory, docker_archive, member, tar

    key, other = b"k" * 100, b"o" * 50
    layers = [
        tar(directory("a/"), member("a/id_rsa", key), directory("b/"), member("b/id_rsa", key)),
        tar(directory("a/"), member("a/.wh.id_rsa"), directory("b/"), member("b/id_rsa", key, mode=0o600)),
        tar(directory("b/"), member("b/id_rsa", other)),
        tar(directory("a/"), member("a/id_rsa", other)),
    ]
    path = tmp_path / "secret-fates.tar"
    path.write_bytes(docker_archive(layers))
    a = imgscope.analyze(path)
    assert {(w.path, w.layer, w.hidden_by, w.reason.value) for w in a.wasted_files} == {
        ("/a/id_rsa", 0, 1, "deleted"),
        ("/b/id_rsa", 0, 1, "metadata-only"),
        ("/b/id_rsa", 1, 2, "overwritten"),
    }
    (first,) = [f for f in advice(a).findings if f.id == "IS201" and f.layers[0] == 0]
    assert first.paths == ("/a/id_rsa", "/b/id_rsa") and first.layers == (0, 1, 2)
    assert (
        "removed by layer 1, but still in layer 0" in first.message
        and "replaced with other content by layer 1" not in first.message
    )
    assert (
        "written again by layer 1 with the same content, then replaced with other content by layer 2: the old one is "
        "still in layers 0, 1" in first.message
    )
    assert "final image" not in first.message


def test_a_rewrite_of_the_base_files_is_the_dockerfiles_and_the_base_own_is_not(tmp_path: Path) -> None:
    """The base (layers 0-1, then its CMD) chmods its own file: not the Dockerfile's doing. The Dockerfile's layer
    2 writes the base's /opt/lib.so again unchanged (a `cp -a` over it): its copy is the one it need not store."""
    from tests.hostile.make_corpus import directory, docker_archive, member, tar

    lib, tool = b"L" * 3000, b"T" * 700
    layers = [
        tar(directory("opt/"), member("opt/lib.so", lib), member("opt/tool", tool)),
        tar(directory("opt/"), member("opt/tool", tool, mode=0o755)),
        tar(directory("opt/"), member("opt/lib.so", lib)),
    ]

    def history(cfg: dict[str, object]) -> dict[str, object]:
        cfg["history"] = [
            {"created_by": "/bin/sh -c #(nop) ADD file:0123 in / "},
            {"created_by": "/bin/sh -c chmod +x /opt/tool"},
            {"created_by": '/bin/sh -c #(nop)  CMD ["sh"]', "empty_layer": True},
            {"created_by": "/bin/sh -c cp -a /tmp/opt/. /opt/"},
        ]
        return cfg

    path = tmp_path / "base-rewrite.tar"
    path.write_bytes(docker_archive(layers, config=history))
    adv = advice(imgscope.analyze(path))
    assert adv.base is not None and adv.base.layer_count == 2
    assert "IS106" not in {f.id for f in adv.findings}  # the base's chmod of its own file
    same = only(list(adv.findings), "IS110")
    assert same.layers == (0, 2) and same.paths == ("/opt/lib.so",) and same.bytes_saved == len(lib)
    assert [(c.layer, c.path) for c in same.copies] == [(2, "/opt/lib.so")]
    assert "base image" in same.message
    assert adv.total_saved == len(lib)


def test_text_report_escapes_the_image_path(tmp_path: Path) -> None:
    """The path given on the command line is shown escaped, like every other name (a CI artefact may be odd)."""
    odd = tmp_path / "evil\x1b[31mred\nx.tar"
    odd.write_bytes((SAMPLES / "multi-tag.tar").read_bytes())
    result = CliRunner().invoke(main, ["advise", str(odd)], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout
    assert "evil\\x1b[31mred\\nx.tar" in result.stdout


def test_device_nodes_are_not_world_writable_findings(tmp_path: Path) -> None:
    """/dev/null and /dev/zero are 0666 by design (a FROM scratch rootfs brings them); a 0666 file still counts."""
    from tests.hostile.make_corpus import directory, docker_archive, header, member, tar

    layer = tar(
        directory("dev/"),
        header("dev/null", 0, b"3", mode=0o666),
        header("dev/zero", 0, b"3", mode=0o666),
        header("dev/pipe", 0, b"6", mode=0o666),
        member("open.txt", b"x", mode=0o666),
    )
    path = tmp_path / "devices.tar"
    path.write_bytes(docker_archive([layer]))
    writable = only(list(advice(imgscope.analyze(path)).findings), "IS305")
    assert writable.paths == ("/open.txt",)


def test_text_report_to_a_log_keeps_long_paths_whole() -> None:
    code, out, _ = run("advise", ADVISE_TAR, "--image", WASTEFUL)
    assert code == 0
    apt = "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"
    assert any(line.startswith(f"  paths: {apt}") and line.endswith(apt) for line in out.splitlines())


def test_text_report_names_the_base_and_its_evidence() -> None:
    result = CliRunner().invoke(main, ["advise", ADVISE_TAR, "--image", CLEAN], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    assert (
        "base: localhost/imgscope-base:1, layer 0; found by: history entry 1 says 'FROM localhost/imgscope-base:1'"
        in result.stdout
    )


@pytest.mark.parametrize(("sample", "image"), [("cases/docker-archive.tar", None), ("advise.tar", WASTEFUL)])
def test_top_savings_lines_tell_findings_apart(sample: str, image: str | None) -> None:
    """Two findings of one rule (IS101 for layer 1's files and for layer 2's) are two different lines, each naming
    the layers it is about."""
    args = ["analyze", str(SAMPLES / sample), *(["--image", image] if image else [])]
    code, out, _ = run(*args)
    assert code == 0
    tail = out[out.index("Top savings") :].splitlines()[1:]
    lines = [" ".join(line.split()) for line in tail if re.match(r"\s+[\d.]+ [kMG]?B\s+IS\d{3}", line)]
    said = [line.split(" ", 2)[2] for line in lines]  # without the size: what the line says about the finding
    assert lines and len(set(said)) == len(said), lines
    result = advice(analysis_of(sample, image))
    shown = sorted((f for f in result.findings if f.bytes_saved), key=lambda f: -(f.bytes_saved or 0))[: len(lines)]
    for line, finding in zip(lines, shown, strict=True):
        assert finding.id in line
        if finding.layers:
            assert re.search(r"layers? " + re.escape(", ".join(map(str, finding.layers))), line), line


def test_advice_says_which_image_it_judged() -> None:
    """Of a source holding several images, the first is judged and the advice says so, JSON included, with or
    without the analysis given to ``to_dict``."""
    found = imgscope.advice(SAMPLES / "two-images.tar")
    assert found.notes and "analyzing the first, localhost/tiny-a:1" in found.notes[0]
    assert found.to_dict()["notes"] == list(found.notes)
