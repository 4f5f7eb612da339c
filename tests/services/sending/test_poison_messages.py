"""A message that cannot be sent is retried with backoff, set aside after a day at the
earliest, and never blocks its chat for good; the operator sees it in the log."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlmodel import select

from conversations.messages import Reply
from services.backoff import backoff
from services.delivery import DeliveryError, drain, drain_async
from services.keys import passing_reply
from storage.db import session
from storage.models import OutboxMessage
from storage.outbox import GIVE_UP_AFTER, MAX_ATTEMPTS

SECOND = timedelta(seconds=1)


class Platform:
    """Sends everything but the poison, which breaks the library itself (not a 4xx)."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.tries = 0

    def __call__(self, address: str, reply: Reply) -> str:
        if reply.text == "poison":
            self.tries += 1
            raise TypeError("Object of type Decimal is not JSON serializable")
        self.received.append(reply.text)
        return str(len(self.received))


def _queue(app, *texts: str) -> None:
    with app.rt.transaction() as uow:
        for n, text in enumerate(texts):
            uow.queue(key=f"test:{n}", channel="test", address="ana", person_id=None,
                      reply=Reply(text))


def _rows(app) -> list[OutboxMessage]:
    with session(app.db) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_library_error_counts_as_a_try_with_backoff_and_a_stored_reason(app, clock):
    _queue(app, "poison", "after", "later")
    platform = Platform()
    assert drain(app.rt, "test", platform) == 0
    poison, *rest = _rows(app)
    assert (poison.status, poison.attempts, poison.error) == ("queued", 1, "TypeError")
    assert poison.next_attempt_at == clock.now() + backoff(1)
    # The next messages wait for the same retry, so the chat never reads them out of order.
    assert [(r.status, r.attempts, r.claimed_by) for r in rest] == [("queued", 0, None)] * 2
    assert {r.next_attempt_at for r in rest} == {poison.next_attempt_at}
    assert drain(app.rt, "test", platform) == 0  # nothing resent before the backoff
    assert platform.tries == 1


def test_a_failing_message_waits_5_then_10_then_20_seconds_and_never_over_ten_minutes():
    waits = [backoff(attempt) for attempt in range(1, 10)]
    assert waits == [5 * SECOND, 10 * SECOND, 20 * SECOND, 40 * SECOND, 80 * SECOND,
                     160 * SECOND, 320 * SECOND, 600 * SECOND, 600 * SECOND]
    # Before any try (a message deferred unsent) the wait is the first step, not less.
    assert backoff(0) == 5 * SECOND
    # A day of retries reaches ~150 tries; twice the cap's exponent still waits ten minutes.
    assert backoff(18) == backoff(10_000) == 600 * SECOND


def test_eight_quick_failures_within_a_day_stay_queued(app, clock):
    _queue(app, "poison", "after")
    platform = Platform()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        drain(app.rt, "test", platform)
        clock.advance(backoff(attempt))
    assert platform.tries == MAX_ATTEMPTS
    poison, waiting = _rows(app)
    assert (poison.status, poison.attempts) == ("queued", MAX_ATTEMPTS)
    assert waiting.status == "queued"
    assert platform.received == []


def test_after_a_day_of_failures_the_message_is_set_aside_and_the_chat_goes_on(
        app, clock, caplog):
    _queue(app, "poison", "after")
    platform = Platform()
    started = clock.now()
    while clock.now() - started < GIVE_UP_AFTER - backoff(99):
        drain(app.rt, "test", platform)
        clock.advance(backoff(99))
    assert _rows(app)[0].status == "queued"  # still short of a day: tried again later
    clock.set(started + GIVE_UP_AFTER)
    with caplog.at_level(logging.ERROR, logger="coachbot.outbox"):
        drain(app.rt, "test", platform)
        drain(app.rt, "test", platform)
    poison, after = _rows(app)
    assert (poison.status, poison.error) == ("failed", "TypeError")
    assert (after.status, platform.received) == ("sent", ["after"])
    [line] = [r.getMessage() for r in caplog.records if "set aside" in r.getMessage()]
    assert f"outbox={poison.id}" in line and "reason=TypeError" in line


def test_a_message_whose_eighth_try_fails_a_day_after_it_was_queued_is_set_aside_then(
        app, clock):
    queued = clock.now()
    _queue(app, "poison", "after")
    platform = Platform()
    for attempt in range(1, MAX_ATTEMPTS):
        drain(app.rt, "test", platform)
        clock.advance(backoff(attempt))
    assert [r.status for r in _rows(app)] == ["queued", "queued"]
    clock.set(queued + GIVE_UP_AFTER)  # exactly a day: "after a day at the earliest"
    assert drain(app.rt, "test", platform) == 1  # the chat goes on in the same drain
    poison, after = _rows(app)
    assert (poison.status, poison.attempts, platform.tries) == ("failed", MAX_ATTEMPTS,
                                                                 MAX_ATTEMPTS)
    assert (after.status, platform.received) == ("sent", ["after"])


def test_a_long_error_is_stored_as_its_first_300_characters(app, clock):
    _queue(app, "poison")

    def verbose(address: str, reply: Reply) -> str:
        raise DeliveryError("E" * 1000)

    drain(app.rt, "test", verbose)
    [row] = _rows(app)
    assert (row.status, row.error) == ("queued", "E" * 300)


def test_a_client_who_blocked_the_bot_has_the_message_set_aside_at_once_and_the_next_goes(
        app, clock):
    _queue(app, "blocked", "after")
    sent: list[str] = []

    def platform(address: str, reply: Reply) -> str:
        if reply.text == "blocked":
            raise DeliveryError("Forbidden: bot was blocked by the user", permanent=True)
        sent.append(reply.text)
        return "1"

    assert drain(app.rt, "test", platform) == 1
    blocked, after = _rows(app)
    assert (blocked.status, blocked.attempts) == ("failed", 1)  # no retry can help
    assert (after.status, sent) == ("sent", ["after"])


def test_over_async_channels_a_blocked_chat_is_reported_unreachable_and_the_next_goes(
        app, clock):
    _queue(app, "blocked", "after")
    sent: list[str] = []
    unreachable: list[tuple[str, str]] = []

    async def platform(address: str, reply: Reply) -> str:
        if reply.text == "blocked":
            raise DeliveryError("Forbidden: bot was blocked by the user", permanent=True)
        sent.append(reply.text)
        return "1"

    count = asyncio.run(drain_async(app.rt, "test", platform,
                                    unreachable=lambda *chat: unreachable.append(chat)))
    assert (count, sent, unreachable) == (1, ["after"], [("test", "ana")])
    assert [r.status for r in _rows(app)] == ["failed", "sent"]


def test_a_strangers_reply_that_cannot_be_delivered_leaves_no_row(app, clock):
    with app.rt.transaction() as uow:
        uow.queue(key=passing_reply("test", "e1", 0), channel="test", address="stranger",
                  person_id=None, reply=Reply("How to join"))

    def platform(address: str, reply: Reply) -> str:
        raise DeliveryError("Forbidden: bot was blocked by the user", permanent=True)

    drain(app.rt, "test", platform)
    assert _rows(app) == []


def test_a_young_message_failing_eight_times_is_not_aged_by_an_older_one(app, clock):
    with app.rt.transaction() as uow:
        uow.queue(key="test:old", channel="test", address="ben", person_id=None,
                  reply=Reply("old news"))
    clock.advance(GIVE_UP_AFTER * 2)
    _queue(app, "poison")
    platform = Platform()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        drain(app.rt, "test", platform)
        clock.advance(backoff(attempt))
    old, poison = _rows(app)
    assert (poison.status, poison.attempts) == ("queued", MAX_ATTEMPTS)  # a day not yet gone
    assert old.status == "sent"


def test_a_message_held_by_a_bot_wide_pause_spends_no_try_and_waits_with_its_chat(app, clock):
    _queue(app, "held", "after")
    sent: list[str] = []

    asked: list[str] = []

    def paused(address: str, reply: Reply) -> str:
        asked.append(reply.text)
        if clock.now() < pause_ends:
            raise DeliveryError("paused", retry_after=5, tried=False)
        sent.append(reply.text)
        return "1"

    pause_ends = clock.now() + timedelta(seconds=5)
    assert drain(app.rt, "test", paused) == 0
    held, after = _rows(app)
    assert (held.attempts, held.next_attempt_at) == (0, pause_ends)  # no try was spent
    # Its chat waits too, without the next message being tried at all.
    assert (after.status, after.attempts, sent, asked) == ("queued", 0, [], ["held"])
    clock.set(pause_ends)
    assert drain(app.rt, "test", paused) == 2
    assert sent == ["held", "after"]


def test_a_strangers_reply_is_kept_while_it_is_retried_and_deleted_when_given_up(app, clock):
    with app.rt.transaction() as uow:
        uow.queue(key=passing_reply("test", "e1", 0), channel="test", address="stranger",
                  person_id=None, reply=Reply("poison"))
    queued = clock.now()
    platform = Platform()
    drain(app.rt, "test", platform)
    assert [r.status for r in _rows(app)] == ["queued"]  # a retry may still reach them
    for attempt in range(1, MAX_ATTEMPTS):
        clock.advance(backoff(attempt))
        drain(app.rt, "test", platform)
    clock.set(queued + GIVE_UP_AFTER)
    drain(app.rt, "test", platform)
    assert _rows(app) == []  # given up: nothing of the stranger stays


def test_an_async_drain_one_chat_after_another_counts_every_message_sent(app, clock):
    for address in ("ana", "ben"):
        with app.rt.transaction() as uow:
            uow.queue(key=f"test:{address}", channel="test", address=address, person_id=None,
                      reply=Reply(f"hello {address}"))
    sent: list[str] = []

    async def platform(address: str, reply: Reply) -> str:
        sent.append(reply.text)
        return str(len(sent))

    assert asyncio.run(drain_async(app.rt, "test", platform)) == 2  # Slack's way
    assert sorted(sent) == ["hello ana", "hello ben"]


def test_over_async_channels_a_failed_message_holds_its_chat_and_one_given_up_lets_it_go_on(
        app, clock):
    queued = clock.now()
    _queue(app, "poison", "after", "later")
    tried: list[str] = []

    async def platform(address: str, reply: Reply) -> str:
        tried.append(reply.text)
        if reply.text == "poison":
            raise TypeError("Object of type Decimal is not JSON serializable")
        return str(len(tried))

    assert asyncio.run(drain_async(app.rt, "test", platform)) == 0
    _, *rest = _rows(app)
    assert tried == ["poison"]  # the rest of the chat waits for the same retry
    assert [(r.status, r.attempts) for r in rest] == [("queued", 0)] * 2
    for attempt in range(1, MAX_ATTEMPTS):
        clock.advance(backoff(attempt))
        asyncio.run(drain_async(app.rt, "test", platform))
    clock.set(queued + GIVE_UP_AFTER)
    assert asyncio.run(drain_async(app.rt, "test", platform)) == 2  # set aside: the chat goes on
    assert [r.status for r in _rows(app)] == ["failed", "sent", "sent"]
    assert tried[-2:] == ["after", "later"]
