"""A Telegram client, the fake Bot API server and the bot running against it in a thread.

The bot runs in its own event loop on a background thread, exactly as `coachbot run` would
run it, and talks real HTTP to the fake. Tests act as Telegram users through the fake and
wait on conditions (the fake's recorded calls, the database), never on the wall clock.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlmodel import col, func, select

from bot.composition import App, build_app
from bot.settings import Settings
from bot.telegram.telegram_channel import TelegramChannel
from scheduler.clock import SystemClock
from services import keys
from storage.db import session
from storage.models import InboundEvent, OutboxMessage
from tests.conftest import SAMPLE
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "7000000001:AAtest-token"


@pytest.fixture
def telegram_api() -> Iterator[FakeTelegramAPI]:
    """The fake Bot API server; long polls return quickly so stopping the bot is prompt."""
    # Flood limits off: the bot below sends a chat's messages back to back (per_chat_rate
    # 1000), since its pacing runs in real time and at Telegram's one a second every
    # dialogue would wait. test_flood_limits.py turns them on where they are the subject.
    with FakeTelegramAPI(max_poll_wait=0.3, flood_limits=False) as api:
        yield api


@pytest.fixture
def settings(db_url: str, telegram_api: FakeTelegramAPI) -> Settings:
    """The app's settings with a Telegram token, pointed at the fake server."""
    return Settings(database_url=db_url, program=SAMPLE, telegram_token=TOKEN,
                    telegram_api_url=telegram_api.url, _env_file=None)


class RunningBot:
    """The Telegram channel running in its own thread and event loop, like in production."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.channel: TelegramChannel | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="telegram-bot", daemon=True)

    def start(self) -> RunningBot:
        self._thread.start()
        if not self._ready.wait(15) or self._error is not None:
            raise RuntimeError("the Telegram channel did not start") from self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        if self._error is not None:
            raise self._error

    def wake(self) -> None:
        """Make the bot look at the outbox now (after the test moved the clock)."""
        assert self._loop is not None and self.channel is not None
        self._loop.call_soon_threadsafe(self.channel.wake)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        # Per-chat pacing is Telegram's 1/s in production; tests need not wait for it.
        self.channel = TelegramChannel(self.app, per_chat_rate=1000, drain_every=0.1,
                                       webhook_host="127.0.0.1")
        runner = asyncio.create_task(self.channel.run(self._stop))
        ready = asyncio.create_task(self.channel.ready.wait())
        await asyncio.wait([runner, ready], return_when=asyncio.FIRST_COMPLETED)
        self._ready.set()
        await runner


@pytest.fixture
def run_bot(app: App) -> Iterator[Callable[[], RunningBot]]:
    """Start the Telegram channel (again, for restart stories); stopped after the test."""
    running: list[RunningBot] = []

    def _start() -> RunningBot:
        bot = RunningBot(app).start()
        running.append(bot)
        return bot

    yield _start
    for bot in running:
        bot.stop()


def event_of(update: dict[str, Any]) -> str:
    """The dedupe key the bot stores for an update (what identifies its message)."""
    if "callback_query" in update:
        return keys.telegram_press(update["callback_query"]["id"])
    if "edited_message" in update:
        edited = update["edited_message"]
        return keys.telegram_message(edited["chat"]["id"], edited["message_id"],
                                     edited=f"{edited['edit_date']}:{edited['text']}")
    message = update["message"]
    return keys.telegram_message(message["chat"]["id"], message["message_id"])


def settled(app: App, event_id: str | None = None) -> bool:
    """The update was handled and every reply due now has been sent."""
    with session(app.db) as s:
        if event_id is not None and s.exec(select(InboundEvent).where(
                InboundEvent.channel == "telegram", InboundEvent.event_id == event_id)
                ).first() is None:
            return False
        due = s.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.channel == "telegram", OutboxMessage.status == "queued",
            col(OutboxMessage.next_attempt_at) <= app.clock.now())).one()
        return due == 0


@dataclass
class TelegramUser:
    """A person in a private chat with the bot, acting through the fake server."""

    api: FakeTelegramAPI
    app: App
    user_id: int
    first_name: str = "Ana"
    seen: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)

    def sends(self, text: str) -> list[str]:
        """Type a message; the texts the bot sent back."""
        update = self.api.inject_message(self.user_id, text, first_name=self.first_name)
        self.sent.append(update["message"])
        return self.replies_to(event_of(update))

    def presses(self, label: str) -> list[str]:
        """Press the button labelled `label` on the bot's latest keyboard; the replies."""
        message = self.latest_keyboard()
        data = next(b["callback_data"] for row in message["reply_markup"]["inline_keyboard"]
                    for b in row if b["text"] == label)
        return self.presses_data(data, message["message_id"])

    def presses_data(self, data: str, message_id: int) -> list[str]:
        """Press a button with this callback_data on message `message_id`."""
        update = self.api.inject_callback(self.user_id, data, message_id,
                                          first_name=self.first_name)
        query_id = update["callback_query"]["id"]
        self.api.wait_for(lambda _: any(c["callback_query_id"] == query_id
                                        for c in self.api.calls_of("answerCallbackQuery")))
        return self.replies_to(None)

    def edits(self, message: dict[str, Any], text: str) -> list[str]:
        """Edit one of the messages this user sent; the bot's replies."""
        update = self.api.inject_edited_message(self.user_id, message["message_id"], text,
                                                first_name=self.first_name)
        return self.replies_to(event_of(update))

    def toast(self) -> str | None:
        """The text of the latest callback answer (a toast), if it had one."""
        return self.api.calls_of("answerCallbackQuery")[-1].get("text")

    def latest_keyboard(self) -> dict[str, Any]:
        """The bot's newest message in this chat that still shows a keyboard."""
        for sent in reversed(self.api.sent_messages(self.user_id)):
            current = self.api.message(self.user_id, sent["message_id"])
            if current and current.get("reply_markup"):
                return current
        raise AssertionError("no keyboard in the chat")

    @property
    def received(self) -> list[dict[str, Any]]:
        """Every message the bot sent to this user, in order."""
        return self.api.sent_messages(self.user_id)

    def replies_to(self, event_id: str | None) -> list[str]:
        """Wait until the update is handled and its replies sent; the new replies."""
        self.api.wait_for(lambda _: settled(self.app, event_id))
        new = self.received[self.seen:]
        self.seen += len(new)
        return [m["text"] for m in new]


@pytest.fixture
def telegram_user(telegram_api: FakeTelegramAPI, app: App):
    """`telegram_user(4242)` -> a TelegramUser with that Telegram user id."""

    def _user(user_id: int = 4242, first_name: str = "Ana") -> TelegramUser:
        return TelegramUser(telegram_api, app, user_id, first_name)

    return _user


def consented_on_telegram(run_bot, enrol, telegram_user) -> TelegramUser:
    """The bot running, Ana enrolled, joined by her deep link and past the consent question."""
    run_bot()
    code = enrol("Ana Lima", join=False).enrolled.code
    ana = telegram_user(4242)
    ana.sends(f"/start {code}")
    ana.presses("Yes")
    return ana


@pytest.fixture
def live_app(db_url: str) -> Iterator[App]:
    """The test's view of the database the bot process uses, on the wall clock as the bot."""
    app = build_app(Settings(database_url=db_url, program=SAMPLE, _env_file=None),
                    clock=SystemClock(), migrate=False)
    yield app
    app.db.dispose()
