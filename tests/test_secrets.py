"""Secret-looking values are masked wherever imgscope quotes a history command for people to read."""

from __future__ import annotations

import json

from click.testing import CliRunner

from imgscope.advise import redact as advise_redact
from imgscope.cli import main
from imgscope.render.html import report_html
from imgscope.text import redact
from tests.conftest import SAMPLES, analysis_of

WASTEFUL = ["--image", "localhost/wasteful:latest", str(SAMPLES / "advise.tar")]


def test_analyze_report_masks_secret_env_and_arg_values() -> None:
    result = CliRunner().invoke(main, ["analyze", *WASTEFUL], env={"NO_COLOR": "1", "COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "SECRETVALUE" not in result.stdout
    assert "API_KEY=***" in result.stdout  # the name stays, so the reader knows what was there
    assert "APP_ENV=production" in result.stdout  # a value that is not secret-looking is kept


def test_html_report_masks_secret_values() -> None:
    a = analysis_of("advise.tar", image="localhost/wasteful:latest")
    assert any("_authToken=" in r.command and "_authToken=***" not in r.command for r in a.layers)
    for html in (report_html(a), a._repr_html_() or ""):  # the page, and what a notebook shows
        assert "SECRETVALUE" not in html
        assert "_authToken=***" in html  # the layer's command, its token masked


def test_analyze_json_keeps_the_commands_as_recorded() -> None:
    """The JSON document is data, not a report: it carries the history as the image holds it."""
    result = CliRunner().invoke(main, ["analyze", "--json", *WASTEFUL])
    assert result.exit_code == 0, result.output
    commands = [h["command"] for h in json.loads(result.stdout)["history"]]
    assert any("API_KEY=imgscope-fake-api-key-SECRETVALUE" in c for c in commands)


def test_one_redact_for_advise_and_the_report() -> None:
    assert advise_redact is redact
