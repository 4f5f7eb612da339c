"""What each enrolment's touchpoints were planned from, and which enrolments need replanning.

The inputs of a plan (program version, zone, quiet hours, stage, status, check-in slot) are
kept beside it; an enrolment whose inputs differ from its stored ones, or that has none,
is stale. Comparing columns in SQL finds them in one query, whatever changed them (a
/schedule command, a coach moving a client's zone, a new program file).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from storage.models import CoachingSession, Enrolment, Person, TouchpointPlan
from storage.models import Program as ProgramRow

# Graduated clients keep the touchpoints of the last stage (graduation, alumni news).
PLANNED_STATUSES = ("consent", "active", "paused", "graduated")


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
                        col(Enrolment.status).in_(PLANNED_STATUSES)),
                   and_(col(plan.enrolment_id).is_not(None), changed)))
        .order_by(col(Enrolment.id))
        .limit(limit)
        # Several workers sweep at once: each takes enrolments no other one is replanning.
        .with_for_update(of=Enrolment, skip_locked=True))  # type: ignore[arg-type]
    return [row for row in session.exec(query) if row is not None]


def plan_state(session: Session, enrolment_id: int) -> TouchpointPlan | None:
    """The inputs an enrolment was last planned from, if it was planned."""
    return session.get(TouchpointPlan, enrolment_id)


def save_plan_state(session: Session, *, enrolment: Enrolment, person: Person,
                    checksum: str, now: datetime) -> None:
    """Record the inputs just planned from, so the enrolment is not stale any more."""
    state = session.get(TouchpointPlan, enrolment.id) or TouchpointPlan(
        enrolment_id=enrolment.id or 0, program_checksum="", timezone="", stage="",
        stage_started_at=now, status="", checkin_day="", checkin_time="", planned_at=now)
    state.program_checksum = checksum
    state.timezone = person.timezone
    state.quiet_start = person.quiet_start
    state.quiet_end = person.quiet_end
    state.stage = enrolment.stage
    state.stage_started_at = enrolment.stage_started_at
    state.status = enrolment.status
    state.checkin_day = enrolment.checkin_day
    state.checkin_time = enrolment.checkin_time
    state.planned_at = now
    session.add(state)
    session.flush()


def program_checksum(session: Session, program_id: str) -> str:
    """The checksum of the program file as last loaded."""
    row = session.get(ProgramRow, program_id)
    return row.checksum if row else ""


def add_session(session: Session, *, enrolment_id: int, at: datetime,
                now: datetime) -> CoachingSession:
    """Book a coaching session (its prep and follow-up are planned from it)."""
    booked = CoachingSession(enrolment_id=enrolment_id, at=at, created_at=now)
    session.add(booked)
    session.flush()
    return booked


def sessions_of(session: Session, enrolment_id: int) -> list[datetime]:
    """The times of an enrolment's sessions that are not cancelled, in order."""
    return list(session.exec(
        select(CoachingSession.at).where(CoachingSession.enrolment_id == enrolment_id,
                                         col(CoachingSession.cancelled_at).is_(None))
        .order_by(col(CoachingSession.at))))
