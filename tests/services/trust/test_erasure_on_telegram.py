"""A Telegram client's /delete confirm: afterwards no table, no byte of the SQLite files and no
chat but their own (which is theirs) holds their name or their words."""

from __future__ import annotations

from tests.bot.telegram.conftest import (  # noqa: F401  (fixtures)
    run_bot,
    settings,
    telegram_api,
    telegram_user,
)
from tests.privacy_dump import database_dump, mentions, sqlite_bytes, telegram_dump

NAME = "Zoltan Quibble"
GOAL = "Quietly double revenue via Zanzibar partners"
NOTE = "Fenwick ferry timetable keeps slipping"


def test_after_delete_confirm_on_telegram_the_name_and_answers_are_nowhere(
        app, enrol, run_bot, telegram_user, telegram_api):  # noqa: F811
    run_bot()
    code = enrol(NAME, join=False).enrolled.code
    zoltan = telegram_user(4242, first_name="Zoltan")
    zoltan.sends(f"/start {code}")
    zoltan.presses("Yes")
    zoltan.sends(GOAL)
    zoltan.edits(zoltan.sent[-1], f"{GOAL}, and {NOTE}")
    assert GOAL in database_dump(app.db)
    assert "erased" in zoltan.sends("/delete confirm")[-1]
    held = (database_dump(app.db), sqlite_bytes(app.settings.database_url),
            telegram_dump(telegram_api, except_chats=[4242]))
    assert mentions([NAME, "Zoltan", "Quibble", GOAL, NOTE], *held) == []
