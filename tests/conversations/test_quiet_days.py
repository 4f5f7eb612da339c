"""Days since the last reply is stored when it says something: its first value, a fall (a
reply came) and a day count a rule compares it to; in between it is derived on read."""

from __future__ import annotations

from conversations.metrics import quiet_days_worth_storing, quiet_marks
from tests.conversations.chat import sample


def test_a_weekly_client_stores_the_count_once_not_every_day():
    marks = {10.0}
    stored = None
    kept = []
    for days in [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0]:
        if quiet_days_worth_storing(float(days), stored, marks):
            stored = float(days)
            kept.append(days)
    assert kept == [0]


def test_a_client_gone_quiet_is_stored_at_the_rules_mark_and_again_on_their_reply():
    marks = {10.0}
    stored = 0.0
    kept = []
    for days in [*range(1, 14), 0]:
        if quiet_days_worth_storing(float(days), stored, marks):
            stored = float(days)
            kept.append(days)
    assert kept == [10, 0]


def test_the_sample_programs_no_reply_rule_gives_its_mark():
    assert quiet_marks(sample(), "days_since_reply") == {10.0}
