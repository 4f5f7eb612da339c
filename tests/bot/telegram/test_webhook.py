"""Webhook mode: Telegram's secret token is set on setWebhook and checked on every request."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from sqlmodel import func, select

from bot.settings import Settings
from bot.telegram.webhook import SECRET_HEADER
from storage.db import session
from storage.models import Answer, InboundEvent, OutboxMessage
from tests.bot.telegram.conftest import TOKEN, event_of, settled
from tests.conftest import SAMPLE

SECRET = "s3cret-Token_for-tests"
PUBLIC_URL = "https://bot.example.com/telegram/hook"


@pytest.fixture
def settings(db_url, telegram_api) -> Settings:
    return Settings(database_url=db_url, program=SAMPLE, telegram_token=TOKEN,
                    telegram_api_url=telegram_api.url, telegram_webhook_url=PUBLIC_URL,
                    telegram_webhook_secret=SECRET, telegram_webhook_port=0,
                    _env_file=None)


def _post(port: int, update: dict, secret: str | None) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/telegram/hook",
                                     data=json.dumps(update).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    if secret is not None:
        request.add_header(SECRET_HEADER, secret)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def _stored(app) -> tuple[int, int]:
    with session(app.db) as s:
        return (s.exec(select(func.count()).select_from(InboundEvent)).one(),
                s.exec(select(func.count()).select_from(OutboxMessage)).one())


def test_the_webhook_is_registered_with_its_secret(run_bot, telegram_api):
    run_bot()
    hook = telegram_api.webhook
    assert hook["url"] == PUBLIC_URL
    assert hook["secret_token"] == SECRET
    assert set(hook["allowed_updates"]) == {"message", "edited_message", "callback_query"}
    assert telegram_api.calls_of("getUpdates") == []


def test_a_request_with_a_wrong_or_missing_secret_is_refused_and_nothing_is_stored(
        app, run_bot, telegram_api):
    bot = run_bot()
    port = bot.channel.webhook.port
    update = telegram_api.inject_message(4242, "hello")

    assert _post(port, update, "wrong-secret") == 401
    assert _post(port, update, None) == 401
    assert _stored(app) == (0, 0)


def test_an_update_with_the_right_secret_is_handled_once_however_often_it_comes(
        app, run_bot, telegram_api):
    bot = run_bot()
    port = bot.channel.webhook.port
    update = telegram_api.inject_message(4242, "hello")

    assert _post(port, update, SECRET) == 200
    assert _post(port, update, SECRET) == 200  # Telegram redelivers when unsure
    telegram_api.wait_for(lambda _: settled(app, event_of(update)))

    [reply] = telegram_api.sent_messages(4242)
    assert "ask your coach" in reply["text"]
    assert _stored(app) == (1, 0)  # a stranger's reply is not kept once sent


def _post_raw(port: int, body: str) -> int:
    """POST a body as Telegram writes it: JSON text whose escapes may hold NUL or a lone
    surrogate (\\u0000, \\ud800), which no database column can store."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/telegram/hook",
                                     data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              SECRET_HEADER: SECRET})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_an_edit_or_a_start_code_with_nul_or_a_lone_surrogate_is_stored_cleaned_and_answered(
        app, enrol, run_bot, telegram_api, telegram_user):
    bot = run_bot()
    port = bot.channel.webhook.port
    code = enrol("Ana Lima", join=False).enrolled.code
    ana = telegram_user(4242)
    # Answered by webhook: each update is POSTed by the test as Telegram would.
    start = telegram_api.inject_message(4242, f"/start {code}\u0000")
    assert _post_raw(port, json.dumps(start)) == 200
    telegram_api.wait_for(lambda _: settled(app, event_of(start)))
    consent = telegram_api.inject_message(4242, "yes")
    assert _post_raw(port, json.dumps(consent)) == 200
    goal = telegram_api.inject_message(4242, "More clients")
    assert _post_raw(port, json.dumps(goal)) == 200
    telegram_api.wait_for(lambda _: settled(app, event_of(goal)))

    edit = telegram_api.inject_edited_message(4242, goal["message"]["message_id"],
                                              "More clients, fast")
    body = json.dumps(edit).replace("fast", "fast\\u0000 \\ud800")
    assert _post_raw(port, body) == 200
    telegram_api.wait_for(lambda _: settled(app) and any(
        "updated that answer" in m["text"] for m in telegram_api.sent_messages(4242)))

    with session(app.db) as s:
        stored = s.exec(select(Answer).where(Answer.question_id == "goal")).one().text
    assert stored == "More clients, fast \ufffd"
    texts = [m["text"] for m in telegram_api.sent_messages(4242)]
    assert any("welcome to Grow" in t for t in texts)  # the code, cleaned, was accepted
    assert ana.user_id == 4242
