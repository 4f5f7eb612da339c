"""A check-in burst delivered by two workers sharing one send budget on PostgreSQL.

    python benchmarks/burst.py [--clients 10000] [--messages-each 1]

N clients whose weekly check-in is due at the same minute (Monday 09:00 in one zone): the
outbox as the check-in's tick leaves it, each client's check-in message (its intro above its
first question; --messages-each 2 for a build that sent them apart) queued (queueing is not
timed). Two real worker processes (`tests/bot/telegram/budget_worker.py`:
the production budget, PTB's Bot with our rate limiter and the Telegram sender, 16
overlapping drains of 300 as the channel runs them) drain it to the fake Bot API server
enforcing Telegram's limits (30/s for the bot, 1/s per chat, answering 429 past either).
Prints 429s, messages doubled and lost, and the achieved rate as a share of the rate
permitted to both workers together (30/s: one bot, one limit), first arrival to one second
after the last, with the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from benchmarks.inbound import fresh_postgres
from benchmarks.machine import machine, peak_rss_mb
from bot.composition import build_app
from bot.settings import BUNDLED_PROGRAMS, Settings
from bot.telegram.limits import OVERALL_RATE
from conversations.messages import Reply
from scheduler.clock import SystemClock
from services.send_budget import TELEGRAM, burst_duration, duration_text
from storage import outbox
from storage.db import session
from tests.fakes.telegram_api import FakeTelegramAPI

ROOT = Path(__file__).resolve().parent.parent
FIRST_CHAT = 5_000_000_001
TEXTS = ["Week 3 check-in. Five quick questions.", "How confident do you feel (0-10)?"]


def queue(app, clients: int, messages_each: int) -> None:
    """Every client's opening messages, as the check-in tick queues them."""
    now = app.clock.now()
    with session(app.db) as s, s.begin():
        for c in range(clients):
            for k in range(messages_each):
                outbox.enqueue(s, key=f"burst:{c}:{k}", channel="telegram",
                               address=str(FIRST_CHAT + c), person_id=None,
                               reply=Reply(text=TEXTS[k % len(TEXTS)] + f" #{k}"), now=now)


def start_worker(name: str, url: str, api_url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.bot.telegram.budget_worker", "--worker", name,
         "--database-url", url, "--api-url", api_url, "--batch", "300", "--drains", "16"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def until_line(process: subprocess.Popen[str], prefix: str) -> str:
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(prefix):
            return line.strip()
    raise RuntimeError(f"a worker exited before printing {prefix!r}")


def run(clients: int, messages_each: int, workers_count: int) -> None:
    url, admin, name = fresh_postgres()
    expected = clients * messages_each
    try:
        app = build_app(Settings(database_url=url, program=BUNDLED_PROGRAMS, _env_file=None),
                        clock=SystemClock(), migrate=True)
        with FakeTelegramAPI(max_poll_wait=0.2) as api:
            api.enforce_flood_limits(overall=OVERALL_RATE, per_chat=1, period=1.0)
            api.add_chat(*(FIRST_CHAT + c for c in range(clients)))
            workers = [start_worker(f"worker-{n}", url, api.url) for n in range(workers_count)]
            try:
                for worker in workers:
                    until_line(worker, "ready")
                queue(app, clients, messages_each)
                load = os.getloadavg()[0]
                for worker in workers:
                    assert worker.stdin is not None
                    worker.stdin.write("go\n")
                    worker.stdin.flush()
                done = [until_line(worker, "sent ").split() for worker in workers]
            finally:
                for worker in workers:
                    worker.kill()
                    worker.wait()
            calls = [c for c in api.recorded if c.method == "sendMessage"]
            ok = [c for c in calls if c.ok]
            errors = api.flood_errors()
        app.db.dispose()
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    received = Counter((c.params["chat_id"], c.params["text"]) for c in ok)
    doubled = sum(n - 1 for n in received.values() if n > 1)
    lost = expected - len(received)
    span = max(c.at for c in ok) - min(c.at for c in ok) + 1.0
    rate = len(ok) / span
    shares = ", ".join(f"{d[1]} ({d[3]} MB peak, {d[5]} s of CPU)" for d in done)
    print(f"{clients:,} clients x {messages_each} = {expected:,} messages, {workers_count} workers "
          f"sending {shares}; load average {load:.1f} at the start")
    print(f"  429s {errors}, doubled {doubled}, lost {lost}")
    print(f"  {span:.1f} s first arrival to 1 s after the last: {rate:.2f} messages/s = "
          f"{100 * rate / OVERALL_RATE:.1f}% of the {OVERALL_RATE}/s permitted to both workers "
          f"together (the budget's estimate: "
          f"{duration_text(burst_duration(clients, TELEGRAM, messages_each=messages_each))})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--messages-each", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f} at start")
    began = time.monotonic()
    run(args.clients, args.messages_each, args.workers)
    print(f"wall time {time.monotonic() - began:.0f} s; peak memory of this process (the fake "
          f"server and the queueing): {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
