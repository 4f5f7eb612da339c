"""Planned touchpoints: rows with a unique key and a due time, claimed with a lease.

Planning inserts idempotently on (enrolment, touchpoint, occurrence); workers claim due rows
(FOR UPDATE SKIP LOCKED on PostgreSQL, plus a guarded UPDATE so SQLite is safe too) and
finish them as done, skipped, missed or failed. A worker that dies leaves a lease that
expires; the next worker takes the row over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from storage.models import PlannedTouchpoint
from storage.upsert import insert_ignore, insert_ignore_many

KINDS = ("send", "remind", "no_answer", "stage")
MAX_ATTEMPTS = 5


def add(session: Session, *, enrolment_id: int, touchpoint_id: str, occurrence: str,
        due_at: datetime, kind: str = "send", parent_id: int | None = None) -> bool:
    """Plan one occurrence unless its key is planned already; True if it is new."""
    return insert_ignore(session, PlannedTouchpoint, {
        "enrolment_id": enrolment_id, "touchpoint_id": touchpoint_id,
        "occurrence": occurrence[:64], "due_at": due_at, "status": "planned", "attempts": 0,
        "kind": kind, "parent_id": parent_id,
    }, ["enrolment_id", "touchpoint_id", "occurrence"])


def add_many(session: Session, enrolment_id: int,
             planned: list[tuple[str, str, datetime, str]]) -> int:
    """Plan many (touchpoint, occurrence, due, kind) at once, skipping keys planned already;
    how many are new. One statement: planning a new enrolment is one round trip, not twenty."""
    return insert_ignore_many(session, PlannedTouchpoint, [
        {"enrolment_id": enrolment_id, "touchpoint_id": touchpoint_id,
         "occurrence": occurrence[:64], "due_at": due_at, "status": "planned", "attempts": 0,
         "kind": kind, "parent_id": None}
        for touchpoint_id, occurrence, due_at, kind in planned],
        ["enrolment_id", "touchpoint_id", "occurrence"])


def of_enrolment(session: Session, enrolment_id: int) -> list[PlannedTouchpoint]:
    """Every row of one enrolment, in due order."""
    return list(session.exec(
        select(PlannedTouchpoint).where(PlannedTouchpoint.enrolment_id == enrolment_id)
        .order_by(col(PlannedTouchpoint.due_at), col(PlannedTouchpoint.id))))


def _claimable(now: datetime):
    return and_(PlannedTouchpoint.status == "planned", col(PlannedTouchpoint.due_at) <= now,
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

    On PostgreSQL rows another worker is claiming are skipped (FOR UPDATE SKIP LOCKED);
    the guarded UPDATE makes a row go to one worker on SQLite as well.
    """
    due = (select(PlannedTouchpoint).where(_claimable(now))
           .order_by(col(PlannedTouchpoint.due_at), col(PlannedTouchpoint.id))
           .limit(limit).with_for_update(skip_locked=True))
    claimed: list[Claimed] = []
    for row in list(session.exec(due)):
        taken = session.execute(
            update(PlannedTouchpoint)
            .where(col(PlannedTouchpoint.id) == row.id, _claimable(now))
            .values(claimed_by=worker[:64], claimed_until=now + lease,
                    attempts=PlannedTouchpoint.attempts + 1))
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            continue
        claimed.append(Claimed(id=row.id or 0, enrolment_id=row.enrolment_id or 0,
                               touchpoint_id=row.touchpoint_id, occurrence=row.occurrence,
                               kind=row.kind, due_at=row.due_at, attempts=row.attempts + 1,
                               parent_id=row.parent_id))
    return claimed


def finish(session: Session, row_id: int, *, status: str, now: datetime,
           reason: str | None = None) -> bool:
    """Record the end of a row (done, skipped, missed, failed); False if it had ended already."""
    assert status in ("done", "skipped", "missed", "failed")
    result = session.execute(
        update(PlannedTouchpoint)
        .where(col(PlannedTouchpoint.id) == row_id, PlannedTouchpoint.status == "planned")
        .values(status=status, reason=reason[:32] if reason else None, done_at=now,
                claimed_until=None))
    return result.rowcount == 1  # type: ignore[attr-defined]


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
                       .where(PlannedTouchpoint.status == "planned")
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
