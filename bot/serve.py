"""Running the platform channels and the clock together in one asyncio process."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import threading

from bot.composition import App
from bot.program_reload import reload_in_thread
from scheduler.jobs import (
    DIGESTS,
    FOLD_WAL,
    REESCALATIONS,
    RETENTION,
    SWEEP,
    TICK,
    start_jobs,
)
from services.database import fold_wal
from services.decisions import Sweep
from services.delivery import release_held
from services.digest import digests_due
from services.escalations import reescalate_due
from services.retention import apply_retention, forget_old_events
from services.touchpoints import TouchpointRunner

log = logging.getLogger("coachbot.serve")

# A stop signal must end the process within docker stop's 10 s (then it sends SIGKILL).
STOP_DEADLINE = 9.0


async def serve(app: App, stop: asyncio.Event | None = None) -> None:
    """Run every configured channel and the periodic jobs until `stop` is set, then stop."""
    # A clean stop fetches nothing more, finishes the updates in hand (their 200s or their
    # offset), and hands this worker's outbox leases back so a restart sends at once.
    stop = stop or asyncio.Event()
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

        tasks.append(asyncio.create_task(TelegramChannel(app, http=http).run(stop),
                                         name="telegram"))
    slack: asyncio.Task[None] | None = None
    if settings.slack_bot_token:
        from bot.slack.slack_channel import run_slack

        slack = asyncio.create_task(run_slack(app, route=slack_route), name="slack")
    if not tasks and slack is None:
        raise RuntimeError("no platform channel is configured")
    if http is not None:
        tasks.append(asyncio.create_task(http.run(stop), name="http"))
    jobs = start_jobs(app.clock, periodic_work(app))
    # `kill -HUP PID` reloads the program files; an invalid one leaves the running version.
    asyncio.get_running_loop().add_signal_handler(
        signal.SIGHUP, lambda: reload_in_thread(app, log.warning))
    freeze_startup_objects()
    try:
        await _until_stopped(stop, tasks, slack)
    finally:
        jobs.shutdown(wait=False)
        try:
            await asyncio.to_thread(release_held, app.rt)
        except Exception as exc:  # the database is down: the leases run out on their own
            log.warning("outbox leases not released error=%s", type(exc).__name__)
        log.info("stopped")


async def _until_stopped(stop: asyncio.Event, tasks: list[asyncio.Task[None]],
                         slack: asyncio.Task[None] | None) -> None:
    """Wait for `stop` (or a channel failing), then for the channels to finish."""
    everything = [*tasks, *([slack] if slack is not None else [])]
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([*everything, stopping],
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.set()  # whatever ended first, the others stop too
        stopping.cancel()
        if slack is not None:
            slack.cancel()  # Slack's loop stops by cancellation; nothing it holds is lost
    results = await asyncio.gather(*everything, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(
                result, asyncio.CancelledError):
            raise result


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM (docker stop, systemd) and SIGINT (Ctrl-C) set `stop`."""
    # A second signal, or a stop still running after STOP_DEADLINE, ends the process at once.
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("second stop signal: exiting now")
            os._exit(1)
        log.info("stop signal %s: finishing what is in hand", signal.Signals(signum).name)
        stop.set()
        watchdog = threading.Timer(STOP_DEADLINE, _too_slow)
        watchdog.daemon = True
        watchdog.start()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)


def _too_slow() -> None:
    # Past this, docker stop's SIGKILL would come anyway: nothing unstored was confirmed.
    log.error("stop took longer than %.0f s: exiting now", STOP_DEADLINE)
    os._exit(1)


def periodic_work(app: App) -> dict:
    """The services each periodic job runs (scheduler/jobs.py says when)."""
    rt = app.rt
    work = {TICK: TouchpointRunner(rt), SWEEP: Sweep(rt),
            RETENTION: lambda: _retention(app), FOLD_WAL: lambda: fold_wal(rt.db)}
    if app.settings.slack_bot_token:
        work[DIGESTS] = lambda: digests_due(rt, app.settings.digest_time)
        work[REESCALATIONS] = lambda: reescalate_due(rt)
    return work


def _retention(app: App) -> None:
    """The daily clean-up: answers past their retention, then events past the dedupe window."""
    try:
        apply_retention(app.rt)
    finally:
        # Independent of the erasures: one failing must not keep the other from running.
        forget_old_events(app.rt, app.settings.dedupe_days)


def freeze_startup_objects() -> None:
    """Keep what start-up built (modules, programs, apps) out of the collector's full passes.

    They live as long as the process; walking them on every full collection was the tail
    of a digest build (see benchmarks/RESULTS.md).
    """
    gc.collect()
    gc.freeze()
