"""Erasing a client (the right to be forgotten) and, for retention, just their answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from storage import audit, relay_store
from storage.models import (
    Answer,
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
)


@dataclass(frozen=True)
class Erased:
    """What an erasure removed, for the audit line and the coach's note (counts and ids only)."""

    enrolment_ids: tuple[int, ...]
    coach_ids: tuple[int, ...]
    program_ids: tuple[str, ...]
    answers: int


def erase_person(session: Session, person: Person, *, actor: str, now: datetime) -> Erased:
    """Delete everything about a client; one anonymised audit line per enrolment stays."""
    enrolments = [(e.id or 0, e.program_id, e.coach_id) for e in
                  session.exec(select(Enrolment).where(Enrolment.person_id == person.id))]
    ids = [eid for eid, _, _ in enrolments]
    addresses = [(i.channel, i.address) for i in
                 session.exec(select(Identity).where(Identity.person_id == person.id))]
    answers = len(list(session.exec(select(Answer.id).where(col(Answer.enrolment_id).in_(ids)))))
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
    for eid, program_id, _ in enrolments:
        audit.record(session, at=now, actor=actor, action="client_erased", enrolment_id=eid,
                     program=program_id, date=now.date().isoformat())
    return Erased(enrolment_ids=tuple(ids),
                  coach_ids=tuple(sorted({c for _, _, c in enrolments if c})),
                  program_ids=tuple(sorted({p for _, p, _ in enrolments})), answers=answers)


def _erase_enrolment_rows(session: Session, ids: list[int]) -> None:
    # Children before parents: escalations point at rule firings, reminders at their send,
    # bookings at their sessions.
    relay_store.erase(session, ids)
    session.execute(delete(Escalation).where(col(Escalation.enrolment_id).in_(ids)))
    session.execute(delete(Booking).where(col(Booking.enrolment_id).in_(ids)))
    session.execute(delete(Payment).where(col(Payment.enrolment_id).in_(ids)))
    session.execute(delete(NextOffer).where(or_(col(NextOffer.enrolment_id).in_(ids),
                                                col(NextOffer.next_enrolment_id).in_(ids))))
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
    for model in (RuleFiring, MetricValue, Answer):
        session.execute(delete(model).where(col(model.enrolment_id) == enrolment_id))
    # Conversation state holds answers too (the engine's working copy).
    session.execute(update(Conversation).where(col(Conversation.enrolment_id) == enrolment_id)
                    .values(state={}))
    audit.record(session, at=now, actor=actor, action="answers_erased",
                 enrolment_id=enrolment_id, reason=reason, answers=count)
    return count
