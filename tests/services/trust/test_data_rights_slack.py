"""/mydata and /delete over a Slack DM: a file upload, then erasure and a note to the coach."""

from __future__ import annotations

import json

from services.enrolment import enrol_client
from tests.bot.slack.conftest import ANA, COACH, Slack, api, settings, slack  # noqa: F401


def _say(slack: Slack, text: str) -> None:  # noqa: F811
    assert slack.says(ANA, text, channel=f"D{ANA}") == 200
    slack.deliver()


def test_a_slack_client_gets_their_data_as_a_file_then_erases_it_and_the_coach_is_told(
        slack: Slack):  # noqa: F811
    enrolled = enrol_client(slack.app.rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    _say(slack, f"/start {enrolled.code}")
    _say(slack, "yes")
    _say(slack, "/mydata")
    [completed] = slack.api.calls_of("files.completeUploadExternal")
    assert completed["channel_id"] == f"D{ANA}"
    assert "everything I keep about you" in completed["initial_comment"]
    file_id = json.loads(completed["files"])[0]["id"] if isinstance(
        completed["files"], str) else completed["files"][0]["id"]
    uploaded = slack.api.uploaded_file(file_id)
    assert uploaded["filename"] == "coachbot-my-data.json"
    assert json.loads(uploaded["data"])["person"]["name"] == "Ana Lima"

    _say(slack, "/delete confirm")
    assert "erased" in slack.api.posted_messages(ANA)[-1]["text"]
    note = slack.api.posted_messages(COACH)[-1]["text"]
    assert "asked for their data to be erased" in note and "Ana" not in note
