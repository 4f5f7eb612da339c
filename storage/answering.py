"""Whether a flow the scheduler sent was answered: the conversation facts reminders need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import bindparam
from sqlmodel import Session, col, func, select

from storage.conversation_store import close_row
from storage.models import Conversation

FlowState = Literal["completed", "open", "gone"]


def flow_state_since(session: Session, enrolment_id: int, flow_id: str,
                     since: datetime) -> FlowState:
    """"completed" if the flow was completed at or after `since`, "open" if it is open now,
    otherwise "gone" (never started, or closed without being completed)."""
    if completed_since(session, enrolment_id, flow_id, since):
        return "completed"
    return "open" if open_of_flow(session, enrolment_id, flow_id) is not None else "gone"


def completed_since(session: Session, enrolment_id: int, flow_id: str,
                    since: datetime) -> bool:
    """Whether the flow was completed at or after `since`."""
    return session.exec(
        select(Conversation.id).where(Conversation.enrolment_id == enrolment_id,
                                      Conversation.flow_id == flow_id,
                                      Conversation.outcome == "completed",
                                      col(Conversation.closed_at) >= since).limit(1)
    ).first() is not None


def open_of_flow(session: Session, enrolment_id: int, flow_id: str) -> Conversation | None:
    """The enrolment's open conversation if it is of this flow."""
    row = session.exec(
        select(Conversation)
        .where(Conversation.enrolment_id == enrolment_id, col(Conversation.closed_at).is_(None))
        .order_by(col(Conversation.id).desc())).first()
    return row if row is not None and row.flow_id == flow_id else None


@dataclass
class FlowsOf:
    """What a batch of due rows asks about its enrolments' conversations, read in two
    queries for the whole batch: the open conversation of each, and when each flow was
    last completed. An enrolment whose row has run is `forget`-ten: its conversations may
    have changed, so it is asked about afresh."""

    open: dict[int, Conversation | None]
    completed: dict[tuple[int, str], datetime]

    def forget(self, enrolment_id: int) -> None:
        """Its conversations may have changed: ask the database from now on."""
        self.open.pop(enrolment_id, None)
        for key in [k for k in self.completed if k[0] == enrolment_id]:
            del self.completed[key]

    def knows(self, enrolment_id: int) -> bool:
        return enrolment_id in self.open


def flows_of(session: Session, enrolment_ids: list[int]) -> FlowsOf:
    """The open conversation and the last completion of every flow, per enrolment."""
    ids = set(enrolment_ids)
    found = FlowsOf(open=dict.fromkeys(ids), completed={})
    if not ids:
        return found
    for conversation in session.exec(
            select(Conversation).where(col(Conversation.enrolment_id).in_(ids),
                                       col(Conversation.closed_at).is_(None))
            .order_by(col(Conversation.id))):
        found.open[conversation.enrolment_id] = conversation  # the latest wins
    for enrolment_id, flow_id, closed_at in session.exec(
            select(Conversation.enrolment_id, Conversation.flow_id,
                   func.max(Conversation.closed_at))
            .where(col(Conversation.enrolment_id).in_(ids),
                   Conversation.outcome == "completed")
            .group_by(Conversation.enrolment_id, Conversation.flow_id)):
        if closed_at is not None:
            found.completed[(enrolment_id, flow_id)] = _aware(closed_at)
    return found


def _aware(moment: datetime | str) -> datetime:
    # An aggregate comes back without the column's type (text on SQLite).
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def open_flow_id(session: Session, enrolment_id: int) -> str | None:
    """The flow of the enrolment's open conversation, if one is open (one column, no
    object, a statement built once: the tick asks it after every row it sends)."""
    session.flush()  # a conversation the row just opened through the ORM counts
    return session.connection().execute(_OPEN_FLOW, {"e": enrolment_id}).scalar()


def open_flow_ids(session: Session, enrolment_ids: list[int]) -> dict[int, str]:
    """`open_flow_id` for many enrolments in one query (those with nothing open are left
    out)."""
    found: dict[int, str] = {}
    if enrolment_ids:
        session.flush()
        for enrolment_id, flow_id in session.connection().execute(
                select(_CONVERSATION.c.enrolment_id, _CONVERSATION.c.flow_id)
                .where(_CONVERSATION.c.enrolment_id.in_(set(enrolment_ids)),
                       _CONVERSATION.c.closed_at.is_(None))
                .order_by(_CONVERSATION.c.id)):
            found[enrolment_id] = flow_id  # the latest wins, as in `open_flow_id`
    return found


_CONVERSATION = Conversation.__table__  # type: ignore[attr-defined]
_OPEN_FLOW = (select(_CONVERSATION.c.flow_id)
              .where(_CONVERSATION.c.enrolment_id == bindparam("e"),
                     _CONVERSATION.c.closed_at.is_(None))
              .order_by(_CONVERSATION.c.id.desc()).limit(1))


def close_unanswered(session: Session, conversation: Conversation, *, outcome: str,
                     now: datetime) -> None:
    """Close a conversation nobody finished (missed, or expired by the next occurrence)."""
    close_row(session, conversation, outcome=outcome, now=now)
    session.flush()
