"""Scheduler: planning N enrolments, rolling the plan on, and the tick of a Monday 09:00,
beside one APScheduler job per client in a SQLAlchemyJobStore, in the same run.

    python benchmarks/scheduler.py [--enrolments 100000] [--database sqlite|postgresql|both]
                                   [--runs 3]

Each measured step runs in a fresh process (spawned), so its peak RSS is its own. Seeding
people, their Telegram chats and enrolments (bulk inserts) is not timed. Measured at N/10
and N: planning every enrolment (and the database it takes per enrolment), rolling every
plan on to the Monday 09:00 a week later (as the sweep does over those days), the tick's
fixed cost (nothing due: the sweep through the index and an empty claim), and the tick
at Monday 09:00 Berlin, when a tenth of the clients are due at the same minute: claimed,
decided and (in a copy of the database) their check-ins opened and queued for real. Our
side's steps hold the app as `coachbot run` does once started (`running_app`).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
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
# Monday 6 April, 09:00 in Berlin (CEST): every Berlin client on the default slot is due.
MONDAY = datetime(2026, 4, 6, 7, 0, tzinfo=UTC)
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


def running_app(url: str):
    """The app as `coachbot run` holds it once started: what start-up built kept out of the
    collector's full passes (bot/serve.py), so they do not walk it during the work timed."""
    from bot.serve import freeze_startup_objects
    app = _app(url)
    freeze_startup_objects()
    return app


def seed(url: str, start: int, stop: int) -> None:
    """Clients start..stop-1, active in onboarding (intake done), in bulk."""
    from storage.models import Enrolment, Identity, Person
    app = _app(url)
    with app.db.begin() as c:
        for first in range(start, stop, CHUNK):
            ids = range(first, min(stop, first + CHUNK))
            people = c.execute(sa.insert(Person).returning(Person.id), [
                {"name": f"Client {i}", "role": "client", "timezone": slot(i)[0],
                 "created_at": joined(i)} for i in ids]).scalars().all()
            c.execute(sa.insert(Identity), [
                {"person_id": pid, "channel": "telegram", "address": str(1000 + i)}
                for i, pid in zip(ids, people, strict=True)])
            c.execute(sa.insert(Enrolment), [
                {"person_id": pid, "program_id": "business_12w", "stage": "onboarding",
                 "status": "active", "checkin_day": slot(i)[1], "checkin_time": slot(i)[2],
                 "enrolled_at": joined(i), "stage_started_at": joined(i),
                 "joined_at": joined(i)}
                for i, pid in zip(ids, people, strict=True)])
    app.db.dispose()


def plan(url: str) -> dict:
    """Plan every enrolment that needs it, as the sweep does, until none is due."""
    app = running_app(url)
    started = time.perf_counter()
    planned = _plan_until_done(app, PLANNED_AT)
    elapsed = time.perf_counter() - started
    with app.db.connect() as c:
        count = c.execute(sa.text("SELECT count(*) FROM touchpoint")).scalar_one()
    size, touchpoint_size = database_bytes(app.db)
    app.db.dispose()
    return {"seconds": elapsed, "enrolments": planned, "rows": count, "rss": peak_rss_mb(),
            "bytes": size / planned, "touchpoint_bytes": touchpoint_size / planned}


def _plan_until_done(app, now: datetime) -> int:
    from scheduler.replanning import replan_due
    from storage.db import session
    programs = {k: v.program for k, v in app.programs.items()}
    planned = 0
    while True:
        with session(app.db) as s, s.begin():
            done = replan_due(s, programs, now=now, limit=1000)
        if not done:
            return planned
        planned += done


def database_bytes(engine) -> tuple[int, int]:
    """The whole database's size, and the touchpoint table's with its indexes."""
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            whole = c.exec_driver_sql("SELECT page_count * page_size FROM pragma_page_count, "
                                      "pragma_page_size").scalar_one()
            part = c.exec_driver_sql(
                "SELECT sum(pgsize) FROM dbstat WHERE name = 'touchpoint' OR name IN "
                "(SELECT name FROM sqlite_master WHERE tbl_name = 'touchpoint')").scalar_one()
            return whole, part
        whole = c.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one()
        part = c.exec_driver_sql("SELECT pg_total_relation_size('touchpoint')").scalar_one()
        return whole, part


def roll(url: str) -> dict:
    """Every plan rolled on to Monday 09:00 (what the sweep does over the days before), and
    everything due before that minute marked done, as if it had run."""
    app = running_app(url)
    started = time.perf_counter()
    rolled = _plan_until_done(app, MONDAY - timedelta(minutes=2))
    elapsed = time.perf_counter() - started
    from storage.models import PlannedTouchpoint
    # Through the table, so the time is bound as the column stores it.
    table = PlannedTouchpoint.__table__
    planned = table.c.status == "planned"
    with app.db.begin() as c:
        c.execute(sa.update(table).where(planned, table.c.due_at < MONDAY)
                  .values(status="done", done_at=table.c.due_at))
        due = c.execute(sa.select(sa.func.count()).select_from(table)
                        .where(planned, table.c.due_at == MONDAY)).scalar_one()
    app.db.dispose()
    return {"seconds": elapsed, "enrolments": rolled, "due": due, "rss": peak_rss_mb()}


def tick(url: str, real: bool) -> dict:
    """The ticks around Monday 09:00: the first after a start (it also runs the daily
    comparison of every plan), one with nothing due (the fixed cost: the sweep through the
    index and an empty claim), then the minute everyone on the slot is due."""
    from services.touchpoints import TouchpointRunner, TouchpointSender
    app = running_app(url)
    deliver = TouchpointSender(app.rt) if real else (lambda uow, due: "sent")
    runner = TouchpointRunner(app.rt, deliver, worker="bench", sweep_every=timedelta(0))
    started = time.perf_counter()
    runner.tick(MONDAY - timedelta(minutes=2))
    first = time.perf_counter() - started
    started = time.perf_counter()
    empty = runner.tick(MONDAY - timedelta(minutes=1))
    fixed = time.perf_counter() - started
    started = time.perf_counter()
    report = runner.tick(MONDAY)
    elapsed = time.perf_counter() - started
    with app.db.connect() as c:
        queued = c.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one()
    app.db.dispose()
    return {"seconds": elapsed, "claimed": report.claimed, "sent": report.sent,
            "queued": queued, "first": first, "fixed": fixed, "empty_claimed": empty.claimed,
            "rss": peak_rss_mb()}


# --- the usual approach: one APScheduler job per client ----------------------------------------

def _store(url: str):
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    scheduler = BackgroundScheduler(timezone="UTC")
    store = SQLAlchemyJobStore(url=_aps_url(url))
    scheduler.add_jobstore(store, "default")
    return scheduler, store


def _aps_url(url: str) -> str:
    return (url.replace("postgresql://", "postgresql+psycopg://", 1)
            if url.startswith("postgresql://") else url)


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
    size, _ = database_bytes(sa.create_engine(_aps_url(url)))
    return {"seconds": elapsed, "rss": peak_rss_mb(), "bytes": size / n}


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


def copy(database: str, url: str, handle) -> tuple[str, object]:
    """A copy of a database (the real sender's tick runs on it)."""
    if database == "sqlite":
        source = Path(url.removeprefix("sqlite:///"))
        target = source.with_name(source.stem + "-copy.db")
        shutil.copy(source, target)
        return f"sqlite:///{target}", None
    admin, name = handle
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}_copy"'))
        c.execute(sa.text(f'CREATE DATABASE "{name}_copy" TEMPLATE "{name}"'))
    return (sa.make_url(url).set(database=f"{name}_copy").render_as_string(hide_password=False),
            (admin, f"{name}_copy"))


def drop(handle) -> None:
    if handle is not None:
        admin, name = handle
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def once(database: str, size: int, ours_only: bool = False) -> dict:
    """One run of every step at one size: ours, then APScheduler's."""
    url, handle = fresh(database, f"ours{size}")
    in_child(seed, url, 0, size)
    out = {"plan": in_child(plan, url), "roll": in_child(roll, url)}
    copy_url, copy_handle = copy(database, url, handle)
    out["tick"] = in_child(tick, url, False)
    out["real"] = in_child(tick, copy_url, True)
    drop(copy_handle)
    drop(handle)
    if ours_only:
        return out
    url, handle = fresh(database, f"aps{size}")
    out["aps"] = in_child(aps_add, url, size)
    out["aps_tick"] = in_child(aps_tick, url, out["tick"]["claimed"])
    drop(handle)
    return out


def run(database: str, n: int, runs: int, ours_only: bool, sizes: list[int]) -> None:
    print(f"\n{database}:", flush=True)
    for size in sizes:
        results = []
        for number in range(runs):
            one = once(database, size, ours_only)
            results.append(one)
            print(f"  run {number + 1}, {size:,}: " + describe(size, one), flush=True)
        print(f"  MEDIAN of {runs}, {size:,}: " + describe(size, median(results)), flush=True)


def median(results: list[dict]) -> dict:
    """The median of each figure over the runs."""
    return {step: {key: statistics.median(r[step][key] for r in results)
                   for key in results[0][step]} for step in results[0]}


def describe(size: int, r: dict) -> str:
    p, o, t, q = r["plan"], r["roll"], r["tick"], r["real"]
    ours = (
        f"planning {p['seconds']:.1f} s ({p['enrolments'] / p['seconds']:,.0f}/s, "
        f"{p['rows'] / p['enrolments']:.1f} rows and {p['bytes']:,.0f} bytes of database "
        f"per enrolment, touchpoint table {p['touchpoint_bytes']:,.0f}; peak RSS "
        f"{p['rss']:.0f} MB) | rolled on a week: {o['seconds']:.1f} s | tick: first "
        f"{t['first'] * 1000:,.0f} ms, fixed cost {t['fixed'] * 1000:,.1f} ms; "
        f"{t['claimed']:,.0f} due at Monday 09:00 decided in {t['seconds']:.2f} s "
        f"({t['seconds'] * 1000 / max(t['claimed'], 1):.3f} ms/row), opened and queued for "
        f"real in {q['seconds']:.2f} s ({q['seconds'] * 1000 / max(q['claimed'], 1):.3f} "
        f"ms/row, {q['queued']:,.0f} queued; peak RSS {q['rss']:.0f} MB)")
    if "aps" not in r:
        return ours
    a, d = r["aps"], r["aps_tick"]
    return (
        f"{ours} || APScheduler: adding {a['seconds']:.1f} s ({size / a['seconds']:,.0f} "
        f"jobs/s, {a['bytes']:,.0f} bytes per client, peak RSS {a['rss']:.0f} MB); "
        f"{d['claimed']:,.0f} due found in {d['find'] * 1000:,.0f} ms, found and "
        f"rescheduled in {d['seconds']:.2f} s; planning {a['seconds'] / p['seconds']:.1f}x "
        f"faster than adding the jobs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrolments", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ours-only", action="store_true",
                        help="skip the APScheduler build (it takes longest)")
    parser.add_argument("--only-full-size", action="store_true",
                        help="run at --enrolments only, not also at a tenth of it")
    args = parser.parse_args()
    n = args.enrolments
    sizes = [n] if args.only_full_size else sorted({max(1, n // 10), n})
    print(f"machine: {machine()}; load average {os.getloadavg()}")
    print(f"{args.enrolments:,} enrolments (and a tenth of it), sample 12-week program, "
          f"{len(ZONES)} zones, 60% on the default check-in slot, the rest on 196 others")
    os.environ.setdefault("COACHBOT_LOG_LEVEL", "WARNING")
    for database in (["sqlite", "postgresql"] if args.database == "both" else [args.database]):
        run(database, n, args.runs, args.ours_only, sizes)
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
