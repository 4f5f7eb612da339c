"""Platform event ids already seen: the first delivery counts, retries change nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col

from storage.models import InboundEvent
from storage.upsert import insert_ignore


def first_delivery(session: Session, *, channel: str, event_id: str, now: datetime) -> bool:
    """Record the event; False when it was handled before (a retry or a duplicate)."""
    return insert_ignore(
        session, InboundEvent,
        {"channel": channel, "event_id": event_id[:128], "received_at": now},
        ["channel", "event_id"])


def forget_before(session: Session, cutoff: datetime) -> int:
    """Drop the events received before `cutoff`; how many were dropped."""
    result = session.execute(delete(InboundEvent)
                             .where(col(InboundEvent.received_at) < cutoff))
    return result.rowcount or 0  # type: ignore[attr-defined]
