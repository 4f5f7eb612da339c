"""Rules on controlled series: each condition fires, does not refire, fires again once cleared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conversations.loader import parse_program
from conversations.metrics import (
    AnswerPoint,
    CheckinRecord,
    History,
    behaviour_value,
)
from conversations.program import Rule
from conversations.rules import RuleInputs, decide
from tests.conftest import SAMPLE

PROGRAM = parse_program(SAMPLE.read_text(), str(SAMPLE))
RULES = {r.id: r for r in PROGRAM.rules}
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def fires(rule_id: str, inputs: RuleInputs, open_firings: set[str] = frozenset()):
    fired, cleared = decide([RULES[rule_id]], inputs, set(open_firings))
    return [d.rule.id for d in fired], cleared


def test_low_confidence_two_checkins_running_fires_once_then_clears_then_fires_again():
    assert fires("low_confidence", RuleInputs(series={"confidence": [6, 4]})) == ([], [])
    assert fires("low_confidence", RuleInputs(series={"confidence": [6, 4, 3]})) == (
        ["low_confidence"], [])
    # Still holding with the firing open: no second firing.
    assert fires("low_confidence", RuleInputs(series={"confidence": [4, 3, 2]}),
                 {"low_confidence"}) == ([], [])
    # A good week clears it; two more low weeks fire it again.
    assert fires("low_confidence", RuleInputs(series={"confidence": [3, 7]}),
                 {"low_confidence"}) == ([], ["low_confidence"])
    assert fires("low_confidence", RuleInputs(series={"confidence": [7, 4, 4]})) == (
        ["low_confidence"], [])


def test_no_reply_for_ten_days():
    assert fires("gone_quiet", RuleInputs(series={}, days_since_reply=9.9)) == ([], [])
    assert fires("gone_quiet", RuleInputs(series={}, days_since_reply=10)) == (
        ["gone_quiet"], [])


def test_revenue_flat_for_three_weeks_is_a_plateau():
    assert fires("revenue_plateau", RuleInputs(series={"revenue": [1000, 900, 1000, 950]})) == (
        ["revenue_plateau"], [])
    assert fires("revenue_plateau", RuleInputs(series={"revenue": [1000, 900, 1100, 950]})) == (
        [], [])
    assert fires("revenue_plateau", RuleInputs(series={"revenue": [1000, 900]})) == ([], [])


def test_revenue_up_only_in_the_first_week_after_the_start_is_no_plateau():
    # The week right after the window's first value counts as an improvement as any other.
    assert fires("revenue_plateau", RuleInputs(series={"revenue": [1000, 1100, 900, 950]})) == (
        [], [])


def test_talk_of_quitting_is_found_as_a_word_or_phrase():
    said = {"weekly_checkin.blocker": "Honestly I might GIVE  up on this"}
    assert fires("churn_words", RuleInputs(series={}, latest_text=said)) == (["churn_words"], [])
    harmless = {"weekly_checkin.blocker": "I was quite busy with the quilt fair"}
    assert fires("churn_words", RuleInputs(series={}, latest_text=harmless)) == ([], [])


def test_confidence_up_three_points_from_baseline_is_celebrated():
    inputs = RuleInputs(series={"confidence": [5, 7, 9]}, baselines={"confidence": 6})
    assert fires("confidence_up", inputs) == (["confidence_up"], [])
    inputs = RuleInputs(series={"confidence": [5, 8]}, baselines={"confidence": 6})
    assert fires("confidence_up", inputs) == ([], [])


def test_engagement_metrics_from_checkin_history():
    week = timedelta(days=7)
    checkins = [
        CheckinRecord(T0, T0 + timedelta(hours=2), sla_hours=24),
        CheckinRecord(T0 + week, T0 + week + timedelta(hours=30), sla_hours=24),
        CheckinRecord(T0 + 2 * week, None, sla_hours=24),
        CheckinRecord(T0 + 3 * week, T0 + 3 * week + timedelta(hours=1), sla_hours=24),
        CheckinRecord(T0 + 4 * week, T0 + 4 * week + timedelta(hours=1), sla_hours=24),
    ]
    history = History(checkins=checkins, answers={"weekly_checkin.revenue": [
        AnswerPoint(T0, 1000.0)]}, last_reply_at=T0 + 4 * week + timedelta(hours=1),
        enrolled_at=T0 - week)
    now = T0 + 4 * week + timedelta(days=3)
    assert behaviour_value("response_rate", history, now) == 0.8
    assert behaviour_value("on_time_rate", history, now) == 0.6
    assert behaviour_value("streak", history, now) == 2
    assert behaviour_value("days_since_reply", history, now) == 2.96


def rule(condition: dict) -> Rule:
    return Rule.model_validate({"id": "custom", "when": condition,
                                "then": {"message": "noted"}})


def evidence(condition: dict, inputs: RuleInputs) -> dict | None:
    fired, _ = decide([rule(condition)], inputs, set())
    return fired[0].evidence if fired else None


def test_confidence_at_exactly_five_two_weeks_running_is_not_below_five():
    assert fires("low_confidence", RuleInputs(series={"confidence": [5, 5]})) == ([], [])
    assert fires("low_confidence", RuleInputs(series={"confidence": [4.9, 4]})) == (
        ["low_confidence"], [])


def test_two_low_checkins_are_enough_when_they_are_the_clients_only_two():
    assert fires("low_confidence", RuleInputs(series={"confidence": [4, 3]})) == (
        ["low_confidence"], [])
    assert fires("low_confidence", RuleInputs(series={"confidence": [3]})) == ([], [])
    # Only the latest two count: a low week long ago does not make a second one.
    assert fires("low_confidence", RuleInputs(series={"confidence": [2, 8, 4]})) == ([], [])


def test_the_escalation_shows_the_two_low_scores_that_fired_it():
    assert evidence({"threshold": {"metric": "confidence", "below": 5, "for_checkins": 2}},
                    RuleInputs(series={"confidence": [9, 4, 3]})) == {
        "metric": "confidence", "values": [4, 3]}


def test_a_rule_with_above_7_fires_at_8_not_at_7():
    above = {"threshold": {"metric": "stress", "above": 7}}
    assert evidence(above, RuleInputs(series={"stress": [3, 7]})) is None
    assert evidence(above, RuleInputs(series={"stress": [3, 8]})) == {
        "metric": "stress", "values": [8]}
    assert evidence(above, RuleInputs(series={})) is None


def test_ten_days_quiet_is_reported_with_the_days():
    assert evidence({"no_reply_days": 10}, RuleInputs(series={}, days_since_reply=12.5)) == {
        "days_since_reply": 12.5}


def test_revenue_exactly_level_for_three_weeks_is_a_plateau_and_only_the_last_weeks_count():
    assert fires("revenue_plateau", RuleInputs(series={"revenue": [1000] * 4})) == (
        ["revenue_plateau"], [])
    # A low month before the plateau's window is no improvement to measure from.
    assert evidence({"plateau": {"metric": "revenue", "weeks": 3}},
                    RuleInputs(series={"revenue": [500, 1000, 900, 1000, 950]})) == {
        "metric": "revenue", "values": [1000, 900, 1000, 950]}


def test_quitting_is_reported_with_the_words_found_and_quitting_is_not_quit():
    said = {"weekly_checkin.blocker": "I want to QUIT, maybe a refund"}
    assert evidence({"keyword": {"question": "weekly_checkin.blocker",
                                 "any": ["quit", "refund", "cancel"]}},
                    RuleInputs(series={}, latest_text=said)) == {
        "question": "weekly_checkin.blocker", "keywords": ["quit", "refund"]}
    quitting = {"weekly_checkin.blocker": "quitting sugar is hard"}
    assert fires("churn_words", RuleInputs(series={}, latest_text=quitting)) == ([], [])


def test_a_milestone_of_reaching_10_fires_at_10_not_at_9():
    reaches = {"milestone": {"metric": "confidence", "reaches": 10}}
    assert evidence(reaches, RuleInputs(series={"confidence": [9]})) is None
    assert evidence(reaches, RuleInputs(series={"confidence": [4, 10]})) == {
        "metric": "confidence", "value": 10}
    assert evidence(reaches, RuleInputs(series={})) is None


def test_up_three_from_baseline_says_the_baseline_and_the_change_and_needs_a_baseline():
    up = {"milestone": {"metric": "confidence", "change_from_baseline": 3}}
    assert evidence(up, RuleInputs(series={"confidence": [9]}, baselines={"confidence": 6})) \
        == {"metric": "confidence", "value": 9, "baseline": 6, "change": 3}
    assert evidence(up, RuleInputs(series={"confidence": [9]})) is None


def test_a_client_with_no_text_answer_and_no_reply_gap_yet_fires_nothing():
    fresh = RuleInputs(series={})  # nothing answered, nothing measured yet
    assert evidence({"no_reply_days": 1}, fresh) is None
    assert fires("churn_words", fresh) == ([], [])
