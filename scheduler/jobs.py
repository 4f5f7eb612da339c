"""The in-process clock: an APScheduler job that ticks the runner every few seconds.

Only the tick is an APScheduler job; the touchpoints themselves live in the database, so
nothing is lost on restart and several workers never run the same touchpoint twice.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.clock import Clock
from scheduler.runner import Runner

log = logging.getLogger("coachbot.scheduler")

TICK_JOB = "coachbot.touchpoints.tick"
TICK_SECONDS = 20


def add_tick_job(scheduler: AsyncIOScheduler, runner: Runner, clock: Clock, *,
                 seconds: int = TICK_SECONDS) -> None:
    """Tick `runner` every `seconds` (one at a time; missed runs collapse into one)."""

    def tick() -> None:
        report = runner.tick(clock.now())
        if report.claimed or report.replanned:
            log.info("tick claimed=%d sent=%d skipped=%s missed=%d replanned=%d errors=%d",
                     report.claimed, report.sent, report.skipped, report.missed,
                     report.replanned, report.errors)

    # A sync function: APScheduler runs it in its thread pool, off the event loop.
    scheduler.add_job(tick, IntervalTrigger(seconds=seconds), id=TICK_JOB,
                      replace_existing=True, max_instances=1, coalesce=True,
                      misfire_grace_time=seconds)
