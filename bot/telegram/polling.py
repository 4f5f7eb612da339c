"""Long polling that confirms to Telegram only what is stored.

Telegram forgets an update once a getUpdates call asks for an offset past it. PTB's
Updater asks for the next offset as soon as a batch is fetched, before it is handled, so a
crash or a stop lost whatever was in memory. Here a batch is handled first (chats at the
same time, each chat's updates in order), and the next offset is the first update that was
not handled: a failure, a crash or a stop leaves it (and those after it) with Telegram,
which hands them out again. Updates after it that were handled come back too and are
refused by the dedupe (services/keys.py keys them on the message, not the update_id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, TelegramError

from bot.telegram.outage import Outage, passing, reason

log = logging.getLogger("coachbot.telegram.polling")

# Seconds a getUpdates call waits for news: long enough to be cheap, short enough that a
# stop does not wait on it (a stop cancels it anyway; nothing is confirmed by cancelling).
POLL_TIMEOUT = 25
# Updates per batch (Telegram's maximum).
BATCH = 100
# Updates handled at the same time: the worker threads are few, and a stop waits only
# for these.
CONCURRENCY = 8
# After a failure, how long before the same updates are fetched again (doubling).
FIRST_RETRY = 1.0
LAST_RETRY = 30.0
# Tries of an update that fails on its own (a bug, not the database): after these it is
# set aside, so one poison update cannot hold up every chat behind its offset.
POISON_TRIES = 5

Handle = Callable[[Update], Awaitable[None]]


class Poller:
    """Fetches updates and hands each to `handle`; the offset moves past handled ones only."""

    def __init__(self, bot: Bot, handle: Handle, *, allowed_updates: Sequence[str],
                 timeout: int = POLL_TIMEOUT, batch: int = BATCH,
                 concurrency: int = CONCURRENCY, first_retry: float = FIRST_RETRY) -> None:
        self.bot = bot
        self.handle = handle
        self.allowed_updates = list(allowed_updates)
        self.timeout = timeout
        self.batch = batch
        self.first_retry = first_retry
        self._slots = asyncio.Semaphore(concurrency)
        # The first update not yet handled; None until the first batch.
        self.offset: int | None = None
        self._confirmed: int | None = None
        self.handled = 0
        self.given_up = 0
        self.outage = Outage(log)
        self._tries: dict[int, int] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch and handle until `stop` is set; then confirm what was handled and return."""
        delay = self.first_retry
        while not stop.is_set():
            try:
                updates = await _unless_stopped(stop, self.bot.get_updates(
                    offset=self.offset, timeout=self.timeout, limit=self.batch,
                    allowed_updates=self.allowed_updates))
            except InvalidToken:
                raise
            except (TelegramError, OSError) as exc:
                # 409 Conflict: another process polls with this token, or a webhook is set.
                what = "another poller or a webhook holds the bot" if isinstance(
                    exc, Conflict) else "telegram unreachable"
                log.warning("getUpdates failed (%s: %s); retrying in %.0f s", what,
                            type(exc).__name__, delay)
                await _pause(stop, delay)
                delay = min(LAST_RETRY, delay * 2)
                continue
            if updates is None:  # stopped while waiting
                break
            self._confirmed = self.offset
            if not updates:
                delay = self.first_retry
                continue
            failed = await self._handle_batch(updates, stop)
            if failed is None:
                self.outage.handled()
                delay = self.first_retry
            elif not stop.is_set():
                self.outage.failed(failed, f"not confirmed to Telegram, fetched again in "
                                           f"{delay:.0f} s")
                await _pause(stop, delay)
                delay = min(LAST_RETRY, delay * 2)
        await self._confirm()

    async def _handle_batch(self, updates: Sequence[Update], stop: asyncio.Event) -> str | None:
        """Handle one batch and move the offset; the reason it stopped short, if it failed."""
        chats: dict[object, list[Update]] = {}
        for update in updates:
            chat = update.effective_chat
            chats.setdefault(chat.id if chat is not None else ("update", update.update_id),
                             []).append(update)
        left: list[int] = []
        reasons: list[str] = []

        async def one_chat(items: list[Update]) -> None:
            for update in items:
                async with self._slots:
                    # Looked at once a slot is free: a stop waits only for the updates in hand.
                    if stop.is_set():
                        left.append(update.update_id)
                        return
                    try:
                        await self.handle(update)
                    except Exception as exc:
                        log.debug("telegram update failure detail", exc_info=exc)
                        if not passing(exc) and self._poisoned(update.update_id):
                            log.error("telegram update set aside after %d tries "
                                      "update=%s error=%s", POISON_TRIES, update.update_id,
                                      type(exc).__name__)
                            self.given_up += 1
                            continue
                        # The chat's later updates wait: its messages stay in order.
                        left.append(update.update_id)
                        reasons.append(reason(exc))
                        return
                self.handled += 1

        await asyncio.gather(*(one_chat(items) for items in chats.values()))
        self.offset = min(left) if left else updates[-1].update_id + 1
        self._tries = {u: n for u, n in self._tries.items() if u >= self.offset}
        return reasons[0] if reasons else None

    def _poisoned(self, update_id: int) -> bool:
        """Count a failed try of an update; True once it has had all its tries."""
        self._tries[update_id] = self._tries.get(update_id, 0) + 1
        return self._tries[update_id] >= POISON_TRIES

    async def _confirm(self) -> None:
        """Tell Telegram the handled updates are done, so a restart does not fetch them again."""
        if self.offset is None or self.offset == self._confirmed:
            return
        try:
            # timeout=0 returns at once; an update it returns stays unconfirmed.
            await asyncio.wait_for(self.bot.get_updates(
                offset=self.offset, timeout=0, limit=1,
                allowed_updates=self.allowed_updates), 2.0)
        except (TelegramError, OSError, TimeoutError) as exc:
            log.info("handled updates not confirmed at stop (%s); they are refused as "
                     "duplicates after the restart", type(exc).__name__)


async def _unless_stopped(stop: asyncio.Event, call: Awaitable[tuple[Update, ...]]
                          ) -> tuple[Update, ...] | None:
    """The call's result, or None if `stop` was set first (the call is then cancelled)."""
    fetch = asyncio.ensure_future(call)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        fetch.cancel()
        raise
    finally:
        stopping.cancel()
    if fetch.done():
        return fetch.result()
    fetch.cancel()
    with contextlib.suppress(asyncio.CancelledError, TelegramError, OSError):
        await fetch
    return None


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
