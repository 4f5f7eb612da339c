"""Messages relayed between coaches and clients, threaded under a check-in card."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from storage.models import RelayedMessage


def add(session: Session, *, enrolment_id: int, coach_id: int, direction: str, now: datetime,
        text: str = "", card_id: int | None = None) -> RelayedMessage:
    """Store one relayed message (or a card, with no `card_id`)."""
    row = RelayedMessage(enrolment_id=enrolment_id, coach_id=coach_id, direction=direction,
                         card_id=card_id, text=text[:4000], at=now)
    session.add(row)
    session.flush()
    return row


def mark_posted(session: Session, card_id: int, *, channel: str, ts: str | None) -> None:
    """Record where a card was posted in Slack: its thread is where the coach replies."""
    session.execute(update(RelayedMessage).where(col(RelayedMessage.id) == card_id)
                    .values(slack_channel=channel, slack_ts=ts))


def card_at(session: Session, *, channel: str, ts: str) -> RelayedMessage | None:
    """The card whose Slack post is `ts` in `channel`."""
    # A card sent to a coach's user id lands in their DM, whose channel id Slack chose: the
    # ts, unique per channel to the microsecond, is then matched alone.
    for card in session.exec(select(RelayedMessage).where(
            RelayedMessage.slack_ts == ts, RelayedMessage.direction == "card")):
        posted = card.slack_channel or ""
        if posted == channel or (posted[:1] in ("U", "W") and channel[:1] == "D"):
            return card
    return None


def card(session: Session, card_id: int) -> RelayedMessage | None:
    """One card by id."""
    return session.get(RelayedMessage, card_id)


def awaiting_answer(session: Session, enrolment_id: int) -> RelayedMessage | None:
    """The coach's latest message to this client that they have not answered yet."""
    return session.exec(select(RelayedMessage).where(
        RelayedMessage.enrolment_id == enrolment_id, RelayedMessage.direction == "to_client",
        col(RelayedMessage.answered_at).is_(None))
        .order_by(col(RelayedMessage.id).desc())).first()


def mark_answered(session: Session, *, enrolment_id: int, now: datetime) -> None:
    """Every coach message to this client counts as answered."""
    session.execute(update(RelayedMessage).where(
        col(RelayedMessage.enrolment_id) == enrolment_id,
        RelayedMessage.direction == "to_client", col(RelayedMessage.answered_at).is_(None))
        .values(answered_at=now))


def erase(session: Session, enrolment_ids: list[int]) -> None:
    """Delete what a client and their coach said; their cards stay as blank markers."""
    session.execute(delete(RelayedMessage).where(
        col(RelayedMessage.enrolment_id).in_(enrolment_ids),
        RelayedMessage.direction != "card"))
    session.execute(update(RelayedMessage).where(
        col(RelayedMessage.enrolment_id).in_(enrolment_ids)).values(enrolment_id=None, text=""))
