"""Every periodic job of a running bot, registered in one place on APScheduler.

The jobs' work is handed in as callables (the services'); this module knows only when
each runs. Only the clock lives in APScheduler: what is due lives in the database, so
nothing is lost on restart and several workers never run the same touchpoint twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.clock import Clock

log = logging.getLogger("coachbot.scheduler")


@dataclass(frozen=True)
class Periodic:
    """One periodic job: its name, how often it runs, and when it first runs after start."""

    name: str
    every: timedelta
    first_after: timedelta = timedelta(0)


# Due touchpoints are claimed and sent every few seconds.
TICK = Periodic("touchpoints.tick", timedelta(seconds=20))
# Missed check-ins and days without a reply change metrics with no answer arriving.
SWEEP = Periodic("decisions.sweep", timedelta(minutes=5))
# Answers past the program's retention period are erased once a day.
RETENTION = Periodic("retention", timedelta(days=1), first_after=timedelta(minutes=5))
# Coaches' digests (each at its own local time) and escalations past their SLA.
DIGESTS = Periodic("slack.digests", timedelta(minutes=1))
REESCALATIONS = Periodic("escalations.reescalate", timedelta(minutes=1))
# SQLite's WAL folded into the database off the request path (storage/db.py).
FOLD_WAL = Periodic("database.fold_wal", timedelta(seconds=5))


def _logged(job: Periodic, run: Callable[[], object]) -> Callable[[], None]:
    def call() -> None:
        try:
            run()
        except Exception as exc:
            # Logged by type only: an exception's text may carry a client's words.
            log.error("periodic job %s failed: %s", job.name, type(exc).__name__)

    return call


def start_jobs(clock: Clock, work: dict[Periodic, Callable[[], object]]) -> AsyncIOScheduler:
    """Start an in-process scheduler (inside a running event loop) running each job's work.

    Each job runs one at a time; missed runs collapse into one. The work functions are
    synchronous: APScheduler runs them in its thread pool, off the event loop.
    """
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job, run in work.items():
        seconds = int(job.every.total_seconds())
        scheduler.add_job(_logged(job, run), IntervalTrigger(seconds=seconds), id=job.name,
                          replace_existing=True, max_instances=1, coalesce=True,
                          misfire_grace_time=seconds,
                          next_run_time=clock.now() + job.first_after if job.first_after
                          else None)
    scheduler.start()
    return scheduler
