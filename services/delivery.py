"""Draining the outbox: claim due messages, send each through a channel, record the result.

The channel's send function is the only platform part; everything around it (claims,
order per address, retries with backoff, giving up, the team posts' anchors) is here.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from dataclasses import replace
from datetime import timedelta

from services import coach_relay, escalations, keys
from services.backoff import backoff
from services.ports import AsyncSend, Send, Unreachable
from services.unit_of_work import Runtime
from storage import outbox

log = logging.getLogger("coachbot.outbox")

WORKER = f"{socket.gethostname()}:{id(object()):x}"
# At most this many messages to one address in one drain: the rest wait for the next turn,
# so a chat with thousands queued never holds up the others.
PER_ADDRESS = 10


class DeliveryError(Exception):
    """A send failed. `permanent` when retrying cannot help (the client blocked the bot)."""

    def __init__(self, reason: str, *, permanent: bool = False,
                 retry_after: float | None = None, tried: bool = True) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.retry_after = retry_after
        # False when the platform was never asked (the bot waits out a pause): no try spent.
        self.tried = tried


_CLAIMING = threading.Lock()


class Outbox:
    """One channel's view of the outbox."""

    def __init__(self, rt: Runtime, channel: str, *, worker: str = WORKER) -> None:
        self.rt = rt
        self.channel = channel
        self.worker = worker

    def claim(self, limit: int, *, in_order: bool = False,
              per_address: int = PER_ADDRESS) -> list[outbox.Claimed]:
        """Due messages of this channel, leased to this worker; team posts get their anchor."""
        # One claim at a time in a process: SQLite reads outside the write lock, so two
        # overlapping drains could both see a chat free and each take one of its messages.
        with _CLAIMING, self.rt.transaction() as uow:
            batch = outbox.claim(uow.session, channel=self.channel, worker=self.worker,
                                 now=uow.now, limit=limit, per_address=per_address,
                                 in_order=in_order, lease=self.rt.outbox_lease)
            return [_anchored(uow.session, item) for item in batch]

    def sent(self, item: outbox.Claimed, platform_id: str | None) -> None:
        """Record a send; a team post's platform id now anchors its thread and edits."""
        with self.rt.transaction() as uow:
            if keys.forgotten_once_sent(item.key):
                outbox.forget(uow.session, item.id)
                return
            outbox.mark_sent(uow.session, item.id, platform_id=platform_id, now=uow.now,
                             reply=item.reply)
            card = item.reply.card
            if card is not None and not item.reply.edit:
                escalations.record_post(uow.session, card.id, channel=item.address,
                                        ts=platform_id)
            if item.reply.relay_card is not None:
                coach_relay.record_post(uow.session, item.reply.relay_card,
                                        channel=item.address, ts=platform_id)

    def failed(self, item: outbox.Claimed, exc: DeliveryError) -> str:
        """Record a failed try (retried after a backoff, or set aside); the status."""
        with self.rt.transaction() as uow:
            if not exc.tried:
                outbox.defer(uow.session, item.id, until=uow.now + retry_delay(item, exc))
                return "queued"
            forget = keys.forgotten_once_sent(item.key)
            if exc.permanent:
                if forget:
                    outbox.forget(uow.session, item.id)
                else:
                    outbox.mark_failed(uow.session, item.id, error=str(exc))
                log.warning("undeliverable outbox=%s channel=%s reason=%s", item.id,
                            item.channel, exc)
                return "failed"
            status = outbox.mark_retry(uow.session, item.id, error=str(exc),
                                       attempts=item.attempts, now=uow.now,
                                       delay=retry_delay(item, exc))
            if status == "failed":
                if forget:
                    outbox.forget(uow.session, item.id)
                # The operator's cue: the message is set aside and the chat goes on.
                log.error("set aside outbox=%s channel=%s attempts=%d reason=%s", item.id,
                          item.channel, item.attempts, exc)
            else:
                log.warning("send failed outbox=%s attempt=%d reason=%s", item.id,
                            item.attempts, exc)
            return status

    def defer(self, items: list[outbox.Claimed], *, until_delay: timedelta) -> None:
        """Hand claimed messages back unsent, due again after `until_delay`."""
        if not items:
            return
        with self.rt.transaction() as uow:
            for later in items:
                outbox.defer(uow.session, later.id, until=uow.now + until_delay)


def release_held(rt: Runtime, *, worker: str = WORKER) -> int:
    """On a clean stop, hand this worker's leased messages back; how many."""
    # A restart (or another worker) then sends them at once instead of after the lease.
    with rt.transaction() as uow:
        released = outbox.release(uow.session, worker=worker)
    if released:
        log.info("outbox leases released messages=%d", released)
    return released


def renew_held(rt: Runtime, *, worker: str = WORKER) -> int:
    """Extend this worker's leases: it is alive and still means to send what it holds."""
    with rt.transaction() as uow:
        return outbox.renew(uow.session, worker=worker, until=uow.now + rt.outbox_lease)


async def keep_leases(rt: Runtime, *, worker: str = WORKER) -> None:
    """Renew this worker's leases every third of a lease, until cancelled.

    A shared send budget paces every worker of a bot together, so what one worker claimed
    may take longer to go out than one lease; renewing keeps another worker from sending
    it too, and a worker that dies stops renewing, so its messages are taken over as before.
    """
    every = rt.outbox_lease.total_seconds() / 3
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(renew_held, rt, worker=worker)
        except Exception as exc:  # a database hiccup: the next renewal comes soon enough
            log.warning("renewing outbox leases failed error=%s", type(exc).__name__)


def _anchored(session, item: outbox.Claimed) -> outbox.Claimed:
    """An edit or thread reply of a team post or check-in card learns the post's id."""
    reply = item.reply
    if reply.thread_of is not None:
        return replace(item, reply=replace(
            reply, anchor=coach_relay.anchor_of(session, reply.thread_of)))
    about = reply.about if reply.about is not None else (
        reply.card.id if reply.card is not None and reply.edit else None)
    if about is None:
        return item
    return replace(item, reply=replace(reply, anchor=escalations.anchor_of(session, about)))


def retry_delay(item: outbox.Claimed, exc: DeliveryError) -> timedelta:
    """The platform's Retry-After when it gave one, else our backoff."""
    return (timedelta(seconds=exc.retry_after) if exc.retry_after is not None
            else backoff(item.attempts))


def _as_delivery_error(exc: Exception) -> DeliveryError:
    """Any failure of a send counts as a try: a library bug must not resend forever."""
    return exc if isinstance(exc, DeliveryError) else DeliveryError(type(exc).__name__)


def drain(rt: Runtime, channel: str, send: Send, *, worker: str = WORKER,
          limit: int = 100) -> int:
    """Send every due message of `channel` once; returns how many were sent."""
    box = Outbox(rt, channel, worker=worker)
    sent = 0
    for items in _group(box.claim(limit)):
        for n, item in enumerate(items):
            try:
                platform_id = send(item.address, item.reply)
            except Exception as exc:
                error = _as_delivery_error(exc)
                if box.failed(item, error) == "queued":
                    # The rest of this address waits for the same retry: order is kept.
                    box.defer(items[n + 1:], until_delay=retry_delay(item, error))
                    break
                continue
            box.sent(item, platform_id)
            sent += 1
    return sent


async def drain_async(rt: Runtime, channel: str, send: AsyncSend, *,
                      worker: str = WORKER, limit: int = 100,
                      unreachable: Unreachable | None = None,
                      chats_concurrently: bool = False,
                      per_address: int = PER_ADDRESS) -> int:
    """The same as `drain` for channels whose libraries are async (Telegram, Slack).

    Each address's messages go in order. `chats_concurrently`: send to different addresses
    at the same time, so pacing one chat does not hold up the others.
    """
    box = Outbox(rt, channel, worker=worker)
    # A chat paced at about 1/s must finish its share (PER_ADDRESS) well inside the claim's
    # lease (60 s), or another worker would take its messages over.
    batch = await asyncio.to_thread(box.claim, limit, in_order=chats_concurrently,
                                    per_address=per_address)
    chats = _group(batch)
    if chats_concurrently:
        counts = await asyncio.gather(*(
            _send_in_order(box, send, items, unreachable) for items in chats))
        return sum(counts)
    sent = 0
    for items in chats:
        sent += await _send_in_order(box, send, items, unreachable)
    return sent


def _group(batch: list[outbox.Claimed]) -> list[list[outbox.Claimed]]:
    """The batch per address, each address's messages in order."""
    chats: dict[str, list[outbox.Claimed]] = {}
    for item in batch:
        chats.setdefault(item.address, []).append(item)
    return list(chats.values())


async def _send_in_order(box: Outbox, send: AsyncSend, items: list[outbox.Claimed],
                         unreachable: Unreachable | None) -> int:
    """One address's messages one after another; after a failure that will be retried, the
    rest wait for the same retry so the chat never reads them out of order."""
    sent = 0
    for n, item in enumerate(items):
        try:
            platform_id = await send(item.address, item.reply)
        except Exception as exc:
            error = _as_delivery_error(exc)
            status = await asyncio.to_thread(box.failed, item, error)
            if error.permanent:
                if unreachable is not None:
                    await asyncio.to_thread(unreachable, box.channel, item.address)
                continue
            if status == "failed":  # set aside after its last try: the chat goes on
                continue
            await asyncio.to_thread(box.defer, items[n + 1:],
                                    until_delay=retry_delay(item, error))
            break
        await asyncio.to_thread(box.sent, item, platform_id)
        sent += 1
    return sent
