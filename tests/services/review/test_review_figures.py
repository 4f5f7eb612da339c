"""`coachbot review --quarter 2026Q3` on two cohorts whose every figure is worked out by hand
(see conftest.py for what happened to whom), on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from tests.services.review.conftest import coachbot

WEEK_HOURS = 7 * 24


@pytest.fixture
def q3(seeded: str) -> dict:
    """The JSON review of 2026Q3, split by weekly hours in bands under 5, 5-10, 10+."""
    result = coachbot(seeded, "review", "--quarter", "2026Q3", "--format", "json",
                      "--by", "intake.hours_per_week", "--bands", "5,10")
    assert result.exit_code == 0, result.output
    [review] = json.loads(result.output)
    return review


def map_rows(period: dict) -> list[tuple]:
    return [(t["touchpoint_id"], t["owner"], t["planned"], t["sent"], t["sent_on_time"],
             t["answered"], t["answered_within_sla"], t["median_hours_to_answer"],
             t["reminders"], t["missed"], t["flagged"]) for t in period["touchpoints"]]


def test_the_delivery_map_names_session_prep_as_the_weakest(q3):
    now = q3["current"]
    assert (now["period"], now["clients"]) == (
        {"label": "2026Q3", "first": "2026-07-01", "last": "2026-09-30"}, 16)
    assert map_rows(now) == [
        # touchpoint, owner, planned, sent, on time, answered, in SLA, median h, reminders,
        # missed, flagged. The intake is answered an hour after it is sent.
        ("welcome", "coach", 10, 10, 10, 10, 10, 1.0, 0, 0, 0),
        ("onboarding_message", "program_owner", 10, 10, 10, None, None, None, 0, 0, 0),
        # 27 check-ins missed after two reminders each; client 1 answered three after 30 h
        # (one reminder each); client 10's first four went out 30 minutes late.
        ("weekly_checkin", "coach", 100, 100, 96, 73, 70, 2.0, 57, 27, 0),
        # Answered after 2, 3, 5, 19 | 21, 23 h (SLA 20 h) and two never: median (5+19)/2.
        ("session_prep", "coach", 8, 8, 8, 6, 4, 12.0, 5, 2, 0),
        ("session_followup", "coach", 0, 0, 0, None, None, None, 0, 0, 0),
        ("plateau_check", "coach", 10, 10, 8, None, None, None, 0, 0, 0),
        ("midpoint_milestone", "coach", 10, 10, 10, None, None, None, 0, 0, 0),
        # The spring cohort's final review: two unanswered, so their coach was flagged.
        ("final_review", "coach", 6, 6, 6, 4, 4, 5.0, 4, 2, 2),
        ("graduation", "program_owner", 6, 6, 6, None, None, None, 0, 0, 0),
    ]
    assert [(o["owner"], o["touchpoints"], o["sent"], o["sent_on_time"], o["with_sla"],
             o["answered_within_sla"], o["missed"], o["flagged"]) for o in now["owners"]] == [
        ("coach", 7, 144, 138, 124, 88, 31, 2),
        ("program_owner", 2, 16, 16, 0, 0, 0, 0),
    ]
    assert now["worst"] == [
        "Session prep: answered within SLA 50%, owner coach",
        "Final review: answered within SLA 67%, owner coach",
        "Weekly check-in: answered within SLA 70%, owner coach",
    ]


def test_the_journey_names_the_fade_after_week_five(q3):
    now = q3["current"]
    assert [(w["week"], w["asked"], w["answered"], w["metric_values"], w["metric_mean"])
            for w in now["weeks"]] == [
        (1, 10, 10, 10, 1100.0), (2, 10, 10, 10, 1200.0), (3, 10, 10, 10, 1300.0),
        (4, 10, 10, 10, 1400.0), (5, 10, 10, 10, 1500.0), (6, 10, 7, 7, 1600.0),
        (7, 10, 4, 4, 1700.0), (8, 10, 4, 4, 1800.0), (9, 10, 4, 4, 1900.0),
        (10, 10, 4, 4, 2000.0),
    ]
    assert now["main_metric"] == "revenue"
    assert now["response_rate"] == 0.73
    assert now["fade"] == {"from_week": 5, "to_week": 7, "from_rate": 1.0, "to_rate": 0.4}
    assert now["fade_sentence"] == "response falls from 100% to 40% between weeks 5 and 7"


def test_the_data_layer_lists_the_metrics_nobody_reads(q3):
    now = q3["current"]
    assert [(m["metric_id"], m["values"], m["rules"], m["reads"], m["firings"], m["used_by"],
             m["drop_candidate"]) for m in now["metrics"]] == [
        ("response_rate", 10, [], 0, 0, [], True),
        ("streak", 0, [], 0, 0, ["/progress"], False),
        ("days_since_reply", 3, ["gone_quiet"], 3, 1, [], False),
        ("outreach_done", 73, [], 0, 0, [], True),
        ("confidence", 73, ["low_confidence", "confidence_up"], 146, 5, ["report", "review"],
         False),
        ("revenue", 73, ["revenue_plateau"], 73, 2, ["/progress", "review"], False),
        ("action_items", 0, [], 0, 0, ["/progress", "digest"], False),
    ]
    assert now["to_drop"] == ["response_rate", "outreach_done"]


def test_each_rule_with_its_escalations_and_whether_the_metric_recovered(q3):
    rules = {r["rule_id"]: (r["condition"], r["metric"], r["action"], r["firings"],
                            r["escalations"], r["acknowledged"],
                            r["median_hours_to_acknowledge"], r["acknowledged_within_sla"],
                            r["recovered"], r["not_recovered"], r["too_early"])
             for r in q3["current"]["rules"]}
    assert rules == {
        # Acknowledged after 2 h and 30 h, one never (SLA 24 h). Client 5's confidence came
        # back to 6, client 6's stayed at 4, client 7 has not checked in since.
        "low_confidence": ("threshold", "confidence", "escalate", 3, 3, 2, 16.0, 1 / 3,
                           1, 1, 1),
        "gone_quiet": ("no_reply_days", "days_since_reply", "escalate", 1, 1, 1, 5.0, 1.0,
                       None, None, None),
        "churn_words": ("keyword", None, "escalate", 0, 0, 0, None, None, None, None, None),
        # Client 2's revenue rose past the plateau; client 3's fired on the last check-in.
        "revenue_plateau": ("plateau", "revenue", "message", 2, 0, 0, None, None, 1, 0, 1),
        "confidence_up": ("milestone", "confidence", "celebrate", 2, 0, 0, None, None, None,
                          None, None),
    }
    assert q3["current"]["median_hours_to_acknowledge"] == 5.0  # 2, 5, 30


def segment_rows(split: dict) -> list[tuple]:
    return [(s["label"], s["clients"], s["checkins_asked"], s["checkins_answered"],
             s["outcome_change_median"], s["reached_milestone"], s["median_weeks_to_milestone"])
            for s in split["segments"]]


# Clients 1 and 2 reached "confidence up" at their week 6 and week 8 check-ins, answered
# three hours into the week: 5 weeks 3 h and 7 weeks 3 h after enrolment.
MILESTONE_WEEKS = (5 * WEEK_HOURS + 3 + 7 * WEEK_HOURS + 3) / 2 / WEEK_HOURS


def test_segments_by_hours_a_week_in_bands(q3):
    split = q3["current"]["segments"]
    assert (split["question"], split["kind"], split["bands"], split["outcome_metric"]) == (
        "intake.hours_per_week", "bands", [5.0, 10.0], "confidence")
    assert segment_rows(split) == [
        # Summer 2 and 4 h, spring 3 h: the fastest to a milestone, confidence +4, +3, +2.
        ("under 5", 3, 20, 20, 3.0, 2, MILESTONE_WEEKS),
        ("5 to under 10", 7, 50, 38, 1.0, 0, None),
        ("10 or more", 6, 30, 15, 1.0, 0, None),
    ]
    assert q3["current"]["outcome_change_median"] == 1.0


def test_segments_by_tertiles_and_by_a_choice(seeded_sqlite):
    tertiles = coachbot(seeded_sqlite, "review", "--quarter", "2026Q3", "--format", "json",
                        "--by", "intake.hours_per_week")
    split = json.loads(tertiles.output)[0]["current"]["segments"]
    # Hours 2 3 4 5 6 | 7 8 9 9 9 | 11 12 14 15 20 25: edges at the 6th and 11th answer.
    assert split["bands"] == [7.0, 11.0]
    assert [(s["label"], s["clients"]) for s in split["segments"]] == [
        ("under 7", 5), ("7 to under 11", 5), ("11 or more", 6)]
    choice = coachbot(seeded_sqlite, "review", "--quarter", "2026Q3", "--format", "json",
                      "--by", "weekly_checkin.focus")
    split = json.loads(choice.output)[0]["current"]["segments"]
    assert split["kind"] == "choice"
    assert segment_rows(split) == [
        ("Sales", 5, 50, 46, 1.0, 2, MILESTONE_WEEKS),
        ("Product", 3, 30, 17, -1.0, 0, None),
        ("Operations", 2, 20, 10, 1.0, 0, None),
        ("Hiring", 0, 0, 0, None, 0, None),
        # Spring clients gave no focus answer (their check-ins were in Q2): a segment too.
        ("no answer", 6, 0, 0, 2.0, 0, None),
    ]


def test_the_previous_quarter_beside_this_one(q3):
    then = q3["previous"]
    assert (then["period"]["label"], then["clients"]) == ("2026Q2", 6)
    assert map_rows(then) == [
        ("welcome", "coach", 6, 6, 6, 6, 6, 1.0, 0, 0, 0),
        ("onboarding_message", "program_owner", 6, 6, 6, None, None, None, 0, 0, 0),
        # Spring 1 checked in ahead of week 3 (asked, not sent); spring 6 missed weeks 8-12.
        ("weekly_checkin", "coach", 72, 71, 71, 66, 66, 2.0, 10, 5, 0),
        ("session_prep", "coach", 0, 0, 0, 0, 0, None, 0, 0, 0),
        ("session_followup", "coach", 0, 0, 0, None, None, None, 0, 0, 0),
        ("plateau_check", "coach", 0, 0, 0, None, None, None, 0, 0, 0),
        ("midpoint_milestone", "coach", 0, 0, 0, None, None, None, 0, 0, 0),
        ("final_review", "coach", 0, 0, 0, 0, 0, None, 0, 0, 0),
        ("graduation", "program_owner", 0, 0, 0, None, None, None, 0, 0, 0),
    ]
    assert [(w["week"], w["asked"], w["answered"]) for w in then["weeks"]] == [
        *((week, 6, 6) for week in range(1, 8)), *((week, 6, 5) for week in range(8, 13))]
    assert then["fade_sentence"] == "response falls from 100% to 83% between weeks 7 and 8"
    assert [(r["rule_id"], r["firings"], r["too_early"]) for r in then["rules"]
            if r["firings"]] == [("low_confidence", 1, 1)]
    assert then["outcome_change_median"] == 2.0  # five clients +2, one -1
    assert then["segments"]["segments"][0]["label"] == "under 5"
    assert [(c["figure"], c["unit"], c["this"], c["previous"]) for c in q3["changes"]] == [
        ("clients", "count", 16, 6),
        ("check-in response", "rate", 0.73, 67 / 72),
        ("Welcome and intake: answered within SLA", "rate", 1.0, 1.0),
        ("How the program works: sent on time", "rate", 1.0, 1.0),
        ("Weekly check-in: answered within SLA", "rate", 0.7, 66 / 71),
        ("Session prep: answered within SLA", "rate", 0.5, None),
        ("Week-4 plateau check: sent on time", "rate", 0.8, None),
        ("Halfway milestone: sent on time", "rate", 1.0, None),
        ("Final review: answered within SLA", "rate", 4 / 6, None),
        ("Graduation: sent on time", "rate", 1.0, None),
        ("confidence change from baseline (median)", "points", 1.0, 2.0),
        ("Confidence low two check-ins running: firings", "count", 3, 1),
        ("No reply for 10 days: firings", "count", 1, 0),
        ("Talk of quitting: firings", "count", 0, 0),
        ("Revenue flat for three weeks: firings", "count", 2, 0),
        ("Confidence up 3 points: firings", "count", 2, 0),
        ("hours to acknowledge a rule's escalation (median)", "hours", 5.0, 10.0),
    ]


def test_csv_has_one_figure_a_line_for_both_quarters(seeded_sqlite):
    result = coachbot(seeded_sqlite, "review", "--quarter", "2026Q3", "--format", "csv")
    lines = result.output.splitlines()
    assert lines[0] == "program,period,section,item,figure,value"
    for line in (
            "business_12w,2026Q3,map,session_prep,answered_within_sla,4",
            "business_12w,2026Q3,worst,1,sentence,"
            "\"Session prep: answered within SLA 50%, owner coach\"",
            "business_12w,2026Q3,journey,,fade,response falls from 100% to 40% between "
            "weeks 5 and 7",
            "business_12w,2026Q3,metrics,outreach_done,drop_candidate,yes",
            "business_12w,2026Q3,rules,low_confidence,acknowledged_within_sla,0.3333",
            "business_12w,2026Q2,map,weekly_checkin,sent,71",
            "business_12w,2026Q3,changes,check-in response,rate,0.73",
            "business_12w,2026Q2,changes,check-in response,rate,0.9306"):
        assert line in lines
