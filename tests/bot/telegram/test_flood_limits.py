"""Sending to many clients at once stays inside Telegram's flood limits, and every chat
reads its messages once and in order, even when one of them has to be retried.

The fake Bot API server enforces the limits itself (30 messages/s for the bot, 1/s per
chat, on its own clock) and answers 429 when one is exceeded; the tests count those 429s
rather than timing anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.telegram.limits import OVERALL_RATE, FloodLimiter
from bot.telegram.telegram_channel import build_application
from bot.telegram.telegram_sender import TelegramSender
from conversations.messages import Reply
from services.send_budget import FOLLOW_UP, SLACK, Limits, LocalBudget, Turns
from storage import outbox
from storage.db import session
from storage.models import OutboxMessage

FIRST_CHAT = 5_000_000_001


@pytest.fixture(autouse=True)
def _chats_started_the_bot(telegram_api) -> None:
    """The chats below started the bot before the test (a bot cannot write first)."""
    telegram_api.add_chat(*(FIRST_CHAT + chat for chat in range(40)))


def _queue(app, chats: range, texts: list[str]) -> None:
    with session(app.db) as s, s.begin():
        for chat in chats:
            for text in texts:
                outbox.enqueue(s, key=f"{chat}:{text}", channel="telegram",
                               address=str(FIRST_CHAT + chat), person_id=None,
                               reply=Reply(text=text), now=app.clock.now())


def _drain(app, settings, *, per_chat_rate: float = 1.0, times: int = 10) -> int:
    """Run the real sender against the fake until nothing due is left; how many were sent."""

    async def run() -> int:
        application = build_application(settings, webhook=False)
        await application.initialize()
        sender = TelegramSender(application.bot, rt=app.rt,
                                per_chat_rate=per_chat_rate)
        sent = 0
        try:
            for _ in range(times):
                batch = await sender.drain()
                if not batch:
                    break
                sent += batch
        finally:
            await application.shutdown()
        return sent

    return asyncio.run(run())


def _texts(telegram_api, chat: int) -> list[str]:
    return [m["text"] for m in telegram_api.sent_messages(FIRST_CHAT + chat)]


def test_a_busy_send_to_many_chats_never_exceeds_telegrams_limits(
        app, settings, telegram_api):
    telegram_api.enforce_flood_limits(overall=30, per_chat=1, period=1.0)
    # 80 messages: more than a second's worth for the bot, two for every chat.
    _queue(app, range(40), ["Your weekly check-in is here", "How confident do you feel?"])

    assert _drain(app, settings) == 80

    assert telegram_api.flood_errors() == 0
    for chat in range(40):
        assert _texts(telegram_api, chat) == ["Your weekly check-in is here",
                                              "How confident do you feel?"]
    with session(app.db) as s:
        rows = list(s.exec(select(OutboxMessage)))
    assert {r.status for r in rows} == {"sent"}
    assert all(r.platform_message_id for r in rows)


def test_when_a_message_must_be_retried_the_rest_of_that_chat_waits_behind_it(
        app, clock, settings, telegram_api):
    _queue(app, range(3), ["first", "second", "third"])
    telegram_api.fail_chat(FIRST_CHAT + 1, status=502)

    assert _drain(app, settings, per_chat_rate=1000) == 6  # the other two chats, in full
    assert _texts(telegram_api, 0) == _texts(telegram_api, 2) == ["first", "second", "third"]
    assert _texts(telegram_api, 1) == []

    # Telegram is back for that chat, and one more message is queued for it; nothing goes
    # before the retry of "first" is due.
    telegram_api.clear_failures()
    _queue(app, range(1, 2), ["fourth"])
    assert _drain(app, settings, per_chat_rate=1000) == 0

    clock.advance(timedelta(seconds=5))  # the first backoff step
    assert _drain(app, settings, per_chat_rate=1000) == 4
    assert _texts(telegram_api, 1) == ["first", "second", "third", "fourth"]
    assert telegram_api.flood_errors() == 0


def _held_for_an_hour(overall: int) -> FloodLimiter:
    """A limiter whose slots come back only an hour after each request."""
    return FloodLimiter(LocalBudget(Limits(overall=overall, per_address=None, label="test",
                                           period=3600.0)))


def test_the_limiter_holds_the_31st_message_of_a_second_but_never_getupdates():
    """Telegram's 30 a second overall: the 31st message waits for the first slot to come back;
    requests to no chat (getUpdates, answerCallbackQuery) never wait."""
    limiter = FloodLimiter()
    # Telegram's documented 30 a second, which the benchmarks' fake enforces too.
    assert (limiter.budget.limits.overall, limiter.budget.limits.period) == (30, 1.0)
    assert OVERALL_RATE == 30

    async def run() -> tuple[list[int], bool]:
        held = _held_for_an_hour(2)  # slots come back only after an hour
        await held.initialize()
        started: list[int] = []

        async def request(n: int) -> bool:
            started.append(n)
            return True

        messages = [asyncio.create_task(held.process_request(
            request, (n,), {}, "sendMessage", {"chat_id": n}, None)) for n in range(3)]
        for _ in range(5):
            await asyncio.sleep(0)  # let every task run as far as it can
        updates = await held.process_request(request, (99,), {}, "getUpdates", {}, None)
        for task in messages:
            task.cancel()
        return started, updates

    started, updates = asyncio.run(run())
    assert started[:2] == [0, 1] and 2 not in started
    assert updates is True and 99 in started


def test_a_limiter_asked_before_ptb_initialises_it_still_holds_the_second_message():
    async def run() -> list[int]:
        held = _held_for_an_hour(1)
        started: list[int] = []

        async def request(n: int) -> bool:
            started.append(n)
            return True

        messages = [asyncio.create_task(held.process_request(
            request, (n,), {}, "sendMessage", {"chat_id": n}, None)) for n in range(2)]
        for _ in range(5):
            await asyncio.sleep(0)
        for task in messages:
            task.cancel()
        return started

    assert asyncio.run(run()) == [0]


class _RecordingBudget:
    """A send budget (the port) that lets every request go and notes what it was asked."""

    def __init__(self) -> None:
        self.limits = Limits(overall=None, per_address=None, label="recording")
        self.asked: list[tuple[str | None, bool]] = []
        self.follow_ups: list[tuple[str | None, bool]] = []

    @contextlib.asynccontextmanager
    async def slot(self, address: str | None, *, paced: bool = True) -> AsyncIterator[None]:
        self.asked.append((address, paced))
        self.follow_ups.append((address, FOLLOW_UP.get()))
        yield


def test_a_message_photo_or_file_counts_for_its_chats_pace_and_an_edit_does_not():
    """Every request to a chat takes a slot of the budget; only what posts a new message
    (text, photo, document) counts for the chat's one-a-second pace."""
    budget = _RecordingBudget()
    limiter = FloodLimiter(budget)

    async def run() -> None:
        async def request() -> bool:
            return True

        for endpoint in ("sendMessage", "sendPhoto", "sendDocument", "editMessageText"):
            await limiter.process_request(request, (), {}, endpoint, {"chat_id": 7}, None)
        await limiter.process_request(request, (), {}, "getUpdates", {}, None)

    asyncio.run(run())
    assert limiter.budget is budget
    assert budget.asked == [("7", True), ("7", True), ("7", True), ("7", False)]


def test_a_budget_without_a_bot_wide_limit_lets_every_request_go_at_once():
    """Slack documents no limit for the whole bot: a hundred requests in flight hold none."""

    async def run() -> int:
        budget = LocalBudget(SLACK)
        inside = 0
        release = asyncio.Event()

        async def request() -> None:
            nonlocal inside
            async with budget.slot("C1"):
                inside += 1
                await release.wait()

        tasks = [asyncio.create_task(request()) for _ in range(100)]
        for _ in range(5):
            await asyncio.sleep(0)
        count = inside
        release.set()
        await asyncio.gather(*tasks)
        return count

    assert asyncio.run(run()) == 100


def _in_turn(slot: Callable[[], contextlib.AbstractAsyncContextManager[None]],
             chats: tuple[str, ...]) -> list[str]:
    """The order in which requests to `chats` get the one slot that `slot` holds (a chat
    named "... again" is a follow-up), all waiting while another chat holds it."""

    async def run() -> list[str]:
        order: list[str] = []
        go = asyncio.Event()

        async def request(chat: str, *, follow_up: bool = False) -> None:
            FOLLOW_UP.set(follow_up)  # this task's own context, as the sender sets it
            async with slot():
                order.append(chat)
                await go.wait()

        holder = asyncio.create_task(request("A"))
        await asyncio.sleep(0)  # A holds the one slot
        waiting = [asyncio.create_task(request(chat, follow_up=chat.endswith("again")))
                   for chat in chats]
        for _ in range(5):
            await asyncio.sleep(0)  # let every task run as far as it can
        go.set()
        await asyncio.gather(holder, *waiting)
        return order[1:]

    return asyncio.run(run())


def test_a_chats_next_message_gives_way_to_other_chats_first_replies_for_a_bot_wide_slot():
    """A chat's next message, paced a second behind the one before, waits for a bot-wide
    slot after the chats waiting for their first reply (each kind in turn): taken first,
    its slot would hold up someone who has had no answer yet."""
    # One slot, given back as soon as its request ends.
    budget = LocalBudget(Limits(overall=1, per_address=None, label="test", period=0.0))

    assert _in_turn(lambda: budget.slot("any"), ("A again", "B", "C again", "D")) == [
        "B", "D", "A again", "C again"]


def test_a_follow_up_gives_way_no_longer_than_its_allowance():
    """The allowance bounds the wait: a steady stream of first replies cannot hold a
    follow-up back for good. With none, a follow-up keeps its place in the queue."""
    assert _in_turn(Turns(1, give_way=0.0).held, ("A again", "B", "C again", "D")) == [
        "A again", "B", "C again", "D"]


def _through(turns: Turns, names: tuple[str, ...], act=None) -> list[str]:
    """Which of `names` (in that order) get a slot of `turns` while none is given back;
    `act(turns, tasks)` first, once they all wait or hold."""

    async def run() -> list[str]:
        through: list[str] = []

        async def request(name: str) -> None:
            await turns.acquire()
            through.append(name)

        tasks = {name: asyncio.create_task(request(name)) for name in names}
        for _ in range(5):
            await asyncio.sleep(0)  # let every task run as far as it can
        if act is not None:
            act(turns, tasks)
            for _ in range(5):
                await asyncio.sleep(0)
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        return through

    return asyncio.run(run())


def test_slots_given_back_with_nobody_waiting_are_there_for_the_next_requests():
    turns = Turns(2)
    assert _through(turns, ("A", "B", "C")) == ["A", "B"]
    turns.release()
    turns.release()

    assert _through(turns, ("D", "E", "F")) == ["D", "E"]


def test_a_request_cancelled_while_waiting_for_a_slot_takes_none_and_gives_none_back():
    """A stop cancels requests waiting for a slot: they leave the queue as it was."""

    def cancel_the_first(turns: Turns, tasks: dict[str, asyncio.Task[None]]) -> None:
        tasks["waiting"].cancel()

    assert _through(Turns(1), ("holder", "waiting", "next"), cancel_the_first) == ["holder"]


def test_a_slot_handed_to_a_request_cancelled_before_it_ran_goes_to_the_next_waiter():
    def give_back_then_cancel(turns: Turns, tasks: dict[str, asyncio.Task[None]]) -> None:
        turns.release()  # the holder's slot, handed to "handed" ...
        tasks["handed"].cancel()  # ... which is cancelled before it runs

    assert _through(Turns(1), ("holder", "handed", "next"), give_back_then_cancel) == [
        "holder", "next"]


def test_the_sender_marks_a_message_that_waited_for_its_chats_pace_as_a_follow_up(
        app, settings, telegram_api):
    """What tells the budget a message may give way: it waited for its chat's pace."""
    _queue(app, range(1), ["Your weekly check-in is here", "How confident do you feel?"])
    _queue(app, range(1, 2), ["Your weekly check-in is here"])
    budget = _RecordingBudget()

    async def run() -> int:
        application = build_application(settings, webhook=False, budget=budget)
        await application.initialize()
        sender = TelegramSender(application.bot, rt=app.rt)  # Telegram's one a second
        try:
            return await sender.drain()
        finally:
            await application.shutdown()

    assert asyncio.run(run()) == 3
    first, second = str(FIRST_CHAT), str(FIRST_CHAT + 1)
    assert sorted(budget.follow_ups) == [(first, False), (first, True), (second, False)]
    assert budget.follow_ups[-1] == (first, True)
