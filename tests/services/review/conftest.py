"""Two cohorts of the sample program whose review is worked out by hand.

Spring (6 clients, enrolled Mon 6 April 2026) runs its twelve weekly check-ins in Q2;
one client goes quiet after week 7. In Q3 they get the final review (two never answer it,
so their coaches are flagged) and graduate.

Summer (10 clients, enrolled Mon 6 July 2026) is the cohort of 2026Q3. It fades after
week 5: all ten answer weeks 1-5, seven answer week 6, four answer weeks 7-10. Session
prep misses its 20 h SLA half the time. Nobody reads `outreach_done` or `response_rate`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli_app
from bot.program_files import load_file
from storage.db import make_engine, session
from tests.conftest import SAMPLE
from tests.services.review.seed import WEEK, H, History

SPRING = datetime(2026, 4, 6, 8, 0, tzinfo=UTC)
SUMMER = datetime(2026, 7, 6, 8, 0, tzinfo=UTC)
SPRING_HOURS = [3, 7, 9, 11, 14, 25]
SUMMER_HOURS = [2, 4, 5, 6, 8, 9, 9, 12, 15, 20]
# Where each summer client puts their energy (the check-in's choice question).
SUMMER_FOCUS = ["sales"] * 5 + ["product"] * 3 + ["operations"] * 2
# How many of the summer cohort (the first N) answer each week's check-in.
SUMMER_ANSWERING = {1: 10, 2: 10, 3: 10, 4: 10, 5: 10, 6: 7, 7: 4, 8: 4, 9: 4, 10: 4}
# Confidence per summer client (1-based) and week, where it is not 6.
SUMMER_CONFIDENCE = {
    (1, 6): 9, (1, 7): 9, (1, 8): 9, (1, 9): 9, (1, 10): 9,
    (2, 8): 8, (2, 9): 8, (2, 10): 8,
    (5, 1): 4, (5, 2): 4,
    (6, 3): 3, (6, 4): 3, (6, 5): 4, (6, 6): 4,
    (7, 5): 4, (7, 6): 4,
}


def checkin_due(enrolled: datetime, week: int) -> datetime:
    """Monday 09:00 of the client's program week."""
    return enrolled + (week - 1) * WEEK + H


def answered_at(enrolled: datetime, week: int, after: float = 2) -> datetime:
    return checkin_due(enrolled, week) + after * H


def _spring(h: History) -> list[int]:
    ids = [h.client(f"Spring {n}", enrolled=SPRING, baseline=5,
                    intake={"hours_per_week": hours, "goal": "grow"})
           for n, hours in enumerate(SPRING_HOURS, start=1)]
    for n, e in enumerate(ids, start=1):
        h.send(e, "onboarding_message", SPRING + 26 * H)
        for week in range(1, 13):
            due = checkin_due(SPRING, week)
            if n == 6 and week >= 8:
                h.send(e, "weekly_checkin", due, reminders=2, missed=True)
                continue
            if n == 1 and week == 3:
                h.send(e, "weekly_checkin", due, ahead=True)
            else:
                h.send(e, "weekly_checkin", due, answered_after=2)
            confidence = 4 if n == 6 and week in (6, 7) else 7 if week >= 2 else 6
            h.value(e, "confidence", confidence, answered_at(SPRING, week))
            h.value(e, "revenue", 1000, answered_at(SPRING, week))
        # Q3: the final review (two never answer it) and graduation.
        review_due = datetime(2026, 7, 6, 10, 0, tzinfo=UTC)
        if n >= 5:
            h.send(e, "final_review", review_due, reminders=2, missed=True)
        else:
            h.send(e, "final_review", review_due, answered_after=5)
        h.send(e, "graduation", datetime(2026, 7, 13, 10, 0, tzinfo=UTC))
    h.fire(ids[5], "low_confidence", answered_at(SPRING, 7), escalated=True,
           acknowledged_after=10, evidence={"metric": "confidence", "values": [4, 4]})
    return ids


def _summer(h: History) -> list[int]:
    ids = [h.client(f"Summer {n}", enrolled=SUMMER, baseline=5,
                    intake={"hours_per_week": hours, "goal": "grow"})
           for n, hours in enumerate(SUMMER_HOURS, start=1)]
    for n, e in enumerate(ids, start=1):
        h.send(e, "onboarding_message", SUMMER + 26 * H)
        # Week 4 of the active stage: five weeks after enrolment; two sent late.
        h.send(e, "plateau_check", SUMMER + 4 * WEEK + 4 * H,
               late=2 * H if n >= 9 else timedelta(0))
        h.send(e, "midpoint_milestone", SUMMER + 6 * WEEK + 4 * H)
        for week in range(1, 11):
            due = checkin_due(SUMMER, week)
            late = timedelta(minutes=30) if n == 10 and week <= 4 else timedelta(0)
            if n > SUMMER_ANSWERING[week]:
                h.send(e, "weekly_checkin", due, late=late, reminders=2, missed=True)
                continue
            # Client 1 answers the first three weeks late, after a reminder.
            slow = n == 1 and week <= 3
            conv = h.send(e, "weekly_checkin", due, late=late,
                          answered_after=30 if slow else 2, reminders=1 if slow else 0)
            at = due + late + (30 if slow else 2) * H
            h.answers(e, conv, {"focus": SUMMER_FOCUS[n - 1]}, at)
            h.value(e, "confidence", SUMMER_CONFIDENCE.get((n, week), 6), at)
            h.value(e, "revenue", 1000 + 100 * week, at)
            h.value(e, "outreach_done", 1, at)
        h.value(e, "response_rate", 0.5, SUMMER + 10 * WEEK)
    # Session prep for clients 1-8: answered after 2, 3, 5, 19, 21, 23 h; two missed.
    for n, after in enumerate([2, 3, 5, 19, 21, 23, None, None], start=1):
        due = datetime(2026, 8, 3, 14, 0, tzinfo=UTC) + n * timedelta(days=1)
        if after is None:
            h.send(ids[n - 1], "session_prep", due, reminders=1, missed=True)
        else:
            h.send(ids[n - 1], "session_prep", due, answered_after=after,
                   reminders=1 if after > 6 else 0)
    c = {n: ids[n - 1] for n in range(1, 11)}
    h.fire(c[5], "low_confidence", answered_at(SUMMER, 2), escalated=True,
           acknowledged_after=2, evidence={"metric": "confidence", "values": [4, 4]})
    h.fire(c[6], "low_confidence", answered_at(SUMMER, 4), escalated=True,
           acknowledged_after=30, evidence={"metric": "confidence", "values": [3, 3]})
    h.fire(c[7], "low_confidence", answered_at(SUMMER, 6), escalated=True,
           evidence={"metric": "confidence", "values": [4, 4]})
    h.fire(c[1], "confidence_up", answered_at(SUMMER, 6))
    h.fire(c[2], "confidence_up", answered_at(SUMMER, 8))
    h.fire(c[2], "revenue_plateau", answered_at(SUMMER, 6),
           evidence={"metric": "revenue", "values": [1600, 1600, 1600, 1600]})
    h.fire(c[3], "revenue_plateau", answered_at(SUMMER, 10),
           evidence={"metric": "revenue", "values": [2000, 2000, 2000, 2000]})
    h.fire(c[10], "gone_quiet", answered_at(SUMMER, 5) + timedelta(days=10), escalated=True,
           acknowledged_after=5)
    for days in (7, 10, 14):
        h.value(c[10], "days_since_reply", days, answered_at(SUMMER, 5) + timedelta(days=days))
    return ids


def seed(db_url: str) -> str:
    """Write both cohorts into the database at `db_url`."""
    program = load_file(SAMPLE).program
    engine = make_engine(db_url)
    with session(engine) as s, s.begin():
        h = History(s, program)
        _spring(h)
        _summer(h)
    engine.dispose()
    return db_url


@pytest.fixture
def seeded(db_url: str) -> str:
    """Both cohorts, on SQLite and on PostgreSQL."""
    return seed(db_url)


@pytest.fixture
def seeded_sqlite(sqlite_url: str) -> str:
    """Both cohorts on SQLite: for what does not depend on the database."""
    return seed(sqlite_url)


def coachbot(db_url: str, *args: str, columns: int = 80, program: Path = SAMPLE,
             env: dict[str, str] | None = None):
    """Run `coachbot ARGS` against `db_url` in a terminal `columns` wide."""
    environment = {"COACHBOT_DATABASE_URL": db_url, "COACHBOT_PROGRAM": str(program),
                   "COLUMNS": str(columns), "COACHBOT_TELEGRAM_TOKEN": "",
                   "COACHBOT_SLACK_BOT_TOKEN": "", "COACHBOT_SLACK_TEAM_CHANNEL": "",
                   **(env or {})}
    return CliRunner().invoke(cli_app, list(args), env=environment, catch_exceptions=False)
