"""What each enrolment's touchpoints were planned from, and which enrolments need replanning.

The inputs of a plan (program version, zone, quiet hours, stage, status, check-in slot) are
kept beside it; an enrolment whose inputs differ from its stored ones, or that has none,
is stale. Comparing columns in SQL finds them in one query, whatever changed them (a
/schedule command, a coach moving a client's zone, a new program file).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, insert, or_
from sqlmodel import Session, col, select

from conversations.journey import PLANNED
from storage.models import CoachingSession, Enrolment, Person, TouchpointPlan
from storage.models import Program as ProgramRow


def stale_enrolments(session: Session, *, limit: int = 200) -> list[int]:
    """Ids of enrolments whose touchpoints must be (re)planned, oldest first."""
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
                                                           TouchpointPlan | None, str]],
                     *, now: datetime) -> None:
    """`save_plan_state` for many enrolments (enrolment, person, stored state or None,
    checksum): new states in one multi-row INSERT, changed ones flushed together."""
    fresh = []
    for enrolment, person, state, checksum in planned:
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


