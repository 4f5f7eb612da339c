"""What each enrolment's touchpoints were planned from, and which enrolments need planning.

An enrolment is due for planning when its `replan_at` has come: an input changed (stamped
by storage/plan_changes.py) or its stored rows run short of the horizon. Finding them reads
the index on that column, so the sweep costs what changed or is about to fall due.

The inputs of each plan (program version, zone, quiet hours, stage, status, check-in slot)
are kept beside it too: `drifted_enrolments` compares them with the current ones in one
query over every enrolment, a daily backstop for a change made outside the ORM (by hand
in SQL, say).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, insert, or_, update
from sqlmodel import Session, col, select

from conversations.journey import PLANNED
from storage.models import CoachingSession, Enrolment, Person, TouchpointPlan
from storage.models import Program as ProgramRow


def due_for_planning(session: Session, *, now: datetime,
                     limit: int = 200) -> list[tuple[int, str]]:
    """(id, program id) of enrolments whose plan is due at `now`, the most overdue first
    (changed ones first of all). A range of the index on `replan_at`: no other condition,
    so the database cannot prefer a scan of a program's every enrolment."""
    query = (
        select(Enrolment.id, Enrolment.program_id)
        .where(col(Enrolment.replan_at) <= now)
        .order_by(col(Enrolment.replan_at), col(Enrolment.id))
        .limit(limit)
        # Several workers sweep at once: each takes enrolments no other one is planning.
        .with_for_update(skip_locked=True))
    return [(i or 0, program_id) for i, program_id in session.exec(query)]


def postpone(session: Session, enrolment_ids: list[int], *, until: datetime) -> None:
    """Look at these enrolments' plans again at `until` (their program is not loaded here)."""
    if enrolment_ids:
        session.execute(update(Enrolment).where(col(Enrolment.id).in_(enrolment_ids))
                        .values(replan_at=until)
                        .execution_options(synchronize_session=False))


def planned_ids(session: Session) -> list[int]:
    """Ids of every enrolment whose touchpoints are planned (a summary's whole-plan count)."""
    return [i or 0 for i in session.exec(select(Enrolment.id).where(
        col(Enrolment.status).in_(PLANNED)).order_by(col(Enrolment.id)))]


def next_planning(session: Session) -> datetime | None:
    """When the next enrolment is due for planning (a simulation jumps there)."""
    return session.exec(select(func.min(Enrolment.replan_at))).one()


def drifted_enrolments(session: Session, *, limit: int = 200) -> list[int]:
    """Ids of enrolments whose stored plan inputs differ from their current ones (or that
    have none yet), oldest first: a full comparison, for the daily backstop."""
    plan = TouchpointPlan
    changed = or_(
        col(plan.program_checksum).is_distinct_from(ProgramRow.checksum),
        col(plan.timezone).is_distinct_from(Person.timezone),
        col(plan.quiet_start).is_distinct_from(Person.quiet_start),
        col(plan.quiet_end).is_distinct_from(Person.quiet_end),
        col(plan.stage).is_distinct_from(Enrolment.stage),
        col(plan.stage_started_at).is_distinct_from(Enrolment.stage_started_at),
        col(plan.status).is_distinct_from(Enrolment.status),
        col(plan.checkin_day).is_distinct_from(Enrolment.checkin_day),
        col(plan.checkin_time).is_distinct_from(Enrolment.checkin_time),
    )
    query = (
        select(Enrolment.id)
        .join(Person, col(Person.id) == Enrolment.person_id)
        .join(ProgramRow, col(ProgramRow.id) == Enrolment.program_id)
        .outerjoin(plan, col(plan.enrolment_id) == Enrolment.id)
        .where(or_(and_(col(plan.enrolment_id).is_(None),
                        col(Enrolment.status).in_(PLANNED)),
                   and_(col(plan.enrolment_id).is_not(None), changed)))
        .order_by(col(Enrolment.id))
        .limit(limit)
        # Several workers sweep at once: each takes enrolments no other one is replanning.
        .with_for_update(of=Enrolment, skip_locked=True))  # type: ignore[arg-type]
    return [row for row in session.exec(query) if row is not None]


def planning_inputs(session: Session, enrolment_ids: list[int],
                    ) -> list[tuple[Enrolment, Person, TouchpointPlan | None]]:
    """Enrolments (locked, as replanning one does), their people and stored plan inputs,
    in one query, in id order."""
    if not enrolment_ids:
        return []
    query = (select(Enrolment, Person, TouchpointPlan)
             .join(Person, col(Person.id) == Enrolment.person_id)
             .outerjoin(TouchpointPlan, col(TouchpointPlan.enrolment_id) == Enrolment.id)
             .where(col(Enrolment.id).in_(enrolment_ids))
             .order_by(col(Enrolment.id))
             .with_for_update(of=Enrolment))  # type: ignore[arg-type]
    return [(e, p, t) for e, p, t in session.exec(query)]  # type: ignore[misc]


def save_plan_states(session: Session, planned: list[tuple[Enrolment, Person,
                                                           TouchpointPlan | None, str,
                                                           datetime | None]],
                     *, now: datetime) -> None:
    """Record what many enrolments were planned from and when each must be planned again
    (enrolment, person, stored state or None, checksum, replan at): new states in one
    multi-row INSERT, changed ones flushed together."""
    fresh = []
    for enrolment, person, state, checksum, replan_at in planned:
        enrolment.replan_at = replan_at
        session.add(enrolment)
        values = {"program_checksum": checksum, "timezone": person.timezone,
                  "quiet_start": person.quiet_start, "quiet_end": person.quiet_end,
                  "stage": enrolment.stage, "stage_started_at": enrolment.stage_started_at,
                  "status": enrolment.status, "checkin_day": enrolment.checkin_day,
                  "checkin_time": enrolment.checkin_time, "planned_at": now}
        if state is None:
            fresh.append({"enrolment_id": enrolment.id or 0, **values})
        else:
            for name, value in values.items():
                setattr(state, name, value)
            session.add(state)
    if fresh:
        session.execute(insert(TouchpointPlan.__table__), fresh)  # type: ignore[attr-defined]
    session.flush()


def program_checksums(session: Session, program_ids: set[str]) -> dict[str, str]:
    """The checksums of several program files as last loaded (missing ones: "")."""
    found = dict.fromkeys(program_ids, "")
    if program_ids:
        for program_id, checksum in session.exec(
                select(ProgramRow.id, ProgramRow.checksum)
                .where(col(ProgramRow.id).in_(program_ids))):
            found[program_id] = checksum
    return found


def sessions_of_many(session: Session, enrolment_ids: list[int]) -> dict[int, list[datetime]]:
    """`sessions_of` for many enrolments in one query."""
    found: dict[int, list[datetime]] = {i: [] for i in enrolment_ids}
    if enrolment_ids:
        for enrolment_id, at in session.exec(
                select(CoachingSession.enrolment_id, CoachingSession.at)
                .where(col(CoachingSession.enrolment_id).in_(enrolment_ids),
                       col(CoachingSession.cancelled_at).is_(None))
                .order_by(col(CoachingSession.at))):
            found.setdefault(enrolment_id, []).append(at)
    return found


def add_session(session: Session, *, enrolment_id: int, at: datetime,
                now: datetime) -> CoachingSession:
    """Book a coaching session (its prep and follow-up are planned from it)."""
    booked = CoachingSession(enrolment_id=enrolment_id, at=at, created_at=now)
    session.add(booked)
    session.flush()
    return booked


