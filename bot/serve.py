"""Running the platform channels and the clock together in one asyncio process."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

from bot.composition import App
from bot.program_reload import reload_in_thread
from scheduler.jobs import DIGESTS, REESCALATIONS, RETENTION, SWEEP, TICK, start_jobs
from services.decisions import Sweep
from services.digest import digests_due
from services.escalations import reescalate_due
from services.retention import apply_retention
from services.touchpoints import TouchpointRunner

log = logging.getLogger("coachbot.serve")


async def serve(app: App) -> None:
    """Run every configured channel and the periodic jobs until cancelled (Ctrl-C)."""
    tasks: list[asyncio.Task[None]] = []
    settings = app.settings
    # Payments, bookings and the API: one HTTP server, which then carries Telegram's
    # webhook and Slack's HTTP mode too (one port for everything).
    http = slack_route = None
    if settings.integrations:
        from bot.integrations import build_http_server
        from bot.slack.slack_http import SlackRoute

        http = build_http_server(app)
        if settings.slack_bot_token and settings.slack_signing_secret:
            slack_route = SlackRoute()
            http.add(slack_route.register)
    # Each channel adds its runner here: Telegram, Slack.
    if settings.telegram_token:
        from bot.telegram.telegram_channel import TelegramChannel

        tasks.append(asyncio.create_task(TelegramChannel(app, http=http).run(),
                                         name="telegram"))
    if settings.slack_bot_token:
        from bot.slack.slack_channel import run_slack

        tasks.append(asyncio.create_task(run_slack(app, route=slack_route), name="slack"))
    if not tasks:
        raise RuntimeError("no platform channel is configured")
    if http is not None:
        tasks.append(asyncio.create_task(http.run(), name="http"))
    jobs = start_jobs(app.clock, periodic_work(app))
    # `kill -HUP PID` reloads the program files; an invalid one leaves the running version.
    asyncio.get_running_loop().add_signal_handler(
        signal.SIGHUP, lambda: reload_in_thread(app, log.warning))
    freeze_startup_objects()
    try:
        await asyncio.gather(*tasks)
    finally:
        jobs.shutdown(wait=False)


def periodic_work(app: App) -> dict:
    """The services each periodic job runs (scheduler/jobs.py says when)."""
    rt = app.rt
    work = {TICK: TouchpointRunner(rt), SWEEP: Sweep(rt),
            RETENTION: lambda: apply_retention(rt)}
    if app.settings.slack_bot_token:
        work[DIGESTS] = lambda: digests_due(rt, app.settings.digest_time)
        work[REESCALATIONS] = lambda: reescalate_due(rt)
    return work


def freeze_startup_objects() -> None:
    """Keep what start-up built (modules, programs, apps) out of the collector's full passes.

    They live as long as the process; walking them on every full collection was the tail
    of a digest build (see benchmarks/RESULTS.md).
    """
    gc.collect()
    gc.freeze()
