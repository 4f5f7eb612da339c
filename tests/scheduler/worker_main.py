"""One bot worker as a real process, for the multi-worker tests: tick the runner, drain Telegram.

    python -m tests.scheduler.worker_main --database-url URL --api-url URL --clock FILE \
        --worker NAME [--stall-after-deliveries N | --stall-after-sends N]

It prints `ready` once connected, waits for `go` on stdin, then loops: one runner tick at the
time read from the clock file (the test moves it; no wall time decides what is due), then
one outbox drain through the real Telegram sender to the fake server. It prints
`idle <iso time>` the first time a loop at that time found nothing to do. A `--stall-*`
worker stops dead after that many touchpoints handed to the bot (holding its claimed rows)
or messages sent (holding its claimed outbox batch), prints `stalled` and waits to be
killed: a process that dies at exactly that point.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime
from pathlib import Path

from bot.composition import build_app
from bot.settings import Settings
from bot.telegram.telegram_channel import build_application
from bot.telegram.telegram_sender import TelegramSender
from services.delivery import drain_async
from services.touchpoints import TouchpointRunner, TouchpointSender
from tests.conftest import SAMPLE

TOKEN = "7000000001:AAtest-token"


class FileClock:
    """The time written in a file by the test; every process reads the same one."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text().strip())

    @staticmethod
    def write(path: Path, moment: datetime) -> None:
        """Move every worker's clock at once (atomically: a reader never sees half a time)."""
        partial = path.with_suffix(".tmp")
        partial.write_text(moment.isoformat())
        partial.replace(path)


def stall() -> None:
    """Stop here for good, holding whatever this worker has claimed, until killed."""
    print("stalled", flush=True)
    sys.stdin.read()
    raise SystemExit(1)


class Counting:
    """Wraps a callable and stalls the process before its (n+1)th call."""

    def __init__(self, real, limit: int | None) -> None:
        self.real = real
        self.limit = limit
        self.calls = 0

    def __call__(self, *args):
        if self.limit is not None and self.calls >= self.limit:
            stall()
        self.calls += 1
        return self.real(*args)


async def serve(args: argparse.Namespace) -> None:
    clock = FileClock(Path(args.clock))
    settings = Settings(database_url=args.database_url, program=SAMPLE, telegram_token=TOKEN,
                        telegram_api_url=args.api_url, _env_file=None)
    app = build_app(settings, clock=clock, migrate=False)
    application = build_application(settings, webhook=True)
    await application.initialize()
    sender = TelegramSender(application.bot, rt=app.rt, per_chat_rate=1000)
    # Counting(...) returns the coroutine of sender.send, which drain_async awaits.
    send = Counting(sender.send, args.stall_after_sends)
    deliver = Counting(TouchpointSender(app.rt), args.stall_after_deliveries)
    runner = TouchpointRunner(app.rt, deliver, worker=args.worker, batch=args.batch)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    idle_at: datetime | None = None
    while True:
        now = clock.now()
        report = runner.tick(now)
        # As TelegramSender.drain does, with this worker's name and a small batch.
        sent = await drain_async(app.rt, "telegram", send, worker=args.worker,
                                 limit=args.batch, chats_concurrently=True)
        if report.claimed or report.replanned or sent:
            continue
        if idle_at != now:
            idle_at = now
            print(f"idle {now.isoformat()}", flush=True)
        # Pacing between empty polls (production ticks every 20 s); nothing waits on it.
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--clock", required=True)
    parser.add_argument("--worker", required=True)
    parser.add_argument("--batch", type=int, default=3)
    parser.add_argument("--stall-after-deliveries", type=int)
    parser.add_argument("--stall-after-sends", type=int)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
