"""Telegram restarts its update_id sequence (after a quiet week, or on another Bot API
server): fresh messages that reuse old ids are answered, and a message Telegram delivers
again (under any update_id) is still refused: the bot knows a message by its chat and id."""

from __future__ import annotations

import copy

import pytest

from services.enrolment import enrol_client
from tests.bot.telegram.bot_process import (
    BotProcess,
    answers_stored_twice,
    free_port,
    handled,
    outbox_settled,
    until,
)
from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.slow  # started first, so it does not end the run alone

ANA = 424_242


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_fresh_messages_after_an_update_id_restart_are_answered_and_a_redelivery_is_not(
        live_app, tmp_path, mode):
    with FakeTelegramAPI(max_poll_wait=1.0) as api:
        api.restart_update_ids(1)
        bot = BotProcess(live_app.settings.database_url, api, tmp_path,
                         webhook_port=free_port() if mode == "webhook" else None)
        try:
            bot.start()
            code = enrol_client(live_app.rt, program_id="business_12w", name="Ana Lima",
                                zone="Europe/Berlin", coach="Casey Coach").code

            def says(text: str) -> tuple[dict, list[str]]:
                before = len(api.sent_messages(ANA))
                update = api.inject_message(ANA, text)
                until(lambda: handled(live_app, [update]) and not api.pending_updates()
                      and outbox_settled(live_app) and len(api.sent_messages(ANA)) > before,
                      f"a reply to {text!r}")
                return update, [m["text"] for m in api.sent_messages(ANA)[before:]]

            says(f"/start {code}")
            says("yes")
            # A quiet week, a deploy, and Telegram starts the ids again from 1.
            bot.terminate()
            api.restart_update_ids(1)
            bot.start()

            goal, asked = says("Double my revenue")
            assert goal["update_id"] == 1  # the id of Ana's /start
            assert any("monthly revenue" in text for text in asked)
            _, asked = says("12000")
            assert any("confident" in text for text in asked)

            # Telegram delivers a message again, under another update_id: nothing changes.
            before = len(api.sent_messages(ANA))
            api.inject_update({"message": copy.deepcopy(goal["message"])})
            until(lambda: not api.pending_updates(), "the redelivery confirmed")
            says("6")  # the next answer is handled after it, in order
            replies = api.sent_messages(ANA)[before:]
            assert len(replies) == 1 and "hours" in replies[0]["text"]
        finally:
            bot.stop()
    assert answers_stored_twice(live_app) == 0
