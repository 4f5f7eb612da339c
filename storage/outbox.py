"""The outbox: every message to send is a row with an idempotency key, claimed with a lease."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import Text, and_, bindparam, case, cast, delete, func, or_, update
from sqlmodel import Session, col, select

from conversations.messages import Attachment, Button, DigestView, EscalationCard, Reply
from storage.models import OutboxMessage
from storage.upsert import insert_ignore, insert_ignore_many

MAX_ATTEMPTS = 8
# A message is given up only after MAX_ATTEMPTS tries *and* this long: a platform outage
# (every try fails, whatever the message) must not fail the messages waiting it out.
GIVE_UP_AFTER = timedelta(hours=24)


def payload_of(reply: Reply) -> dict:
    """A reply as stored JSON (an attachment as base64: the message stays self-contained)."""
    payload = {"text": reply.text, "buttons": [[b.label, b.value] for b in reply.buttons],
               "question": reply.question, "flow": reply.flow}
    if reply.card is not None:
        card = asdict(reply.card)
        payload["card"] = {k: v.isoformat() if isinstance(v, datetime) else v
                           for k, v in card.items()}
    for name in ("edit", "about", "mention", "anchor", "conversation", "relay_card",
                 "thread_of", "home", "notes_for"):
        if getattr(reply, name):
            payload[name] = getattr(reply, name)
    if reply.commands:
        payload["commands"] = list(reply.commands)
    if reply.language != "en":
        payload["language"] = reply.language
    if reply.digest is not None:
        payload["digest"] = asdict(reply.digest)
    if reply.attachment is not None:
        a = reply.attachment
        payload["attachment"] = {"filename": a.filename, "content_type": a.content_type,
                                 "base64": base64.b64encode(a.data).decode("ascii")}
    return payload


def reply_of(payload: dict) -> Reply:
    """A stored payload back as a reply."""
    stored = payload.get("attachment")
    attachment = Attachment(stored["filename"], stored["content_type"],
                            base64.b64decode(stored["base64"])) if stored else None
    return Reply(text=payload["text"],
                 buttons=tuple(Button(label=b[0], value=b[1]) for b in payload.get("buttons", [])),
                 question=payload.get("question"), flow=payload.get("flow"),
                 attachment=attachment, card=_card_of(payload.get("card")),
                 edit=bool(payload.get("edit")), about=payload.get("about"),
                 mention=payload.get("mention"), anchor=payload.get("anchor"),
                 conversation=payload.get("conversation"),
                 commands=tuple(payload.get("commands", ())),
                 relay_card=payload.get("relay_card"), thread_of=payload.get("thread_of"),
                 digest=_digest_of(payload.get("digest")), home=bool(payload.get("home")),
                 notes_for=payload.get("notes_for"),

                 language=payload.get("language", "en"))


def _digest_of(stored: dict | None) -> DigestView | None:
    if stored is None:
        return None
    clients = tuple((name, urgency, tuple(parts)) for name, urgency, parts in stored["clients"])
    return DigestView(title=stored["title"], clients=clients, footer=stored["footer"])


def _card_of(stored: dict | None) -> EscalationCard | None:
    if not stored:
        return None
    times = ("sla_due_at", "acknowledged_at", "resolved_at")
    values = {k: datetime.fromisoformat(v) if k in times and v else v
              for k, v in stored.items()}
    values["evidence"] = tuple(tuple(pair) for pair in values.get("evidence", ()))
    return EscalationCard(**values)


def _row(key: str, channel: str, address: str, person_id: int | None, reply: Reply,
         now: datetime) -> dict:
    return {"idempotency_key": key[:200], "channel": channel, "address": address,
            "person_id": person_id, "payload": payload_of(reply), "status": "queued",
            "attempts": 0, "next_attempt_at": now, "created_at": now}


def enqueue(session: Session, *, key: str, channel: str, address: str, person_id: int | None,
            reply: Reply, now: datetime) -> bool:
    """Queue a reply; False if a message with this key was queued before."""
    return insert_ignore(session, OutboxMessage,
                         _row(key, channel, address, person_id, reply, now),
                         ["idempotency_key"])


def enqueue_many(session: Session, messages: list[tuple[str, str, str, int | None, Reply]],
                 *, now: datetime) -> int:
    """Queue (key, channel, address, person_id, reply) messages in one statement; how many
    were queued (a key queued before is not queued again)."""
    return insert_ignore_many(session, OutboxMessage,
                              [_row(*message, now=now) for message in messages],
                              ["idempotency_key"])


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
          lease: timedelta = timedelta(seconds=60), limit: int = 50,
          per_address: int = 10, in_order: bool = False) -> list[Claimed]:
    """Claim due messages of one channel, round-robin over addresses; expired leases are
    taken over.

    Every address's oldest due message comes before any address's second, and no address
    gets more than `per_address`: one chat with thousands queued takes its turn like the
    others. On PostgreSQL rows held by another worker are skipped (FOR UPDATE SKIP LOCKED).
    `in_order`: leave a message while an earlier one to the same address waits for a retry
    or is held by another worker, so an address never receives its messages out of order.
    """
    params = {"channel": channel, "now": now, "limit": limit, "per_address": per_address}
    picked = list(session.exec(_pick_statement(in_order), params=params))
    if not picked:
        return []
    # PostgreSQL allows no FOR UPDATE beside a window function: lock the picked rows in a
    # second query, which checks the conditions again on the locked (latest) version, so a
    # row another worker claimed meanwhile is left to it.
    rows = list(session.exec(_lock_statement(), params={**params, "picked": picked}))
    if in_order:
        waiting = dict(session.exec(_waiting_statement(), params=params).all())
        rows = [r for r in rows if r.address not in waiting or (r.id or 0) < waiting[r.address]]
    return _lease(session, rows, worker=worker, until=now + lease)


# The statements are built once, with bind parameters: an empty drain (the scheduler's every
# tick, every test's flush) cost more in building the query than in running it.
def _due() -> list:
    """A queued message of the channel, due and not held by a live lease."""
    now = bindparam("now")
    return [OutboxMessage.channel == bindparam("channel"), OutboxMessage.status == "queued",
            col(OutboxMessage.next_attempt_at) <= now,
            or_(col(OutboxMessage.claimed_until).is_(None),
                col(OutboxMessage.claimed_until) < now)]


@cache
def _pick_statement(in_order: bool):
    """The ids to claim, taking turns over addresses (no lock: see `claim`)."""
    conditions = _due()
    per = {"partition_by": col(OutboxMessage.address), "order_by": col(OutboxMessage.id)}
    turn = func.row_number().over(**per).label("turn")
    if in_order:
        # Rank every queued row of the address: one waiting for a retry or held by a worker
        # blocks those after it (a running count of unclaimable rows stays 0 until then).
        claimable = and_(*conditions[2:])
        blocked = func.sum(case((claimable, 0), else_=1)).over(**per).label("blocked")
        ranked = (select(col(OutboxMessage.id).label("id"), turn, blocked)
                  .where(*conditions[:2]).subquery())
        eligible = [ranked.c.blocked == 0]
    else:
        ranked = select(col(OutboxMessage.id).label("id"), turn).where(*conditions).subquery()
        eligible = []
    return (select(ranked.c.id).where(ranked.c.turn <= bindparam("per_address"), *eligible)
            .order_by(ranked.c.turn, ranked.c.id).limit(bindparam("limit")))


@cache
def _lock_statement():
    """The picked rows, locked, if they are still due and unheld."""
    return (select(OutboxMessage)
            .where(col(OutboxMessage.id).in_(bindparam("picked", expanding=True)), *_due())
            .order_by(col(OutboxMessage.id)).with_for_update(skip_locked=True))


def _lease(session: Session, rows: list[OutboxMessage], *, worker: str,
           until: datetime) -> list[Claimed]:
    """Mark the locked rows as WORKER's until UNTIL, one more attempt each."""
    claimed = []
    for row in rows:
        row.claimed_by = worker
        row.claimed_until = until
        row.attempts += 1
        session.add(row)
        claimed.append(Claimed(id=row.id or 0, channel=row.channel, address=row.address,
                               reply=reply_of(row.payload), attempts=row.attempts,
                               key=row.idempotency_key))
    session.flush()
    return claimed


@cache
def _waiting_statement():
    """Per address, the oldest queued message that is not due yet or is held by a worker.

    One grouped query over the (few) waiting rows: a NOT EXISTS per candidate row took
    most of a second with thousands queued.
    """
    now = bindparam("now")
    return (select(OutboxMessage.address, func.min(OutboxMessage.id))
            .where(OutboxMessage.channel == bindparam("channel"),
                   OutboxMessage.status == "queued",
                   or_(col(OutboxMessage.next_attempt_at) > now,
                       col(OutboxMessage.claimed_until) >= now))
            .group_by(col(OutboxMessage.address)))


def mark_sent(session: Session, message_id: int, *, platform_id: str | None,
              now: datetime, reply: Reply | None = None) -> None:
    """Record a successful send and the platform's message id.

    A sent attachment (a data export, a chart) is dropped from the row: the client has it,
    and a copy of their data must not linger in the outbox.
    """
    values: dict = {"status": "sent", "platform_message_id": platform_id, "sent_at": now,
                    "claimed_until": None, "error": None}
    if reply is not None and reply.attachment is not None:
        values["payload"] = payload_of(replace(reply, attachment=None))
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == message_id)
                    .values(**values))


def mark_retry(session: Session, message_id: int, *, error: str, attempts: int,
               now: datetime, delay: timedelta) -> str:
    """Release a failed send for a later retry, or fail it after MAX_ATTEMPTS tries over at
    least GIVE_UP_AFTER; returns the status."""
    status = "queued"
    if attempts >= MAX_ATTEMPTS:
        created = session.exec(select(OutboxMessage.created_at)
                               .where(col(OutboxMessage.id) == message_id)).first()
        if created is None or now - created >= GIVE_UP_AFTER:
            status = "failed"
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == message_id).values(
        status=status, error=error[:300], next_attempt_at=now + delay, claimed_until=None,
        claimed_by=None))
    return status


def defer(session: Session, message_id: int, *, until: datetime) -> None:
    """Hand a claimed message back unsent, due again at `until`; its claim's attempt is undone."""
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == message_id).values(
        attempts=OutboxMessage.attempts - 1, next_attempt_at=until, claimed_until=None,
        claimed_by=None))


def mark_failed(session: Session, message_id: int, *, error: str) -> None:
    """Give up on a message that can never be delivered (e.g. the client blocked the bot)."""
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == message_id).values(
        status="failed", error=error[:300], claimed_until=None))


# What a sent message's payload becomes once its text is no longer kept.
FORGOTTEN = {"text": ""}


def forget_sent(session: Session, *, sent_before: datetime,
                person_id: int | None = None) -> int:
    """Blank the payload of messages sent before `sent_before` (to one person, if given).

    The recipient has the message; the row keeps only that it was sent, when and where.
    Echoed answers ("You answered: 6") and names in digests must not outlive retention.
    """
    query = (update(OutboxMessage)
             .where(OutboxMessage.status == "sent",
                    col(OutboxMessage.sent_at) < sent_before,
                    cast(OutboxMessage.payload, Text) != json_text(FORGOTTEN))
             .values(payload=FORGOTTEN))
    if person_id is not None:
        query = query.where(OutboxMessage.person_id == person_id)
    return session.execute(query).rowcount or 0  # type: ignore[attr-defined]


def drop_sent(session: Session, *, sent_before: datetime, prefixes: tuple[str, ...]) -> int:
    """Delete the messages sent before `sent_before` whose key starts with one of
    `prefixes`; how many. Their recipients have them, and their keys guard nothing any more."""
    if not prefixes:
        return 0
    query = (delete(OutboxMessage)
             .where(OutboxMessage.status == "sent", col(OutboxMessage.sent_at) < sent_before,
                    or_(*[col(OutboxMessage.idempotency_key).startswith(p, autoescape=True)
                          for p in prefixes])))
    return session.execute(query).rowcount or 0  # type: ignore[attr-defined]


def json_text(value: object) -> str:
    """`value` as the JSON column stores it (SQLAlchemy's json.dumps, ASCII-escaped)."""
    return json.dumps(value)


def posts_keyed(session: Session, keys: list[str], prefixes: list[str]) -> list[OutboxMessage]:
    """Messages whose idempotency key is one of `keys` or starts with one of `prefixes`."""
    if not keys and not prefixes:
        return []
    matches = [col(OutboxMessage.idempotency_key).in_(keys)] + [
        col(OutboxMessage.idempotency_key).startswith(p, autoescape=True) for p in prefixes]
    return list(session.exec(select(OutboxMessage).where(or_(*matches))
                             .order_by(col(OutboxMessage.id))))


def delete_messages(session: Session, ids: list[int]) -> None:
    """Delete outbox rows, sent or not."""
    if ids:
        session.execute(delete(OutboxMessage).where(col(OutboxMessage.id).in_(ids)))


def release(session: Session, *, worker: str) -> int:
    """Hand back every queued message `worker` holds a lease on, for any worker now; how many."""
    # The claim's attempt is undone as in `defer`: a stopping worker sent none of them (the
    # one send cut off mid-flight may go twice, as after a crash).
    result = session.execute(update(OutboxMessage).where(
        OutboxMessage.status == "queued", OutboxMessage.claimed_by == worker,
        col(OutboxMessage.claimed_until).is_not(None)).values(
        attempts=OutboxMessage.attempts - 1, claimed_until=None, claimed_by=None))
    return result.rowcount or 0  # type: ignore[attr-defined]


def renew(session: Session, *, worker: str, until: datetime) -> int:
    """Extend the leases `worker` still holds to `until`; how many.

    A message another worker took over (its lease ran out first) is no longer `worker`'s
    and is left alone.
    """
    result = session.execute(update(OutboxMessage).where(
        OutboxMessage.status == "queued", OutboxMessage.claimed_by == worker,
        col(OutboxMessage.claimed_until).is_not(None)).values(claimed_until=until))
    return result.rowcount or 0  # type: ignore[attr-defined]


def forget(session: Session, message_id: int) -> None:
    """Delete a message's row (a reply to a stranger, once sent or given up)."""
    session.execute(delete(OutboxMessage).where(col(OutboxMessage.id) == message_id))
