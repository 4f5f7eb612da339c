"""A client who blocked the bot: flag the identity, tell the coach; undo when they return."""

from __future__ import annotations

import logging

from sqlalchemy import Engine, update
from sqlmodel import col

from conversations.messages import Reply
from scheduler.clock import Clock
from storage import enrolments, outbox, people
from storage.db import session as new_session
from storage.models import AuditEntry, Identity, Person

log = logging.getLogger("coachbot.telegram.reachability")


def mark_unreachable(db: Engine, clock: Clock, *, channel: str, address: str,
                     reason: str) -> bool:
    """Flag the identity (once) and queue a note to the client's coach; True if newly flagged."""
    now = clock.now()
    with new_session(db) as session, session.begin():
        identity = people.identity_at(session, channel=channel, address=address)
        if identity is None or identity.unreachable_since is not None:
            return False
        identity.unreachable_since = now
        session.add(identity)
        enrolment = enrolments.current_enrolment(session, identity.person_id)
        client = session.get(Person, identity.person_id)
        session.add(AuditEntry(at=now, actor="system", action="client_unreachable",
                               enrolment_id=enrolment.id if enrolment else None,
                               detail={"channel": channel, "reason": reason[:100]}))
        coach_id = enrolment.coach_id if enrolment else None
        notes = 0
        if coach_id is not None and client is not None:
            note = Reply(f"{client.name} can't be reached on {channel.capitalize()} any more "
                         "(they blocked the bot or deleted their account). Their check-ins "
                         "are on hold there until they write to the bot again.")
            for coach_identity in people.identities_of(session, coach_id):
                if coach_identity.unreachable_since is None:
                    notes += outbox.enqueue(
                        session, key=f"unreachable:{identity.id}:{now:%Y%m%d%H%M%S}:"
                                     f"{coach_identity.channel}",
                        channel=coach_identity.channel, address=coach_identity.address,
                        person_id=coach_id, reply=note, now=now)
        log.warning("client unreachable channel=%s enrolment=%s coach_notes=%d", channel,
                    enrolment.id if enrolment else None, notes)
        return True


def mark_reachable(db: Engine, *, channel: str, address: str) -> None:
    """Someone who wrote to the bot can be reached again (they unblocked it)."""
    with new_session(db) as session, session.begin():
        session.execute(update(Identity).where(
            col(Identity.channel) == channel, col(Identity.address) == address,
            col(Identity.unreachable_since).is_not(None)).values(unreachable_since=None))
