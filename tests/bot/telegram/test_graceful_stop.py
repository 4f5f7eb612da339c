"""`docker stop` in the middle of a 1,000-update backlog: the bot stops fetching, finishes
what it holds, confirms to Telegram only what it stored, hands its outbox leases back and
exits 0 within Docker's 10 s; started again, it handles the rest, nothing twice."""

from __future__ import annotations

import pytest
from sqlmodel import col, func, select

from bot.composition import App
from services.enrolment import enrol_client
from storage.db import session
from storage.models import OutboxMessage
from tests.bot.telegram.bot_process import (
    BotProcess,
    answers_stored_twice,
    handled,
    stored_events,
    until,
)
from tests.bot.telegram.conftest import event_of
from tests.conftest import INTAKE
from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.slow  # started first, so it does not end the run alone

CHATS = 100
PER_CHAT = 10  # 1,000 updates, and no chat past a flood limit of 20 a minute
# Docker's SIGKILL comes 10 s after SIGTERM; a slower stop fails here, not by a timing.
DOCKER_STOP_TIMEOUT = 10.0


def leased(app: App) -> int:
    """Outbox messages still held by a worker's lease."""
    with session(app.db) as s:
        return s.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == "queued",
            col(OutboxMessage.claimed_until).is_not(None))).one()


def test_sigterm_in_a_1000_update_backlog_loses_nothing_and_exits_0_in_time(
        live_app, tmp_path):
    with FakeTelegramAPI(max_poll_wait=1.0) as api:
        codes = [enrol_client(live_app.rt, program_id="business_12w", name=f"Client {n}",
                              zone="Europe/Berlin", coach="Casey Coach").code
                 for n in range(CHATS)]
        script = [[f"/start {code}", *INTAKE, "hello", "thanks", "bye"][:PER_CHAT]
                  for code in codes]
        # The clients wrote while the bot was down: a backlog, interleaved as it came in.
        backlog = [api.inject_message(700_000 + chat, script[chat][n], first_name="Client")
                   for n in range(PER_CHAT) for chat in range(CHATS)]
        bot = BotProcess(live_app.settings.database_url, api, tmp_path)
        try:
            bot.start()
            until(lambda: handled(live_app, backlog) >= 200, "the bot is into the backlog")

            code, took = bot.terminate(timeout=60)
            print(f"SIGTERM with a backlog: exited {code} after {took:.2f} s; "
                  f"{handled(live_app, backlog)} of {len(backlog)} handled, "
                  f"{len(api.pending_updates())} left with Telegram")
            assert code == 0, bot.log()[-3000:]
            assert took < DOCKER_STOP_TIMEOUT
            # Whatever Telegram was told is done was stored; the rest is still with it.
            pending = {u["update_id"] for u in api.pending_updates()}
            events = stored_events(live_app)
            confirmed = [u for u in backlog if u["update_id"] not in pending]
            assert all(event_of(u) in events for u in confirmed)
            assert pending, "the stop came after the backlog was done: it proves nothing"
            assert leased(live_app) == 0  # the replies in hand wait for no lease

            bot.start()
            until(lambda: handled(live_app, backlog) == len(backlog) and
                  not api.pending_updates(), "the rest of the backlog handled",
                  timeout=240)  # a liveness bound for a loaded machine, not a speed claim
            code, took = bot.terminate(timeout=60)
            print(f"SIGTERM when idle: exited {code} after {took:.2f} s")
            assert code == 0
        finally:
            bot.stop()
    assert answers_stored_twice(live_app) == 0
