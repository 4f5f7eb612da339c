"""What the services need from the edges, as Protocols each channel implements.

A channel's send function delivers one queued reply to one address and returns the
platform's message id; it raises `services.delivery.DeliveryError` for a failure the
outbox should retry (or, `permanent`, set aside). The team channel is one more address on
the Slack channel: it needs no port of its own.
"""

from __future__ import annotations

from typing import Protocol

from conversations.messages import Reply


class Send(Protocol):
    """A channel's synchronous send (the console, a simulation, a test's recorder)."""

    def __call__(self, address: str, reply: Reply) -> str | None: ...


class AsyncSend(Protocol):
    """A channel's asynchronous send (Telegram through PTB, Slack through slack_sdk)."""

    async def __call__(self, address: str, reply: Reply) -> str | None: ...


class Unreachable(Protocol):
    """Told when a channel says an address can never be reached (the client blocked us)."""

    def __call__(self, channel: str, address: str) -> None: ...
