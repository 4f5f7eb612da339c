"""/mydata on each channel: a Telegram document, a Slack file upload, a file on the console."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bot.telegram.conftest import (  # noqa: F401  (fixtures)
    consented_on_telegram,
    run_bot,
    settings,
    telegram_api,
    telegram_user,
)
from tests.bot.test_cli import run_console
from tests.fakes.telegram_api import UploadedFile


def test_mydata_on_telegram_arrives_as_a_json_document_with_a_caption(
        app, enrol, run_bot, telegram_user, telegram_api):  # noqa: F811
    ana = consented_on_telegram(run_bot, enrol, telegram_user)
    ana.sends("Double my revenue")
    ana.sends("/mydata")
    sent = telegram_api.wait_for_call("sendDocument")[0]
    document = sent["document"]
    assert isinstance(document, UploadedFile)
    assert document.filename == "coachbot-my-data.json"
    data = json.loads(document.data)
    assert [a["text"] for a in data["enrolments"][0]["answers"]] == ["yes",
                                                                      "Double my revenue"]
    assert "2 answers" in sent["caption"]


def test_mydata_on_the_console_writes_the_file_to_the_working_folder(tmp_path: Path):
    code, replies = run_console(tmp_path, ["yes", "/mydata"])
    assert code == 0
    saved = tmp_path / "coachbot-my-data.json"
    assert f"[file saved: {saved}]" in replies[-1]
    assert json.loads(saved.read_text())["enrolments"][0]["consents"][0]["given"] is True
