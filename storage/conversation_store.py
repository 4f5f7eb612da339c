"""Open conversations and their answers: what the engine reads and what its steps write."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from conversations.action_items import item_of, score
from conversations.engine import FlowState
from conversations.messages import AcceptedAnswer
from storage import aggregate_store
from storage.models import Answer, Conversation, stored_raw


@cache
def _open_statement():
    return (select(Conversation)
            .where(Conversation.enrolment_id == bindparam("enrolment_id"),
                   col(Conversation.closed_at).is_(None))
            .order_by(col(Conversation.id).desc()))


class LookUp:
    """Not known yet: ask the database (see `LOOK_UP`)."""


# Passed where an open conversation may already be known: "not known, look it up".
LOOK_UP = LookUp()


def open_conversation(session: Session, enrolment_id: int) -> Conversation | None:
    """The enrolment's conversation that has not closed yet, if any."""
    return session.exec(_open_statement(), params={"enrolment_id": enrolment_id}).first()


def flow_state(conversation: Conversation | None) -> FlowState | None:
    """The engine's view of a stored conversation."""
    if conversation is None or not conversation.state:
        return None
    return FlowState.model_validate(conversation.state)


def save_flow_state(session: Session, *, enrolment_id: int, current: Conversation | None,
                    state: FlowState | None, now: datetime, outcome: str = "completed",
                    version: int | None = None) -> int | None:
    """Store the engine's new state: open (on program `version`), update or close the row;
    the id of the conversation left open (None when none is)."""
    closed = False
    if current is not None and (state is None or state.flow != current.flow_id
                                or state.started_at != _started(current)):
        _close(session, current, outcome=outcome, now=now)
        current, closed = None, True
    if state is None:
        session.flush()
        return None
    stored = state.model_dump(mode="json")
    if current is not None and current.id is not None and current not in session.dirty:
        # The same flow goes on (most messages): one cached UPDATE, no flush; the object
        # is told the stored values so that it stays what the row holds.
        session.execute(_update_state(), {"conversation": current.id, "state": stored,
                                          "updated_at": now})
        set_committed_value(current, "state", stored)
        set_committed_value(current, "updated_at", now)
        return current.id
    if current is None:
        if closed:
            session.flush()  # the closed one first, as the ORM would have
        # A new one (every check-in the tick opens): one cached INSERT, no ORM object to
        # build and flush; whoever reads it next loads it.
        return session.execute(_insert_conversation(), {
            "enrolment_id": enrolment_id, "flow_id": state.flow, "state": stored,
            "started_at": state.started_at, "updated_at": now,
            "program_version_id": version}).scalar_one()
    current.state = stored
    current.updated_at = now
    session.add(current)
    session.flush()
    return current.id


@cache
def _insert_conversation():
    table = Conversation.__table__  # type: ignore[attr-defined]
    return insert(table).returning(table.c.id)


def close_row(session: Session, conversation: Conversation, *, outcome: str,
              now: datetime) -> None:
    """Close a conversation with `outcome`. Its engine state is cleared: its answers are
    in their own rows and nothing resumes a closed flow, so it would only repeat them."""
    conversation.closed_at = now
    conversation.outcome = outcome
    conversation.updated_at = now
    conversation.state = {}
    session.add(conversation)


def _close(session: Session, conversation: Conversation, *, outcome: str,
           now: datetime) -> None:
    """As `close_row`; a clean stored row (every completed check-in) by one cached UPDATE."""
    if conversation.id is None or conversation in session.dirty:
        close_row(session, conversation, outcome=outcome, now=now)
        return
    values = {"closed_at": now, "outcome": outcome, "updated_at": now, "state": {}}
    session.execute(_update_state(), {"conversation": conversation.id, **values})
    for name, value in values.items():
        set_committed_value(conversation, name, value)


@cache
def _update_state():
    table = Conversation.__table__  # type: ignore[attr-defined]
    return update(table).where(table.c.id == bindparam("conversation"))


def _started(conversation: Conversation) -> datetime | None:
    raw = conversation.state.get("started_at") if conversation.state else None
    return FlowState.model_validate(conversation.state).started_at if raw else None


@cache
def _insert_answer():
    # Built once: a first answer is a plain INSERT, no ORM object or flush (the hot path).
    return insert(Answer.__table__)  # type: ignore[attr-defined]


def store_answer(session: Session, *, enrolment_id: int, conversation_id: int,
                 answer: AcceptedAnswer, now: datetime, source_ref: str | None = None) -> None:
    """Insert the answer, or update it (marking it edited) when the question was answered.

    `source_ref` names the platform message that gave it (editing that message edits it).
    """
    value = answer.value.isoformat() if isinstance(answer.value, date) else answer.value
    number = (float(answer.value) if isinstance(answer.value, int | float) else None)
    if item_of(answer.question) is not None:
        number = score(answer.value)  # Done / Partly / Not yet, counted once for metrics
    ref = source_ref[:128] if source_ref is not None else None
    # Only an edit can find an earlier row; a first answer skips the lookup (the hot path).
    existing = session.exec(
        select(Answer).where(Answer.conversation_id == conversation_id,
                             Answer.question_id == answer.question)
    ).first() if answer.edited else None
    if existing is None:
        session.execute(_insert_answer(), {
            "enrolment_id": enrolment_id, "conversation_id": conversation_id,
            "question_id": answer.question, "answered_at": now,
            "value": {"v": value}, "number": number,
            "raw_text": stored_raw(answer.raw, value),
            "source_ref": ref})
        return
    existing.value = {"v": value}
    existing.number = number
    existing.raw_text = stored_raw(answer.raw, value)
    if ref is not None:
        existing.source_ref = ref
    existing.edited_at = now
    aggregate_store.forget(session, [enrolment_id])  # the metrics recompute the history
    session.add(existing)


def answers_of(session: Session, enrolment_id: int, flow_id: str | None = None) -> list[Answer]:
    """All answers of an enrolment in the order given, optionally of one flow."""
    query = select(Answer).where(Answer.enrolment_id == enrolment_id)
    if flow_id is not None:
        query = query.join(Conversation, col(Conversation.id) == Answer.conversation_id).where(
            Conversation.flow_id == flow_id)
    return list(session.exec(query.order_by(col(Answer.answered_at), col(Answer.id))))


def completed_count(session: Session, enrolment_id: int, flow_id: str) -> int:
    """How many times the enrolment completed a flow."""
    return len(list(session.exec(
        select(Conversation.id).where(Conversation.enrolment_id == enrolment_id,
                                      Conversation.flow_id == flow_id,
                                      Conversation.outcome == "completed"))))
