"""Sending the outbox through PTB's Bot: rate limits respected, failures sorted by what helps."""

from __future__ import annotations

import asyncio
import logging
import warnings
from datetime import datetime, timedelta

from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.telegram.keyboards import keyboard
from conversations.messages import Reply
from services.delivery import DeliveryError, drain_async
from services.reachability import mark_unreachable
from services.send_budget import FOLLOW_UP
from services.unit_of_work import Runtime

log = logging.getLogger("coachbot.telegram.send")

CHANNEL = "telegram"
# Telegram asks for no more than about one message per second in one chat; bursts above
# that earn 429s. The overall 30/s is the rate limiter's job (limits.py, for every request
# to a chat); this pace is for messages only (not the edits of answered questions).
PER_CHAT_RATE = 1.0
# Telegram's longest photo caption; a longer text goes without the picture.
CAPTION_LIMIT = 1024
# How many messages one drain claims: at 30/s about ten seconds of sending. Each drain ends
# with a tail (a chat's last message waiting for its pause) when the rate is not reached.
BATCH = 300
# A chat's share of one drain. A drain ends when its slowest chat is done, and a chat is
# paced at 1/s: two a drain keep a message queued meanwhile for another chat waiting about
# a second, not ten, while a long series still goes out at the chat's 1/s.
PER_CHAT_SHARE = 2


class ChatPacer:
    """Keeps `interval` seconds between the answer to one send to a chat and the next send.

    Counting from the answer (not from when the send began) keeps the gap at Telegram's end
    too, however long a request waited in the overall rate limiter or on the network.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}

    async def wait(self, address: str) -> bool:
        """Sleep until a message to this chat may go; whether it had to (a follow-up)."""
        last = self._last.get(address)
        if last is not None:
            delay = last + self.interval - asyncio.get_running_loop().time()
            if delay > 0:
                await asyncio.sleep(delay)
                return True
        return False

    def done(self, address: str) -> None:
        """A send to this chat was answered (or failed) just now."""
        now = asyncio.get_running_loop().time()
        self._last[address] = now
        if len(self._last) > 10_000:  # forget chats whose pause is over: nothing to keep
            self._last = {a: t for a, t in self._last.items() if t + self.interval > now}


class TelegramSender:
    """Sends replies, to many chats at once, and turns Telegram's errors into
    `DeliveryError`s."""

    def __init__(self, bot: Bot, *, rt: Runtime, per_chat_rate: float = PER_CHAT_RATE,
                 paid_broadcast: bool = False) -> None:
        self.bot = bot
        # Telegram's paid broadcast limit (1,000/s, paid in Stars); None leaves it out.
        self.paid = True if paid_broadcast else None
        self.rt = rt
        self.clock = rt.clock
        self.pacer = ChatPacer(1.0 / per_chat_rate)
        # After a 429 Telegram wants silence from the whole bot until retry_after has passed.
        self._quiet_until: datetime | None = None

    async def drain(self) -> int:
        """Send every due Telegram message once, chats concurrently; how many were sent."""
        if self.paused():
            return 0  # nothing is claimed while the whole bot waits out a 429
        return await drain_async(self.rt, CHANNEL, self.send, limit=BATCH,
                                 chats_concurrently=True, per_address=PER_CHAT_SHARE)

    async def send(self, address: str, reply: Reply) -> str:
        """Send one reply to a chat, paced for that chat; the Telegram message id."""
        follow_up = await self.pacer.wait(address)
        now = self.clock.now()
        if self._quiet_until is not None and now < self._quiet_until:
            raise DeliveryError("waiting out a flood limit", tried=False,
                                retry_after=(self._quiet_until - now).total_seconds())
        # Read by the bot's send budget (under PTB's rate limiter, in this task): a
        # follow-up gives way to other chats' first replies for a bot-wide slot.
        marked = FOLLOW_UP.set(follow_up)
        try:
            if reply.attachment is not None and len(reply.text) <= CAPTION_LIMIT:
                if reply.attachment.content_type.startswith("image/"):
                    # A chart goes as a photo with the text as its caption: one message.
                    message = await self.bot.send_photo(
                        chat_id=int(address), photo=reply.attachment.data,
                        caption=reply.text, reply_markup=keyboard(reply),
                        allow_paid_broadcast=self.paid)
                else:  # a data export: a file to keep, under its own name
                    message = await self.bot.send_document(
                        chat_id=int(address), caption=reply.text, reply_markup=keyboard(reply),
                        allow_paid_broadcast=self.paid, document=InputFile(reply.attachment.data,
                                           filename=reply.attachment.filename))
            else:
                message = await self.bot.send_message(chat_id=int(address), text=reply.text,
                                                      reply_markup=keyboard(reply),
                                                      allow_paid_broadcast=self.paid)
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
        finally:
            FOLLOW_UP.reset(marked)
            self.pacer.done(address)
        return str(message.message_id)

    def paused(self) -> bool:
        """Whether the bot is still waiting out a 429's retry_after (every chat waits)."""
        return self._quiet_until is not None and self.clock.now() < self._quiet_until

    def _unreachable(self, address: str, exc: TelegramError) -> None:
        mark_unreachable(self.rt, channel=CHANNEL, address=address,
                         reason=type(exc).__name__)


def _seconds(exc: RetryAfter) -> float:
    """retry_after in seconds, whichever type this PTB version hands out (int or timedelta)."""
    with warnings.catch_warnings():
        # PTB 22.2+ warns that the int form will become a timedelta; both are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
