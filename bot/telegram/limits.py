"""Telegram's flood limits on python-telegram-bot's rate-limiter interface.

Every Bot API request addressed to a chat waits for a slot of the bot's send budget
(`services/send_budget.py`): in memory when one process serves the bot (SQLite), shared
through PostgreSQL by every worker of the bot otherwise. The budget counts so that the
limits hold at Telegram's end. PTB's AIORateLimiter is not used: a leaky bucket at 30 per
1 s lets 30 go at once and 30/s more, up to 59 in the first second, and paced evenly it
cannot see network jitter (one request delayed, the next not, and a second at Telegram's end
holds 31).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import BaseRateLimiter

from services.send_budget import TELEGRAM, LocalBudget, SendBudget

# Telegram's documented limit for bots: 30 messages per second overall.
OVERALL_RATE = TELEGRAM.overall or 30
# Requests that post a message: paced per chat across workers too (an edit is not).
MESSAGES = frozenset({"sendMessage", "sendPhoto", "sendDocument"})

Result = bool | dict[str, Any] | list[dict[str, Any]]


class FloodLimiter(BaseRateLimiter[None]):
    """Holds a slot of the bot's send budget while a request to a chat is in flight.

    A 429 is not retried here: the outbox reschedules the message after retry_after, which
    survives restarts and frees the loop meanwhile.
    """

    def __init__(self, budget: SendBudget | None = None) -> None:
        self.budget = budget if budget is not None else LocalBudget(TELEGRAM)

    async def initialize(self) -> None:
        """Nothing to open: the budget makes its slots on first use."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def process_request(
            self, callback: Callable[..., Coroutine[Any, Any, Result]], args: Any,
            kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
            rate_limit_args: None) -> Result:
        """Run one Bot API request; those addressed to a chat wait for a slot."""
        chat = data.get("chat_id")
        if chat is None:  # getMe, getUpdates, answerCallbackQuery ...
            return await callback(*args, **kwargs)
        async with self.budget.slot(str(chat), paced=endpoint in MESSAGES):
            return await callback(*args, **kwargs)
