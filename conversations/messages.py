"""The engine's inputs and outputs: channel-neutral messages, answers and events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
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
class Reply:
    """One message to the client. `question` names the question it asks, if any."""

    text: str
    buttons: tuple[Button, ...] = ()
    question: str | None = None
    flow: str | None = None
    attachment: Attachment | None = None


@dataclass(frozen=True)
class Message:
    """What the client sent: typed text, or the value of a pressed button."""

    text: str = ""
    button: str | None = None
    # The question a pressed button belonged to; a press on an older question is stale.
    button_question: str | None = None


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
]


@dataclass(frozen=True)
class Event:
    """Something that happened which storage, metrics or the scheduler care about."""

    kind: EventKind
    flow: str | None = None
    data: dict[str, str] = field(default_factory=dict)
