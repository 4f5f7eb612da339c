"""A 10,000-message burst from one chat while another client answers: how long until that
client's reply, how much of the burst was queued, and peak memory.

    python benchmarks/flood_burst.py [--burst 10000] [--database sqlite|postgresql]

The real Telegram channel (long polling, PTB, the outbox drain, per-chat pacing at
Telegram's 1/s) runs against the fake Bot API server with its flood limits on. One chat
sends the burst; then an enrolled client sends an answer; the clock is the wall clock. The
target: the answer replied to within 5 s, peak memory under 150 MB, and the burst holding
at most the flood limit's worth in the outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from sqlmodel import func, select

from benchmarks.inbound import fresh_postgres
from benchmarks.machine import machine, peak_rss_mb
from bot.composition import build_app
from bot.settings import BUNDLED_PROGRAMS, Settings
from bot.telegram.limits import OVERALL_RATE
from bot.telegram.telegram_channel import TelegramChannel
from scheduler.clock import SystemClock
from services.enrolment import enrol_client
from storage.db import session
from storage.models import InboundEvent, OutboxMessage
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "7000000001:AAbenchmark-token"
FLOODER, CLIENT = 6_000_000_001, 6_000_000_002
TIMEOUT = 120.0


def wait(condition, timeout: float = TIMEOUT) -> None:
    """Poll a condition (the benchmark's own waiting, not the bot's)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the bot did not get there in time")
        time.sleep(0.05)  # coarse: the benchmark must not take the bot's CPU (one GIL)


def handled(app, event_id: str) -> bool:
    """Whether the bot has handled the update (its dedupe row is there)."""
    with session(app.db) as s:
        return s.exec(select(InboundEvent.id).where(
            InboundEvent.event_id == event_id)).first() is not None


def queued(app, chat: int) -> int:
    """Messages to `chat` still waiting in the outbox."""
    with session(app.db) as s:
        return s.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.address == str(chat), OutboxMessage.status == "queued")).one()


def run(database: str, burst: int) -> None:
    admin = name = None
    if database == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    else:
        url, admin, name = fresh_postgres()
    with FakeTelegramAPI(max_poll_wait=0.2) as api:
        api.enforce_flood_limits(overall=OVERALL_RATE, per_chat=1, period=1.0)
        settings = Settings(database_url=url, program=BUNDLED_PROGRAMS, telegram_token=TOKEN,
                            telegram_api_url=api.url, _env_file=None)
        app = build_app(settings, clock=SystemClock(), migrate=True)
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()
        channel = TelegramChannel(app, webhook_host="127.0.0.1")
        thread = threading.Thread(target=loop.run_until_complete,
                                  args=(channel.run(stop),), daemon=True)
        thread.start()
        try:
            code = enrol_client(app.rt, program_id="business_12w", name="Ben Ode",
                                zone="Europe/Berlin").code
            api.inject_message(CLIENT, f"/start {code}", first_name="Ben")
            wait(lambda: len(api.sent_messages(CLIENT)) >= 1 and queued(app, CLIENT) == 0)
            before = len(api.sent_messages(CLIENT))
            for n in range(burst):
                api.inject_message(FLOODER, f"spam {n}", first_name="Flo")
            sent_at = time.perf_counter()
            update = api.inject_message(CLIENT, "hello, are you there?", first_name="Ben")
            wait(lambda: handled(app, f"tg-{update['update_id']}"))
            handled_after = time.perf_counter() - sent_at
            wait(lambda: len(api.sent_messages(CLIENT)) > before)
            reply_after = time.perf_counter() - sent_at
            # A stranger's replies are deleted once sent: queued = sent + still waiting.
            wait(lambda: queued(app, FLOODER) == 0, 60)
            answered = len(api.sent_messages(FLOODER))
        finally:
            loop.call_soon_threadsafe(stop.set)
            thread.join(15)
            app.db.dispose()
    if admin is not None:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"{database:>10}: the other client's reply came {reply_after:.2f} s after their "
          f"message (target 5 s); handled after {handled_after:.2f} s (the burst's updates "
          f"come first)")
    print(f"{'':>10}  the burst got {answered} replies in all (flood limit "
          f"{settings.flood_limit} a minute, plus one 'slow down')")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f} at start")
    print(f"{args.burst:,} messages from one chat, then one from an enrolled client; the fake "
          f"Bot API enforcing {OVERALL_RATE}/s overall and 1/s per chat")
    run(args.database, args.burst)
    print(f"peak memory (max RSS of the process, fake server included): {peak_rss_mb():.0f} MB "
          f"(target 150 MB)")


if __name__ == "__main__":
    main()
