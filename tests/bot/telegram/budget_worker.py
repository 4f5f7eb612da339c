"""One Telegram sending worker as a real process, for the shared send budget's tests and
benchmark: the production wiring (the bot's budget, PTB's Bot with our rate limiter, the
Telegram sender) draining one outbox that other workers drain too.

    python -m tests.bot.telegram.budget_worker --database-url URL --api-url URL \
        --worker NAME [--batch 6] [--drains 3] [--paid-broadcast]

It prints `ready` once connected, waits for `go` on stdin, then keeps up to `--drains`
drains of `--batch` messages running (as the Telegram channel overlaps its drains, with a
smaller batch so that every worker gets a share of a small outbox) until nothing is queued,
and prints `sent N peak_rss_mb M cpu_s S`.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys

from sqlmodel import func, select

from bot.composition import build_app
from bot.settings import Settings
from bot.telegram.telegram_channel import build_application, send_budget
from bot.telegram.telegram_sender import CHANNEL, PER_CHAT_SHARE, TelegramSender
from scheduler.clock import SystemClock
from services.delivery import drain_async, keep_leases
from storage.db import session
from storage.models import OutboxMessage
from tests.conftest import SAMPLE

TOKEN = "7000000001:AAtest-token"


def queued(app) -> int:
    """Telegram messages not sent yet (held by a worker or waiting)."""
    with session(app.db) as s:
        return s.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.channel == CHANNEL, OutboxMessage.status == "queued")).one()


async def serve(args: argparse.Namespace) -> None:
    settings = Settings(database_url=args.database_url, program=SAMPLE, telegram_token=TOKEN,
                        telegram_api_url=args.api_url, _env_file=None,
                        telegram_paid_broadcast=args.paid_broadcast)
    app = build_app(settings, clock=SystemClock(), migrate=False)
    application = build_application(settings, webhook=True,
                                    budget=send_budget(app.rt, settings))
    await application.initialize()
    sender = TelegramSender(application.bot, rt=app.rt,
                            paid_broadcast=settings.telegram_paid_broadcast)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    sent, idle = 0, False
    running: set[asyncio.Task[int]] = set()
    leases = asyncio.create_task(keep_leases(app.rt, worker=args.worker))
    try:
        while True:
            if not idle:
                while len(running) < args.drains and not sender.paused():
                    running.add(asyncio.create_task(drain_async(
                        app.rt, CHANNEL, sender.send, worker=args.worker, limit=args.batch,
                        chats_concurrently=True, per_address=PER_CHAT_SHARE)))
            if not running:
                if not await asyncio.to_thread(queued, app):
                    break
                # The rest is held by the other worker or waits for a retry: look again
                # shortly rather than at once.
                await asyncio.sleep(0.05)
                idle = False
                continue
            done, running = await asyncio.wait(running, timeout=0.05,
                                               return_when=asyncio.FIRST_COMPLETED)
            results = [task.result() for task in done]
            sent += sum(results)
            if done:
                idle = not any(results)
    finally:
        leases.cancel()
        await application.shutdown()
        app.db.dispose()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"sent {sent} peak_rss_mb {usage.ru_maxrss / 1024:.0f} cpu_s "
          f"{usage.ru_utime + usage.ru_stime:.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--worker", required=True)
    parser.add_argument("--batch", type=int, default=6)
    parser.add_argument("--drains", type=int, default=3)
    parser.add_argument("--paid-broadcast", action="store_true")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
