"""Idempotency keys of queued messages, written once.

A key names the cause of a message, so a retried transaction, a redelivered update or a
second worker queues nothing twice (the outbox refuses a key it has seen).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime


def reply(channel: str, event_id: str, index: int) -> str:
    """The `index`-th reply to one inbound delivery."""
    return f"in:{channel}:{event_id}:{index}"


def touchpoint(row_id: int) -> str:
    """Whatever one planned touchpoint row queues (a flow's first question, a message)."""
    return f"tp:{row_id}"


def rule_message(firing_id: int) -> str:
    """The message or celebration of one rule firing."""
    return f"rule:{firing_id}"


def erased_notice(enrolment_ids: Iterable[int], coach_id: int) -> str:
    """The note telling a coach that a client of theirs was erased."""
    return f"erased:{'-'.join(map(str, enrolment_ids))}:{coach_id}"


def unreachable_notice(identity_id: int, at: datetime) -> str:
    """The note telling a coach that a client's chat can no longer be reached."""
    return f"unreachable:{identity_id}:{at:%Y%m%d%H%M%S}"


def joined(enrolment_id: int) -> str:
    """The first flow of a client who joined without an invite message (console, Slack)."""
    return f"join:{enrolment_id}"


def digest(coach_id: int, day: date) -> str:
    """One coach's digest for one local day."""
    return f"digest:{coach_id}:{day.isoformat()}"


def escalation_post(escalation_id: int) -> str:
    """The team channel's post of one escalation."""
    return f"escalation:{escalation_id}"


def escalation_update(escalation_id: int, state: str) -> str:
    """The edit of an escalation's post after it changed to `state` (each happens once)."""
    return f"escalation:{escalation_id}:update:{state}"


def reescalation(escalation_id: int, level: int) -> str:
    """The repost of an unacknowledged escalation to the backup, once per level."""
    return f"escalation:{escalation_id}:level:{level}"


def next_offer(enrolment_id: int) -> str:
    """The offer of the next program to a client finishing `enrolment_id`."""
    return f"next-offer:{enrolment_id}"


def next_offer_answer(enrolment_id: int, said: str) -> str:
    """The coach's note of the client's yes or no to that offer."""
    return f"next-offer:{enrolment_id}:{said}"


def payment_notice(reference: object, what: str) -> str:
    """A note to the coach or team about one Stripe payment (its checkout or row id)."""
    return f"stripe:{reference}:{what}"


def booking_notice(source: str, external_id: str, what: str) -> str:
    """A note to the coach or team about one booking of a scheduling tool."""
    return f"booking:{source}:{external_id}:{what}"


def home_refresh(coach_id: int, cause: str) -> str:
    """A coach's Home tab published again because of `cause` (a check-in, a case change)."""
    return f"home:{coach_id}:{cause}"


def relay_card(card_id: int) -> str:
    """The post of one completed check-in to the client's coach."""
    return f"relay-card:{card_id}"


def relay_message(message_id: int) -> str:
    """One message relayed between a coach and a client."""
    return f"relay:{message_id}"
