"""Telegram: a forwarded message is never taken as an answer; texts go out as plain text."""

from __future__ import annotations

import time

from sqlmodel import func, select

from bot.telegram.updates import NON_TEXT_TEXT
from storage.db import session
from storage.models import Answer
from tests.bot.telegram.conftest import (  # noqa: F401  (fixtures)
    consented_on_telegram,
    run_bot,
    settings,
    telegram_api,
    telegram_user,
)

HOSTILE = "</b><a href='https://evil.test'>*click*</a> _x_ [y](https://evil.test) <!channel>"


def test_a_forwarded_message_gets_the_hint_and_is_not_stored(
        app, enrol, run_bot, telegram_user, telegram_api):  # noqa: F811
    consented_on_telegram(run_bot, enrol, telegram_user)
    telegram_api.inject_update({"message": {
        "message_id": 9001, "date": int(time.time()), "text": "Ben's revenue is 90000",
        "from": {"id": 4242, "is_bot": False, "first_name": "Ana"},
        "chat": {"id": 4242, "type": "private", "first_name": "Ana"},
        "forward_origin": {"type": "hidden_user", "date": int(time.time()),
                           "sender_user_name": "Ben"}}})
    telegram_api.wait_for(lambda _calls: [m for m in telegram_api.sent_messages(4242)
                                          if m["text"] == NON_TEXT_TEXT])
    with session(app.db) as s:
        assert s.exec(select(func.count()).select_from(Answer)).one() == 1  # consent only


def test_what_a_client_wrote_is_sent_back_as_plain_text_never_parsed_as_markup(
        app, enrol, run_bot, telegram_user, telegram_api):  # noqa: F811
    ana = consented_on_telegram(run_bot, enrol, telegram_user)
    ana.sends(HOSTILE)
    ana.sends("12000")
    ana.sends("/back")
    ana.sends("/back")  # "You answered: <their words>" comes back to them
    echoed = [m for m in telegram_api.calls_of("sendMessage") if HOSTILE in m["text"]]
    assert echoed, "the answer was not shown back"
    assert all("parse_mode" not in m and "entities" not in m for m in echoed)
