"""Erasing a client (the right to be forgotten) and, for retention, just their answers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, cast, delete, or_, update
from sqlmodel import Session, col, select

from storage import action_item_store, aggregate_store, audit, outbox, relay_store
from storage.models import (
    Answer,
    AuditEntry,
    Booking,
    CoachingSession,
    Consent,
    Conversation,
    Enrolment,
    Escalation,
    Identity,
    MetricValue,
    NextOffer,
    OutboxMessage,
    Payment,
    Person,
    PlannedTouchpoint,
    RuleFiring,
    TouchpointPlan,
    answer_text,
)


@dataclass(frozen=True)
class Erased:
    """What an erasure removed, for the audit line and the coach's note (counts and ids only)."""

    enrolment_ids: tuple[int, ...]
    coach_ids: tuple[int, ...]
    program_ids: tuple[str, ...]
    answers: int
    # Messages already sent to someone else that mentioned the client, as they read now:
    # (channel, address, platform id, text), for the platform's copy to be edited too.
    rewritten: tuple[tuple[str, str, str, str], ...] = ()


# What a client's name or words become in rows that stay (another person's messages).
PLACEHOLDER = "[erased]"
# Shorter answers ("6", "yes") say nothing about anyone; replacing them everywhere would
# garble other clients' messages.
MIN_SCRUBBED = 4


def enrolment_ids(session: Session, person_id: int) -> list[int]:
    """The ids of every enrolment of a person."""
    return [e or 0 for e in session.exec(select(Enrolment.id)
                                         .where(Enrolment.person_id == person_id))]


def escalation_ids(session: Session, enrolments: list[int]) -> list[int]:
    """The ids of every escalation about these enrolments."""
    return [e or 0 for e in session.exec(select(Escalation.id)
                                         .where(col(Escalation.enrolment_id).in_(enrolments)))]


def erase_person(session: Session, person: Person, *, actor: str, now: datetime) -> Erased:
    """Delete everything about a client; one anonymised audit line per enrolment stays.

    Rows that stay because they are someone else's (a coach's digest, a note to the team,
    an audit line) keep no mention of the client: their name and answers are replaced.
    """
    enrolments = [(e.id or 0, e.program_id, e.coach_id) for e in
                  session.exec(select(Enrolment).where(Enrolment.person_id == person.id))]
    ids = [eid for eid, _, _ in enrolments]
    addresses = [(i.channel, i.address) for i in
                 session.exec(select(Identity).where(Identity.person_id == person.id))]
    answers = len(list(session.exec(select(Answer.id).where(col(Answer.enrolment_id).in_(ids)))))
    words = _mentions(session, person, ids)
    _erase_enrolment_rows(session, ids)
    if person.email:
        # A payment or booking that matched no enrolment still holds their address.
        for model in (Payment, Booking):
            session.execute(delete(model).where(col(model.email) == person.email))
    # Messages to them, queued or sent, hold their address and maybe their own words.
    to_them = [OutboxMessage.person_id == person.id] + [
        (OutboxMessage.channel == channel) & (OutboxMessage.address == address)
        for channel, address in addresses]
    session.execute(delete(OutboxMessage).where(or_(*to_them)))
    session.execute(delete(Identity).where(col(Identity.person_id) == person.id))
    session.execute(delete(Enrolment).where(col(Enrolment.id).in_(ids)))
    session.execute(delete(Person).where(col(Person.id) == person.id))
    rewritten = scrub_mentions(session, words)
    for eid, program_id, _ in enrolments:
        audit.record(session, at=now, actor=actor, action="client_erased", enrolment_id=eid,
                     program=program_id, date=now.date().isoformat())
    return Erased(enrolment_ids=tuple(ids),
                  coach_ids=tuple(sorted({c for _, _, c in enrolments if c})),
                  program_ids=tuple(sorted({p for _, p, _ in enrolments})), answers=answers,
                  rewritten=tuple(rewritten))


def _mentions(session: Session, person: Person, ids: list[int]) -> list[str]:
    """The client's name, its parts and their answers' texts: what must not stay anywhere."""
    texts = {person.name.strip(), *(part for part in person.name.split())}
    texts |= {answer_text(raw, value.get("v")) for raw, value in session.exec(
        select(Answer.raw_text, Answer.value).where(col(Answer.enrolment_id).in_(ids)))}
    if person.email:
        texts.add(person.email)
    # Longest first, so "Ana Lima" goes whole before "Ana" would leave "[erased] Lima".
    return sorted((t for t in texts if len(t.strip()) >= MIN_SCRUBBED or
                   (t in person.name.split() and len(t) >= 2)), key=len, reverse=True)


def scrub_mentions(session: Session, words: list[str]) -> list[tuple[str, str, str, str]]:
    """Replace `words` in every stored message and audit detail that mentions one; the sent
    messages changed, as (channel, address, platform id, new text)."""
    if not words:
        return []
    pattern = re.compile("|".join(rf"(?<!\w){re.escape(w)}(?!\w)" for w in words),
                         re.IGNORECASE)
    sent: list[tuple[str, str, str, str]] = []
    for model, column in ((OutboxMessage, "payload"), (AuditEntry, "detail")):
        field = getattr(model, column)
        # The JSON column holds json.dumps's ASCII-escaped text: look for the word as such.
        mentions = [cast(field, Text).contains(json.dumps(w)[1:-1], autoescape=True)
                    for w in words]
        for row in session.exec(select(model).where(or_(*mentions))):
            before = getattr(row, column)
            after = _replaced(before, pattern)
            if after != before:
                session.execute(update(model).where(col(model.id) == row.id)
                                .values({column: after}))
                if (isinstance(row, OutboxMessage) and row.status == "sent"
                        and row.platform_message_id and isinstance(after, dict)):
                    sent.append((row.channel, row.address, row.platform_message_id,
                                 str(after.get("text", ""))))
    return sent


def _replaced(value: object, pattern: re.Pattern[str]) -> object:
    """`value` (JSON) with every match of `pattern` in its strings replaced."""
    if isinstance(value, str):
        return pattern.sub(PLACEHOLDER, value)
    if isinstance(value, list):
        return [_replaced(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: _replaced(v, pattern) for k, v in value.items()}
    return value


def _erase_enrolment_rows(session: Session, ids: list[int]) -> None:
    # Children before parents: escalations point at rule firings, reminders at their send,
    # bookings at their sessions.
    relay_store.erase(session, ids)
    action_item_store.erase(session, ids)
    session.execute(delete(Escalation).where(col(Escalation.enrolment_id).in_(ids)))
    session.execute(delete(Booking).where(col(Booking.enrolment_id).in_(ids)))
    session.execute(delete(Payment).where(col(Payment.enrolment_id).in_(ids)))
    session.execute(delete(NextOffer).where(or_(col(NextOffer.enrolment_id).in_(ids),
                                                col(NextOffer.next_enrolment_id).in_(ids))))
    aggregate_store.forget(session, ids)
    for model in (RuleFiring, MetricValue, Answer, Consent, Conversation, CoachingSession,
                  TouchpointPlan):
        session.execute(delete(model).where(col(model.enrolment_id).in_(ids)))
    session.execute(update(PlannedTouchpoint)
                    .where(col(PlannedTouchpoint.enrolment_id).in_(ids))
                    .values(parent_id=None))
    session.execute(delete(PlannedTouchpoint).where(col(PlannedTouchpoint.enrolment_id).in_(ids)))


def erase_answers(session: Session, enrolment_id: int, *, actor: str, now: datetime,
                  reason: str) -> int:
    """Delete an enrolment's answers and what was computed from them; how many answers went.

    The enrolment, its consent and its schedule stay: retention ends the content, not the
    record that someone took part.
    """
    count = len(list(session.exec(select(Answer.id).where(Answer.enrolment_id == enrolment_id))))
    if count == 0:
        return 0
    session.execute(delete(Escalation).where(col(Escalation.enrolment_id) == enrolment_id))
    # A coach's session notes and action items are the client's content too.
    action_item_store.erase(session, [enrolment_id])
    aggregate_store.forget(session, [enrolment_id])
    for model in (RuleFiring, MetricValue, Answer):
        session.execute(delete(model).where(col(model.enrolment_id) == enrolment_id))
    # Conversation state holds answers too (the engine's working copy).
    session.execute(update(Conversation).where(col(Conversation.enrolment_id) == enrolment_id)
                    .values(state={}))
    # Messages sent to them echoed their answers ("You answered: 6"): they have them.
    person_id = session.exec(select(Enrolment.person_id)
                             .where(Enrolment.id == enrolment_id)).first()
    if person_id is not None:
        outbox.forget_sent(session, sent_before=now, person_id=person_id)
    audit.record(session, at=now, actor=actor, action="answers_erased",
                 enrolment_id=enrolment_id, reason=reason, answers=count)
    return count
