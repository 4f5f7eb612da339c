"""`coachbot report` on a seeded dataset whose figures are worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli_app
from storage.db import make_engine, session
from storage.models import (
    Conversation,
    Enrolment,
    Escalation,
    MetricValue,
    Person,
    PlannedTouchpoint,
    RuleFiring,
)
from tests.conftest import SAMPLE

H = timedelta(hours=1)


def _client(s, n: int, *, enrolled: str, status: str, checkins: dict[str, int],
            flows: dict[str, int], confidence: tuple[float, float],
            firings: tuple[str, ...] = (), escalations: tuple[tuple[float | None, int], ...] = ()
            ) -> None:
    """One enrolment with its check-in rows, conversations, confidence values, firings and
    escalations (hours to acknowledge or None, SLA hours)."""
    at = datetime.fromisoformat(enrolled).replace(tzinfo=UTC)
    person = Person(name=f"Client {n}", role="client", timezone="UTC", created_at=at)
    s.add(person)
    s.flush()
    e = Enrolment(person_id=person.id, program_id="business_12w", stage="active", status=status,
                  checkin_day="mon", checkin_time="09:00", enrolled_at=at, stage_started_at=at)
    s.add(e)
    s.flush()
    week = 0
    for status_reason, count in checkins.items():
        status_, _, reason = status_reason.partition(":")
        for _ in range(count):
            week += 1
            s.add(PlannedTouchpoint(enrolment_id=e.id, touchpoint_id="weekly_checkin",
                                    occurrence=f"w{week}", due_at=at + timedelta(weeks=week),
                                    status=status_, reason=reason or None, kind="send"))
    for outcome, count in flows.items():
        for _ in range(count):
            s.add(Conversation(enrolment_id=e.id, flow_id="weekly_checkin", state={},
                               started_at=at, updated_at=at, closed_at=at, outcome=outcome))
    base, latest = confidence
    s.add(MetricValue(enrolment_id=e.id, metric_id="confidence.baseline", value=base, at=at))
    for k, value in enumerate((base + 1, latest)):
        s.add(MetricValue(enrolment_id=e.id, metric_id="confidence", value=value,
                          at=at + timedelta(weeks=k + 1)))
    for rule in firings:
        s.add(RuleFiring(enrolment_id=e.id, rule_id=rule, values={}, fired_at=at))
    for acked, sla in escalations:
        s.add(Escalation(enrolment_id=e.id, reason="r", owner_role="team", opened_at=at,
                         sla_due_at=at + sla * H,
                         acknowledged_at=at + acked * H if acked is not None else None))


@pytest.fixture
def seeded(db_url: str) -> str:
    engine = make_engine(db_url)
    with session(engine) as s, s.begin():
        _client(s, 1, enrolled="2026-01-05T10:00", status="active",
                checkins={"done": 3, "missed": 1}, flows={"completed": 3, "missed": 1},
                confidence=(5, 8), firings=("confidence_up",), escalations=((2, 24),))
        _client(s, 2, enrolled="2026-01-20T10:00", status="paused",
                checkins={"done": 2, "missed": 2}, flows={"completed": 2, "missed": 2},
                confidence=(6, 5), escalations=((30, 24),))
        _client(s, 3, enrolled="2026-01-31T23:59", status="dropped",
                checkins={"missed": 4}, flows={"missed": 4}, confidence=(4, 4),
                escalations=((None, 4),))
        _client(s, 4, enrolled="2026-02-01T00:00", status="graduated",
                checkins={"done": 4, "skipped:answered": 1, "skipped:paused": 1},
                flows={"completed": 5}, confidence=(3, 9),
                firings=("confidence_up", "low_confidence"))
        _client(s, 5, enrolled="2026-04-01T00:00", status="active", checkins={"done": 1},
                flows={"completed": 1}, confidence=(5, 5))
    engine.dispose()
    return db_url


def report(db_url: str, *args: str):
    env = {"COACHBOT_DATABASE_URL": db_url, "COACHBOT_PROGRAM": str(SAMPLE),
           "COLUMNS": "320", "COACHBOT_TELEGRAM_TOKEN": "", "COACHBOT_SLACK_BOT_TOKEN": ""}
    return CliRunner().invoke(cli_app, ["report", *args], env=env, catch_exceptions=False)


def test_report_per_cohort_with_figures_known_in_advance(seeded):
    result = report(seeded, "--from", "2026-01-01", "--to", "2026-03-31", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "program,cohort,enrolled,active,paused,graduated,dropped,check-in response,"
        "flow completion,milestones,outcome metric,outcome change median,outcome change q1,"
        "outcome change q3,escalations,median hours to acknowledge,acknowledged within SLA,"
        "next step offered,next step taken",
        # 5 of 12 check-ins answered; changes -1, 0, +3; acknowledged after 2 h and 30 h.
        "business_12w,2026-01,3,1,1,0,1,41.7%,41.7%,1,confidence,+0,-0.5,+1.5,3,16.0,33.3%,"
        "0,0",
        # The check-in answered ahead counts, the one skipped on a pause does not.
        "business_12w,2026-02,1,0,0,1,0,100.0%,100.0%,1,confidence,+6,+6,+6,0,-,-,0,0",
        "business_12w,all,4,1,1,1,1,58.8%,58.8%,2,confidence,+1.5,-0.25,+3.75,3,16.0,33.3%,"
        "0,0",
    ]


def test_html_report_is_one_self_contained_file_with_charts(seeded, tmp_path: Path):
    out = tmp_path / "report.html"
    result = report(seeded, "--format", "html", "--out", str(out))
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.startswith("<!doctype html>") and page.count("<svg") == 3
    assert "src=" not in page and "href=" not in page.replace('xlink:href="#', "")
    assert "<td>2026-04</td>" in page


def test_terminal_table_and_an_empty_range(seeded):
    table = report(seeded, "--program", "business_12w")
    assert "2026-01" in table.output and "41.7%" in table.output
    empty = report(seeded, "--from", "2025-01-01", "--to", "2025-12-31")
    assert empty.exit_code == 0
    assert "No enrolments enrolled 2025-01-01 to 2025-12-31: nothing to report." in empty.output


@pytest.mark.parametrize(("args", "message"), [
    (("--from", "2026-13-01"), "--from '2026-13-01' is not a date like 2026-03-31"),
    (("--to", "31/03/2026"), "--to '31/03/2026' is not a date like 2026-03-31"),
    (("--from", "20260301"), "--from '20260301' is not a date"),
    (("--from", "2026-03-02", "--to", "2026-03-01"), "--to 2026-03-01 is before --from"),
    (("--format", "pdf"), "--format is table, csv or html"),
])
def test_bad_dates_are_refused_with_a_clear_message(seeded, args, message):
    result = report(seeded, *args)
    assert result.exit_code == 2
    assert message in result.output
