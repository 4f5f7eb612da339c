"""Whether a flow the scheduler sent was answered: the conversation facts reminders need."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlmodel import Session, col, select

from storage.conversation_store import close_row
from storage.models import Conversation

FlowState = Literal["completed", "open", "gone"]


def flow_state_since(session: Session, enrolment_id: int, flow_id: str,
                     since: datetime) -> FlowState:
    """"completed" if the flow was completed at or after `since`, "open" if it is open now,
    otherwise "gone" (never started, or closed without being completed)."""
    completed = session.exec(
        select(Conversation.id).where(Conversation.enrolment_id == enrolment_id,
                                      Conversation.flow_id == flow_id,
                                      Conversation.outcome == "completed",
                                      col(Conversation.closed_at) >= since).limit(1)).first()
    if completed is not None:
        return "completed"
    return "open" if open_of_flow(session, enrolment_id, flow_id) is not None else "gone"


def open_of_flow(session: Session, enrolment_id: int, flow_id: str) -> Conversation | None:
    """The enrolment's open conversation if it is of this flow."""
    row = session.exec(
        select(Conversation)
        .where(Conversation.enrolment_id == enrolment_id, col(Conversation.closed_at).is_(None))
        .order_by(col(Conversation.id).desc())).first()
    return row if row is not None and row.flow_id == flow_id else None


def close_unanswered(session: Session, conversation: Conversation, *, outcome: str,
                     now: datetime) -> None:
    """Close a conversation nobody finished (missed, or expired by the next occurrence)."""
    close_row(session, conversation, outcome=outcome, now=now)
    session.flush()
