"""A client who blocked the bot: flag the identity and tell the coach, once."""

from __future__ import annotations

import logging

from conversations.messages import Reply
from conversations.translations import translator
from services import keys
from services.client_context import staff_language
from services.unit_of_work import Runtime
from storage import enrolments, people
from storage.models import AuditEntry, Person

log = logging.getLogger("coachbot.reachability")


def mark_unreachable(rt: Runtime, *, channel: str, address: str, reason: str) -> bool:
    """Flag the identity (once) and queue a note to the client's coach; True if newly flagged.

    Writing to the bot again clears the flag (the inbound service does it).
    """
    with rt.transaction() as uow:
        session, now = uow.session, uow.now
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
            t = translator(staff_language(session, coach_id))
            note = Reply(t.gettext(
                "{client} can't be reached on {channel} any more (they blocked the bot or "
                "deleted their account). Their check-ins are on hold there until they write "
                "to the bot again.").format(client=client.name, channel=channel.capitalize()))
            notes = uow.queue_to_person(coach_id, keys.unreachable_notice(identity.id or 0, now),
                                        [note])
        log.warning("client unreachable channel=%s enrolment=%s coach_notes=%d", channel,
                    enrolment.id if enrolment else None, notes)
        return True
