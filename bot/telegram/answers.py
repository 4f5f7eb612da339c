"""Which platform message gave which answer, so that editing the message edits the answer.

The handler stores answers without knowing platform message ids, so the adapter takes a
`Before` snapshot of the question being asked, lets the handler run, and then ties the
answer the message produced to the message (`answer.source_ref`). Applying an edit is
channel-neutral: `InboundHandler.edit` (bot/edits.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from storage import conversations as convs
from storage import enrolments
from storage.db import session as new_session
from storage.models import Answer

log = logging.getLogger("coachbot.telegram.answers")


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


def _answer_row(session: Session, conversation_id: int, question: str) -> Answer | None:
    return session.exec(select(Answer).where(Answer.conversation_id == conversation_id,
                                             Answer.question_id == question)).first()


def _fingerprint(row: Answer | None) -> tuple[int, str, datetime | None] | None:
    return None if row is None else (row.id or 0, row.raw_text, row.edited_at)
