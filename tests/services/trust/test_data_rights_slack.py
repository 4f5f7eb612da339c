"""/mydata and /delete over a Slack DM: a file upload, then erasure and a note to the coach."""

from __future__ import annotations

import json

from services.data_rights import ERASED_RELAY, erase_by_staff
from services.enrolment import enrol_client
from services.flows import open_flow_now
from tests.bot.slack.conftest import (  # noqa: F401
    ANA,
    COACH,
    Slack,
    api,
    settings,
    slack,
    two_clients_after_intake,
)
from tests.conftest import CHECKIN_GOOD


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


def test_erasing_a_client_blanks_their_check_in_card_in_the_coachs_slack_and_no_one_elses(
        slack: Slack, enrol):  # noqa: F811
    ana, ben = two_clients_after_intake(enrol)
    for n, client in enumerate((ana, ben)):
        open_flow_now(slack.app.rt, client.enrolled.enrolment_id, "weekly_checkin", key=f"w{n}")
        client.flush()
        for typed in CHECKIN_GOOD:
            client.says(typed)
    slack.deliver()
    cards = {name: m["ts"] for m in slack.api.posted_messages(COACH)
             for name in ("Ana", "Ben") if name in m["text"]}
    assert set(cards) == {"Ana", "Ben"}
    assert erase_by_staff(slack.app.rt, ana.enrolled.person_id, actor="cli") is not None
    slack.deliver()
    shown = {name: (slack.api.message(f"D{COACH}", ts) or {}).get("text", "")
             for name, ts in cards.items()}
    assert shown["Ana"] == ERASED_RELAY
    assert "Ben" in shown["Ben"] and shown["Ben"] != ERASED_RELAY
