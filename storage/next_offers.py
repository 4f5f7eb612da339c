"""The next program offered at the end of one, and whether the client took it."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import Enrolment, NextOffer
from storage.upsert import insert_ignore


def offer(session: Session, *, enrolment_id: int, program_id: str, now: datetime) -> bool:
    """Record the offer; False when it was made before (it is made once per enrolment)."""
    return insert_ignore(session, NextOffer, {
        "enrolment_id": enrolment_id, "program_id": program_id, "offered_at": now},
        ["enrolment_id"])


def offer_of(session: Session, enrolment_id: int) -> NextOffer | None:
    """The offer made to an enrolment, locked (answering it changes it)."""
    return session.exec(select(NextOffer).where(NextOffer.enrolment_id == enrolment_id)
                        .with_for_update()).first()


def answer(session: Session, made: NextOffer, *, said: str, now: datetime,
           next_enrolment_id: int | None = None) -> None:
    """The client's yes or no, and the enrolment a yes made."""
    made.answer = said
    made.answered_at = now
    made.next_enrolment_id = next_enrolment_id
    session.add(made)
    session.flush()


def taken_by(session: Session, enrolment_ids: list[int]) -> set[int]:
    """Which of these enrolments took their next step (said yes)."""
    if not enrolment_ids:
        return set()
    return set(session.exec(select(NextOffer.enrolment_id).where(
        col(NextOffer.enrolment_id).in_(enrolment_ids), NextOffer.answer == "yes")))


def offers_of(session: Session, enrolment_ids: list[int]) -> list[NextOffer]:
    """The offers made to these enrolments."""
    if not enrolment_ids:
        return []
    return list(session.exec(select(NextOffer).where(
        col(NextOffer.enrolment_id).in_(enrolment_ids))))


def open_offer_of(session: Session, person_id: int) -> NextOffer | None:
    """The person's latest offer still waiting for an answer (locked)."""
    return session.exec(select(NextOffer).join(Enrolment, col(Enrolment.id) ==
                                               NextOffer.enrolment_id)
                        .where(Enrolment.person_id == person_id,
                               col(NextOffer.answer).is_(None))
                        .order_by(col(NextOffer.offered_at).desc())
                        .with_for_update(of=NextOffer)).first()  # type: ignore[arg-type]
