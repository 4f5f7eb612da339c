"""Telegram is down for ten minutes while check-ins fall due: afterwards the backlog goes
out in due order, within Telegram's limits, nothing lost and nothing doubled."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.composition import App
from bot.settings import Settings
from bot.telegram.telegram_channel import build_application
from bot.telegram.telegram_sender import TelegramSender
from conversations.messages import Inbound
from services.touchpoints import TouchpointRunner
from storage.db import session
from storage.models import OutboxMessage
from tests.conftest import INTAKE, SAMPLE, Client
from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.slow  # started first, so it does not end the run alone

TOKEN = "7000000001:AAtest-token"
TICK = timedelta(seconds=20)
OUTAGE = timedelta(minutes=10)


@pytest.fixture
def telegram_api():
    # Flood limits off here; the test about them turns them on with the values it needs.
    # The clients (chats 7000 and up, see on_telegram) started the bot before the test.
    with FakeTelegramAPI(flood_limits=False, chats=tuple(range(7000, 7100))) as api:
        yield api


@pytest.fixture
def settings(db_url: str, telegram_api: FakeTelegramAPI) -> Settings:
    return Settings(database_url=db_url, program=SAMPLE, telegram_token=TOKEN,
                    telegram_api_url=telegram_api.url, _env_file=None)


def on_telegram(app: App, enrol, n: int, checkin: str) -> Client:
    """A client on Telegram who finished intake and moved the check-in to `checkin`."""
    client = enrol(f"Client {n}", join=False)
    client = Client(app=app, address=str(7000 + n), channel="telegram",
                    enrolled=client.enrolled)
    client.says(f"/start {client.enrolled.code}")
    for typed in [*INTAKE, f"/schedule mon {checkin}"]:
        client.says(typed)
    return client


def test_after_a_ten_minute_outage_the_backlog_drains_in_due_order_once_each(
        app, enrol, clock, telegram_api):
    # Monday 09:00 in Berlin: check-ins fall due every two minutes during the outage.
    clients = [on_telegram(app, enrol, n, f"09:{2 * n + 1:02d}") for n in range(4)]
    start = clock.now()
    with session(app.db) as s:
        before = s.exec(select(OutboxMessage.id).order_by(col(OutboxMessage.id).desc())).first()
    # Each chat has a message waiting as Telegram goes down (the answer to its /help), and its
    # check-in falls due during the outage: two a chat, to arrive in that order.
    for client in clients:
        app.inbound.handle(Inbound(channel="telegram", sender=client.address,
                                   event_id=f"help-{client.address}", text="/help"))
    runner = TouchpointRunner(app.rt, worker="w")
    telegram_api.enforce_flood_limits(overall=30, per_chat=1)

    async def run() -> None:
        application = build_application(app.settings, webhook=True)
        await application.initialize()
        sender = TelegramSender(application.bot, rt=app.rt)
        try:
            telegram_api.fail_next("sendMessage", status=502, times=10**6)
            while clock.now() < start + OUTAGE:
                runner.tick(clock.now())
                await sender.drain()
                clock.advance(TICK)
            telegram_api.clear_failures()  # Telegram is back
            while clock.now() < start + 2 * OUTAGE:
                runner.tick(clock.now())
                while await sender.drain():
                    pass
                clock.advance(TICK)
        finally:
            await application.shutdown()

    asyncio.run(run())

    with session(app.db) as s:
        queued = list(s.exec(select(OutboxMessage).where(
            OutboxMessage.channel == "telegram", col(OutboxMessage.id) > before)
            .order_by(col(OutboxMessage.id))))
    assert len(queued) >= 2 * len(clients)  # the answer to /help, then the check-in
    # Nothing lost.
    assert {m.status for m in queued} == {"sent"}
    arrived = [(m["chat_id"], m["text"]) for m in telegram_api.sent_messages()
               if m["chat_id"] in {int(c.address) for c in clients}]
    # Nothing doubled, and nothing else.
    assert set(Counter(arrived).values()) == {1}
    # In due order: each client reads their messages in the order they fell due (the
    # order they were queued in); chats are sent to side by side.
    for client in clients:
        chat = int(client.address)
        assert [t for c, t in arrived if c == chat] == [
            m.payload["text"] for m in queued if m.address == client.address]
    # Within limits: Telegram never had to answer 429, and during the outage each chat was
    # probed with its oldest message only, backing off (not every message, every tick).
    assert telegram_api.flood_errors() == 0
    failed = Counter((c.params["chat_id"], c.params["text"]) for c in telegram_api.recorded
                     if c.method == "sendMessage" and not c.ok)
    assert failed and len(failed) <= len(clients) and max(failed.values()) <= 8
