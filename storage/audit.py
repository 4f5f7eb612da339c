"""The audit log: who read or changed whose data, and when. Ids and actions only, no content."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import AuditEntry


def record(session: Session, *, at: datetime, actor: str, action: str,
           enrolment_id: int | None, **detail: str | int) -> AuditEntry:
    """Write one audit line; `detail` holds ids and counts, never answer text or names."""
    entry = AuditEntry(at=at, actor=actor[:100], action=action[:64], enrolment_id=enrolment_id,
                       detail=dict(detail))
    session.add(entry)
    session.flush()
    return entry


def entries(session: Session, *, enrolment_ids: list[int] | None = None,
            limit: int = 500) -> list[AuditEntry]:
    """The newest audit lines first, optionally only those about some enrolments."""
    query = select(AuditEntry)
    if enrolment_ids is not None:
        query = query.where(col(AuditEntry.enrolment_id).in_(enrolment_ids))
    return list(session.exec(query.order_by(col(AuditEntry.at).desc(),
                                            col(AuditEntry.id).desc()).limit(limit)))
