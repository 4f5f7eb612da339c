"""Inbound throughput: N clients answering weekly check-ins through the real handler and storage.

    python benchmarks/inbound.py [--clients 200] [--database sqlite|postgresql|both]

Console channel, no network. Prints answers per second, handler latency percentiles and
peak memory, with the machine. Setup (enrolment, intake) is not timed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from benchmarks.machine import machine, peak_rss_mb
from bot.composition import build_app
from bot.settings import BUNDLED_PROGRAMS, Settings
from conversations.messages import Inbound
from scheduler.clock import ManualClock
from services.delivery import drain
from services.enrolment import enrol_client
from storage.db import make_engine

INTAKE = ["yes", "Grow the business", "12000", "6", "10", "/skip"]
CHECKIN = ["/checkin", "8", "2500", "yes", "sales", "all good"]
PG = os.environ.get("COACHBOT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def fresh_postgres() -> tuple[str, sa.Engine, str]:
    admin = make_engine(PG).execution_options(isolation_level="AUTOCOMMIT")
    name = f"coachbot_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_engine(PG).url.set(database=name).render_as_string(hide_password=False)
    return url, admin, name


def run(database: str, clients: int) -> dict[str, float]:
    tmp = tempfile.mkdtemp()
    admin = name = None
    if database == "sqlite":
        url = f"sqlite:///{tmp}/bench.db"
    else:
        url, admin, name = fresh_postgres()
    clock = ManualClock(datetime(2026, 3, 2, 8, tzinfo=UTC))
    app = build_app(Settings(database_url=url, program=BUNDLED_PROGRAMS, _env_file=None),
                    clock=clock, migrate=True)
    sent = 0

    def send(_address, _reply):
        return None

    for i in range(clients):
        enrolled = enrol_client(app.rt, program_id="business_12w", name=f"Client {i}",
                                zone="Europe/Berlin", coach="Casey Coach")
        app.inbound.handle(Inbound("console", f"c{i}", f"join-{i}", f"/start {enrolled.code}"))
        for n, text in enumerate(INTAKE):
            app.inbound.handle(Inbound("console", f"c{i}", f"intake-{i}-{n}", text))
    while drain(app.rt, "console", send, limit=500):
        pass

    latencies: list[float] = []
    started = time.perf_counter()
    # Interleave clients, as real traffic does: one answer from each in turn.
    for n, text in enumerate(CHECKIN):
        for i in range(clients):
            t0 = time.perf_counter()
            app.inbound.handle(Inbound("console", f"c{i}", f"checkin-{i}-{n}", text))
            latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    t0 = time.perf_counter()
    while batch := drain(app.rt, "console", send, limit=500):
        sent += batch
    drain_elapsed = time.perf_counter() - t0

    app.db.dispose()
    if admin is not None:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {"messages": len(latencies), "per_second": len(latencies) / elapsed,
            "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000,
            "outbox_per_second": sent / drain_elapsed if drain_elapsed else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{args.clients} clients x {len(CHECKIN)} check-in messages each, one process")
    for database in (["sqlite", "postgresql"] if args.database == "both" else [args.database]):
        r = run(database, args.clients)
        print(f"{database:>10}: {r['per_second']:,.0f} answers/s, p50 {r['p50_ms']:.2f} ms, "
              f"p99 {r['p99_ms']:.2f} ms over {r['messages']:,.0f} messages; outbox drain "
              f"{r['outbox_per_second']:,.0f} messages/s")
    peak_mb = peak_rss_mb()
    print(f"peak memory (max RSS of the process): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
