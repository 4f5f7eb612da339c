"""The Home tab's buttons: a client's summary and notes in a modal, and acknowledging an open
escalation from there, which updates its channel post as the 👀 does. A stranger's press
changes nothing."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.settings import Settings
from bot.slack.dm_join import join_on_slack
from services.enrolment import enrol_client
from storage import rule_firings
from storage.db import session
from storage.models import AuditEntry, Escalation
from tests.bot.slack.conftest import (
    ANA,
    COACH,
    SECRET,
    STRANGER,
    TEAM_CHANNEL,
    TOKEN,
    Slack,
    open_case,
)
from tests.conftest import SAMPLE
from tests.fakes.slack_api import view_submission_payload


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    """SQLite: the buttons are not about storage."""
    return Settings(database_url=sqlite_url, program=SAMPLE, slack_team_channel=TEAM_CHANNEL,
                    slack_bot_token=TOKEN, slack_signing_secret=SECRET, _env_file=None)


@pytest.fixture
def at_risk(slack: Slack, clock) -> int:
    """Ana, Casey's client, at risk (a rule holds) with an open escalation posted."""
    ana = enrol_client(slack.app.rt, program_id="business_12w", name="Ana Lima",
                       zone="Europe/Berlin", coach="Casey Coach").enrolment_id
    with session(slack.app.db) as s, s.begin():
        rule_firings.fire(s, enrolment_id=ana, rule_id="low_confidence",
                          values={"confidence": [4, 3]}, now=clock.now())
    open_case(slack.app, ana, reason="Confidence below 5")
    slack.deliver()
    return ana


def _home(slack: Slack) -> list[dict]:
    """The blocks of Casey's Home tab as last published."""
    [*_, published] = [c for c in slack.api.calls_of("views.publish") if c["user_id"] == COACH]
    return published["view"]["blocks"]


def _buttons(blocks: list[dict]) -> list[tuple[str, str, str]]:
    return [(e["text"]["text"], e["action_id"], e["value"]) for b in blocks
            if b["type"] == "actions" for e in b["elements"]]


def test_the_home_tab_shows_an_at_risk_client_and_an_escalation_and_acknowledges_it(
        slack: Slack, at_risk: int):
    assert slack.event({"type": "app_home_opened", "user": COACH, "channel": f"D{COACH}",
                        "tab": "home", "event_ts": "1700000000.000100"}) == 200
    blocks = _home(slack)
    assert blocks[1]["text"]["text"].startswith("*Ana Lima*  ")
    assert ":warning: at risk: Confidence low two check-ins running" in blocks[1]["text"]["text"]
    [case] = slack.team_posts()
    with session(slack.app.db) as s:
        [escalation] = s.exec(select(Escalation)).all()
    assert _buttons(blocks) == [
        ("Summary", "client_summary", str(at_risk)), ("Notes", "session_notes", str(at_risk)),
        (f"Acknowledge #{escalation.id} (Ana Lima)", "home_ack", str(escalation.id))]

    # Summary: what `/coachbot client Ana Lima` shows, in a modal.
    assert slack.presses_on_home(COACH, "client_summary", str(at_risk)) == 200
    [summary] = slack.api.opened_views()
    assert summary["blocks"][0]["text"]["text"].startswith(
        "Ana Lima: Grow: 12-week business coaching, week 1")
    assert "Confidence below 5" in summary["blocks"][0]["text"]["text"]

    # Acknowledge: as the 👀 on the post does; the post and the Home tab say so.
    assert slack.presses_on_home(COACH, "home_ack", str(escalation.id)) == 200
    post = slack.api.message(TEAM_CHANNEL, case["ts"])
    assert post is not None
    assert ":eyes: Acknowledged by Casey Coach" in str(post["blocks"])
    assert "Confidence below 5 (0h old, SLA" in str(_home(slack))
    assert ", acknowledged)" in str(_home(slack))
    assert [b for b in _buttons(_home(slack)) if b[1] == "home_ack"] == []
    with session(slack.app.db) as s:
        [acked] = s.exec(select(AuditEntry).where(
            AuditEntry.action == "escalation_acknowledged")).all()
    assert acked.detail.get("via") == "home"


def test_a_strangers_acknowledge_press_on_a_home_tab_changes_nothing(slack: Slack,
                                                                    at_risk: int):
    with session(slack.app.db) as s:
        [escalation] = s.exec(select(Escalation)).all()
    [case] = slack.team_posts()
    before = slack.api.message(TEAM_CHANNEL, case["ts"])
    published = len(slack.api.calls_of("views.publish"))

    assert slack.presses_on_home(STRANGER, "home_ack", str(escalation.id)) == 200
    assert slack.presses_on_home(STRANGER, "client_summary", str(at_risk)) == 200
    assert slack.presses_on_home(STRANGER, "session_notes", str(at_risk)) == 200

    with session(slack.app.db) as s:
        [still] = s.exec(select(Escalation)).all()
    assert still.acknowledged_at is None and still.acknowledged_by_id is None
    assert slack.api.message(TEAM_CHANNEL, case["ts"]) == before
    assert slack.api.calls_of("chat.update") == []
    assert slack.api.opened_views() == []  # no summary, no notes form for a stranger
    assert len(slack.api.calls_of("views.publish")) == published


def test_notes_from_the_home_tab_reach_a_slack_client_escaped(slack: Slack):
    app = slack.app
    enrolled = enrol_client(app.rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    join_on_slack(app, enrolled, ANA)
    slack.says(ANA, "yes", channel=f"D{ANA}")

    assert slack.presses_on_home(COACH, "session_notes", str(enrolled.enrolment_id)) == 200
    [form] = slack.api.opened_views()
    typed = {"notes": "Read <https://evil.example|this> *now* <!channel>",
             "item_1": "Ship the <@UTIA> offer", "due_1": "2026-03-04"}
    status, body = slack.post(view_submission_payload(COACH, form, typed),
                              "application/x-www-form-urlencoded")
    assert (status, body) == (200, "")
    got = slack.api.posted_messages(ANA)[-1]["text"]
    assert got.startswith("Notes from your session with Casey Coach:")
    # Nothing the coach typed becomes a link, a mention or formatting in her DM.
    assert "&lt;!channel&gt;" in got and "<!channel>" not in got
    assert "&lt;@UTIA&gt;" in got and "<https://" not in got
