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
    settings = app.settings
    # Payments, bookings and the API: one HTTP server, which then carries Telegram's
    # webhook and Slack's HTTP mode too (one port for everything).
    http = slack_route = None
    if settings.integrations:
        from bot.integrations import build_http_server
        from bot.slack.http import SlackRoute

        http = build_http_server(app)
        if settings.slack_bot_token and settings.slack_signing_secret:
            slack_route = SlackRoute()
            http.add(slack_route.register)
    # Each channel adds its runner here: Telegram, Slack; and the scheduler's clock.
    if settings.telegram_token:
        from bot.telegram.runner import TelegramChannel

        tasks.append(asyncio.create_task(TelegramChannel(app, http=http).run(),
                                         name="telegram"))
    if settings.slack_bot_token:
        from bot.slack.runner import run_slack

        tasks.append(asyncio.create_task(run_slack(app, route=slack_route), name="slack"))
    if not tasks:
        raise RuntimeError("no platform channel is configured")
    if http is not None:
        tasks.append(asyncio.create_task(http.run(), name="http"))
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
