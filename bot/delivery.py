"""Draining the outbox: claim due messages, send each through a channel, record the result."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import Engine

from conversations.messages import Reply
from scheduler.clock import Clock
from storage import outbox
from storage.db import session as new_session

log = logging.getLogger("coachbot.outbox")

WORKER = f"{socket.gethostname()}:{id(object()):x}"


class DeliveryError(Exception):
    """A send failed. `permanent` when retrying cannot help (the client blocked the bot)."""

    def __init__(self, reason: str, *, permanent: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.retry_after = retry_after


def backoff(attempts: int) -> timedelta:
    """Exponential backoff between retries: 5 s, 10 s, 20 s ... capped at 10 minutes."""
    return timedelta(seconds=min(600, 5 * 2 ** max(0, attempts - 1)))


# At most this many messages to one address in one concurrent drain.
PER_ADDRESS = 10

SendFn = Callable[[str, Reply], str | None]
AsyncSendFn = Callable[[str, Reply], Awaitable[str | None]]
UnreachableFn = Callable[[str, str], None]


def drain(db: Engine, clock: Clock, channel: str, send: SendFn, *, worker: str = WORKER,
          limit: int = 100) -> int:
    """Send every due message of `channel` once; returns how many were sent."""
    with new_session(db) as session, session.begin():
        batch = outbox.claim(session, channel=channel, worker=worker, now=clock.now(),
                             limit=limit)
    sent = 0
    for item in batch:
        try:
            platform_id = send(item.address, item.reply)
        except DeliveryError as exc:
            _record_failure(db, clock, item, exc)
            continue
        _mark_sent(db, clock, item, platform_id)
        sent += 1
    return sent


async def drain_async(db: Engine, clock: Clock, channel: str, send: AsyncSendFn, *,
                      worker: str = WORKER, limit: int = 100,
                      unreachable: UnreachableFn | None = None,
                      chats_concurrently: bool = False) -> int:
    """The same as `drain` for channels whose libraries are async (Telegram, Slack).

    `chats_concurrently`: send to different addresses at the same time, each address's
    messages in order, so pacing one chat does not hold up the others.
    """
    with new_session(db) as session, session.begin():
        batch = outbox.claim(session, channel=channel, worker=worker, now=clock.now(),
                             limit=limit, in_order=chats_concurrently)
    if chats_concurrently:
        counts = await asyncio.gather(*(
            _send_in_order(db, clock, channel, send, items, unreachable)
            for items in _by_address(db, clock, batch)))
        return sum(counts)
    sent = 0
    for items in _group(batch):
        sent += await _send_in_order(db, clock, channel, send, items, unreachable)
    return sent


def _group(batch: list[outbox.Claimed]) -> list[list[outbox.Claimed]]:
    """The batch per address, each address's messages in order."""
    chats: dict[str, list[outbox.Claimed]] = {}
    for item in batch:
        chats.setdefault(item.address, []).append(item)
    return list(chats.values())


def _by_address(db: Engine, clock: Clock,
                batch: list[outbox.Claimed]) -> list[list[outbox.Claimed]]:
    """The batch split per address, in order, at most PER_ADDRESS each; the rest deferred.

    A chat paced at about 1/s must finish well inside the claim's lease (60 s), or another
    worker would take its messages over: its later messages wait for the next drain.
    """
    chats = _group(batch)
    overflow = [later for items in chats for later in items[PER_ADDRESS:]]
    if overflow:
        with new_session(db) as session, session.begin():
            for later in overflow:
                outbox.defer(session, later.id, until=clock.now())
    return [items[:PER_ADDRESS] for items in chats]


async def _send_in_order(db: Engine, clock: Clock, channel: str, send: AsyncSendFn,
                         items: list[outbox.Claimed],
                         unreachable: UnreachableFn | None) -> int:
    """One address's messages one after another; after a failure that will be retried, the
    rest wait for the same retry so the chat never reads them out of order."""
    sent = 0
    for n, item in enumerate(items):
        try:
            platform_id = await send(item.address, item.reply)
        except DeliveryError as exc:
            _record_failure(db, clock, item, exc)
            if exc.permanent:
                if unreachable is not None:
                    unreachable(channel, item.address)
                continue
            until = clock.now() + _retry_delay(item, exc)
            with new_session(db) as session, session.begin():
                for later in items[n + 1:]:
                    outbox.defer(session, later.id, until=until)
            break
        _mark_sent(db, clock, item, platform_id)
        sent += 1
    return sent


def _mark_sent(db: Engine, clock: Clock, item: outbox.Claimed, platform_id: str | None) -> None:
    with new_session(db) as session, session.begin():
        outbox.mark_sent(session, item.id, platform_id=platform_id, now=clock.now(),
                         reply=item.reply)


def _retry_delay(item: outbox.Claimed, exc: DeliveryError) -> timedelta:
    return (timedelta(seconds=exc.retry_after) if exc.retry_after is not None
            else backoff(item.attempts))


def _record_failure(db: Engine, clock: Clock, item: outbox.Claimed, exc: DeliveryError) -> None:
    with new_session(db) as session, session.begin():
        if exc.permanent:
            outbox.mark_failed(session, item.id, error=str(exc))
            log.warning("undeliverable outbox=%s channel=%s reason=%s", item.id, item.channel,
                        exc)
            return
        delay = _retry_delay(item, exc)
        status = outbox.mark_retry(session, item.id, error=str(exc), attempts=item.attempts,
                                   now=clock.now(), delay=delay)
        log.warning("send failed outbox=%s attempt=%d status=%s reason=%s", item.id,
                    item.attempts, status, exc)
