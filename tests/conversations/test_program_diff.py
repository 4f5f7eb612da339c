"""Comparing two versions of a program, without a database: each change named once."""

from __future__ import annotations

import pytest

from conversations.loader import ProgramInvalid, parse_program
from conversations.program_diff import Change, compare, renamed_questions
from tests.conversations.chat import revised_sample_text, sample, sample_text


def test_the_revised_sample_shows_each_change_once():
    revised = parse_program(revised_sample_text(), "revised.yaml")
    assert compare(sample(), revised) == [
        Change("question_removed", "weekly_checkin.blocker", flow="weekly_checkin"),
        Change("question_renamed", "weekly_checkin.revenue_eur",
               before="weekly_checkin.revenue", flow="weekly_checkin"),
        Change("touchpoint_moved", "weekly_checkin",
               before="Monday 09:00 (in onboarding, active)",
               after="Tuesday 18:00 (in onboarding, active)"),
        Change("metric_reads", "revenue", before="weekly_checkin.revenue",
               after="weekly_checkin.revenue_eur"),
        Change("rule_removed", "churn_words", before="Talk of quitting"),
    ]
    assert renamed_questions(revised) == {"weekly_checkin.revenue": "weekly_checkin.revenue_eur"}


def test_the_same_program_has_no_changes():
    assert compare(sample(), sample()) == []


def test_options_touchpoints_rules_and_metrics_removed_or_changed():
    text = (sample_text()
            .replace("          - {id: hiring, label: Hiring}\n", "")
            .replace("    sla: 72h\n", "    sla: 48h\n")
            .replace("when: {stage_week: 4, stage: active, time: \"12:00\"}",
                     "when: {stage_week: 5, stage: active, time: \"12:00\"}")
            .replace("below: 5, for_checkins: 2", "below: 4, for_checkins: 2"))
    changes = compare(sample(), parse_program(text, "changed.yaml"))
    assert Change("option_removed", "weekly_checkin.focus", before="hiring",
                  flow="weekly_checkin") in changes
    assert Change("touchpoint_moved", "plateau_check", before="week 4 of active at 12:00",
                  after="week 5 of active at 12:00") in changes
    assert Change("rule_changed", "low_confidence",
                  after="Confidence low two check-ins running") in changes
    # An SLA is not a schedule: the final review does not move.
    assert not any(c.subject == "final_review" for c in changes)


def test_a_renamed_from_that_names_a_question_still_there_is_an_error():
    text = sample_text().replace("      - id: note\n",
                                 "      - id: note\n        renamed_from: focus\n")
    with pytest.raises(ProgramInvalid, match="renamed_from: 'focus' is still a question"):
        parse_program(text, "bad.yaml")
