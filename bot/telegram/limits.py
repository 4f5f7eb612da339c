"""Telegram's overall flood limit, kept so that it holds where Telegram counts: at its end.

PTB's AIORateLimiter is a leaky bucket: at 30 per 1 s it lets 30 go at once and 30/s more,
up to 59 in the first second, and paced evenly instead it cannot see network jitter (one
request delayed, the next not, and a second at Telegram's end holds 31). Here a slot is
taken when a request starts and given back one period after its answer came, so any
`overall + 1` requests are at least a period apart at Telegram whatever the network did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import BaseRateLimiter

# Telegram's documented limit for bots: 30 messages per second overall.
OVERALL_RATE = 30

Result = bool | dict[str, Any] | list[dict[str, Any]]


class FloodLimiter(BaseRateLimiter[None]):
    """At most `overall` requests to chats (messages and edits) in any `period` seconds.

    A 429 is not retried here: the outbox reschedules the message after retry_after, which
    survives restarts and frees the loop meanwhile.
    """

    def __init__(self, overall: int = OVERALL_RATE, period: float = 1.0) -> None:
        self.overall = overall
        self.period = period
        self._slots: asyncio.Semaphore | None = None

    async def initialize(self) -> None:
        """Slots belong to the running loop."""
        self._slots = asyncio.Semaphore(self.overall)

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def process_request(
            self, callback: Callable[..., Coroutine[Any, Any, Result]], args: Any,
            kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
            rate_limit_args: None) -> Result:
        """Run one Bot API request; those addressed to a chat wait for a slot."""
        if data.get("chat_id") is None:  # getMe, getUpdates, answerCallbackQuery ...
            return await callback(*args, **kwargs)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.overall)
        slots = self._slots
        await slots.acquire()
        try:
            return await callback(*args, **kwargs)
        finally:
            asyncio.get_running_loop().call_later(self.period, slots.release)
