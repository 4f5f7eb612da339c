"""`coachbot enroll` prints the Telegram deep link when a bot token is configured."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.bot.telegram.conftest import TOKEN
from tests.conftest import SAMPLE


@pytest.fixture
def enroll(tmp_path: Path, telegram_api):
    """Run `coachbot enroll` with a token, against the fake Bot API server."""

    def _enroll():
        env = {"COACHBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
               "COACHBOT_PROGRAM": str(SAMPLE), "COLUMNS": "320",
               "COACHBOT_TELEGRAM_TOKEN": TOKEN,
               "COACHBOT_TELEGRAM_API_URL": telegram_api.url, "COACHBOT_SLACK_BOT_TOKEN": ""}
        return CliRunner().invoke(app, ["enroll", "--program", "business_12w", "--name",
                                        "Ana Lima", "--tz", "Europe/Berlin"], env=env,
                                  catch_exceptions=False)

    return _enroll


def test_enroll_prints_the_deep_link_with_the_bots_username(enroll, telegram_api):
    result = enroll()
    assert result.exit_code == 0
    code = result.stdout.split("Invite code: ")[1].split()[0]
    assert f"Telegram invite link: https://t.me/coachbot_test_bot?start={code}" in result.stdout


def test_a_passing_failure_of_telegram_is_tried_again_and_the_link_printed(
        enroll, telegram_api):
    telegram_api.fail_next("getMe", status=502)
    result = enroll()
    assert result.exit_code == 0
    assert "https://t.me/coachbot_test_bot?start=" in result.stdout


def test_when_telegram_cannot_be_asked_the_plain_code_is_still_printed(enroll, telegram_api):
    telegram_api.fail_next("getMe", status=502, times=10)
    result = enroll()
    assert result.exit_code == 0
    assert "The client sends: /start " in result.stdout
    assert "t.me" not in result.stdout


def test_when_telegram_refuses_the_token_or_is_unreachable_enroll_still_succeeds(
        tmp_path, telegram_api, capsys):
    for api_url in (telegram_api.url, "http://127.0.0.1:9"):  # a 401, then nothing there
        telegram_api.fail_next("getMe", status=401, description="Unauthorized")
        env = {"COACHBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
               "COACHBOT_PROGRAM": str(SAMPLE), "COLUMNS": "320",
               "COACHBOT_TELEGRAM_TOKEN": TOKEN, "COACHBOT_TELEGRAM_API_URL": api_url,
               "COACHBOT_SLACK_BOT_TOKEN": ""}
        result = CliRunner().invoke(app, ["enroll", "--program", "business_12w", "--name",
                                          "Ana Lima", "--tz", "Europe/Berlin"], env=env,
                                    catch_exceptions=False)
        assert result.exit_code == 0
        assert "The client sends: /start " in result.stdout
        assert "Traceback" not in result.output
