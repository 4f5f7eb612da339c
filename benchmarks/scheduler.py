"""Scheduler: planning N enrolments into touchpoint rows and one tick with 1,000 rows due,
beside the usual approach of one APScheduler job per client in a SQLAlchemyJobStore.

    python benchmarks/scheduler.py [--enrolments 100000] [--database sqlite|postgresql|both]

Each measured step runs in a fresh process (spawned), so its peak RSS is its own. Seeding
people and enrolments (bulk inserts) is not timed. The tick is measured at N/10 and N
enrolments: its cost should follow the rows due, not the number of enrolments.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from benchmarks.machine import machine, peak_rss_mb

SAMPLE = "business-coaching-12w.yaml"
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Europe/London",
         "America/Los_Angeles", "Australia/Sydney"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# Clients joined over the four weeks before planning (a rolling intake).
PLANNED_AT = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
INTAKE_WEEKS = 4
# The tick is measured two days after planning, with everything before it done.
WINDOW = PLANNED_AT + timedelta(days=2)
DUE = 1000
CHUNK = 5000


def slot(i: int) -> tuple[str, str, str]:
    """Client i's zone, check-in day and time: 60% keep the program's Monday 09:00, the
    others picked a half hour between 07:00 and 21:00 on any day (/schedule)."""
    zone = ZONES[i % len(ZONES)]
    if i % 5 < 3:
        return zone, "mon", "09:00"
    pick = (i * 7919) % (7 * 28)  # a prime stride scatters neighbours
    half_hour = 14 + pick % 28
    return zone, DAYS[pick // 28], f"{half_hour // 2:02d}:{30 * (half_hour % 2):02d}"


def joined(i: int) -> datetime:
    """When client i joined (and finished intake), spread over the intake weeks."""
    minutes = (i * 7907) % (INTAKE_WEEKS * 7 * 1440)
    return PLANNED_AT - timedelta(weeks=INTAKE_WEEKS) + timedelta(minutes=minutes)


def checkin() -> None:
    """The job function of the APScheduler build (never run here)."""


# --- our build ------------------------------------------------------------------------------

def _app(url: str):
    from bot.composition import build_app
    from bot.settings import BUNDLED_PROGRAMS, Settings
    from scheduler.clock import ManualClock
    return build_app(Settings(database_url=url, program=BUNDLED_PROGRAMS / SAMPLE,
                              _env_file=None), clock=ManualClock(PLANNED_AT), migrate=True)


def seed(url: str, start: int, stop: int) -> None:
    """Clients start..stop-1, active in onboarding (intake done), in bulk."""
    from storage.models import Enrolment, Person
    app = _app(url)
    with app.db.begin() as c:
        for first in range(start, stop, CHUNK):
            ids = range(first, min(stop, first + CHUNK))
            people = c.execute(sa.insert(Person).returning(Person.id), [
                {"name": f"Client {i}", "role": "client", "timezone": slot(i)[0],
                 "created_at": joined(i)} for i in ids]).scalars().all()
            c.execute(sa.insert(Enrolment), [
                {"person_id": pid, "program_id": "business_12w", "stage": "onboarding",
                 "status": "active", "checkin_day": slot(i)[1], "checkin_time": slot(i)[2],
                 "enrolled_at": joined(i), "stage_started_at": joined(i),
                 "joined_at": joined(i)}
                for i, pid in zip(ids, people, strict=True)])
    app.db.dispose()


def plan(url: str) -> dict:
    """Plan every enrolment that needs it, as the runner does, until none is stale."""
    from scheduler.replanning import replan_stale
    from storage.db import session
    app = _app(url)
    programs = {k: v.program for k, v in app.programs.items()}
    started = time.perf_counter()
    planned = 0
    while True:
        with session(app.db) as s, s.begin():
            done = replan_stale(s, programs, now=PLANNED_AT, limit=1000)
        if not done:
            break
        planned += done
    elapsed = time.perf_counter() - started
    with app.db.connect() as c:
        count = c.execute(sa.text("SELECT count(*) FROM touchpoint")).scalar_one()
    app.db.dispose()
    return {"seconds": elapsed, "enrolments": planned, "rows": count, "rss": peak_rss_mb()}


def tick(url: str, due_count: int) -> dict:
    """One tick with `due_count` rows due: the rows before the window are done, as in real life."""
    app = _app(url)
    with app.db.begin() as c:
        c.execute(sa.text("UPDATE touchpoint SET status = 'done', done_at = due_at "
                          "WHERE status = 'planned' AND due_at < :w"), {"w": WINDOW})
        until = c.execute(sa.text(
            "SELECT due_at FROM touchpoint WHERE status = 'planned' "
            "ORDER BY due_at, id LIMIT 1 OFFSET :n"), {"n": due_count - 1}).scalar_one()
    if isinstance(until, str):  # SQLite hands the text back
        until = datetime.fromisoformat(until)
    until = until if until.tzinfo else until.replace(tzinfo=UTC)
    # The sweep for changed enrolments runs once a minute, not every tick: the first tick
    # below sweeps (nothing due: that is its cost), the second only runs the due rows.
    from services.touchpoints import TouchpointRunner

    runner = TouchpointRunner(app.rt, lambda uow, due: "sent", worker="bench",
                              batch=due_count, sweep_every=timedelta(days=365))
    started = time.perf_counter()
    empty = runner.tick(WINDOW - timedelta(seconds=1))
    empty_seconds = time.perf_counter() - started
    started = time.perf_counter()
    report = runner.tick(until)
    elapsed = time.perf_counter() - started
    app.db.dispose()
    return {"seconds": elapsed, "claimed": report.claimed, "empty": empty_seconds,
            "empty_claimed": empty.claimed, "rss": peak_rss_mb()}


# --- the usual approach: one APScheduler job per client ----------------------------------------

def _store(url: str):
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    scheduler = BackgroundScheduler(timezone="UTC")
    store = SQLAlchemyJobStore(url=url.replace("postgresql://", "postgresql+psycopg://", 1)
                               if url.startswith("postgresql://") else url)
    scheduler.add_jobstore(store, "default")
    return scheduler, store


def aps_add(url: str, n: int) -> dict:
    """Add one weekly check-in job per client (CronTrigger in the client's zone)."""
    from apscheduler.triggers.cron import CronTrigger
    scheduler, _ = _store(url)
    scheduler.start(paused=True)
    started = time.perf_counter()
    for i in range(n):
        zone, day, at = slot(i)
        hour, minute = at.split(":")
        scheduler.add_job("benchmarks.scheduler:checkin", CronTrigger(
            day_of_week=day, hour=int(hour), minute=int(minute), timezone=zone,
            start_date=PLANNED_AT), id=f"checkin-{i}", misfire_grace_time=12 * 3600)
    elapsed = time.perf_counter() - started
    scheduler.shutdown(wait=False)
    return {"seconds": elapsed, "rss": peak_rss_mb()}


def aps_tick(url: str, due_count: int) -> dict:
    """What the scheduler does when jobs fall due: fetch the due ones, compute and store
    each one's next run (BaseScheduler._process_jobs, without running the function)."""
    _, store = _store(url)
    with store.engine.connect() as c:
        stamp = c.execute(sa.text("SELECT next_run_time FROM apscheduler_jobs ORDER BY "
                                  "next_run_time LIMIT 1 OFFSET :n"),
                          {"n": due_count - 1}).scalar_one()
    now = datetime.fromtimestamp(stamp, UTC)
    started = time.perf_counter()
    due = store.get_due_jobs(now)
    found = time.perf_counter() - started
    for job in due:
        job.next_run_time = job.trigger.get_next_fire_time(job.next_run_time, now)
        store.update_job(job)
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "find": found, "claimed": len(due), "rss": peak_rss_mb()}


# --- running it ---------------------------------------------------------------------------------

def in_child(fn, *args) -> dict:
    """Run fn(*args) in a fresh process; its result (with that process's peak RSS)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(fn, args)


def fresh(database: str, label: str) -> tuple[str, object]:
    if database == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp()}/{label}.db", None
    from benchmarks.inbound import fresh_postgres
    url, admin, name = fresh_postgres()
    return url, (admin, name)


def drop(handle) -> None:
    if handle is not None:
        admin, name = handle
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run(database: str, n: int) -> None:
    print(f"\n{database}:")
    for size in sorted({max(1, n // 10), n}):
        due = min(DUE, size // 2)
        url, handle = fresh(database, f"ours{size}")
        in_child(seed, url, 0, size)
        p = in_child(plan, url)
        t = in_child(tick, url, due)
        drop(handle)
        print(f"  ours, {size:>7,} enrolments: planning {p['seconds']:6.1f} s "
              f"({p['enrolments'] / p['seconds']:,.0f} enrolments/s, {p['rows']:,} rows, "
              f"peak RSS {p['rss']:.0f} MB); tick with {t['claimed']} due "
              f"{t['seconds'] * 1000:,.0f} ms; the once-a-minute sweep for changed plans "
              f"{t['empty'] * 1000:,.1f} ms")
        url, handle = fresh(database, f"aps{size}")
        a = in_child(aps_add, url, size)
        d = in_child(aps_tick, url, due)
        drop(handle)
        print(f"  APScheduler jobs, {size:>7,} clients: adding {a['seconds']:6.1f} s "
              f"({size / a['seconds']:,.0f} jobs/s, peak RSS {a['rss']:.0f} MB); "
              f"{d['claimed']} due: found in {d['find'] * 1000:,.0f} ms, "
              f"found and rescheduled in {d['seconds'] * 1000:,.0f} ms "
              f"(peak RSS {d['rss']:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrolments", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{args.enrolments:,} enrolments (and a tenth of it), sample 12-week program, "
          f"{len(ZONES)} zones, 60% on the default check-in slot, the rest on 196 others; "
          f"{DUE:,} rows due per tick")
    os.environ.setdefault("COACHBOT_LOG_LEVEL", "WARNING")
    for database in (["sqlite", "postgresql"] if args.database == "both" else [args.database]):
        run(database, args.enrolments)


if __name__ == "__main__":
    main()
