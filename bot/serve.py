"""Running the platform channels and the clock together in one asyncio process."""

from __future__ import annotations

import asyncio
import gc
import logging

from bot.app import App

log = logging.getLogger("coachbot.serve")


async def serve(app: App) -> None:
    """Run every configured channel until cancelled (Ctrl-C)."""
    tasks: list[asyncio.Task[None]] = []
    # Each channel adds its runner here: Telegram, Slack; and the scheduler's clock.
    if app.settings.telegram_token:
        from bot.telegram.runner import TelegramChannel

        tasks.append(asyncio.create_task(TelegramChannel(app).run(), name="telegram"))
    if app.settings.slack_bot_token:
        from bot.slack.runner import run_slack

        tasks.append(asyncio.create_task(run_slack(app), name="slack"))
    if not tasks:
        raise RuntimeError("no platform channel is configured")
    from bot.touchpoints import start_clock

    clock = start_clock(app)  # touchpoints: due rows are claimed and sent every few seconds
    freeze_startup_objects()
    try:
        await asyncio.gather(*tasks)
    finally:
        clock.shutdown(wait=False)


def freeze_startup_objects() -> None:
    """Keep what start-up built (modules, programs, apps) out of the collector's full passes.

    They live as long as the process; walking them on every full collection was the tail
    of a digest build (p99 124-132 ms against a 30-45 ms median, see benchmarks/RESULTS.md).
    """
    gc.collect()
    gc.freeze()
