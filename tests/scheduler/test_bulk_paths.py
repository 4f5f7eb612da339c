"""The bulk paths decide what the one-at-a-time paths decide: planning a batch of
enrolments gives each the plan it gets alone (whatever the shared calendar caches hold),
and a batch of due rows plans each client's reminder as running them one by one does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from scheduler import occurrences
from scheduler.replanning import checkin_slot, replan, replan_due
from services.touchpoints import TouchpointRunner
from storage.db import session
from storage.models import Enrolment, Identity, Person, PlannedTouchpoint
from tests.scheduler.conftest import onboarded, rows

NOW = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
ZONES = ("Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata")
SLOTS = (("mon", "09:00"), ("sun", "22:30"), ("wed", "07:00"), ("mon", "09:00"))


def _seed(app, copies: int) -> list[list[int]]:
    """`copies` groups of the same twelve clients (zones, slots, join times, one with own
    quiet hours); the enrolment ids of each group, in the same order."""
    groups = []
    with app.db.begin() as c:
        for _ in range(copies):
            ids = []
            for i in range(12):
                joined = NOW - timedelta(days=i * 2, minutes=i * 37)
                person = c.execute(sa.insert(Person).returning(Person.id), {
                    "name": f"Client {i}", "role": "client", "timezone": ZONES[i % 4],
                    "quiet_start": "22:00" if i == 5 else None,
                    "quiet_end": "09:30" if i == 5 else None, "created_at": joined}).scalar_one()
                c.execute(sa.insert(Identity), {"person_id": person, "channel": "telegram",
                                                "address": f"{person}00"})
                day, at = SLOTS[i % 4]
                ids.append(c.execute(sa.insert(Enrolment).returning(Enrolment.id), {
                    "person_id": person, "program_id": "business_12w", "stage": "onboarding",
                    "status": "active", "checkin_day": day, "checkin_time": at,
                    "enrolled_at": joined, "stage_started_at": joined,
                    "joined_at": joined}).scalar_one())
            groups.append(ids)
    return groups


def _plan_of(app, enrolment_id: int) -> list[tuple[str, str, datetime, str]]:
    with session(app.db) as s:
        found = s.execute(sa.select(PlannedTouchpoint.touchpoint_id,
                                    PlannedTouchpoint.occurrence, PlannedTouchpoint.due_at,
                                    PlannedTouchpoint.kind)
                          .where(PlannedTouchpoint.enrolment_id == enrolment_id)
                          .order_by(PlannedTouchpoint.touchpoint_id,
                                    PlannedTouchpoint.occurrence))
        return [tuple(row) for row in found]


def test_a_batch_plans_each_enrolment_as_planning_it_alone_does(app):
    batch, alone = _seed(app, 2)
    programs = {k: v.program for k, v in app.programs.items()}
    with session(app.db) as s, s.begin():
        s.execute(sa.update(Enrolment).where(Enrolment.id.in_(alone))
                  .values(replan_at=NOW + timedelta(days=365)))
        assert replan_due(s, programs, now=NOW, limit=100) == len(batch)
    # Nothing shared from the batch: the calendar caches start empty for each one alone.
    for enrolment_id in alone:
        occurrences._SEQUENCES.clear()
        occurrences._KEYED.clear()
        with session(app.db) as s, s.begin():
            replan(s, programs["business_12w"], enrolment_id, now=NOW)
    for together, by_itself in zip(batch, alone, strict=True):
        planned = _plan_of(app, together)
        assert planned, "every client has rows ahead"
        assert planned == _plan_of(app, by_itself)
    with session(app.db) as s:
        replan_at = dict(s.execute(sa.select(Enrolment.id, Enrolment.replan_at)).all())
    assert [replan_at[i] for i in batch] == [replan_at[i] for i in alone]


@pytest.mark.parametrize("batch", [500, 1])
def test_clients_due_in_one_batch_each_get_their_reminder_planned(app, enrol, clock, batch):
    clients = [onboarded(enrol, name) for name in ("Ana Lima", "Ben Ode", "Cy Moss")]
    runner = TouchpointRunner(app.rt, worker="w", batch=batch)
    runner.tick(clock.now())
    checkins = [r for r in rows(app, "weekly_checkin") if r.kind == "send"]
    clock.set(max(r.due_at for r in checkins[:3]))
    runner.tick(clock.now())
    sent = {r.enrolment_id for r in rows(app, "weekly_checkin")
            if r.kind == "send" and r.status == "done"}
    reminded = {r.enrolment_id for r in rows(app, "weekly_checkin") if r.kind == "remind"}
    assert sent == {c.enrolled.enrolment_id for c in clients}
    assert reminded == sent


@pytest.mark.parametrize("ahead", [timedelta(days=1), timedelta(days=8), timedelta(weeks=11)])
def test_a_plan_up_to_a_horizon_is_the_start_of_the_whole_plan(app, ahead):
    program = app.programs["business_12w"].program
    for i, zone in enumerate(ZONES):
        joined = NOW - timedelta(days=i * 3, minutes=i * 41)
        day, at = SLOTS[i]
        slot = checkin_slot(Enrolment(checkin_day=day, checkin_time=at))
        inputs = {"enrolled_at": joined, "zone": zone, "stage": "onboarding",
                  "stage_started": joined, "checkin": slot, "wait_for_flows": False,
                  "checkin_chosen": True}
        until = NOW + ahead
        # Fresh caches: the part up to the horizon is computed first, as a planner does.
        occurrences._SEQUENCES.clear()
        occurrences._KEYED.clear()
        part = {(o.touchpoint.id, o.occurrence, o.due)
                for o in occurrences.plan(program, until=until, **inputs)}
        whole = {(o.touchpoint.id, o.occurrence, o.due)
                 for o in occurrences.plan(program, **inputs)}
        # The same once every fire of the journey is known (no early stop): what the
        # calendar caches hold changes nothing.
        warm = {(o.touchpoint.id, o.occurrence, o.due)
                for o in occurrences.plan(program, until=until, **inputs)}
        assert part == warm
        assert part <= whole
        assert {o for o in whole if o[2] < until} <= part
        # What comes first at or after the horizon is there: when to plan again.
        assert (min(o[2] for o in whole if o[2] >= until)
                == min(o[2] for o in part if o[2] >= until))
