"""Logs carry ids, never answer text, names or tokens, even at DEBUG."""

from __future__ import annotations

import logging

from tests.bot.telegram.conftest import (  # noqa: F401  (fixtures)
    TOKEN,
    run_bot,
    settings,
    telegram_api,
    telegram_user,
)

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
