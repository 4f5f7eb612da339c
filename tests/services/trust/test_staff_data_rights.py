"""Staff export and erase a client from the command line; every read and erasure is audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli_app
from tests.conftest import INTAKE, SAMPLE


@pytest.fixture
def cli(db_url: str):
    """Run `coachbot ARGS...` against the test database; (exit code, stdout, stderr)."""
    env = {"COACHBOT_DATABASE_URL": db_url, "COACHBOT_PROGRAM": str(SAMPLE), "COLUMNS": "250",
           "COACHBOT_TELEGRAM_TOKEN": "", "COACHBOT_SLACK_BOT_TOKEN": ""}

    def invoke(*args: str):
        result = CliRunner().invoke(cli_app, list(args), env=env, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_export_writes_the_client_s_json_and_the_audit_shows_the_read(cli, enrol,
                                                                       tmp_path: Path):
    client = enrol("Ana Lima")
    for typed in INTAKE:
        client.says(typed)
    target = tmp_path / "ana.json"
    code, stdout, _ = cli("export", "ana lima", "--out", str(target))
    assert code == 0 and str(target) in stdout.replace("\n", "")
    assert len(json.loads(target.read_text())["enrolments"][0]["answers"]) == 5
    code, stdout, _ = cli("audit", "--client", "Ana Lima")
    assert code == 0 and "data_exported" in stdout and "cli" in stdout


def test_erase_needs_yes_then_leaves_only_an_anonymous_audit_line(cli, enrol):
    client = enrol("Ana Lima")
    client.says("yes")
    code, _, stderr = cli("erase", "Ana Lima")
    assert code == 2 and "--yes" in stderr
    code, stdout, _ = cli("erase", "Ana Lima", "--yes")
    assert code == 0 and "Erased Ana Lima: 1 answers" in stdout
    code, _, stderr = cli("export", "Ana Lima")
    assert code == 2 and "no client named" in stderr
    code, stdout, _ = cli("audit")
    assert "client_erased" in stdout and "Ana" not in stdout


def test_export_of_an_unknown_client_is_a_one_line_error(cli):
    code, _, stderr = cli("export", "Nobody Here")
    assert code == 2 and stderr.strip().count("\n") == 0
