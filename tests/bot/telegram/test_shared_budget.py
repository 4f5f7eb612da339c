"""Two workers of one bot drain one outbox on PostgreSQL, against the fake Bot API with
Telegram's flood limits on: together they stay within 30 messages a second for the bot and
one a second per chat (the send budget they share), so no message earns a 429, none is sent
twice and none is lost. SQLite runs one process: its budget is in memory.

With Telegram's paid broadcasts switched on, every message says so and the fake's higher
limit lets through what its free limit would have refused.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlmodel import select

from bot.composition import build_app
from bot.settings import Settings
from bot.telegram.telegram_channel import build_application, send_budget
from bot.telegram.telegram_sender import TelegramSender
from conversations.messages import Reply
from scheduler.clock import SystemClock
from storage import outbox
from storage.db import session
from storage.models import OutboxMessage
from tests.bot.telegram.conftest import TOKEN
from tests.conftest import SAMPLE, _truncate_all
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.worker_process import WorkerProcess

pytestmark = pytest.mark.slow  # started first, so it does not end the run alone

FIRST_CHAT = 7_100_000_001
# 45 chats, two messages each: 90 messages, three seconds' worth of the bot's 30/s, and
# each chat's second message may be sent by the other worker.
CHATS = [FIRST_CHAT + n for n in range(45)]
TEXTS = ["Your weekly check-in is here", "How confident do you feel?"]


def start_worker(name: str, db_url: str, api_url: str) -> WorkerProcess:
    """A `tests.bot.telegram.budget_worker` process: one worker of the bot."""
    return WorkerProcess(name, "tests.bot.telegram.budget_worker", "--database-url", db_url,
                         "--api-url", api_url)


def _queue_checkins(app) -> None:
    with session(app.db) as s, s.begin():
        for text in TEXTS:
            for chat in CHATS:
                outbox.enqueue(s, key=f"{chat}:{text}", channel="telegram",
                               address=str(chat), person_id=None, reply=Reply(text=text),
                               now=app.clock.now())


def test_two_workers_of_one_bot_stay_within_telegrams_limits_together(postgres_url):
    _truncate_all(postgres_url)
    app = build_app(Settings(database_url=postgres_url, program=SAMPLE, _env_file=None),
                    clock=SystemClock(), migrate=False)
    with FakeTelegramAPI(max_poll_wait=0.3) as api:  # Telegram's limits, on by default
        api.add_chat(*CHATS)
        workers = [start_worker(name, postgres_url, api.url) for name in ("worker-a", "worker-b")]
        try:
            for worker in workers:
                worker.expect("ready")
            _queue_checkins(app)
            for worker in workers:
                worker.go()
            sent = [int(worker.expect("sent ").split()[1]) for worker in workers]
        finally:
            for worker in workers:
                worker.kill()
        messages = api.sent_messages()
        assert api.flood_errors() == 0
    with session(app.db) as s:
        statuses = Counter(row.status for row in s.exec(select(OutboxMessage)))
    app.db.dispose()

    assert all(sent), f"both workers sent a share: {sent}"
    assert sum(sent) == len(messages) == len(CHATS) * len(TEXTS)
    received = Counter((m["chat_id"], m["text"]) for m in messages)
    assert set(received.values()) == {1}  # none doubled
    assert set(received) == {(chat, text) for chat in CHATS for text in TEXTS}  # none lost
    for chat in CHATS:  # and each chat read them in order
        assert [m["text"] for m in api.sent_messages(chat)] == TEXTS
    assert statuses == {"sent": len(CHATS) * len(TEXTS)}


def test_with_paid_broadcasts_every_message_is_paid_and_the_higher_limit_applies(
        sqlite_url, monkeypatch):
    # The operator's switch, as deployed: an environment variable.
    monkeypatch.setenv("COACHBOT_TELEGRAM_PAID_BROADCAST", "1")
    with FakeTelegramAPI(max_poll_wait=0.3) as api:
        # Free sends: 30 a minute for the bot (a window no slow machine can stretch past);
        # paid ones may go up to 1,000 in it.
        api.enforce_flood_limits(overall=30, per_chat=1, period=60.0, paid_overall=1000)
        api.add_chat(*CHATS)
        settings = Settings(database_url=sqlite_url, program=SAMPLE, telegram_token=TOKEN,
                            telegram_api_url=api.url, _env_file=None)
        assert settings.telegram_paid_broadcast
        app = build_app(settings, clock=SystemClock(), migrate=False)
        with session(app.db) as s, s.begin():
            for chat in CHATS:
                outbox.enqueue(s, key=f"{chat}", channel="telegram", address=str(chat),
                               person_id=None, reply=Reply(text=TEXTS[0]),
                               now=app.clock.now())

        async def drain() -> int:
            application = build_application(settings, webhook=True,
                                            budget=send_budget(app.rt, settings))
            await application.initialize()
            sender = TelegramSender(application.bot, rt=app.rt, paid_broadcast=True)
            try:
                return await sender.drain()
            finally:
                await application.shutdown()

        assert asyncio.run(drain()) == len(CHATS)  # 45: more than the free 30
        assert api.flood_errors() == 0
        assert all(m.get("allow_paid_broadcast") is True for m in api.sent_messages())
        app.db.dispose()
