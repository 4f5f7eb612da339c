"""Planning N enrolments on PostgreSQL with several worker processes at once.

    python benchmarks/plan_workers.py [--enrolments 1000000] [--workers 2] [--runs 1]

The workload of benchmarks/scheduler.py (the sample 12-week program, clients joined over
the four weeks before, 6 zones, 60% on the default Monday 09:00 check-in), seeded in bulk
(not timed) into a fresh PostgreSQL database (COACHBOT_BENCH_DATABASE_URL, default the
machine's server). Then W worker processes start together, each doing what the sweep does
in `coachbot run`: plan batches of 1,000 enrolments (`replan_due`, which takes its batch
with SKIP LOCKED, so workers never plan the same enrolment) until none is left. Prints the
wall time from the first worker's start to the last one's end, how many each planned,
every enrolment planned exactly once (each has its plan state), rows and database bytes
per enrolment, each worker's peak RSS, and then the tick's fixed cost at that size (a
tick with nothing due), with the machine and its load.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from benchmarks.machine import machine, peak_rss_mb
from benchmarks.scheduler import PLANNED_AT, _app, _plan_until_done, running_app, seed


def worker(url: str, start_at: float) -> dict:
    """Plan until nothing is left; how many, in how long, at what peak RSS."""
    app = running_app(url)
    rss_ready = peak_rss_mb()
    time.sleep(max(0.0, start_at - time.time()))  # every worker starts at the same moment
    started = time.time()
    planned = _plan_until_done(app, PLANNED_AT)
    ended = time.time()
    app.db.dispose()
    return {"planned": planned, "started": started, "ended": ended, "rss": peak_rss_mb(),
            "rss_ready": rss_ready}


def fixed_tick(url: str) -> dict:
    """Two ticks a minute apart just before the plan starts, with nothing due: the first
    after a start (it also runs the daily comparison of every plan), then the tick's fixed
    cost (the program refresh, the sweep through the `replan_at` index, an empty claim)."""
    from services.touchpoints import TouchpointRunner
    app = running_app(url)
    with app.db.begin() as c:  # what is due before the plan's start as if it had run
        c.execute(sa.text("UPDATE touchpoint SET status = 'done', done_at = due_at "
                          "WHERE status = 'planned' AND due_at < :m"), {"m": PLANNED_AT})
    with app.db.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        # What autovacuum does for rows settled over days: without it the claim walks the
        # due index's entries of the millions of rows just marked done (200 ms at 200,000).
        c.execute(sa.text("VACUUM ANALYZE touchpoint"))
    runner = TouchpointRunner(app.rt, lambda uow, due: "sent", worker="bench",
                              sweep_every=timedelta(0))
    started = time.perf_counter()
    first = runner.tick(PLANNED_AT - timedelta(minutes=2))
    middle = time.perf_counter()
    empty = runner.tick(PLANNED_AT - timedelta(minutes=1))
    ended = time.perf_counter()
    app.db.dispose()
    return {"first": middle - started, "fixed": ended - middle,
            "claimed": first.claimed + empty.claimed, "rss": peak_rss_mb()}


def seeded(url: str, n: int, processes: int) -> None:
    """N clients seeded in bulk by a few processes side by side (not timed)."""
    _app(url).db.dispose()  # migrate once, before the seeders start
    step = -(-n // processes)
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        pool.starmap(seed, [(url, s, min(n, s + step)) for s in range(0, n, step)])


def once(n: int, workers: int) -> dict:
    from benchmarks.inbound import fresh_postgres
    url, admin, name = fresh_postgres()
    try:
        began = time.time()
        seeded(url, n, workers)
        seeding = time.time() - began
        load = os.getloadavg()
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers) as pool:
            start_at = time.time() + 15  # time for every worker to import and migrate
            results = pool.starmap(worker, [(url, start_at)] * workers)
            engine = sa.create_engine(url)
            with engine.connect() as c:
                states = c.execute(sa.text("SELECT count(*) FROM touchpoint_plan")).scalar_one()
                rows = c.execute(sa.text("SELECT count(*) FROM touchpoint")).scalar_one()
                size = c.execute(sa.text("SELECT pg_database_size(current_database())")
                                 ).scalar_one()
            engine.dispose()
            tick = pool.apply(fixed_tick, (url,))
        wall = max(r["ended"] for r in results) - min(r["started"] for r in results)
        return {"seeding": seeding, "wall": wall, "workers": results, "states": states,
                "rows": rows, "bytes": size / n, "load": load, "tick": tick}
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrolments", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("COACHBOT_LOG_LEVEL", "WARNING")
    n = args.enrolments
    print(f"machine: {machine()}; load average {os.getloadavg()}")
    print(f"{n:,} enrolments on PostgreSQL, planned by {args.workers} worker processes at once")
    walls = []
    for number in range(args.runs):
        r = once(n, args.workers)
        walls.append(r["wall"])
        each = ", ".join(f"{w['planned']:,} in {w['ended'] - w['started']:.1f} s, peak RSS "
                         f"{w['rss']:.0f} MB ({w['rss_ready']:.0f} MB before planning)"
                         for w in r["workers"])
        print(f"  run {number + 1}: planned in {r['wall']:.1f} s ({n / r['wall']:,.0f}/s); "
              f"workers: {each}; {r['states']:,} plan states for {n:,} enrolments; "
              f"{r['rows'] / n:.1f} rows and {r['bytes']:,.0f} bytes of database per "
              f"enrolment; seeding (not timed) {r['seeding']:.0f} s; load average when "
              f"planning began {r['load']}", flush=True)
        t = r["tick"]
        print(f"  run {number + 1}: tick with nothing due: first after a start "
              f"{t['first'] * 1000:,.0f} ms, fixed cost {t['fixed'] * 1000:,.1f} ms "
              f"({t['claimed']} claimed; peak RSS {t['rss']:.0f} MB)", flush=True)
    if args.runs > 1:
        print(f"  MEDIAN of {args.runs}: planned in {statistics.median(walls):.1f} s")
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
