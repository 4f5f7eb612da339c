"""Rules from the sample program, through the real handler on a controlled clock: each fires
when its condition starts to hold, not again while it holds, and again after it cleared."""

from __future__ import annotations

from datetime import timedelta

from tests.services.decisions.conftest import checkin, escalations, firings, queued_texts, week


def test_low_confidence_two_checkins_running_escalates_once_then_again_after_recovery(
        app, client, clock):
    checkin(client, confidence=3, revenue=100)
    assert firings(app, "low_confidence") == []
    week(clock)
    checkin(client, confidence=4, revenue=200)
    [fired] = firings(app, "low_confidence")
    assert fired.values == {"metric": "confidence", "values": [3.0, 4.0]}
    [escalation] = escalations(app)
    assert (escalation.reason, escalation.owner_role) == (
        "Confidence below 5 two weeks in a row", "team")
    assert escalation.rule_firing_id == fired.id
    assert escalation.sla_due_at == escalation.opened_at + timedelta(hours=24)

    week(clock)
    checkin(client, confidence=2, revenue=300)
    assert len(firings(app, "low_confidence")) == 1, "still holding: no second escalation"
    assert len(escalations(app)) == 1

    week(clock)
    checkin(client, confidence=7, revenue=400)
    [cleared] = firings(app, "low_confidence")
    assert cleared.cleared_at == clock.now()

    for _ in range(2):
        week(clock)
        checkin(client, confidence=3, revenue=500)
    assert len(firings(app, "low_confidence")) == 2
    assert len(escalations(app)) == 2


def test_flat_revenue_for_three_weeks_sends_the_plateau_guide_once(app, client, clock):
    for revenue in (1000, 900, 1000, 950):
        checkin(client, confidence=6, revenue=revenue)
        week(clock)
    [fired] = firings(app, "revenue_plateau")
    assert fired.values == {"metric": "revenue", "values": [1000.0, 900.0, 1000.0, 950.0]}
    guide = [t for t in queued_texts(app) if "flat for three weeks" in t]
    assert len(guide) == 1
    checkin(client, confidence=6, revenue=800)
    assert len([t for t in queued_texts(app) if "flat for three weeks" in t]) == 1
    week(clock)
    checkin(client, confidence=6, revenue=5000)
    assert firings(app, "revenue_plateau")[0].cleared_at is not None


def test_talk_of_quitting_escalates_with_the_words_found_not_the_answer(app, client, clock):
    checkin(client, confidence=3, revenue=0, blocker="I am overwhelmed and might quit")
    [fired] = firings(app, "churn_words")
    assert fired.values == {"question": "weekly_checkin.blocker",
                            "keywords": ["quit", "overwhelmed"]}
    assert [e.reason for e in escalations(app)] == ["Mentioned quitting or a refund"]


def test_confidence_up_three_points_is_celebrated_by_name(app, client, clock):
    checkin(client, confidence=8, revenue=100)
    assert firings(app, "confidence_up") == []
    week(clock)
    checkin(client, confidence=9, revenue=100)
    [fired] = firings(app, "confidence_up")
    assert fired.values == {"metric": "confidence", "value": 9.0, "baseline": 6.0,
                            "change": 3.0}
    assert [t for t in queued_texts(app) if "confidence is up" in t] == [
        "Your confidence is up 3 points since you started, Ana. That's real progress!"]


def test_no_reply_for_ten_days_escalates_to_the_coach_from_the_daily_sweep(app, client, clock):
    from services.decisions import Sweep

    sweep = Sweep(app.rt)
    checkin(client, confidence=7, revenue=100)
    clock.advance(timedelta(days=9, hours=23))
    sweep.run(clock.now())
    assert firings(app, "gone_quiet") == []
    clock.advance(timedelta(days=1))
    sweep.run(clock.now())
    [fired] = firings(app, "gone_quiet")
    assert fired.values["days_since_reply"] >= 10
    assert [e.owner_role for e in escalations(app)] == ["coach"]
    clock.advance(timedelta(days=1))
    sweep.run(clock.now())
    assert len(firings(app, "gone_quiet")) == 1, "still quiet: no second escalation"

    checkin(client, confidence=7, revenue=100)
    assert firings(app, "gone_quiet")[0].cleared_at == clock.now()
    clock.advance(timedelta(days=10))
    sweep.run(clock.now())
    assert len(firings(app, "gone_quiet")) == 2
