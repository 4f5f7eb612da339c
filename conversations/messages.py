"""The engine's inputs and outputs: channel-neutral messages, answers and events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

AnswerValue = str | float | int | bool | date


@dataclass(frozen=True)
class Button:
    """A choice a channel may render as a button; `value` comes back when pressed."""

    label: str
    value: str


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply (e.g. a progress chart); channels that can't show it don't."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class EscalationCard:
    """Everything a team-channel post of an escalation shows, as it was when queued."""

    id: int
    client: str
    program: str
    week: int
    reason: str
    evidence: tuple[tuple[str, str], ...]  # (what, the value that fired it)
    owner: str
    sla_due_at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution_note: str | None = None
    coach: str | None = None
    # The owner's IANA zone: the SLA is shown in their own time.
    owner_zone: str | None = None
    # The team channel's language (it has no person: the one all programs share, else en).
    language: str = "en"


@dataclass(frozen=True)
class DigestView:
    """A coach's digest laid out: title, each client's (name, urgency, parts), footer."""

    title: str
    clients: tuple[tuple[str, int, tuple[str, ...]], ...]
    footer: str


@dataclass(frozen=True)
class Reply:
    """One message to a person or channel. `question` names the question it asks, if any.

    Team-channel messages about an escalation carry `card` (the post itself; `edit` to
    update the post) or `about` (a reply in the post's thread, `mention`ing someone, or
    "here" for the whole channel). `anchor` is the post's platform id, filled in when sent.
    `conversation` is the conversation a question's buttons belong to: a press on them after
    that conversation closed changes nothing.
    """

    text: str
    buttons: tuple[Button, ...] = ()
    question: str | None = None
    flow: str | None = None
    attachment: Attachment | None = None
    card: EscalationCard | None = None
    edit: bool = False
    about: int | None = None
    mention: str | None = None
    anchor: str | None = None
    conversation: int | None = None
    # Commands a channel may offer as buttons beside the text ("skip" on an optional
    # question, "checkin" on a reminder); a channel with a command menu may ignore them.
    commands: tuple[str, ...] = ()
    # A coach's thread of a check-in: `relay_card` is the card itself (posted to the coach),
    # `thread_of` a message in that card's thread (`anchor` is filled in when sent).
    relay_card: int | None = None
    thread_of: int | None = None
    digest: DigestView | None = None
    # Refresh the addressee's Home tab (a coach's): built from the database when sent.
    home: bool = False
    # A message to a coach offering to write session notes for this enrolment (a button).
    notes_for: int | None = None
    # The language of what a channel adds on its own (Slack's command buttons), BCP 47.
    language: str = "en"


@dataclass(frozen=True)
class Inbound:
    """A message or button press from someone: the one shape every channel turns an update
    into, from the platform to the table. The engine reads only text and button."""

    channel: str = ""
    sender: str = ""
    # What identifies this delivery on its platform: a retry carries the same id.
    event_id: str = ""
    text: str = ""
    button: str | None = None
    # The question a pressed button belonged to; a press on an older question is stale.
    button_question: str | None = None
    # The conversation the pressed keyboard was sent in (None from keyboards sent before
    # buttons carried it); a press on a closed conversation's keyboard changes nothing.
    button_conversation: int | None = None
    # The platform message it came from ("telegram:CHAT:ID"), stored with the answer so
    # that editing the message edits the answer.
    message_ref: str | None = None
    thread: str | None = None


@dataclass(frozen=True)
class AcceptedAnswer:
    """An answer the engine accepted; `edited` when it replaces an earlier one."""

    flow: str
    question: str
    value: AnswerValue
    raw: str
    edited: bool = False


EventKind = Literal[
    "consent_given", "consent_declined", "flow_started", "flow_completed", "snoozed",
    "paused", "resumed", "progress_requested", "schedule_changed", "skipped",
    "checkin_requested", "data_requested", "privacy_requested", "erase_requested",
    "language_changed",
]


@dataclass(frozen=True)
class Event:
    """Something that happened which storage, metrics or the scheduler care about."""

    kind: EventKind
    flow: str | None = None
    data: dict[str, str] = field(default_factory=dict)
