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

import json
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import and_, bindparam, func, or_, text, update
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from conversations.journey import PLANNED
from storage.models import CoachingSession, Enrolment, Person, TouchpointPlan
from storage.models import Program as ProgramRow
from storage.types import json_time

# A plan keeps the start of its program version's checksum, not all 64 characters: 64 bits
# tell versions of one program apart, and every enrolment stores one.
PLAN_CHECKSUM_LENGTH = 16


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
    # IS NOT NULL, as min() ignores them anyway: the condition of the partial index.
    return session.exec(select(func.min(Enrolment.replan_at))
                        .where(col(Enrolment.replan_at).is_not(None))).one()


def drifted_enrolments(session: Session, *, limit: int = 200) -> list[int]:
    """Ids of enrolments whose stored plan inputs differ from their current ones (or that
    have none yet), oldest first: a full comparison, for the daily backstop."""
    plan = TouchpointPlan
    changed = or_(
        col(plan.program_checksum).is_distinct_from(
            func.substr(ProgramRow.checksum, 1, PLAN_CHECKSUM_LENGTH)),
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


@dataclass(frozen=True, slots=True)
class PlanEnrolment:
    """What planning reads of an enrolment (a plain row, not an ORM object: loading and
    flushing thousands of those was most of a sweep's database time)."""

    id: int
    person_id: int
    program_id: str
    variant: str | None
    stage: str
    stage_started_at: datetime
    status: str
    checkin_day: str
    checkin_time: str
    enrolled_at: datetime
    joined_at: datetime | None


@dataclass(frozen=True, slots=True)
class PlanPerson:
    """What planning reads of a person: their zone and own quiet hours."""

    timezone: str
    quiet_start: str | None
    quiet_end: str | None


@dataclass(frozen=True, slots=True)
class PlanState:
    """The stored plan of an enrolment: when it was made."""

    planned_at: datetime


_E = Enrolment.__table__  # type: ignore[attr-defined]
_P = Person.__table__  # type: ignore[attr-defined]
_T = TouchpointPlan.__table__  # type: ignore[attr-defined]
_ENROLMENT_COLUMNS = [f.name for f in fields(PlanEnrolment)]


def planning_inputs(session: Session, enrolment_ids: list[int],
                    ) -> list[tuple[PlanEnrolment, PlanPerson, PlanState | None]]:
    """Enrolments (locked, as replanning one does), their people and stored plans, in one
    query, in id order. Pending ORM changes are flushed first, so they are what is read."""
    if not enrolment_ids:
        return []
    session.flush()
    query = (select(*[_E.c[name] for name in _ENROLMENT_COLUMNS], _P.c.timezone,
                    _P.c.quiet_start, _P.c.quiet_end, _T.c.planned_at)
             .join_from(_E, _P, _P.c.id == _E.c.person_id)
             .outerjoin(_T, _T.c.enrolment_id == _E.c.id)
             .where(_E.c.id.in_(enrolment_ids))
             .order_by(_E.c.id)
             .with_for_update(of=_E))
    width = len(_ENROLMENT_COLUMNS)
    found = []
    for row in session.connection().execute(query):
        planned_at = row[width + 3]
        found.append((PlanEnrolment(*row[:width]), PlanPerson(*row[width:width + 3]),
                      PlanState(planned_at) if planned_at is not None else None))
    return found


_STATE_COLUMNS = ("program_checksum", "timezone", "quiet_start", "quiet_end", "stage",
                  "stage_started_at", "status", "checkin_day", "checkin_time")
_STATE_INTO = (f"INSERT INTO touchpoint_plan (enrolment_id, {', '.join(_STATE_COLUMNS)}, "
               "planned_at) ")
_STATE_CONFLICT = (" ON CONFLICT (enrolment_id) DO UPDATE SET "
                   + ", ".join(f"{c} = excluded.{c}" for c in (*_STATE_COLUMNS, "planned_at")))
_PLANNED_AT = bindparam("planned_at", type_=_T.c.planned_at.type)
# Each statement takes all its rows as one parameter, a JSON array, as touchpoint rows go in:
# with an executemany, SQLAlchemy's work per row and parameter cost more than the database's.
_PG_STATES = text(
    _STATE_INTO + "SELECT CAST(r ->> 0 AS INTEGER), "
    + ", ".join(f"CAST(r ->> {i} AS TIMESTAMPTZ)" if column == "stage_started_at"
                else f"r ->> {i}" for i, column in enumerate(_STATE_COLUMNS, start=1))
    + ", :planned_at FROM json_array_elements(CAST(:rows AS JSON)) AS j(r)"
    + _STATE_CONFLICT).bindparams(_PLANNED_AT)
# WHERE true: SQLite needs it to read ON CONFLICT after INSERT ... SELECT as the upsert.
_SQLITE_STATES = text(
    _STATE_INTO + "SELECT "
    + ", ".join(f"value ->> {i}" for i in range(len(_STATE_COLUMNS) + 1))
    + ", :planned_at FROM json_each(:rows) WHERE true" + _STATE_CONFLICT).bindparams(_PLANNED_AT)
_PG_REPLAN = text(
    "UPDATE enrolment SET replan_at = CAST(j.r ->> 1 AS TIMESTAMPTZ) "
    "FROM json_array_elements(CAST(:rows AS JSON)) AS j(r) "
    "WHERE enrolment.id = CAST(j.r ->> 0 AS INTEGER)")
_SQLITE_REPLAN = text(
    "UPDATE enrolment SET replan_at = j.value ->> 1 FROM json_each(:rows) AS j "
    "WHERE enrolment.id = j.value ->> 0")


def save_plan_states(session: Session, planned: list[tuple[PlanEnrolment, PlanPerson,
                                                           PlanState | None, str,
                                                           datetime | None]],
                     *, now: datetime) -> None:
    """Record what many enrolments were planned from and when each must be planned again
    (enrolment, person, stored state or None, checksum, replan at): two statements (the
    plan inputs, new or changed, and the enrolments' `replan_at`), no ORM flush."""
    if not planned:
        return
    states = [(e.id, checksum, p.timezone, p.quiet_start, p.quiet_end, e.stage,
               e.stage_started_at, e.status, e.checkin_day, e.checkin_time)
              for e, p, _, checksum, _ in planned]
    replans = [(e.id, replan_at) for e, _, _, _, replan_at in planned]
    connection = session.connection()
    dialect = connection.dialect
    postgresql = dialect.name == "postgresql"
    started = json_time(_T.c.stage_started_at.type, dialect)
    replan = json_time(_E.c.replan_at.type, dialect)
    connection.execute(_PG_STATES if postgresql else _SQLITE_STATES, {
        "planned_at": now,
        "rows": json.dumps([(*row[:6], started(row[6]), *row[7:]) for row in states])})
    connection.execute(_PG_REPLAN if postgresql else _SQLITE_REPLAN, {
        "rows": json.dumps([(e, replan(r)) for e, r in replans])})
    _expire_loaded(session, [e.id for e, _, _, _, _ in planned])


def _expire_loaded(session: Session, enrolment_ids: list[int]) -> None:
    """Objects of these enrolments the session holds are read again when next used: the
    statements above went around the ORM."""
    identity_map = session.identity_map
    for enrolment_id in enrolment_ids:
        loaded = identity_map.get(identity_key(Enrolment, enrolment_id))
        if loaded is not None:
            session.expire(loaded, ["replan_at"])
        state = identity_map.get(identity_key(TouchpointPlan, enrolment_id))
        if state is not None:
            session.expire(state)


def program_checksums(session: Session, program_ids: set[str]) -> dict[str, str]:
    """The checksums of several program files as last loaded, as a plan stores them (the
    first PLAN_CHECKSUM_LENGTH characters; missing ones: "")."""
    found = dict.fromkeys(program_ids, "")
    if program_ids:
        for program_id, checksum in session.exec(
                select(ProgramRow.id, ProgramRow.checksum)
                .where(col(ProgramRow.id).in_(program_ids))):
            found[program_id] = checksum[:PLAN_CHECKSUM_LENGTH]
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


