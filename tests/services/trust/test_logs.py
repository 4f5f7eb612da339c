"""Logs carry ids, never answer text, names or tokens, even at DEBUG."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from slack_sdk import WebClient
from telegram import Bot

from bot.logs import guard, quiet_payload_loggers
from bot.slack.listeners import build_bolt_app
from bot.slack.slack_http import SlackHTTPServer
from tests.bot.telegram.conftest import (  # noqa: F401  (fixtures)
    TOKEN,
    run_bot,
    settings,
    telegram_api,
    telegram_user,
)
from tests.fakes.slack_api import FakeSlackAPI, event_callback, sign_request

SLACK_SECRET = "log-test-signing-secret"
GOAL = "Quietly double revenue via Zanzibar partners"
NOTE = "my divorce is making this hard"


def test_a_whole_telegram_dialogue_logs_no_answer_text_name_or_token(
        app, enrol, run_bot, telegram_user, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    run_bot()
    code = enrol("Zoltan Quibble", join=False).enrolled.code
    zoltan = telegram_user(4242, first_name="Zoltan")
    zoltan.sends(f"/start {code}")
    zoltan.presses("Yes")
    for typed in [GOAL, "12,000"]:
        zoltan.sends(typed)
    zoltan.presses("6")
    for typed in ["10", NOTE, "/mydata"]:
        zoltan.sends(typed)
    logged = "\n".join(r.getMessage() + " " + str(r.args) for r in caplog.records)
    assert caplog.records, "the dialogue logged nothing at all"
    for secret in [GOAL, NOTE, "Zoltan", "Quibble", TOKEN, TOKEN.split(":")[1], code]:
        assert secret not in logged, secret


@pytest.fixture
def production_log() -> Iterator[io.StringIO]:
    """Everything logged at DEBUG, through a handler set up as `coachbot run` sets up its own."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    guard(handler, level=logging.DEBUG, secrets=[TOKEN])
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    quiet_payload_loggers()
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)


def refused_and_unhandled_slack_requests(app, text: str) -> None:
    """A forged request and a signed one nobody listens to, both carrying `text`."""
    with FakeSlackAPI() as api:
        bolt = build_bolt_app(app, WebClient(token="xoxb-test", base_url=api.base_url),
                              signing_secret=SLACK_SECRET)
        server = SlackHTTPServer(bolt, host="127.0.0.1", port=0).start()
        try:
            event = {"type": "app_mention", "user": "UZ", "text": text, "channel": "C1",
                     "ts": "1.1"}
            body = json.dumps(event_callback(event)).encode()
            forged = {"X-Slack-Signature": "v0=" + "0" * 64,
                      "X-Slack-Request-Timestamp": str(int(time.time()))}
            signed = sign_request(SLACK_SECRET, body)
            for headers, status in ((forged, 401), (signed, 404)):
                request = urllib.request.Request(
                    server.url, data=body, method="POST",
                    headers={"Content-Type": "application/json", **headers})
                try:
                    with urllib.request.urlopen(request, timeout=10) as answer:
                        got = answer.status
                except urllib.error.HTTPError as error:
                    got = error.code
                assert got == status
        finally:
            server.stop()


def test_at_debug_a_dialogue_a_failed_statement_and_a_forged_slack_request_log_no_personal_data(
        app, enrol, run_bot, telegram_user, telegram_api, production_log):  # noqa: F811
    run_bot()
    code = enrol("Zoltan Quibble", join=False).enrolled.code
    zoltan = telegram_user(4242, first_name="Zoltan")
    zoltan.sends(f"/start {code}")
    zoltan.presses("Yes")
    # The answers table is away: storing the goal fails with the goal among the statement's
    # parameters, and the failure's traceback is logged at DEBUG.
    with app.db.begin() as connection:
        connection.execute(sa.text("ALTER TABLE answer RENAME TO answer_away"))
    telegram_api.inject_message(4242, GOAL, first_name="Zoltan")
    telegram_api.wait_for(lambda _: "telegram update failure detail" in production_log.getvalue())
    with app.db.begin() as connection:
        connection.execute(sa.text("ALTER TABLE answer_away RENAME TO answer"))
    zoltan.sends(NOTE)
    refused_and_unhandled_slack_requests(app, f"Zoltan Quibble says {GOAL}")
    logged = production_log.getvalue()
    assert "telegram update failed" in logged and "Traceback" in logged
    for secret in [GOAL, NOTE, "Zoltan", "Quibble", TOKEN, TOKEN.split(":")[1], code]:
        assert secret not in logged, secret


def test_an_update_telegrams_library_cannot_parse_is_logged_without_its_content(
        telegram_api, production_log):  # noqa: F811
    telegram_api.inject_update({"update_id": 77, "message": {
        "message_id": 1, "date": "never", "text": GOAL, "chat": {"id": 4242, "type": "private"},
        "from": {"id": 4242, "first_name": "Zoltan", "is_bot": False}}})

    async def fetch() -> None:
        async with Bot(TOKEN, base_url=telegram_api.bot_base_url) as bot:
            with pytest.raises(TypeError):
                await bot.get_updates(timeout=0)

    asyncio.run(fetch())
    logged = production_log.getvalue()
    assert "Error while parsing updates" in logged
    assert GOAL not in logged and "Zoltan" not in logged


def test_info_says_what_happened_to_people_and_keeps_the_ticks_quiet(production_log):
    ticks = logging.getLogger("apscheduler.executors.default")
    ticks.info('Running job "%s" (scheduled at %s)', "tick", "now")
    logging.getLogger("coachbot.inbound").info("handled channel=telegram event=tg-1")
    lines = production_log.getvalue().splitlines()
    assert lines == ['DEBUG apscheduler.executors.default Running job "tick" (scheduled at now)',
                     "INFO coachbot.inbound handled channel=telegram event=tg-1"]
