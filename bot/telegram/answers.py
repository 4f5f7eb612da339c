"""Which platform message gave which answer, and editing an answer by editing that message.

The handler stores answers without knowing platform message ids, so the adapter takes a
`Before` snapshot of the question being asked, lets the handler run, and then ties the
answer the message produced to the message (`answer.source_ref`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from conversations.answers import Invalid, parse
from conversations.messages import Reply
from conversations.program import Program
from scheduler.clock import Clock
from storage import conversations as convs
from storage import enrolments, inbound, outbox
from storage.db import session as new_session
from storage.models import Answer, Conversation

log = logging.getLogger("coachbot.telegram.answers")

EDITED_TEXT = "Got it, I've updated that answer."
NOT_LATEST_TEXT = ("Editing a message changes only your latest answer, so I kept this one "
                   "as it was.")

EditOutcome = Literal["duplicate", "updated", "invalid", "not_latest", "no_answer"]


def source_ref(channel: str, chat: str, message_id: int) -> str:
    """The reference of one platform message, as stored on the answer it gave."""
    return f"{channel}:{chat}:{message_id}"


@dataclass(frozen=True)
class Before:
    """The question an address's open conversation waits for, and its answer so far."""

    conversation_id: int
    question: str
    answer: tuple[int, str, datetime | None] | None


def before(db: Engine, *, channel: str, address: str) -> Before | None:
    """Snapshot taken before the handler runs; None when nothing is being asked."""
    with new_session(db) as session:
        found = enrolments.enrolment_at(session, channel=channel, address=address)
        if found is None:
            return None
        conversation = convs.open_conversation(session, found[0].id or 0)
        state = convs.flow_state(conversation)
        if conversation is None or state is None or state.asked is None:
            return None
        row = _answer_row(session, conversation.id or 0, state.asked)
        return Before(conversation.id or 0, state.asked, _fingerprint(row))


def produced(db: Engine, snapshot: Before | None, raw: str) -> Answer | None:
    """The answer the message just handled gave to the snapshot's question, if it gave one."""
    if snapshot is None:
        return None
    with new_session(db) as session:
        row = _answer_row(session, snapshot.conversation_id, snapshot.question)
        if row is None or _fingerprint(row) == snapshot.answer or row.raw_text != raw[:4000]:
            return None
        return row


def remember_source(db: Engine, answer_id: int, ref: str) -> None:
    """Tie an answer to the platform message that gave it."""
    with new_session(db) as session, session.begin():
        session.execute(update(Answer).where(col(Answer.id) == answer_id)
                        .values(source_ref=ref[:128]))


def edit_answer(db: Engine, clock: Clock, programs: Mapping[str, Program], *, channel: str,
                address: str, event_id: str, ref: str, text: str) -> EditOutcome:
    """Apply an edited message to the answer it gave, when that is the client's latest."""
    now = clock.now()
    with new_session(db) as session, session.begin():
        if not inbound.first_delivery(session, channel=channel, event_id=event_id, now=now):
            return "duplicate"
        found = enrolments.enrolment_at(session, channel=channel, address=address)
        answer = session.exec(select(Answer).where(Answer.source_ref == ref)).first()
        if found is None or answer is None or answer.enrolment_id != found[0].id:
            return "no_answer"
        enrolment, person = found

        def tell(reply_text: str) -> None:
            outbox.enqueue(session, key=f"in:{channel}:{event_id}:0", channel=channel,
                           address=address, person_id=person.id, reply=Reply(reply_text),
                           now=now)

        if _latest(session, answer.enrolment_id) != answer.id:
            tell(NOT_LATEST_TEXT)
            return "not_latest"
        question = programs[enrolment.program_id].flow(answer.flow_id).question(
            answer.question_id)
        if question is None:
            return "no_answer"
        value = parse(question, text, now.astimezone(ZoneInfo(person.timezone)).date())
        if isinstance(value, Invalid):
            tell(f"I kept your earlier answer. {value.reason}")
            return "invalid"
        conversation = session.get(Conversation, answer.conversation_id)
        stored = value.isoformat() if isinstance(value, date) else value
        if conversation is not None and conversation.closed_at is None:
            state = convs.flow_state(conversation)
            if state is not None and question.id in state.answers:
                state.answers[question.id] = stored
                conversation.state = state.model_dump(mode="json")
                conversation.updated_at = now
                session.add(conversation)
        answer.value = {"v": stored}
        answer.number = float(value) if isinstance(value, int | float) else None
        answer.raw_text = text[:4000]
        answer.edited_at = now
        session.add(answer)
        tell(EDITED_TEXT)
        log.info("answer edited channel=%s enrolment=%s", channel, enrolment.id)
        return "updated"


def _answer_row(session: Session, conversation_id: int, question: str) -> Answer | None:
    return session.exec(select(Answer).where(Answer.conversation_id == conversation_id,
                                             Answer.question_id == question)).first()


def _fingerprint(row: Answer | None) -> tuple[int, str, datetime | None] | None:
    return None if row is None else (row.id or 0, row.raw_text, row.edited_at)


def _latest(session: Session, enrolment_id: int) -> int | None:
    """The id of the answer the client gave last."""
    return session.exec(select(Answer.id).where(Answer.enrolment_id == enrolment_id)
                        .order_by(col(Answer.answered_at).desc(), col(Answer.id).desc())
                        ).first()
