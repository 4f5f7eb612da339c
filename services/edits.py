"""Editing an answer by editing the message that gave it, whatever the channel.

Each answer keeps the platform message it came from (`Answer.source_ref`); when the client
edits that message, the new text replaces the answer if it is their latest one. It runs in
the inbound service's transaction, so the rules see edits too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from conversations.answers import Invalid, parse
from conversations.messages import Inbound, Reply
from conversations.program import Program, Question
from conversations.translations import N_, translator
from services import keys
from services.client_context import client_language
from services.unit_of_work import UnitOfWork
from storage import aggregate_store, dedupe, enrolments
from storage import conversation_store as convs
from storage.models import Answer, Conversation, Enrolment, Person, stored_raw

log = logging.getLogger("coachbot.edits")

EDITED_TEXT = N_("Got it, I've updated that answer.")
KEPT_TEXT = N_("I kept your earlier answer. {reason}")
NOT_LATEST_TEXT = N_("Editing a message changes only your latest answer, so I kept this one "
                     "as it was.")

EditOutcome = Literal["duplicate", "updated", "invalid", "not_latest", "no_answer"]


@dataclass(frozen=True)
class Edited:
    """What an edit did; for an update, whose answer changed and whether its flow is over."""

    outcome: EditOutcome
    enrolment: Enrolment | None = None
    person: Person | None = None
    flow_done: bool = False


def apply_edit(uow: UnitOfWork, programs: Mapping[str, Program], message: Inbound) -> Edited:
    """Apply the edited message `message.message_ref` (new text in `message.text`)."""
    session, now = uow.session, uow.now
    if not dedupe.first_delivery(session, channel=message.channel, event_id=message.event_id,
                                 now=now):
        return Edited("duplicate")
    found = _answer_edited(session, message)
    if found is None:
        return Edited("no_answer")
    enrolment, person, answer = found
    language = client_language(programs[enrolment.program_id], enrolment)
    t = translator(language)

    def tell(text: str, **params: str) -> None:
        uow.queue(key=keys.reply(message.channel, message.event_id, 0),
                  channel=message.channel, address=message.sender, person_id=person.id,
                  reply=Reply(t.gettext(text).format(**params)))

    if _latest(session, answer.enrolment_id) != answer.id:
        tell(NOT_LATEST_TEXT)
        return Edited("not_latest")
    question = _question_of(session, programs[enrolment.program_id], answer)
    if question is None:
        return Edited("no_answer")
    value = parse(question, message.text, now.astimezone(ZoneInfo(person.timezone)).date(),
                  language)
    if isinstance(value, Invalid):
        tell(KEPT_TEXT, reason=value.reason)
        return Edited("invalid")
    flow_done = _rewrite_answer(session, answer, question.id, value, message.text, now)
    aggregate_store.forget(session, [enrolment.id or 0])  # the metrics recompute the history
    tell(EDITED_TEXT)
    log.info("answer edited channel=%s enrolment=%s", message.channel, enrolment.id)
    return Edited("updated", enrolment, person, flow_done)


def _answer_edited(session: Session, message: Inbound
                   ) -> tuple[Enrolment, Person, Answer] | None:
    """The sender's enrolment and the answer the edited message gave, if it is theirs."""
    found = enrolments.enrolment_at(session, channel=message.channel, address=message.sender)
    answer = session.exec(select(Answer).where(
        Answer.source_ref == (message.message_ref or ""))).first() \
        if message.message_ref else None
    if found is None or answer is None or answer.enrolment_id != found[0].id:
        return None
    enrolment, person, _ = found
    return enrolment, person, answer


def _question_of(session: Session, program: Program, answer: Answer) -> Question | None:
    """The question answered, unless a later version of the program dropped it or its flow."""
    conversation = session.get(Conversation, answer.conversation_id)
    flow = program.flows_by_id().get(conversation.flow_id) if conversation is not None else None
    return flow.question(answer.question_id) if flow is not None else None


def _rewrite_answer(session: Session, answer: Answer, question_id: str, value: object,
                    text: str, now: datetime) -> bool:
    """The new value in the answer and in its open conversation; whether the flow is done."""
    conversation = session.get(Conversation, answer.conversation_id)
    stored = value.isoformat() if isinstance(value, date) else value
    flow_done = conversation is None or conversation.closed_at is not None
    if not flow_done:
        assert conversation is not None
        state = convs.flow_state(conversation)
        if state is not None and question_id in state.answers:
            state.answers[question_id] = stored
            conversation.state = state.model_dump(mode="json")
            conversation.updated_at = now
            session.add(conversation)
    answer.value = {"v": stored}
    answer.number = float(value) if isinstance(value, int | float) else None
    answer.raw_text = stored_raw(text[:4000], stored)
    answer.edited_at = now
    session.add(answer)
    return flow_done


def _latest(session: Session, enrolment_id: int) -> int | None:
    """The id of the answer the client gave last."""
    return session.exec(select(Answer.id).where(Answer.enrolment_id == enrolment_id)
                        .order_by(col(Answer.answered_at).desc(), col(Answer.id).desc())
                        ).first()
