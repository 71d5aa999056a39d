"""``imgscope check`` on the command line: exit codes, every output format, settings, misconfigurations."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from imgscope.budget.check import CheckReport, RuleResult, RuleStatus, check
from imgscope.budget.config import Budget
from imgscope.cli import main
from imgscope.errors import UsageError
from imgscope.render.check_github import render_github
from imgscope.render.check_junit import render_junit
from imgscope.render.check_markdown import cell, render_markdown
from tests.conftest import SAMPLES, analysis_of

CASES = str(SAMPLES / "cases" / "docker-archive.tar")
FAILING = [
    *("--max-size", "2MB", "--forbid", "**/*.sh", "--max-layers", "5"),
    *("--lowestEfficiency", "disabled", "--highestUserWastedPercent", "0.7"),
]


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["check", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _no_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty directory: no .dive-ci, no settings file of the repository."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def test_exit_codes_pass_fail() -> None:
    code, out, _ = run(CASES, "--max-size", "3MB")
    assert code == 0 and "PASS: 1 rule passed" in out
    code, out, _ = run(CASES, *FAILING)
    assert code == 1
    assert "FAIL: 2 of 6 rules failed (2 skipped)" in out
    assert "exceeds the limit by 146,057 bytes" in out and "/app/chmod-me.sh" in out


def test_junit_is_valid_xml_with_one_testcase_per_rule() -> None:
    code, out, _ = run(CASES, *FAILING, "--format", "junit")
    assert code == 1
    root = ET.fromstring(out.encode())
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("6", "2", "2")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == [
        "max-size",
        "max-layers",
        "forbid **/*.sh",
        "dive.highestUserWastedPercent",
        "dive.highestWastedBytes",
        "dive.lowestEfficiency",
    ]
    failure = cases["max-size"].find("failure")
    assert failure is not None and failure.get("message") == (
        "Content stored in all layers exceeds the limit by 146,057 bytes"
    )
    assert cases["max-layers"].find("failure") is None and cases["max-layers"].find("system-out") is not None
    assert cases["dive.lowestEfficiency"].find("skipped") is not None
    forbid = cases["forbid **/*.sh"].find("failure")
    assert forbid is not None and "/app/chmod-me.sh" in (forbid.text or "")


def test_github_annotations_and_step_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    code, out, _ = run(CASES, *FAILING, "--format", "github", env=env)
    assert code == 1
    errors = [line for line in out.splitlines() if line.startswith("::error ")]
    assert errors == [
        "::error title=imgscope check%3A max-size::Content stored in all layers exceeds the limit by 146,057 bytes",
        "::error title=imgscope check%3A forbid **/*.sh::1 forbidden path in the final image: /app/chmod-me.sh",
    ]
    text = summary.read_text()
    assert text.startswith("earlier step\n### ❌ imgscope check: FAIL: 2 of 6 rules failed")
    assert "| `max-size` | ❌ FAIL | 2.1 MB | 2.0 MB |" in text
    # Another format on stdout: the summary is left alone.
    run(CASES, "--max-size", "3MB", env=env)
    assert summary.read_text() == text


def test_github_escapes_percent_and_newlines() -> None:
    report = check(analysis_of("cases/docker-archive.tar"), Budget(dive=None, max_size=0))
    bad = RuleResult("max-size", RuleStatus.FAIL, 1, 0, "bytes", "50% of\nit")
    text = render_github(CheckReport("x", "x", (bad,), 0, (), None, report.summary))
    assert text.splitlines()[0] == "::error title=imgscope check%3A max-size::50%25 of\\nit"


def test_hostile_text_stays_inside_its_format() -> None:
    why = "evil\x1b[31m | `x` <b> ]]> \x07"
    result = RuleResult("forbid", RuleStatus.FAIL, 1, 0, "count", why, subject="**/*", details=("/a\nb",))
    report = CheckReport("img\x1b", "src", (result,), 0, ("note\x1b",), None)
    xml = render_junit(report)
    parsed = ET.fromstring(xml.encode())
    failure = next(parsed.iter("failure"))
    assert "\x1b" not in xml and failure.get("message") == "evil\\x1b[31m | `x` <b> ]]> \\x07"
    md = render_markdown(report)
    assert "\x1b" not in md and "\\|" in md and "<b>" not in md
    assert cell("a|b") == "a\\|b"


def _markdown_html(md: str) -> str:
    from markdown_it import MarkdownIt  # rich's own dependency: a CommonMark parser

    html: str = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(md)
    return html


def test_markdown_shows_hostile_paths_verbatim_and_makes_no_links() -> None:
    """A path like ``x` ![t](http://e/t.png) `y`` must not close its code span and post an image into a PR comment."""
    path = "/app/x` ![t](http://e/t.png) `y|z <b>*w*</b> &amp; \\"
    result = RuleResult(
        "forbid", RuleStatus.FAIL, 1, 0, "count", f"1 forbidden path(s): {path}", subject="**", details=(path,)
    )
    report = CheckReport("img", "src `[x](http://e)`", (result,), 0, (f"note {path}",), None)
    html = _markdown_html(render_markdown(report))
    assert "<img" not in html and "<a " not in html and "<b>" not in html and "<em>" not in html
    escaped = path.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    assert f"<li><code>{escaped}</code></li>" in html  # the details list: the path exactly
    cells = html.split("<tbody>")[1]
    assert escaped in cells  # the why column: the same characters, as text
    assert "<code>src `[x](http://e)` (img)</code>" in html


def test_json_document_and_outputs(tmp_path: Path) -> None:
    junit, md = tmp_path / "r.xml", tmp_path / "r.md"
    code, out, _ = run(CASES, *FAILING, "--json", "--output", f"junit={junit}", "--output", f"markdown={md}")
    assert code == 1
    doc = json.loads(out)
    assert doc["schema_version"] == 1 and doc["kind"] == "check" and doc["passed"] is False
    assert doc["counts"] == {"pass": 2, "fail": 2, "skip": 2}
    first = doc["results"][0]
    assert first == {
        "rule": "max-size",
        "subject": None,
        "name": "max-size",
        "status": "fail",
        "actual": 2146057,
        "limit": 2000000,
        "unit": "bytes",
        "why": "Content stored in all layers exceeds the limit by 146,057 bytes",
        "details": [],
    }
    assert ET.parse(junit).getroot().tag == "testsuites"
    assert md.read_text().startswith("### ❌ imgscope check")


def test_dive_format_never_says_pass_when_the_job_fails() -> None:
    """dive's own text for dive's rules, as dive prints it; an imgscope rule that fails follows it, with the verdict
    of every rule, which the exit status follows."""
    code, out, _ = run(CASES, "--format", "dive", "--max-size", "1MB")
    assert code == 1
    lines = out.splitlines()
    assert lines[lines.index("imgscope's rules:") + 1].startswith("  FAIL: max-size: ")
    assert lines[-1] == "Result of every rule: FAIL"
    code, out, _ = run(CASES, "--format", "dive")  # dive's rules alone: dive's text alone
    assert "imgscope's rules:" not in out


def test_dive_format_is_dives_text() -> None:
    code, out, _ = run(CASES, "--format", "dive")
    assert code == 1
    recorded = (SAMPLES / "dive" / "cases-docker-archive.ci.txt").read_text()
    for line in out.splitlines()[1:4]:  # the three figure lines
        assert line in recorded
    assert out.splitlines()[-1] == "Result:FAIL [Total:3] [Passed:1] [Failed:1] [Warn:0] [Skipped:1]"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-size", "-5MB"], "--max-size: '-5MB' is negative"),
        (["--max-size", "lots"], "--max-size: 'lots' is not a size"),
        (["--max-layers", "-1"], "--max-layers: '-1' is not a count"),
        (["--max-wasted-percent", "5"], "'5' is ambiguous"),
        (["--max-wasted-percent", "150%"], "max-wasted-percent: 150.0% is above 100%"),
        (["--lowestEfficiency", "1.5"], "lowestEfficiency: '1.5' is outside the allowed range 0-1"),
        (["--highestUserWastedPercent", "10%"], "dive takes a ratio"),
        (["--highestWastedBytes", "-1"], "highestWastedBytes"),
        (["--forbid", "a**"], "'**' must be a whole path segment"),
        (["--max-path", "/usr/[lib=1MB"], "'[' without a closing ']'"),
        (["--max-path", "/usr/lib"], "is not GLOB=SIZE"),
        (["--max-path", "/usr/lib/**=-5MB"], "--max-path: '/usr/lib/**': '-5MB' is negative"),
        (["--max-path", "/usr/lib/**=lots"], "--max-path: '/usr/lib/**': 'lots' is not a size"),
        (["--exclude-base", "9"], "exclude-base: 9 layers requested, but the image has 5"),
        (["--exclude-base", "some"], "'some' is not a count"),
        (["--base-layer", "nope"], "--base-layer: 'nope' is not a sha256 digest"),
        (["--output", "pdf=x.pdf"], "expected FORMAT=FILE"),
        (["--json", "--format", "junit"], "--json and --format junit: choose one"),
        (["--dive-ci", "missing.yaml"], "no such .dive-ci file"),
        (["--baseline", "missing.json"], "missing.json"),
        (["--baseline", "array.json"], "array.json: not an imgscope report (a JSON array"),
        (["--baseline", "empty.json"], "empty.json: an empty file, not an imgscope report"),
        (["--baseline", str(SAMPLES / "two-images.tar")], "2 images here: name the baseline's image (PATH:IMAGE)"),
        (["--output", "json=-", "--max-size", "1GB"], "--output json=-: the report already goes to stdout"),
        (["--config", "missing.toml"], "no such settings file"),
    ],
)
def test_misconfiguration_is_exit_2_with_one_clear_line(args: list[str], message: str) -> None:
    Path("array.json").write_text("[1, 2]")  # JSON that is no report (the test runs in its own directory)
    Path("empty.json").write_text("")  # what analyze --json > FILE leaves when analyze fails
    code, out, err = run(CASES, *args)
    assert code == 2, out
    assert message in err
    assert err.count("\n") == 1 and err.startswith("imgscope: error: ")
    assert out == ""


def test_settings_table_and_precedence(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.imgscope.check]\nmax-size = "1MB"\nforbid = ["**/*.sh"]\n'
        '[tool.imgscope.check.paths]\n"/bin/**" = "2MB"\n'
    )
    code, out, _ = run(CASES, "--json")
    doc = json.loads(out)
    assert code == 1 and [r["name"] for r in doc["results"]] == ["max-size", "max-path-size /bin/**", "forbid **/*.sh"]
    code, out, _ = run(CASES, "--json", "--max-size", "3MB", "--forbid", "**/*.pem")
    doc = json.loads(out)
    assert doc["results"][0] == {**doc["results"][0], "status": "pass", "limit": 3000000}  # the option wins
    assert [r["subject"] for r in doc["results"][2:]] == ["**/*.sh", "**/*.pem"]  # lists combine


def test_unknown_settings_key_names_the_nearest(tmp_path: Path) -> None:
    (tmp_path / ".imgscope.toml").write_text('[check]\nmax-sise = "1MB"\n')
    code, _, err = run(CASES)
    assert code == 2
    assert "unknown setting max-sise (did you mean max-size?)" in err and ".imgscope.toml [check]" in err


def test_dive_ci_in_the_current_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".dive-ci").write_text("rules:\n  highestUserWastedPercent: 0.7\n")
    code, out, _ = run(CASES)
    assert code == 0 and "dive.highestUserWastedPercent" in out
    code, out, _ = run(CASES, "--no-dive-ci", "--max-size", "3MB")
    assert code == 0 and "dive." not in out


def test_base_image_names_the_base_layers() -> None:
    two = str(SAMPLES / "two-images.tar")
    base = str(SAMPLES / "multi-tag.tar")  # tiny-a, the first two layers of tiny-b
    code, out, _ = run(two, "--image", "localhost/tiny-b:1", "--base-image", base, "--max-wasted", "0", "--json")
    assert code == 0
    assert json.loads(out)["base_layers"] == 2


def test_baseline_delta_is_shown(tmp_path: Path) -> None:
    baseline = tmp_path / "old.json"
    result = CliRunner().invoke(main, ["analyze", str(SAMPLES / "multi-tag.tar"), "--json"])
    baseline.write_text(result.stdout)
    code, out, _ = run(CASES, "--baseline", str(baseline), "--max-growth", "1MB")
    assert code == 1
    assert "Against the baseline" in out and "+2.1 MB" in out
    code, out, _ = run(CASES, "--baseline", str(baseline), "--max-growth", "3MB", "--format", "markdown")
    assert code == 0 and "| content size | 33 B | 2.1 MB | +2.1 MB |" in out


def test_hostile_baseline_report_is_named_in_the_error(tmp_path: Path) -> None:
    """A baseline JSON nested too deeply for the parser: the error names that file, not the image checked."""
    deep = tmp_path / "deep.json"
    deep.write_text('{"a":' + "[" * 100_000 + "]" * 100_000 + "}")
    code, out, err = run(CASES, "--baseline", str(deep), "--max-growth", "1MB")
    assert code == 2 and out == ""
    assert err.startswith(f"imgscope: error: {deep}: ") and "nested too deeply" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("name", "text", "args"),
    [
        (".dive-ci", "rules: " + "[" * 50_000 + "]" * 50_000, ["check"]),
        (".imgscope.toml", "[check]\nforbid = " + "[" * 50_000 + "]" * 50_000, ["check"]),
        (".imgscope.toml", "[advise]\nallow = " + "[" * 50_000 + "]" * 50_000, ["advise"]),
    ],
)
def test_settings_nested_too_deeply_are_named_in_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str, args: list[str]
) -> None:
    (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, [*args, CASES])
    assert result.exit_code == 2
    line = result.stderr
    assert line.startswith("imgscope: error: ") and f"{name}: " in line and "nested too deeply" in line
    assert CASES not in line and line.count("\n") == 1


def test_bad_image_is_exit_2(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not an image" * 100)
    code, _, err = run(str(junk), "--max-size", "1MB")
    assert code == 2 and "junk.tar" in err


def test_help() -> None:
    code, out, _ = run("--help")
    assert code == 0 and "--max-path GLOB=SIZE" in out and "--lowest-efficiency, --lowestEfficiency" in out


def test_standard_input_is_read_once() -> None:
    """The image and the baseline cannot both come from standard input."""
    data = (SAMPLES / "cases" / "docker-archive.tar").read_bytes()
    result = CliRunner().invoke(main, ["check", "-", "--baseline", "-", "--max-growth", "1kB"], input=data)
    assert result.exit_code == 2
    assert "both name standard input, which can be read once" in result.stderr


def test_the_library_checks_a_path_as_the_command_does() -> None:
    """Given a path, ``check`` gzips what a save stores uncompressed when the compressed size is budgeted (it raised
    UsageError where ``imgscope check`` passed), and refuses an input of several images without ``image=``."""
    report = check(CASES, Budget(max_compressed_size=1_500_000))
    code, out, _ = run(CASES, "--max-compressed-size", "1.5MB", "--json")
    assert report.passed and code == 0
    assert report.to_dict()["results"] == json.loads(out)["results"]
    with pytest.raises(UsageError, match="several images here"):
        check(str(SAMPLES / "two-images.tar"), Budget(max_size=1 << 30))
    assert check(str(SAMPLES / "two-images.tar"), Budget(max_size=1 << 30), image="localhost/tiny-b:1").passed


@pytest.mark.parametrize("where", ["option", "settings"])
def test_a_budget_of_ignore_globs_alone_still_checks_dives_defaults(tmp_path: Path, where: str) -> None:
    """``ignore`` is no rule: a budget holding only ignore globs (shared in pyproject.toml) checks dive's defaults,
    which fail on this image, instead of passing on no rule at all."""
    args = ["--ignore", "/var/cache/**"] if where == "option" else []
    if where == "settings":
        (tmp_path / ".imgscope.toml").write_text('[check]\nignore = ["/var/cache/**"]\n')
    code, out, _ = run(CASES, *args, "--json")
    doc = json.loads(out)
    assert code == 1 and doc["counts"] == {"pass": 1, "fail": 1, "skip": 1}
    assert [r["rule"] for r in doc["results"]][-1] == "dive.lowestEfficiency"
    assert any("checking dive's default CI rules" in note for note in doc["notes"])


@pytest.mark.parametrize(
    ("settings", "args", "where", "problem"),
    [
        ("", ["--max-wasted-percent", "150%"], "--max-wasted-percent", "150.0% is above 100%"),
        ('max-wasted-percent = "150%"', [], "max-wasted-percent", "150.0% is above 100%"),
        ('exclude-base = 9\nmax-wasted = "1MB"', [], "exclude-base", "9 layers requested, but the image has 5"),
        ("", ["--exclude-base", "9", "--max-wasted", "1MB"], "--exclude-base", "9 layers requested"),
        ('baseline = 5\nmax-growth = "1MB"', [], "baseline", "5 is not a path"),
        ("", ["--base-layer", "sha256:" + "a" * 16, "--max-wasted", "0"], "--base-layer", "is not a layer of"),
    ],
)
def test_a_budget_error_names_the_option_or_the_settings_file(
    tmp_path: Path, settings: str, args: list[str], where: str, problem: str
) -> None:
    """Errors raised while the budget is built or fitted to the image name where the value was written, not
    "budget" or a bare key."""
    if settings:
        (tmp_path / ".imgscope.toml").write_text(f"[check]\n{settings}\n")
        where = f"{tmp_path / '.imgscope.toml'} [check] {where}"
    code, _, err = run(CASES, *args)
    assert code == 2 and err.startswith(f"imgscope: error: {where}: ") and problem in err, err
    assert "budget:" not in err and err.count("\n") == 1


def test_base_image_of_several_images_must_be_named(tmp_path: Path) -> None:
    """As for the image checked, a --base-image input of several images is refused unless PATH:IMAGE names one: the
    first image of the input may be the checked image itself, whose layers would then all be "the base"."""
    two = str(SAMPLES / "two-images.tar")
    budget = ["--image", "localhost/tiny-b:1", "--max-wasted", "0", "--json"]
    code, out, err = run(two, *budget, "--base-image", two)
    assert code == 2 and out == ""
    assert err == f"imgscope: error: {two}: 2 images here: name the base image (--base-image PATH:IMAGE)\n"
    code, out, _ = run(two, *budget, "--base-image", f"{two}:localhost/tiny-a:1")
    assert code == 0 and json.loads(out)["base_layers"] == 2
    code, out, _ = run(two, *budget, "--base-image", f"{two}:localhost/tiny-b:1")  # the image is its own base
    doc = json.loads(out)
    assert code == 0 and doc["base_layers"] == 3
    assert any("every layer of the image is the base's" in note for note in doc["notes"])
    code, _, err = run(two, *budget, "--base-image", f"{two}:localhost/tiny-a:1", "--exclude-base", "1")
    assert code == 2 and err.startswith("imgscope: error: --exclude-base: ") and "(--base-image)" in err


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (None, "an advice document (imgscope advise --json), not an analysis or check report"),
        ({"schema_version": 2, "kind": "check"}, "check report schema_version 2 is newer than this imgscope reads (1)"),
        ({"schema_version": 99, "summary": {}}, "analysis report schema_version 99 is newer than this imgscope reads"),
        ({"schema_version": 1}, "not an imgscope report (no 'summary')"),
    ],
)
def test_a_baseline_that_is_no_report_says_what_it_is(tmp_path: Path, doc: dict[str, Any] | None, message: str) -> None:
    baseline = tmp_path / "baseline.json"
    if doc is None:
        result = CliRunner().invoke(main, ["advise", str(SAMPLES / "advise.tar"), "--image", "clean", "--json"])
        baseline.write_text(result.stdout)
    else:
        baseline.write_text(json.dumps(doc))
    code, _, err = run(CASES, "--baseline", str(baseline), "--max-growth", "1MB")
    assert code == 2 and err.startswith(f"imgscope: error: {baseline}: {message}"), err


def test_dive_format_names_each_rule_with_its_subject_and_no_dive_tally_without_dive_rules() -> None:
    """The report's case: two globs per rule could not be told apart (``PASS: forbid``), and with no dive rule in
    the budget dive's tally said ``Result:PASS`` on a failing job, for a log grep to find."""
    args = ["--forbid", "**/*.sh", "--forbid", "**/.git/**", "--max-path", "/app/**=1kB", "--max-path", "/srv/**=1MB"]
    code, out, _ = run(CASES, *args, "--format", "dive")
    assert code == 1
    assert "Result:" not in out and "Results:" not in out  # no dive rule: no dive tally
    lines = out.splitlines()
    own = lines[lines.index("imgscope's rules:") + 1 :]
    assert [line.split(":")[0:2] for line in own[:-1]] == [
        ["  FAIL", " max-path-size /app/**"],
        ["  PASS", " max-path-size /srv/**"],
        ["  FAIL", " forbid **/*.sh"],
        ["  PASS", " forbid **/.git/**"],
    ]
    assert own[-1] == "Result of every rule: FAIL"


def test_the_table_title_stays_one_line_in_a_log(tmp_path: Path) -> None:
    """The title was wrapped to the table's width (a CI job's long artifact path over a narrow table: two lines)."""
    image = tmp_path / "builds" / "my-group" / "my-project" / "build" / "output" / "application-image.tar"
    image.parent.mkdir(parents=True)
    image.symlink_to(CASES)
    code, out, _ = run(str(image), "--max-layers", "8")
    assert code == 0
    assert out.splitlines()[0] == f"imgscope check {image} (localhost/cases:1)"


def test_force_color_colours_a_piped_report_but_does_not_wrap_it_and_a_file_gets_plain_text(tmp_path: Path) -> None:
    """FORCE_COLOR, which CI systems set, made rich take stdout for an 80-column terminal: piped output folded each
    reason over lines with trailing spaces, and ``--output table=FILE`` got escape codes and the same folding."""
    table = tmp_path / "table.txt"
    args = ["--forbid", "**/*.sh", "--max-path", "/**=1kB", "--output", f"table={table}"]
    code, out, _ = run(CASES, *args, env={"FORCE_COLOR": "1", "NO_COLOR": None, "COLUMNS": None})  # type: ignore[dict-item]
    assert code == 1
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    for text in (plain, table.read_text()):
        lines = text.splitlines()
        assert lines[0] == f"imgscope check {CASES} (localhost/cases:1)"
        assert all(line == line.rstrip() for line in lines)
        assert any("1 forbidden path in the final image: /app/chmod-me.sh" in line for line in lines), text
    assert "\x1b[" not in table.read_text()


def test_force_color_does_not_wrap_advise_at_80_columns_in_a_pipe() -> None:
    env = {"FORCE_COLOR": "1", "NO_COLOR": None, "COLUMNS": None}
    result = CliRunner().invoke(main, ["advise", str(SAMPLES / "advise.tar"), "--image", "wasteful"], env=env)
    assert result.exit_code == 0
    lines = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).splitlines()
    assert max(map(len, lines)) > 80 and all(line == line.rstrip() for line in lines)


@pytest.mark.parametrize("columns", [40, 60, 80, 120])
def test_each_rule_status_and_name_are_read_at_any_width(columns: int) -> None:
    """At any width each rule's status and whole name are on the screen: where the table does not fit with a Why
    column of 16 cells, a block per rule (status, name, figures; the why under it). rich squeezed Status to …
    at 40 columns and Why to nothing at 60."""
    for options in (FAILING, []):  # the second: dive's default rules, whose whys hold long figures
        _rules_are_read(columns, options)


def _rules_are_read(columns: int, options: list[str]) -> None:
    code, out, _ = run(CASES, *options, env={"COLUMNS": str(columns), "NO_COLOR": "1"})
    assert code == 1
    rules = json.loads(run(CASES, *options, "--json")[1])["results"]
    title, *lines = out.splitlines()  # the title, a path, is kept whole (a log is searched for it)
    assert title.startswith("imgscope check ") and max(len(line) for line in lines) <= columns
    for r in rules:
        name, status = r["name"], r["status"].upper()
        in_table = any(re.search(rf"│ {re.escape(name)} +│ {status} ", line) for line in lines)
        assert in_table or any(line.startswith(f"{status} {name}") for line in lines), (name, out)
        if not in_table:  # a rule's block: each word of its why that the line can hold is whole on one line
            words = [w for w in r["why"].split() if len(w) <= columns]
            assert all(any(w in line for line in lines) for w in words), (name, out)
