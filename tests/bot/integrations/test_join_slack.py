"""A client on Slack (no Telegram): they pay, open /join, and find their intake waiting in a
direct message from the app; their coach hears of it in their own DM."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.slack.slack_sender import async_web_client, drain_slack
from storage.db import session
from storage.staff import add_staff
from tests.bot.integrations.conftest import GROW_PRICE, TEAM_CHANNEL
from tests.bot.integrations.senders import STRIPE_SECRET, checkout, post_stripe, stripe_event
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.stripe_api import SECRET_KEY

TOKEN = "xoxb-test"


@pytest.fixture
def slack_api() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI(channels=(TEAM_CHANNEL,), users=("UCASEY",)) as fake:
        yield fake


@pytest.fixture
def settings(db_url: str, programs: Path, stripe_api, slack_api: FakeSlackAPI) -> Settings:
    return Settings(database_url=db_url, program=programs, slack_bot_token=TOKEN,
                    slack_api_url=slack_api.base_url, slack_team_channel=TEAM_CHANNEL,
                    stripe_webhook_secret=STRIPE_SECRET, stripe_api_key=SECRET_KEY,
                    stripe_api_url=stripe_api.url, _env_file=None)


def _deliver(app, slack_api: FakeSlackAPI) -> None:
    """Send the outbox's Slack messages, as the Slack runner does."""
    async def run() -> None:
        client = async_web_client(TOKEN, slack_api.base_url)
        while await drain_slack(app.rt, client):
            pass
    asyncio.run(run())


def test_a_client_on_slack_pays_opens_join_and_finds_the_intake_in_a_dm(
        app, http, stripe_api, slack_api):
    with session(app.db) as s, s.begin():
        add_staff(s, name="Casey Coach", slack_id="UCASEY", role="coach",
                  timezone="Europe/London", now=app.clock.now())
    slack_api.add_member("UANA", "ana.lima@example.com")
    stripe_api.sells("cs_test_ana", GROW_PRICE)
    post_stripe(http.url, stripe_event("checkout.session.completed", checkout("cs_test_ana")))

    page = http.get("/join/cs_test_ana")
    assert page.status == 200 and "Your chat is open in Slack" in page.body
    _deliver(app, slack_api)
    assert "Are you happy to go ahead on that basis?" in \
        slack_api.posted_messages("DUANA")[-1]["text"]
    assert any("Ana Lima paid for Grow" in m["text"]
               for m in slack_api.posted_messages("DUCASEY"))


def test_a_client_slack_cannot_find_is_shown_the_code_to_send(app, http, stripe_api):
    stripe_api.sells("cs_test_ana", GROW_PRICE)
    post_stripe(http.url, stripe_event("checkout.session.completed", checkout("cs_test_ana")))
    page = http.get("/join/cs_test_ana")
    assert page.status == 200 and "send <code>/start " in page.body
