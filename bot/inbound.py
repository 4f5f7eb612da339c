"""The one channel-neutral shape every adapter turns a platform update into."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Inbound:
    """A message or button press from someone, as any channel delivers it."""

    channel: str
    sender: str
    event_id: str
    text: str = ""
    button: str | None = None
    button_question: str | None = None
    thread: str | None = None
