"""The bot's HTTP server running on 127.0.0.1 beside the Telegram channel, the fake Bot API
and a fake Stripe API, with two programs: Grow (sold for price_grow12w, its booking page,
Mastermind as its next step) and Mastermind."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.composition import App
from bot.integrations import build_http_server
from bot.settings import Settings
from storage.db import session
from storage.models import OutboxMessage
from tests.bot.integrations.senders import (
    CALCOM_SECRET,
    CALENDLY_KEY,
    STRIPE_SECRET,
    Answer,
    request,
)
from tests.bot.telegram.conftest import (  # noqa: F401  (fixtures used by these stories)
    TOKEN,
    run_bot,
    telegram_api,
    telegram_user,
)
from tests.conftest import SAMPLE
from tests.fakes.stripe_api import SECRET_KEY, FakeStripeAPI
from tests.scheduler.conftest import runner, travel  # noqa: F401  (fixtures)

TEAM_CHANNEL = "C0TEAMCHAN"
GROW_PRICE = "price_grow12w"
MASTERMIND_PRICE = "price_mastermind"
BOOKING_LINK = "https://cal.com/casey/coaching"

GROW_EXTRA = f"""
offer:
  stripe_price: {GROW_PRICE}
  coach: Casey Coach
  on_refund: end
  on_subscription_cancelled: pause
booking_link: {BOOKING_LINK}
next:
  program: mastermind
  message: "You've done the work, {{client.first_name}}. Keep going with {{next.name}}?"
  after_review: {{question: final_review.recommend, at_least: 9}}
"""


def grow_text() -> str:
    """The sample program, sold, with its booking link in the intake's closing words."""
    return SAMPLE.read_text().replace(
        'outro: "Thank you, {client.first_name}. {coach.name|Your coach} will read this '
        'before your first session."',
        'outro: "Thank you, {client.first_name}. Book your first session here: '
        '{booking_link}"') + GROW_EXTRA


def mastermind_text(*, priced: bool) -> str:
    """A second program: the next step; sold through a payment link when `priced`."""
    text = SAMPLE.read_text().replace("id: business_12w", "id: mastermind").replace(
        'name: "Grow: 12-week business coaching"', 'name: "Mastermind"')
    if priced:
        text += (f"\noffer:\n  stripe_price: {MASTERMIND_PRICE}\n"
                 "  payment_link: https://buy.stripe.com/test_mastermind\n")
    return text


@pytest.fixture
def mastermind_priced() -> bool:
    """Whether the next program costs money (a test overrides this to say so)."""
    return False


@pytest.fixture
def programs(tmp_path: Path, mastermind_priced: bool) -> Path:
    folder = tmp_path / "programs"
    folder.mkdir()
    (folder / "grow.yaml").write_text(grow_text())
    (folder / "mastermind.yaml").write_text(mastermind_text(priced=mastermind_priced))
    return folder


@pytest.fixture
def stripe_api() -> Iterator[FakeStripeAPI]:
    with FakeStripeAPI() as api:
        yield api


@pytest.fixture
def settings(db_url: str, programs: Path, telegram_api,  # noqa: F811
             stripe_api: FakeStripeAPI) -> Settings:
    return Settings(database_url=db_url, program=programs, telegram_token=TOKEN,
                    telegram_api_url=telegram_api.url, stripe_webhook_secret=STRIPE_SECRET,
                    stripe_api_key=SECRET_KEY, stripe_api_url=stripe_api.url,
                    calcom_webhook_secret=CALCOM_SECRET, calendly_signing_key=CALENDLY_KEY,
                    api_enabled=True, slack_team_channel=TEAM_CHANNEL, _env_file=None)


class RunningServer:
    """The bot's HTTP server in its own thread and event loop, as `coachbot run` runs it."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()),
                                        name="coachbot-http", daemon=True)

    def start(self) -> RunningServer:
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError("the HTTP server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = build_http_server(self.app, port=0)
        await server.start()
        self.url = f"http://127.0.0.1:{server.port}"
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await server.stop()

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return request(self.url + path, "GET", None, headers)

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> Answer:
        return request(self.url + path, "POST", body, headers)


@pytest.fixture
def http(app: App) -> Iterator[RunningServer]:
    """The HTTP server, listening on 127.0.0.1 on a free port."""
    server = RunningServer(app).start()
    yield server
    server.stop()


def team_posts(app: App) -> list[str]:
    """What was queued for the team channel in Slack."""
    with session(app.db) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.channel == "slack",
                                                  OutboxMessage.address == TEAM_CHANNEL)
                      .order_by(col(OutboxMessage.id)))
        return [row.payload["text"] for row in rows]
