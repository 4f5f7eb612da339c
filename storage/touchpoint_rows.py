"""Planned touchpoints: rows with a unique key and a due time, claimed with a lease.

Planning inserts idempotently on (enrolment, touchpoint, occurrence); workers claim due rows
(FOR UPDATE SKIP LOCKED on PostgreSQL, plus a guarded UPDATE so SQLite is safe too) and
finish them as done, skipped, missed or failed. A worker that dies leaves a lease that
expires; the next worker takes the row over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, text, update
from sqlmodel import Session, col, select

from storage.models import PLANNED_ROW, Enrolment, Person, PlannedTouchpoint
from storage.types import json_time
from storage.upsert import insert_ignore, insert_ignore_many

MAX_ATTEMPTS = 5


KEY = ["enrolment_id", "touchpoint_id", "occurrence"]


def planned_row(*, enrolment_id: int, touchpoint_id: str, occurrence: str, due_at: datetime,
                kind: str = "send", parent_id: int | None = None) -> dict[str, Any]:
    """The values of one planned occurrence, as `add` and `add_rows` insert them."""
    return {"enrolment_id": enrolment_id, "touchpoint_id": touchpoint_id,
            "occurrence": occurrence[:64], "due_at": due_at, "status": "planned",
            "attempts": 0, "kind": kind, "parent_id": parent_id}


def add(session: Session, *, enrolment_id: int, touchpoint_id: str, occurrence: str,
        due_at: datetime, kind: str = "send", parent_id: int | None = None) -> bool:
    """Plan one occurrence unless its key is planned already; True if it is new."""
    return insert_ignore(session, PlannedTouchpoint, planned_row(
        enrolment_id=enrolment_id, touchpoint_id=touchpoint_id, occurrence=occurrence,
        due_at=due_at, kind=kind, parent_id=parent_id), KEY)


def add_rows(session: Session, planned: list[dict[str, Any]]) -> int:
    """Plan `planned_row`s in one statement, skipping keys planned already; how many are new."""
    return insert_ignore_many(session, PlannedTouchpoint, planned, KEY)


def add_for_many(session: Session,
                 planned: list[tuple[int, str, str, datetime, str]]) -> dict[int, int]:
    """Plan (enrolment, touchpoint, occurrence, due, kind) rows of many enrolments in one
    statement, skipping keys planned already; how many are new, per enrolment.

    The rows travel as one parameter, a JSON array, not as a VALUES list or arrays: with
    thousands of rows the driver's and SQLAlchemy's per-parameter work (psycopg's quoting
    of each string in an array) cost more than the database's.
    """
    if not planned:
        return {}
    # In due order (stable: rows due together keep theirs): the due index then takes the
    # batch in one pass over its pages, not in jumps across all of them.
    planned = sorted(planned, key=_due)
    dialect = session.get_bind().dialect
    table = PlannedTouchpoint.__table__  # type: ignore[attr-defined]
    due = json_time(table.c.due_at.type, dialect)
    rows = json.dumps([[e, t, o[:64], due(d), k] for e, t, o, d, k in planned])
    result = session.execute(_PG_ADD if dialect.name == "postgresql" else _SQLITE_ADD,
                             {"rows": rows})
    added: dict[int, int] = {}
    for enrolment_id in result.scalars().all():
        added[enrolment_id] = added.get(enrolment_id, 0) + 1
    return added


def _due(row: tuple[int, str, str, datetime, str]) -> datetime:
    return row[3]


_COLUMNS = "enrolment_id, touchpoint_id, occurrence, due_at, status, attempts, kind, parent_id"
_CONFLICT = ("ON CONFLICT (enrolment_id, touchpoint_id, occurrence) DO NOTHING "
             "RETURNING enrolment_id")
_PG_ADD = text(
    f"INSERT INTO touchpoint ({_COLUMNS}) SELECT CAST(r ->> 0 AS INTEGER), r ->> 1, r ->> 2, "
    "CAST(r ->> 3 AS TIMESTAMPTZ), 'planned', 0, r ->> 4, NULL "
    "FROM json_array_elements(CAST(:rows AS JSON)) AS j(r) " + _CONFLICT)
# WHERE true: SQLite needs it to read ON CONFLICT after INSERT ... SELECT as the upsert.
_SQLITE_ADD = text(
    f"INSERT INTO touchpoint ({_COLUMNS}) SELECT value ->> 0, value ->> 1, value ->> 2, "
    "value ->> 3, 'planned', 0, value ->> 4, NULL FROM json_each(:rows) WHERE true "
    + _CONFLICT)


def of_enrolments(session: Session, enrolment_ids: list[int]) -> dict[int, list[Any]]:
    """Every row of many enrolments (one query), per enrolment, in due order: plain rows
    (id, touchpoint_id, occurrence, due_at, status, kind), what planning compares."""
    found: dict[int, list[Any]] = {i: [] for i in enrolment_ids}
    if not enrolment_ids:
        return found
    session.flush()
    for row in session.connection().execute(
            select(_TABLE.c.id, _TABLE.c.enrolment_id, _TABLE.c.touchpoint_id,
                   _TABLE.c.occurrence, _TABLE.c.due_at, _TABLE.c.status, _TABLE.c.kind)
            .where(_TABLE.c.enrolment_id.in_(enrolment_ids))
            .order_by(_TABLE.c.due_at, _TABLE.c.id)):
        found.setdefault(row.enrolment_id or 0, []).append(row)
    return found


def of_enrolment(session: Session, enrolment_id: int) -> list[PlannedTouchpoint]:
    """Every row of one enrolment, in due order."""
    return list(session.exec(
        select(PlannedTouchpoint).where(PlannedTouchpoint.enrolment_id == enrolment_id)
        .order_by(col(PlannedTouchpoint.due_at), col(PlannedTouchpoint.id))))


def _claimable(now: datetime):
    return and_(text(PLANNED_ROW), col(PlannedTouchpoint.due_at) <= now,
                or_(col(PlannedTouchpoint.claimed_until).is_(None),
                    col(PlannedTouchpoint.claimed_until) < now))


def move(session: Session, row_id: int, *, due_at: datetime, now: datetime) -> bool:
    """Give a planned row a new due time, unless a worker holds it right now."""
    result = session.execute(
        update(PlannedTouchpoint)
        .where(col(PlannedTouchpoint.id) == row_id, PlannedTouchpoint.status == "planned",
               or_(col(PlannedTouchpoint.claimed_until).is_(None),
                   col(PlannedTouchpoint.claimed_until) < now))
        .values(due_at=due_at))
    return result.rowcount == 1  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Claimed:
    """A due row this worker holds the lease on."""

    id: int
    enrolment_id: int
    touchpoint_id: str
    occurrence: str
    kind: str
    due_at: datetime
    attempts: int
    parent_id: int | None


def claim(session: Session, *, worker: str, now: datetime,
          lease: timedelta = timedelta(minutes=2), limit: int = 100) -> list[Claimed]:
    """Claim due rows, earliest first; a lease that expired (its worker died) is taken over.

    One statement: UPDATE ... WHERE id IN (the due ids) ... RETURNING. On PostgreSQL rows
    another worker is claiming are skipped (FOR UPDATE SKIP LOCKED in the subquery); the
    guard repeated in the UPDATE makes a row go to one worker on SQLite as well.
    """
    table = PlannedTouchpoint.__table__  # type: ignore[attr-defined]
    due = (select(table.c.id).where(_claimable(now))
           .order_by(table.c.due_at, table.c.id)
           .limit(limit).with_for_update(skip_locked=True))
    taken = session.execute(
        update(table)
        .where(table.c.id.in_(due.scalar_subquery()), _claimable(now))
        .values(claimed_by=worker[:64], claimed_until=now + lease,
                attempts=table.c.attempts + 1)
        .returning(table.c.id, table.c.enrolment_id, table.c.touchpoint_id,
                   table.c.occurrence, table.c.kind, table.c.due_at, table.c.attempts,
                   table.c.parent_id))
    claimed = [Claimed(id=row.id, enrolment_id=row.enrolment_id or 0,
                       touchpoint_id=row.touchpoint_id, occurrence=row.occurrence,
                       kind=row.kind, due_at=row.due_at, attempts=row.attempts,
                       parent_id=row.parent_id) for row in taken]
    claimed.sort(key=lambda c: (c.due_at, c.id))  # RETURNING keeps no order
    return claimed


def lock_enrolments(session: Session, enrolment_ids: list[int]
                    ) -> tuple[list[Enrolment], list[Person]]:
    """Load (and on PostgreSQL lock) the enrolments of a batch of rows in one query, and
    their people in one more: each row's decision (and its reminder's quiet hours) then
    finds them in the session instead of asking for them. Keep the answer while the batch
    runs: the session holds loaded objects only weakly."""
    if not enrolment_ids:
        return [], []
    enrolments = list(session.exec(select(Enrolment)
                                   .where(col(Enrolment.id).in_(set(enrolment_ids)))
                                   .order_by(col(Enrolment.id)).with_for_update()))
    people = list(session.exec(select(Person).where(
        col(Person.id).in_({e.person_id for e in enrolments}))))
    return enrolments, people


def finish(session: Session, row_id: int, *, status: str, now: datetime,
           reason: str | None = None) -> bool:
    """Record the end of a row (done, skipped, missed, failed); False if it had ended already."""
    assert status in ("done", "skipped", "missed", "failed")
    # A Core statement built once: the tick finishes every row it runs.
    result = session.connection().execute(_FINISH, {
        "row_id": row_id, "status": status, "reason": reason[:32] if reason else None,
        "done_at": now})
    return result.rowcount == 1


def finish_many(session: Session, finished: list[tuple[int, str, str | None]], *,
                now: datetime) -> None:
    """`finish` for many rows, (id, status, reason) each, in one executemany: a batch of
    the tick records the rows it ran together, in the batch's transaction."""
    if finished:
        session.connection().execute(_FINISH, [
            {"row_id": row_id, "status": status, "reason": reason[:32] if reason else None,
             "done_at": now} for row_id, status, reason in finished])


_TABLE = PlannedTouchpoint.__table__  # type: ignore[attr-defined]
_FINISH = (update(_TABLE)
           .where(_TABLE.c.id == bindparam("row_id"), _TABLE.c.status == "planned")
           .values(status=bindparam("status"), reason=bindparam("reason"),
                   done_at=bindparam("done_at", type_=_TABLE.c.done_at.type),
                   claimed_until=None))


def mark(session: Session, row_id: int, *, status: str, reason: str | None = None) -> None:
    """Change the status of a row that has ended (a sent flow that then went unanswered)."""
    session.execute(update(PlannedTouchpoint).where(col(PlannedTouchpoint.id) == row_id)
                    .values(status=status, reason=reason[:32] if reason else None))


def release(session: Session, row_id: int, *, retry_at: datetime, attempts: int,
            now: datetime, reason: str) -> str:
    """Hand a row back after a failure, to be tried again at `retry_at`; or fail it for good."""
    if attempts >= MAX_ATTEMPTS:
        finish(session, row_id, status="failed", now=now, reason=reason)
        return "failed"
    session.execute(update(PlannedTouchpoint).where(col(PlannedTouchpoint.id) == row_id)
                    .values(claimed_until=retry_at, claimed_by=None))
    return "planned"


def get(session: Session, row_id: int) -> PlannedTouchpoint | None:
    """One row by id."""
    return session.get(PlannedTouchpoint, row_id)


def next_due(session: Session) -> datetime | None:
    """When the earliest planned row falls due (a simulation jumps there)."""
    row = session.exec(select(PlannedTouchpoint.due_at)
                       .where(text(PLANNED_ROW))
                       .order_by(col(PlannedTouchpoint.due_at)).limit(1)).first()
    return row


def counts(session: Session) -> dict[tuple[str, str, str, str | None], int]:
    """How many rows there are per (touchpoint, kind, status, reason), for summaries."""
    totals: dict[tuple[str, str, str, str | None], int] = {}
    for key in session.exec(
            select(PlannedTouchpoint.touchpoint_id, PlannedTouchpoint.kind,
                   PlannedTouchpoint.status, PlannedTouchpoint.reason)):
        totals[tuple(key)] = totals.get(tuple(key), 0) + 1  # type: ignore[index]
    return totals
