"""A coach's Home tab: an at-risk client first, the open escalation with its age and SLA,
today's session; published again when something changes; nothing for a team member."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.enrolment import enrol_client
from storage import rule_firings
from storage.db import session
from storage.models import CoachingSession, MetricValue
from tests.bot.slack.conftest import COACH, TEAM_CHANNEL, TIA, Slack, open_case


def _opens_home(slack: Slack, user: str) -> int:
    return slack.event({"type": "app_home_opened", "user": user, "channel": f"D{user}",
                        "tab": "home", "event_ts": "1700000000.000100"})


def test_the_home_tab_shows_an_at_risk_client_an_escalation_and_todays_session(
        slack: Slack, clock):
    rt, now = slack.app.rt, clock.now()
    ana = enrol_client(rt, program_id="business_12w", name="Ana Lima", zone="Europe/Berlin",
                       coach="Casey Coach").enrolment_id
    enrol_client(rt, program_id="business_12w", name="Ben Okafor", zone="Europe/Berlin",
                 coach="Casey Coach")
    with session(slack.app.db) as s, s.begin():
        rule_firings.fire(s, enrolment_id=ana, rule_id="low_confidence",
                          values={"confidence": [4, 3]}, now=now)
        for value, days_ago in ((2500, 7), (900, 0)):
            s.add(MetricValue(enrolment_id=ana, metric_id="revenue", value=value,
                              at=now - timedelta(days=days_ago)))
        s.add(CoachingSession(enrolment_id=ana, created_at=now,
                              at=datetime(2026, 3, 2, 13, 30, tzinfo=UTC)))
    open_case(slack.app, ana, reason="Confidence below 5", sla=timedelta(hours=4))
    slack.deliver()
    # Something changed (an escalation of her client): Casey's Home tab is published anew.
    [refreshed] = slack.api.calls_of("views.publish")
    assert refreshed["user_id"] == COACH and "Confidence below 5" in str(refreshed["view"])
    clock.advance(timedelta(hours=2))

    assert _opens_home(slack, COACH) == 200
    published = slack.api.calls_of("views.publish")[-1]
    assert published["user_id"] == COACH
    texts = [b["text"]["text"] for b in published["view"]["blocks"] if b["type"] == "section"]
    assert texts[0].startswith("*Ana Lima*  ")
    # The program's main metric with the value before it; the rule that still holds.
    assert texts[0] == ("*Ana Lima*  intake (invited) · no check-in yet · Weekly revenue 900, "
                        "was 2500\n:warning: at risk: Confidence low two check-ins running")
    assert texts[1].startswith("*Ben Okafor*  ") and "no check-in yet" in texts[1]
    assert texts[2] == ("*Open escalations*\n• Ana Lima: Confidence below 5 (2h old, SLA "
                        "Mon 02 Mar 13:00, NOT acknowledged)")
    assert texts[3] == "*Today's sessions*\n• 14:30 Ana Lima"

    assert _opens_home(slack, TIA) == 200
    assert len(slack.api.calls_of("views.publish")) == 2  # nothing for a team member

    # Tia acknowledges: the coach's Home tab shows it without being opened again.
    [post] = slack.team_posts()
    slack.says(TIA, "on it", channel=TEAM_CHANNEL, thread_ts=post["ts"])
    assert "Confidence below 5 (2h old, SLA Mon 02 Mar 13:00, acknowledged)" in str(
        slack.api.calls_of("views.publish")[-1]["view"])
