"""Idempotency keys of queued messages (and of deliveries deduped by cause), written once.

A key names the cause of a message, so a retried transaction, a redelivered update or a
second worker queues nothing twice (the outbox refuses a key it has seen).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime


def telegram_message(chat: int | str, message_id: int, *, edited: str | None = None) -> str:
    """The dedupe key of one Telegram message, or of one edit of it (`edited` names it)."""
    # Not the update_id: Telegram restarts that sequence (after a week without updates, on
    # another Bot API server), and fresh messages would then be taken for old ones. A
    # message id is unique within its chat for good. Hashed, so the dedupe table and the
    # log lines that name the event carry no chat id.
    what = f"{chat}:{message_id}" + (f":edit:{edited}" if edited is not None else "")
    # surrogatepass: an edit's text may still hold a lone surrogate here.
    return "tg:m:" + hashlib.sha256(what.encode(errors="surrogatepass")).hexdigest()[:32]


def telegram_press(callback_query_id: str) -> str:
    """The dedupe key of one button press: Telegram's callback query id is unique for good."""
    return f"tg:cb:{callback_query_id[:100]}"


def reply(channel: str, event_id: str, index: int) -> str:
    """The `index`-th reply to one inbound delivery."""
    return f"in:{channel}:{event_id}:{index}"


def command(trigger_id: str) -> str:
    """One invocation of a slash command (its trigger_id), as a delivery to dedupe."""
    return f"command:{trigger_id}"
def passing_reply(channel: str, event_id: str, index: int) -> str:
    """The `index`-th reply to one delivery kept only until sent (a stranger's, a slow-down)."""
    return f"passing:{channel}:{event_id}:{index}"


def forgotten_once_sent(key: str) -> bool:
    """Whether a message's row is deleted once sent or given up."""
    # Nothing of a stranger may stay behind, not even the chat it went to.
    return key.startswith("passing:")


# The keys of messages whose cause never queues them again once the dedupe window is past
# (a planned row, an inbound delivery, a firing, a day, a note, an unreachable moment)
# and that nothing edits later: their sent rows are deleted after that window.
# The rest stay (blanked): the coach's and the team's posts, which erasure edits, and the
# once-per-enrolment notices (joining, the next program, payments, bookings) whose key is
# their only guard.
_ONE_SHOT = ("tp:", "in:", "rule:", "digest:", "notes:", "unreachable:")


def one_shot_prefixes() -> tuple[str, ...]:
    """The key prefixes of sent messages deleted, not kept, after the retention window."""
    return _ONE_SHOT


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


def about_escalation(escalation_id: int) -> tuple[str, str]:
    """The key of an escalation's post, and the prefix of every later message about it."""
    post = escalation_post(escalation_id)
    return post, f"{post}:"


def erased_post(address: str, platform_id: str) -> str:
    """The edit of one team-channel message about a client who was then erased."""
    return f"erased-post:{address}:{platform_id}"


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


_RELAY_CARD, _RELAY, _NOTES_PROMPT = "relay-card:", "relay:", "notes-prompt:"


def relay_card(card_id: int) -> str:
    """The post of one completed check-in to the client's coach."""
    return f"{_RELAY_CARD}{card_id}"


def relay_message(message_id: int) -> str:
    """One message relayed between a coach and a client."""
    return f"{_RELAY}{message_id}"


def relayed() -> list[str]:
    """The key prefixes of what a client's coach got in Slack about them: everything relayed
    between them, and the offer to write session notes (it names the client)."""
    return [_RELAY_CARD, _RELAY, _NOTES_PROMPT]


def session_notes(note_id: int) -> str:
    """A coach's session notes and action items, sent to the client."""
    return f"notes:{note_id}"


def notes_prompt(row_id: int) -> str:
    """The "Notes" button sent to a coach after a session (the after-session touchpoint)."""
    return f"{_NOTES_PROMPT}{row_id}"
