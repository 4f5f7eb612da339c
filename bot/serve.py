"""Running the platform channels and the clock together in one asyncio process."""

from __future__ import annotations

import asyncio
import gc
import logging

from bot.composition import App
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
    # Each channel adds its runner here: Telegram, Slack.
    if app.settings.telegram_token:
        from bot.telegram.telegram_channel import TelegramChannel

        tasks.append(asyncio.create_task(TelegramChannel(app).run(), name="telegram"))
    if app.settings.slack_bot_token:
        from bot.slack.slack_channel import run_slack

        tasks.append(asyncio.create_task(run_slack(app), name="slack"))
    if not tasks:
        raise RuntimeError("no platform channel is configured")
    jobs = start_jobs(app.clock, periodic_work(app))
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
