"""One send budget per bot: how many sends may start, to the whole bot and to one address.

The platforms' limits (`TELEGRAM`, `TELEGRAM_PAID`, `SLACK`) are counted so that they hold
where the platform counts, at its end: a slot is taken when a request starts and given back
one period after its answer came, so any `overall + 1` requests are at least a period apart
at the platform whatever the network did (a request delayed, the next not).

Requests waiting for a slot get one in turn, except that a message that waited for its
address's pace (the next of a series) gives way to the first replies that come within a
second after it (`FOLLOW_UP`; among one process's requests, on PostgreSQL too).

On SQLite, one process sends, and its budget lives in memory (`LocalBudget`). On PostgreSQL
every worker of a bot takes its slots from the same rows (`SharedBudget`,
`storage/send_slots.py`), so N workers together stay within the limits instead of N times
them.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Protocol

from conversations.messages import Reply
from conversations.program import Program
from services.ports import AsyncSend
from services.unit_of_work import Runtime
from storage import send_slots as slots
from storage.send_slots import OVERALL

log = logging.getLogger("coachbot.budget")


@dataclass(frozen=True)
class Limits:
    """A platform's limits for one bot."""

    # Sends to the whole bot in any `period` seconds; None: no bot-wide limit.
    overall: int | None
    # Seconds between the answer to one send to an address and the next send to it;
    # None: the address is not paced here.
    per_address: float | None
    # How the preview names the limit ("Telegram's 30/s").
    label: str
    period: float = 1.0

    def paced_per_address(self, seconds: float | None) -> Limits:
        """The same limits with another pace per address (tests run chats unpaced)."""
        return replace(self, per_address=seconds)


# Telegram: 30 messages a second for the bot, about one a second in one chat.
TELEGRAM = Limits(overall=30, per_address=1.0, label="Telegram's 30/s")
# Telegram's paid broadcasts (allow_paid_broadcast): up to 1,000 a second, paid in Stars for
# every message above the free 30/s; the one-a-second pace in a chat stays.
TELEGRAM_PAID = Limits(overall=1000, per_address=1.0,
                       label="Telegram's paid broadcast limit of 1,000/s")
# Slack: about one message a second to a channel (a DM is a channel), short bursts allowed;
# no documented limit for the whole bot.
SLACK = Limits(overall=None, per_address=1.0, label="Slack's 1/s per channel")

# How long a slot stays held when its worker dies mid-send (SIGKILL): longer than a
# request takes (PTB's timeouts are 5 s), and no longer than the shortest outbox lease, so
# a crash delays the chat it was sending to no more than the crash does anyway. A request
# outliving it risks one send too many in a second: a 429, retried.
LEASE = 10.0
# Waiting for a slot polls the database no faster than this, nor slower.
SHORTEST_WAIT, LONGEST_WAIT = 0.002, 0.25
# Address gates idle this long are deleted, every FORGET_EVERY give-backs.
IDLE, FORGET_EVERY = 60.0, 2000


# Set by a sender around a request that had to wait for its address's pace: the next
# message of a series, a pace late already. For a bot-wide slot it gives way to the first
# replies that come within GIVE_WAY after it: someone waiting for an answer at all is
# kept waiting by a slot the follow-up takes, the reader of the first part hardly.
FOLLOW_UP: ContextVar[bool] = ContextVar("send_budget_follow_up", default=False)
# Bounded, so that a steady stream of first replies cannot hold a follow-up back for good.
GIVE_WAY = 1.0


class Turns:
    """A semaphore that serves its waiters first come, first served, but a follow-up
    (`FOLLOW_UP`) as if it had come `give_way` seconds later."""

    def __init__(self, value: int, *, give_way: float = GIVE_WAY) -> None:
        self._free = value
        self.give_way = give_way
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []  # a heap
        self._arrivals = itertools.count()

    async def acquire(self) -> None:
        """Wait for a slot and hold it."""
        if self._free > 0:  # a slot freed while anyone waits goes to a waiter, not here
            self._free -= 1
            return
        loop = asyncio.get_running_loop()
        turn = loop.create_future()
        due = loop.time() + (self.give_way if FOLLOW_UP.get() else 0.0)
        heapq.heappush(self._waiting, (due, next(self._arrivals), turn))
        try:
            await turn
        except asyncio.CancelledError:
            if not turn.cancelled():  # handed a slot as it was cancelled: pass it on
                self.release()
            raise

    def release(self) -> None:
        """Give a slot back: to the waiter due first, if anyone waits."""
        while self._waiting:
            turn = heapq.heappop(self._waiting)[2]
            if not turn.done():  # a cancelled waiter is skipped here
                turn.set_result(None)
                return
        self._free += 1

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """A slot held for the block."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()


class SendBudget(Protocol):
    """Waits for and holds the right to send one request (the port the adapters use)."""

    limits: Limits

    def slot(self, address: str | None, *, paced: bool = True
             ) -> contextlib.AbstractAsyncContextManager[None]:
        """Held while one request to `address` is in flight; `paced`: it counts for the
        address's own pace too (a message, not an edit)."""
        ...


class LocalBudget:
    """The budget of a bot that one process serves: slots in memory.

    The pace per address is the sender's in one process (e.g. the Telegram sender's
    ChatPacer): here only the bot-wide limit.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._slots = Turns(limits.overall) if limits.overall is not None else None

    @contextlib.asynccontextmanager
    async def slot(self, address: str | None, *, paced: bool = True) -> AsyncIterator[None]:
        """One bot-wide slot, given back one period after the request ends."""
        held = self._slots
        if held is None:
            yield
            return
        await held.acquire()
        try:
            yield
        finally:
            asyncio.get_running_loop().call_later(self.limits.period, held.release)


class SharedBudget:
    """The budget of a bot served by several workers: slots in PostgreSQL.

    In one process at most `overall` requests hold or wait for a bot-wide slot at once, and
    only one of them asks the database at a time, so a full budget costs about one query
    per slot that frees, not one per waiting request. A request waiting for its address's
    pause waits outside that queue.
    """

    def __init__(self, rt: Runtime, *, bot: str, limits: Limits, lease: float = LEASE) -> None:
        self.rt = rt
        self.bot = bot
        self.limits = limits
        self.lease = lease
        self._in_flight = Turns(limits.overall or 1000)
        self._asking = Turns(1)
        self._ensured = False
        self._given_back = 0
        # The one request asking for a bot-wide slot asks on a thread of its own: behind the
        # default pool's queue (every send's bookkeeping) it would leave freed slots unused.
        self._asker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="send-budget")

    @contextlib.asynccontextmanager
    async def slot(self, address: str | None, *, paced: bool = True) -> AsyncIterator[None]:
        """The address's turn (when paced) and one bot-wide slot, given back after."""
        held: list[tuple[str, int]] = []
        loop = asyncio.get_running_loop()
        try:
            # The address's turn first, outside the bot-wide queue: a chat waiting for its
            # pause must not keep another chat's message from a free bot-wide slot.
            if paced and address is not None and self.limits.per_address is not None:
                held.append((address, await self._take(address)))
            async with self._in_flight.held():
                if self.limits.overall is not None:
                    async with self._asking.held():
                        held.append((OVERALL, await self._take(OVERALL)))
                yield
        finally:
            if held:
                # Counted from the answer, not from when the database hears of it: the time
                # in between (a busy thread pool) is taken off the pause.
                await asyncio.to_thread(self._give_back, held, loop.time(), loop)

    async def _take(self, gate: str) -> int:
        """Wait until a slot of `gate` is free and hold it; its number."""
        while True:
            if gate == OVERALL:
                taken = await asyncio.get_running_loop().run_in_executor(
                    self._asker, self._try, gate)
            else:
                taken = await asyncio.to_thread(self._try, gate)
            if taken.slot is not None:
                return taken.slot
            await asyncio.sleep(min(LONGEST_WAIT, max(SHORTEST_WAIT, taken.wait)))

    def _try(self, gate: str) -> slots.Taken:
        with self.rt.transaction() as uow:
            if gate != OVERALL:
                return slots.take_one(uow.session, bot=self.bot, gate=gate, lease=self.lease)
            assert self.limits.overall is not None
            if not self._ensured:
                slots.ensure_slots(uow.session, bot=self.bot, gate=OVERALL,
                                   slots=self.limits.overall)
            taken = slots.take(uow.session, bot=self.bot, gate=OVERALL,
                               slots=self.limits.overall, lease=self.lease)
        self._ensured = True  # committed: the slots are there
        return taken

    def _give_back(self, held: list[tuple[str, int]], answered: float,
                   loop: asyncio.AbstractEventLoop) -> None:
        """Free the held slots: the bot's one period after the answer, the address's after
        its pace (`answered`: the loop's monotonic time of the answer)."""
        try:
            with self.rt.transaction() as uow:
                late = max(0.0, loop.time() - answered)
                for gate, number in held:
                    period = (self.limits.period if gate == OVERALL
                              else self.limits.per_address or 0.0)
                    slots.give_back(uow.session, bot=self.bot, gate=gate, slot=number,
                                    period=max(0.0, period - late))
                self._given_back += 1
                if self._given_back % FORGET_EVERY == 0:
                    slots.forget_idle(uow.session, bot=self.bot, idle=IDLE)
        except Exception as exc:  # the lease frees them; the send itself went out
            log.warning("send budget: giving slots back failed error=%s", type(exc).__name__)


def budget_for(rt: Runtime, *, bot: str, limits: Limits) -> SendBudget:
    """The bot's budget: shared by every worker on PostgreSQL, in memory on SQLite."""
    if rt.db.dialect.name == "postgresql":
        return SharedBudget(rt, bot=bot, limits=limits)
    return LocalBudget(limits)


def within(budget: SendBudget, send: AsyncSend) -> AsyncSend:
    """`send`, each call holding a slot of `budget` (for senders below no rate limiter)."""

    async def send_within(address: str, reply: Reply) -> str | None:
        async with budget.slot(address):
            return await send(address, reply)

    return send_within


def burst_duration(clients: int, limits: Limits, *, messages_each: int = 1) -> timedelta:
    """How long `clients` due at the same moment take to reach, at the platform's limits.

    The bot-wide limit counts every message; a client's own messages are also paced one
    after another (`per_address`). Whichever takes longer decides.
    """
    total = clients * messages_each
    seconds = 0.0
    if limits.overall is not None:
        seconds = total / limits.overall * limits.period
    if limits.per_address is not None and messages_each > 1:
        seconds = max(seconds, (messages_each - 1) * limits.per_address)
    return timedelta(seconds=seconds)


def duration_text(span: timedelta) -> str:
    """A duration the way a person says it: '2 min 14 s', '45 s', '1 h 6 min'."""
    seconds = math.ceil(span.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@dataclass(frozen=True)
class Burst:
    """Every client due at one moment (the check-in's weekly slot) and how long they take."""

    day: str
    at: str
    clients: int
    at_limits: tuple[tuple[Limits, timedelta], ...]


def checkin_burst(program: Program, clients: int) -> Burst | None:
    """The weekly check-in of `clients` clients in one zone at once, at Telegram's free and
    paid limits; None when the program has no weekly check-in."""
    weekly = program.checkin_schedule
    if weekly is None:
        return None
    # One message a client: a flow opens with its intro above its first question
    # (conversations/engine.start_flow).
    return Burst(day=str(weekly.day), at=f"{weekly.time:%H:%M}", clients=clients,
                 at_limits=tuple((limits, burst_duration(clients, limits))
                                 for limits in (TELEGRAM, TELEGRAM_PAID)))
