"""The database stops taking writes while a client answers (SQLite: the disk is full;
PostgreSQL: the server turns read-only and drops its connections). Nothing is confirmed to
Telegram: the webhook answers 500 and polling keeps the offset, with one log line that
names no one; once the database is back, the answer is handled, once."""

from __future__ import annotations

import contextlib
import resource
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from services.enrolment import enrol_client
from storage.db import make_engine
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

ANA = 515_151
ANSWER = "Grow to ten clients a month"


@contextlib.contextmanager
def database_refusing_writes(bot: BotProcess, db_url: str) -> Iterator[None]:
    """SQLite: the bot's files may not grow by a byte (a full disk, for that process).
    PostgreSQL: the database turns read-only and its connections are dropped (a failover)."""
    assert bot.process is not None
    if db_url.startswith("sqlite"):
        pid = bot.process.pid
        normal = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, normal[1]))
        try:
            yield
        finally:
            resource.prlimit(pid, resource.RLIMIT_FSIZE, normal)
        return
    name = sa.engine.make_url(db_url).database
    admin = make_engine(db_url).execution_options(isolation_level="AUTOCOMMIT")

    def switch(setting: str) -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'ALTER DATABASE "{name}" {setting}'))
            connection.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})

    switch("SET default_transaction_read_only = on")
    try:
        yield
    finally:
        switch("RESET default_transaction_read_only")
        admin.dispose()


@pytest.mark.parametrize("mode", ["webhook", "polling"])
def test_an_answer_sent_while_the_database_refuses_writes_is_handled_once_it_is_back(
        live_app, tmp_path, mode):
    db_url = live_app.settings.database_url
    with FakeTelegramAPI(max_poll_wait=1.0) as api:
        bot = BotProcess(db_url, api, tmp_path,
                         webhook_port=free_port() if mode == "webhook" else None)
        try:
            bot.start()
            code = enrol_client(live_app.rt, program_id="business_12w", name="Ana Lima",
                                zone="Europe/Berlin", coach="Casey Coach").code
            for text in (f"/start {code}", "yes"):
                update = api.inject_message(ANA, text)
                until(lambda u=update: handled(live_app, [u]) and outbox_settled(live_app),
                      f"{text!r} handled")
            replies_before = len(api.sent_messages(ANA))
            live_app.db.dispose()

            with database_refusing_writes(bot, db_url):
                update = api.inject_message(ANA, ANSWER)
                mark = len(bot.lines)
                until(lambda: any("not handled" in line for line in bot.lines[mark:]),
                      "the bot says it could not handle the update")
                if mode == "webhook":
                    until(lambda: any(status >= 500 for uid, status in api.webhook_deliveries()
                                      if uid == update["update_id"]), "a 5xx to Telegram")
                assert [u["update_id"] for u in api.pending_updates()] == [update["update_id"]]
                print("\n".join(line for line in bot.lines[mark:] if "not handled" in line))

            live_app.db.dispose()
            until(lambda: handled(live_app, [update]) and not api.pending_updates()
                  and outbox_settled(live_app), "the answer handled once the database is back")
            replies = api.sent_messages(ANA)[replies_before:]
            statuses = [s for uid, s in api.webhook_deliveries() if uid == update["update_id"]]
        finally:
            bot.stop()
    assert len(replies) == 1 and "monthly revenue" in replies[0]["text"]
    if mode == "webhook":
        assert statuses[-1] == 200 and all(s >= 500 for s in statuses[:-1])
    assert not [line for line in bot.lines if ANSWER in line or "Ana" in line]
    assert answers_stored_twice(live_app) == 0
