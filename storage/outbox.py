"""The outbox: every message to send is a row with an idempotency key, claimed with a lease."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from conversations.messages import Button, Reply
from storage.models import OutboxMessage
from storage.upsert import insert_ignore

MAX_ATTEMPTS = 8


def payload_of(reply: Reply) -> dict:
    """A reply as stored JSON."""
    return {"text": reply.text, "buttons": [[b.label, b.value] for b in reply.buttons],
            "question": reply.question, "flow": reply.flow}


def reply_of(payload: dict) -> Reply:
    """A stored payload back as a reply."""
    return Reply(text=payload["text"],
                 buttons=tuple(Button(label=b[0], value=b[1]) for b in payload.get("buttons", [])),
                 question=payload.get("question"), flow=payload.get("flow"))


def enqueue(session: Session, *, key: str, channel: str, address: str, person_id: int | None,
            reply: Reply, now: datetime) -> bool:
    """Queue a reply; False if a message with this key was queued before."""
    return insert_ignore(session, OutboxMessage, {
        "idempotency_key": key[:200], "channel": channel, "address": address,
        "person_id": person_id, "payload": payload_of(reply), "status": "queued",
        "attempts": 0, "next_attempt_at": now, "created_at": now,
    }, ["idempotency_key"])


@dataclass(frozen=True)
class Claimed:
    """A message this worker holds the lease on."""

    id: int
    channel: str
    address: str
    reply: Reply
    attempts: int
    key: str


def claim(session: Session, *, channel: str, worker: str, now: datetime,
          lease: timedelta = timedelta(seconds=60), limit: int = 50) -> list[Claimed]:
    """Claim due messages of one channel, oldest first; expired leases are taken over.

    On PostgreSQL rows held by another worker are skipped (FOR UPDATE SKIP LOCKED).
    """
    due = (
        select(OutboxMessage)
        .where(OutboxMessage.channel == channel, OutboxMessage.status == "queued",
               col(OutboxMessage.next_attempt_at) <= now,
               or_(col(OutboxMessage.claimed_until).is_(None),
                   col(OutboxMessage.claimed_until) < now))
        .order_by(col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.exec(due))
    claimed = []
    for row in rows:
        row.claimed_by = worker
        row.claimed_until = now + lease
        row.attempts += 1
        session.add(row)
        claimed.append(Claimed(id=row.id or 0, channel=row.channel, address=row.address,
                               reply=reply_of(row.payload), attempts=row.attempts,
                               key=row.idempotency_key))
    session.flush()
    return claimed


def mark_sent(session: Session, message_id: int, *, platform_id: str | None,
              now: datetime) -> None:
    """Record a successful send and the platform's message id."""
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == message_id).values(
        status="sent", platform_message_id=platform_id, sent_at=now, claimed_until=None,
        error=None))


def mark_retry(session: Session, message_id: int, *, error: str, attempts: int,
               now: datetime, delay: timedelta) -> str:
    """Release a failed send for a later retry, or fail it after MAX_ATTEMPTS; returns status."""
    status = "failed" if attempts >= MAX_ATTEMPTS else "queued"
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == message_id).values(
        status=status, error=error[:300], next_attempt_at=now + delay, claimed_until=None,
        claimed_by=None))
    return status


def mark_failed(session: Session, message_id: int, *, error: str) -> None:
    """Give up on a message that can never be delivered (e.g. the client blocked the bot)."""
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == message_id).values(
        status="failed", error=error[:300], claimed_until=None))


def pending(session: Session, channel: str | None = None) -> list[OutboxMessage]:
    """Messages not yet sent, oldest first."""
    query = select(OutboxMessage).where(OutboxMessage.status == "queued")
    if channel is not None:
        query = query.where(OutboxMessage.channel == channel)
    return list(session.exec(query.order_by(col(OutboxMessage.id))))
