"""The digest's other parts: rules that fired yesterday, today's sessions and milestones,
and a digest time of the coach's own."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from services.digest import digests_due
from storage import rule_firings
from storage.db import session
from storage.models import CoachingSession, PlannedTouchpoint
from storage.staff import add_staff
from tests.bot.slack.conftest import COACH, Slack, two_clients_after_intake

SUN_BEFORE = datetime(2026, 2, 22, 10, 0, tzinfo=UTC)
SUNDAY_NOON = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)  # 12:00 in Berlin
MONDAY_0800_BERLIN = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def _digest(slack: Slack) -> str:
    slack.tick()
    slack.deliver()
    [digest] = slack.api.posted_messages(COACH)
    return digest["text"]


def test_rules_that_fired_yesterday_todays_session_and_milestone(slack: Slack, enrol, clock):
    clock.set(SUN_BEFORE)
    ana, ben = two_clients_after_intake(enrol)
    ana_id, ben_id = ana.enrolled.enrolment_id, ben.enrolled.enrolment_id
    with session(slack.app.db) as s, s.begin():
        # A week old: not yesterday's news.
        rule_firings.fire(s, enrolment_id=ben_id, rule_id="low_confidence",
                          values={"confidence": 3}, now=SUN_BEFORE)
        # Yesterday: a celebration and a plain rule, their evidence kept out of the digest.
        rule_firings.fire(s, enrolment_id=ana_id, rule_id="confidence_up",
                          values={"confidence": 9}, now=SUNDAY_NOON)
        rule_firings.fire(s, enrolment_id=ben_id, rule_id="churn_words",
                          values={"blocker": "want a refund"}, now=SUNDAY_NOON)
        # Today, Monday, in the coach's zone: Ben's session at 14:30 and Ana's halfway mark;
        # a session cancelled and one tomorrow are not today's.
        s.add(CoachingSession(enrolment_id=ben_id, created_at=SUN_BEFORE,
                              at=datetime(2026, 3, 2, 13, 30, tzinfo=UTC)))
        s.add(CoachingSession(enrolment_id=ana_id, created_at=SUN_BEFORE,
                              at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
                              cancelled_at=SUNDAY_NOON))
        s.add(CoachingSession(enrolment_id=ana_id, created_at=SUN_BEFORE,
                              at=datetime(2026, 3, 3, 9, 0, tzinfo=UTC)))
        s.add(PlannedTouchpoint(enrolment_id=ana_id, touchpoint_id="midpoint_milestone",
                                occurrence="digest-test",
                                due_at=datetime(2026, 3, 2, 11, 0, tzinfo=UTC)))
    clock.set(MONDAY_0800_BERLIN)
    text = _digest(slack)
    lines = text.splitlines()
    ben_line = next(line for line in lines if line.startswith("Ben Okafor"))
    ana_line = next(line for line in lines if line.startswith("Ana Lima"))
    assert lines.index(ben_line) < lines.index(ana_line)  # an escalating rule is urgent
    assert "rule fired: Talk of quitting" in ben_line
    assert "session today at 14:30" in ben_line
    assert "Confidence low" not in text  # fired a week ago
    assert "milestone: Confidence up 3 points" in ana_line
    assert "milestone today: Halfway milestone" in ana_line
    assert "session today" not in ana_line  # cancelled, and tomorrow's
    assert "refund" not in text and "9" not in ana_line  # titles, never the evidence


def test_a_coach_chooses_the_digest_time_and_the_setting_is_the_default(slack: Slack, clock):
    with session(slack.app.db) as s, s.begin():
        add_staff(s, name="Casey Coach", slack_id=COACH, role="coach",
                  timezone="Europe/Berlin", now=clock.now(), digest_time="6:30")
    early = datetime(2026, 3, 2, 5, 30, tzinfo=UTC)  # 06:30 in Berlin
    clock.set(early - timedelta(minutes=1))
    slack.tick()
    assert slack.api.posted_messages(COACH) == []
    clock.set(early)
    assert "a quiet day" in _digest(slack)

    # A coach without a time of their own gets it at COACHBOT_DIGEST_TIME.
    with session(slack.app.db) as s, s.begin():
        add_staff(s, name="Dana Coach", slack_id="UDANA", role="coach",
                  timezone="Europe/Berlin", now=clock.now())
    nine = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    clock.set(nine - timedelta(minutes=1))
    assert digests_due(slack.app.rt, time(9)) == 0
    clock.set(nine)
    assert digests_due(slack.app.rt, time(9)) == 1
    assert digests_due(slack.app.rt, time(9)) == 0  # once a day
