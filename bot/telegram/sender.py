"""Sending the outbox through PTB's Bot: rate limits respected, failures sorted by what helps."""

from __future__ import annotations

import logging
import warnings
from datetime import datetime, timedelta

from aiolimiter import AsyncLimiter
from sqlalchemy import Engine
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.delivery import DeliveryError, drain_async
from bot.telegram.reachability import mark_unreachable
from bot.telegram.render import keyboard
from conversations.messages import Reply
from scheduler.clock import Clock

log = logging.getLogger("coachbot.telegram.send")

CHANNEL = "telegram"
# Telegram asks for no more than about one message per second in one chat; bursts above
# that earn 429s. The overall 30/s is PTB's AIORateLimiter's job (see runner.py).
PER_CHAT_RATE = 1.0
_MAX_LIMITERS = 10_000


class TelegramSender:
    """Sends one reply at a time and turns Telegram's errors into `DeliveryError`s."""

    def __init__(self, bot: Bot, *, db: Engine, clock: Clock,
                 per_chat_rate: float = PER_CHAT_RATE) -> None:
        self.bot = bot
        self.db = db
        self.clock = clock
        self.per_chat_rate = per_chat_rate
        self._chats: dict[str, AsyncLimiter] = {}
        # After a 429 Telegram wants silence from the whole bot until retry_after has passed.
        self._quiet_until: datetime | None = None

    async def drain(self) -> int:
        """Send every due Telegram message once; how many were sent."""
        return await drain_async(self.db, self.clock, CHANNEL, self.send)

    async def send(self, address: str, reply: Reply) -> str:
        """Send one reply to a chat; the Telegram message id."""
        now = self.clock.now()
        if self._quiet_until is not None and now < self._quiet_until:
            raise DeliveryError("waiting out a flood limit",
                                retry_after=(self._quiet_until - now).total_seconds())
        async with self._limiter(address):
            try:
                message = await self.bot.send_message(chat_id=int(address), text=reply.text,
                                                      reply_markup=keyboard(reply))
            except RetryAfter as exc:
                seconds = _seconds(exc)
                self._quiet_until = self.clock.now() + timedelta(seconds=seconds)
                raise DeliveryError("rate limited (429)", retry_after=seconds) from exc
            except Forbidden as exc:
                # Blocked by the client or account deleted: retrying cannot help.
                self._unreachable(address, exc)
                raise DeliveryError(f"forbidden: {exc.message}", permanent=True) from exc
            except BadRequest as exc:
                if "chat not found" in exc.message.lower():
                    self._unreachable(address, exc)
                # A malformed request fails the same way every time.
                raise DeliveryError(f"bad request: {exc.message}", permanent=True) from exc
            except NetworkError as exc:  # timeouts, 5xx, connection resets: back off, retry
                raise DeliveryError(f"network: {exc.message}") from exc
            except TelegramError as exc:
                raise DeliveryError(f"telegram: {exc.message}") from exc
        return str(message.message_id)

    def _limiter(self, address: str) -> AsyncLimiter:
        limiter = self._chats.get(address)
        if limiter is None:
            if len(self._chats) >= _MAX_LIMITERS:
                self._chats.clear()  # idle chats' limiters are full anyway
            limiter = self._chats[address] = AsyncLimiter(max(1.0, self.per_chat_rate),
                                                         max(1.0, self.per_chat_rate)
                                                         / self.per_chat_rate)
        return limiter

    def _unreachable(self, address: str, exc: TelegramError) -> None:
        mark_unreachable(self.db, self.clock, channel=CHANNEL, address=address,
                         reason=type(exc).__name__)


def _seconds(exc: RetryAfter) -> float:
    """retry_after in seconds, whichever type this PTB version hands out (int or timedelta)."""
    with warnings.catch_warnings():
        # PTB 22.2+ warns that the int form will become a timedelta; both are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
