"""Over Slack too, a press on last week's check-in buttons says the check-in is closed and
changes nothing. Real Bolt, the fake Slack Web API."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import func, select

from services.enrolment import enrol_client
from services.flows import open_flow_now
from services.inbound import CLOSED_TEXT
from storage.db import session
from storage.models import Answer
from tests.bot.slack.conftest import ANA, Slack
from tests.bot.slack.test_story import _buttons, _press, _say
from tests.conftest import CHECKIN_GOOD


def _answers(slack: Slack) -> int:
    with session(slack.app.db) as s:
        return s.exec(select(func.count()).select_from(Answer)).one()


def test_a_press_on_last_weeks_slack_buttons_is_closed_and_changes_nothing(slack: Slack, clock):
    enrolled = enrol_client(slack.app.rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    _say(slack, f"/start {enrolled.code}")
    _press(slack, "Yes")
    for answer in ["Double my revenue", "12000", "6", "10", "/skip"]:
        _say(slack, answer)
    open_flow_now(slack.app.rt, enrolled.enrolment_id, "weekly_checkin", key="checkin:1")
    slack.deliver()
    last_week = slack.api.posted_messages(ANA)[-1]
    _, action_id, block_id, value = next(b for b in _buttons(last_week) if b[0] == "3")
    for answer in CHECKIN_GOOD:
        _say(slack, answer)
    clock.advance(timedelta(days=7))
    open_flow_now(slack.app.rt, enrolled.enrolment_id, "weekly_checkin", key="checkin:2")
    slack.deliver()
    this_week = slack.api.posted_messages(ANA)[-1]
    before = _answers(slack)

    assert slack.clicks(ANA, action_id, value, channel=f"D{ANA}", ts=last_week["ts"],
                        block_id=block_id) == 200
    slack.deliver()
    assert slack.api.posted_messages(ANA)[-1]["text"] == CLOSED_TEXT
    assert _answers(slack) == before
    _, action_id, block_id, value = next(b for b in _buttons(this_week) if b[0] == "8")
    slack.clicks(ANA, action_id, value, channel=f"D{ANA}", ts=this_week["ts"],
                 block_id=block_id)  # this week's own buttons still count
    slack.deliver()
    assert _answers(slack) == before + 1
