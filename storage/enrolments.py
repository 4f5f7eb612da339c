"""Enrolments: joining a program by invite code, status and stage."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import bindparam, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from conversations.program import Program
from conversations.variants import pick_variant
from storage.models import Conversation, Enrolment, Identity, Person

# No 0/O/1/I/L: codes get read aloud and typed on phones.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_invite_code() -> str:
    """A short, unguessable, single-use code."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(10))


def enrol(session: Session, *, person_id: int, program: Program, coach_id: int | None,
          now: datetime, invite_ttl: timedelta) -> Enrolment:
    """Enrol a client in `program` at its first stage, with a fresh invite code."""
    weekly = program.checkin_schedule
    enrolment = Enrolment(
        person_id=person_id, program_id=program.id, coach_id=coach_id,
        stage=program.stages[0].id, status="invited", invite_code=new_invite_code(),
        invite_expires_at=now + invite_ttl,
        checkin_day=weekly.day if weekly else "mon",
        checkin_time=weekly.time.strftime("%H:%M") if weekly else "09:00",
        enrolled_at=now, stage_started_at=now)
    session.add(enrolment)
    session.flush()
    enrolment.variant = pick_variant(program, enrolment.id or 0)
    weekly = program.with_variant(enrolment.variant).checkin_schedule
    if enrolment.variant is not None and weekly is not None:
        enrolment.checkin_day, enrolment.checkin_time = weekly.day, weekly.time.strftime("%H:%M")
    session.add(enrolment)
    return enrolment


def invited_by(session: Session, code: str, *, now: datetime) -> Enrolment | None:
    """The invited enrolment a valid code opens (locked), without consuming the code."""
    code = code.strip().upper()
    if not code or len(code) > 32:
        return None
    enrolment = session.exec(
        select(Enrolment).where(Enrolment.invite_code == code).with_for_update()).first()
    if enrolment is None or enrolment.status != "invited":
        return None
    if enrolment.invite_expires_at is None or enrolment.invite_expires_at < now:
        return None
    return enrolment


def redeem_invite(session: Session, code: str, *, now: datetime) -> Enrolment | None:
    """The invited enrolment for a valid code, consuming the code; None if unknown, used or old."""
    enrolment = invited_by(session, code, now=now)
    if enrolment is None:
        return None
    enrolment.invite_code = None
    enrolment.invite_expires_at = None
    enrolment.status = "consent"
    enrolment.joined_at = now
    session.add(enrolment)
    session.flush()
    return enrolment


@cache
def _enrolment_at_statement():
    # Built once with bind parameters: building this join per message was the costliest
    # part of handling one. The coach and the open conversation come along (outer joins),
    # so the message's context needs no further round trip for them.
    latest = (select(func.max(Enrolment.id)).where(Enrolment.person_id == Identity.person_id)
              .correlate(Identity).scalar_subquery())
    coach = aliased(Person)
    open_ = (select(func.max(Conversation.id))
             .where(Conversation.enrolment_id == Enrolment.id,
                    col(Conversation.closed_at).is_(None))
             .correlate(Enrolment).scalar_subquery())
    return (select(Enrolment, Person, Identity.unreachable_since, coach, Conversation)
            .join(Identity, Identity.person_id == Enrolment.person_id)
            .join(Person, Person.id == Enrolment.person_id)
            .outerjoin(coach, coach.id == Enrolment.coach_id)
            .outerjoin(Conversation, Conversation.id == open_)
            .where(Identity.channel == bindparam("channel"),
                   Identity.address == bindparam("address"), Enrolment.id == latest)
            .with_for_update(of=Enrolment))  # type: ignore[arg-type]


def enrolment_at(session: Session, *, channel: str, address: str
                 ) -> tuple[Enrolment, Person, bool] | None:
    """The latest enrolment of whoever is behind a channel address, with the person (locked),
    and whether that address was marked unreachable.

    One round trip for the inbound hot path: identity, person and enrolment together.
    """
    found = enrolment_and_conversation_at(session, channel=channel, address=address)
    return found[:3] if found else None


def enrolment_and_conversation_at(
        session: Session, *, channel: str, address: str
) -> tuple[Enrolment, Person, bool, Conversation | None, Person | None] | None:
    """As `enrolment_at`, with the enrolment's open conversation (None: none open) and its
    coach (while the caller holds it, `session.get` finds it without a query)."""
    row = session.exec(_enrolment_at_statement(),
                       params={"channel": channel, "address": address}).first()
    return (row[0], row[1], row[2] is not None, row[4], row[3]) if row else None


def current_enrolment(session: Session, person_id: int, *, lock: bool = False) -> Enrolment | None:
    """The person's most recent enrolment (locked for update when asked)."""
    query = (select(Enrolment).where(Enrolment.person_id == person_id)
             .order_by(col(Enrolment.id).desc()))
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()
