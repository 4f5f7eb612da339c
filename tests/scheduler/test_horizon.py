"""A client holds the next days of the journey, not all of it; what changed is found by
index; due rows run in batches, and a bad row costs only itself."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, text

from scheduler.replanning import HORIZON, REPLAN_LEAD, wanted
from services.delivery import drain
from services.touchpoints import TouchpointRunner, TouchpointSender
from storage import plans
from storage.db import session
from storage.models import Enrolment, Person
from tests.scheduler.conftest import move_zone, onboarded, rows

PLANNED = ("send", "stage")


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: planning is the same on both (the scheduler tests run both)."""
    return sqlite_url


def whole_journey(app, enrolment_id: int, now: datetime) -> dict[tuple[str, str], datetime]:
    """Every occurrence of the client's journey, computed from the program at once."""
    with session(app.db) as s:
        enrolment = s.get(Enrolment, enrolment_id)
        person = s.get(Person, enrolment.person_id)
        found = wanted(app.programs["business_12w"].program, enrolment, person, (), now)
    return {key: due for key, (due, _) in found.items()}


def stored(app) -> dict[tuple[str, str], datetime]:
    return {(r.touchpoint_id, r.occurrence): r.due_at for r in rows(app) if r.kind in PLANNED}


def test_the_journey_is_stored_a_few_days_ahead_and_lands_where_the_whole_plan_said(
        app, enrol, clock, travel):
    client = onboarded(enrol)
    whole = whole_journey(app, client.enrolled.enrolment_id, clock.now())
    travel(timedelta(0))
    ahead = stored(app)
    assert max(ahead.values()) < clock.now() + HORIZON
    assert len(ahead) < len(whole) / 3  # a few rows, not the twelve weeks
    # Sixteen weeks on, through every stage to the alumni: each occurrence was planned
    # when it came near, at the time the whole plan gave it.
    travel(timedelta(weeks=16), step=timedelta(days=1))
    assert stored(app) == {k: due for k, due in whole.items()
                           if due < clock.now() + REPLAN_LEAD}


def test_a_changed_zone_is_found_by_index_and_an_unchanged_client_costs_nothing(
        app, enrol, clock, runner):
    ana = onboarded(enrol)
    onboarded(enrol, "Ben Ode")  # unchanged: never read
    runner.tick(clock.now())
    statements: list[tuple[str, object]] = []

    def seen(_conn, _cursor, statement, parameters, _context, _many) -> None:
        statements.append((statement, parameters))

    with session(app.db) as s:
        assert plans.due_for_planning(s, now=clock.now()) == []
    move_zone(app, ana, "Asia/Kolkata")
    event.listen(app.db, "before_cursor_execute", seen)
    try:
        with session(app.db) as s:
            due = plans.due_for_planning(s, now=clock.now())
    finally:
        event.remove(app.db, "before_cursor_execute", seen)
    assert due == [(ana.enrolled.enrolment_id, "business_12w")]
    statement, parameters = statements[-1]
    with app.db.connect() as c:
        how = " ".join(str(row[-1]) for row in c.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", parameters))
    assert "ix_enrolment_replan_at" in how  # a range of the index, not every enrolment
    runner.tick(clock.now() + timedelta(minutes=1))
    with session(app.db) as s:
        assert plans.due_for_planning(s, now=clock.now()) == []


def test_a_change_made_by_hand_in_sql_is_caught_by_the_daily_comparison(app, enrol, clock,
                                                                        runner):
    ana = onboarded(enrol)
    runner.tick(clock.now())
    with app.db.begin() as c:  # outside the ORM: nothing stamps the enrolment
        c.execute(text("UPDATE enrolment SET checkin_day = 'tue'"))
    later = clock.now() + timedelta(days=1)
    assert runner.tick(later).replanned == 1
    week = [r for r in rows(app, "weekly_checkin") if r.status == "planned" and r.kind == "send"]
    assert [f"{r.due_at:%a}" for r in week] == ["Tue"]
    assert ana.enrolled is not None


def test_a_row_that_fails_in_a_batch_costs_only_itself(app, enrol, clock):
    clients = [onboarded(enrol, name) for name in ("Ana Lima", "Ben Ode", "Cleo Park")]
    broken = clients[1].enrolled.enrolment_id
    real = TouchpointSender(app.rt)

    def deliver(uow, due):
        if due.enrolment_id == broken:
            raise RuntimeError("a bad row")
        return real(uow, due)

    report = TouchpointRunner(app.rt, deliver, worker="w").tick(clock.now())
    assert report.errors == 1 and report.claimed == 3
    checkins = {r.enrolment_id: r for r in rows(app, "weekly_checkin") if r.kind == "send"
                and r.occurrence == "2026-W10"}
    assert checkins[broken].status == "planned"  # handed back, tried again after a backoff
    assert {r.status for e, r in checkins.items() if e != broken} == {"done"}
    inbox: dict[str, list[str]] = {}
    while drain(app.rt, "test", lambda address, reply: inbox.setdefault(
            address, []).append(reply.text) or f"m{len(inbox[address])}"):
        pass
    week_one = "Week 1 check-in. Five quick questions."
    assert [sum(t.startswith(week_one) for t in inbox.get(c.address, []))
            for c in clients] == [1, 0, 1]
