"""A 429 pauses the whole bot for Telegram's retry_after (not our backoff, not one chat);
an error inside the library counts as a try like any other. Real PTB, the fake Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.telegram.telegram_channel import build_application
from bot.telegram.telegram_sender import PER_CHAT_SHARE, TelegramSender
from conversations.messages import Reply
from services.backoff import backoff
from storage.db import session
from storage.models import OutboxMessage
from tests.fakes.telegram_api import FakeTelegramAPI

ANA, BEN = 5_000_000_001, 5_000_000_002


@pytest.fixture
def telegram_api() -> Iterator[FakeTelegramAPI]:
    """The fake Bot API, to which Ana and Ben have written (Telegram refuses other chats);
    flood limits off: these tests queue and drain by hand, the pacing is not their subject."""
    with FakeTelegramAPI(max_poll_wait=0.3, flood_limits=False, chats=(ANA, BEN)) as api:
        yield api


def _queue(app, address: str, text: str) -> None:
    with app.rt.transaction() as uow:
        uow.queue(key=f"test:{address}:{text}", channel="telegram", address=address,
                  person_id=None, reply=Reply(text))


def _rows(app) -> dict[str, OutboxMessage]:
    with session(app.db) as s:
        return {r.payload["text"]: r for r in s.exec(select(OutboxMessage))}


class Sender:
    """The real sender on its own loop, drained when the test says so."""

    def __init__(self, app, settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.application = build_application(settings, webhook=False)
        self.loop.run_until_complete(self.application.initialize())
        self.sender = TelegramSender(self.application.bot, rt=app.rt, per_chat_rate=1000)

    def drain(self) -> int:
        return self.loop.run_until_complete(self.sender.drain())

    def close(self) -> None:
        self.loop.run_until_complete(self.application.shutdown())
        self.loop.close()


def test_a_429_pauses_every_chat_for_its_retry_after_not_for_the_backoff(
        app, settings, clock, telegram_api):
    telegram_api.fail_next("sendMessage", status=429, retry_after=30)
    sender = Sender(app, settings)
    try:
        _queue(app, str(ANA), "to ana")
        assert sender.drain() == 0  # the 429
        _queue(app, str(BEN), "to ben")
        waited = _rows(app)["to ana"]
        assert waited.next_attempt_at == clock.now() + timedelta(seconds=30) != \
            clock.now() + backoff(1)
        for seconds in (backoff(1).total_seconds(), 29):
            clock.set(waited.next_attempt_at - timedelta(seconds=30 - seconds))
            assert sender.drain() == 0  # Ben's chat waits too: the whole bot is quiet
        assert telegram_api.sent_messages(BEN) == []
        rows = _rows(app)
        assert (rows["to ben"].status, rows["to ben"].attempts) == ("queued", 0)
        clock.set(waited.next_attempt_at)
        assert sender.drain() == 2
    finally:
        sender.close()
    assert [m["text"] for m in telegram_api.sent_messages(ANA)] == ["to ana"]
    assert [m["text"] for m in telegram_api.sent_messages(BEN)] == ["to ben"]


def test_an_error_inside_the_library_is_a_try_with_a_reason_and_other_chats_go_on(
        app, settings, clock, telegram_api):
    sender = Sender(app, settings)
    try:
        _queue(app, "not-a-chat-id", "broken")  # int(address) fails before any request
        _queue(app, str(BEN), "to ben")
        assert sender.drain() == 1
    finally:
        sender.close()
    broken = _rows(app)["broken"]
    assert (broken.status, broken.attempts, broken.error) == ("queued", 1, "ValueError")
    assert broken.next_attempt_at == clock.now() + backoff(1)
    assert [m["text"] for m in telegram_api.sent_messages(BEN)] == ["to ben"]


def test_one_drain_gives_a_busy_chat_only_its_share_so_others_wait_about_a_second(
        app, settings, telegram_api):
    for n in range(5):
        _queue(app, str(ANA), f"series {n}")
    _queue(app, str(BEN), "to ben")
    sender = Sender(app, settings)
    try:
        assert sender.drain() == PER_CHAT_SHARE + 1
        while sender.drain():
            pass
    finally:
        sender.close()
    assert [m["text"] for m in telegram_api.sent_messages(ANA)] == [
        f"series {n}" for n in range(5)]
