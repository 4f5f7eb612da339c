"""Telegram sending under flood limits: a queued outbox drained to the fake Bot API server.

    python benchmarks/telegram_send.py [--messages 3000] [--chats 1000]
                                       [--database sqlite|postgresql]

The fake server (tests/fakes/telegram_api.py) enforces Telegram's limits, 30 messages/s for
the bot and 1/s per chat over a sliding window of its own clock, answering 429 with
retry_after when one is exceeded. The real sender drains the outbox: the bot's rate limiter,
the per-chat pacer, chats sent concurrently, every result written to the database. Prints
the achieved rate as a share of the permitted rate, 429s received, messages lost, duplicated
or out of order, and peak memory, with the machine. Queueing the messages is not timed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from sqlmodel import select

from benchmarks.inbound import fresh_postgres
from benchmarks.machine import machine, peak_rss_mb
from bot.composition import build_app
from bot.settings import BUNDLED_PROGRAMS, Settings
from bot.telegram.limits import OVERALL_RATE
from bot.telegram.telegram_channel import build_application
from bot.telegram.telegram_sender import PER_CHAT_RATE, TelegramSender
from conversations.messages import Reply
from scheduler.clock import SystemClock
from storage import outbox
from storage.db import session
from storage.models import OutboxMessage
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "7000000001:AAbenchmark-token"
FIRST_CHAT = 5_000_000_001


def queue(app, messages: int, chats: int) -> None:
    """Each chat's messages queued one after another, as a check-in's replies are."""
    per_chat = messages // chats
    now = app.clock.now()
    with session(app.db) as s, s.begin():
        for c in range(chats):
            for k in range(per_chat):
                outbox.enqueue(s, key=f"bench:{c}:{k}", channel="telegram",
                               address=str(FIRST_CHAT + c), person_id=None,
                               reply=Reply(text=f"message {k} to chat {c}"), now=now)


async def drain_all(app, settings: Settings) -> tuple[float, int]:
    """Drain until every message is sent; (seconds, drains)."""
    application = build_application(settings, webhook=False)
    await application.initialize()
    sender = TelegramSender(application.bot, rt=app.rt)
    drains = 0
    started = time.perf_counter()
    try:
        while True:
            drains += 1
            if await sender.drain():
                continue
            with session(app.db) as s:
                if not s.exec(select(OutboxMessage.id).where(
                        OutboxMessage.channel == "telegram",
                        OutboxMessage.status == "queued")).first():
                    break
            await asyncio.sleep(0.2)  # a retry is scheduled: wait for it to come due
    finally:
        await application.shutdown()
    return time.perf_counter() - started, drains


def windows(times: list[float], period: float = 1.0) -> int:
    """The most arrivals in any window of `period` seconds."""
    most, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - period:
            start += 1
        most = max(most, end - start + 1)
    return most


def run(database: str, messages: int, chats: int) -> None:
    admin = name = None
    if database == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    else:
        url, admin, name = fresh_postgres()
    with FakeTelegramAPI() as api:
        api.enforce_flood_limits(overall=OVERALL_RATE, per_chat=int(PER_CHAT_RATE), period=1.0)
        settings = Settings(database_url=url, program=BUNDLED_PROGRAMS, telegram_token=TOKEN,
                            telegram_api_url=api.url, _env_file=None)
        app = build_app(settings, clock=SystemClock(), migrate=True)
        queue(app, messages, chats)
        elapsed, drains = asyncio.run(drain_all(app, settings))
        accepted = [c for c in api.recorded if c.method == "sendMessage" and c.ok]
        flood = api.flood_errors()
        per_chat: dict[int, list[str]] = {}
        arrivals: dict[int, list[float]] = {}
        for call in accepted:
            per_chat.setdefault(int(call.params["chat_id"]), []).append(call.params["text"])
            arrivals.setdefault(int(call.params["chat_id"]), []).append(call.at)
    app.db.dispose()
    if admin is not None:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    per = messages // chats
    expected = {FIRST_CHAT + c: [f"message {k} to chat {c}" for k in range(per)]
                for c in range(chats)}
    counts = Counter((chat, text) for chat, texts in per_chat.items() for text in texts)
    duplicated = sum(n - 1 for n in counts.values() if n > 1)
    lost = sum(1 for chat, texts in expected.items() for t in texts if (chat, t) not in counts)
    out_of_order = sum(1 for chat, texts in expected.items()
                       if list(dict.fromkeys(per_chat.get(chat, []))) != texts)
    times = sorted(c.at for c in accepted)
    # The messages over the windows they filled: first arrival to one period after the last.
    rate = len(times) / (times[-1] - times[0] + 1.0)
    gaps = [b - a for ts in arrivals.values() for a, b in pairwise(ts)]
    q = statistics.quantiles(gaps, n=100) if len(gaps) > 1 else [0.0] * 99
    print(f"{database:>10}: {len(accepted):,} messages to {chats:,} chats in {elapsed:.1f} s "
          f"({drains} drains)")
    print(f"{'':>10}  achieved {rate:.2f} messages/s = {100 * rate / OVERALL_RATE:.1f}% of the "
          f"permitted {OVERALL_RATE}/s (first arrival to 1 s after the last)")
    print(f"{'':>10}  429s received: {flood}; lost: {lost}; duplicated: {duplicated}; "
          f"chats out of order: {out_of_order}")
    print(f"{'':>10}  busiest 1 s window at the server: {windows(times)} messages; gap between "
          f"messages in one chat: min {min(gaps, default=0):.3f} s, p50 {q[49]:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{args.messages:,} queued messages, {args.chats:,} chats; the fake Bot API server "
          f"enforcing {OVERALL_RATE}/s overall and {PER_CHAT_RATE:.0f}/s per chat")
    run(args.database, args.messages, args.chats)
    print(f"peak memory (max RSS of the process, fake server included): {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
