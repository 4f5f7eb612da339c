"""The program report over many clients and weeks, on SQLite and PostgreSQL.

    python benchmarks/report.py [--clients 5000] [--weeks 52] [--database sqlite|postgresql|both]

Seeds the data directly (bulk inserts: enrolments over six monthly cohorts, one check-in
row, conversation and metric values per client-week, some firings and escalations), then
runs `build` (the queries and the folding) and the HTML rendering in a fresh process, so
the peak memory is the report's own. Seeding is not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from benchmarks.machine import machine, peak_rss_mb
from storage.db import make_engine, upgrade
from storage.models import (
    Conversation,
    Enrolment,
    Escalation,
    MetricValue,
    Person,
    PlannedTouchpoint,
    RuleFiring,
)

PG = os.environ.get("COACHBOT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
START = datetime(2025, 1, 6, 9, tzinfo=UTC)
CHUNK = 250  # clients per insert batch: keeps the seeding's memory flat


def seed(url: str, clients: int, weeks: int) -> int:
    """Insert the dataset; the number of rows written."""
    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(7)
    written = 0
    statuses = ["active"] * 6 + ["paused", "graduated", "graduated", "dropped"]
    for first in range(0, clients, CHUNK):
        ids = range(first + 1, min(clients, first + CHUNK) + 1)
        people, enrolments, rows, convs, values, firings, escalations = ([] for _ in range(7))
        for n in ids:
            at = START + timedelta(days=(n * 181) // clients)  # six monthly cohorts
            people.append({"id": n, "name": f"Client {n}", "role": "client",
                           "timezone": "UTC", "created_at": at})
            enrolments.append({"id": n, "person_id": n, "program_id": "business_12w",
                               "stage": "active", "status": rng.choice(statuses),
                               "checkin_day": "mon", "checkin_time": "09:00",
                               "enrolled_at": at, "stage_started_at": at})
            base = rng.randint(2, 7)
            values.append({"enrolment_id": n, "metric_id": "confidence.baseline",
                           "value": base, "at": at})
            for w in range(1, weeks + 1):
                due = at + timedelta(weeks=w)
                answered = rng.random() < 0.8
                rows.append({"enrolment_id": n, "touchpoint_id": "weekly_checkin",
                             "occurrence": f"w{w}", "due_at": due, "kind": "send",
                             "status": "done" if answered else "missed", "attempts": 1})
                convs.append({"enrolment_id": n, "flow_id": "weekly_checkin", "state": {},
                              "started_at": due, "updated_at": due, "closed_at": due,
                              "outcome": "completed" if answered else "missed"})
                if answered:
                    for metric, value in (("confidence", rng.randint(1, 10)),
                                          ("revenue", rng.randint(0, 5000)),
                                          ("outreach_done", rng.randint(0, 1))):
                        values.append({"enrolment_id": n, "metric_id": metric,
                                       "value": value, "at": due})
                values.append({"enrolment_id": n, "metric_id": "response_rate",
                               "value": rng.random(), "at": due})
            if rng.random() < 0.3:
                firings.append({"enrolment_id": n, "rule_id": "confidence_up", "values": {},
                                "fired_at": at + timedelta(weeks=4)})
            if rng.random() < 0.2:
                opened = at + timedelta(weeks=3)
                ack = opened + timedelta(hours=rng.randint(1, 48)) if rng.random() < 0.9 \
                    else None
                escalations.append({"enrolment_id": n, "reason": "Confidence low",
                                    "owner_role": "team", "opened_at": opened,
                                    "sla_due_at": opened + timedelta(hours=24),
                                    "acknowledged_at": ack})
        with engine.begin() as c:
            for model, batch in ((Person, people), (Enrolment, enrolments),
                                 (PlannedTouchpoint, rows), (Conversation, convs),
                                 (MetricValue, values), (RuleFiring, firings),
                                 (Escalation, escalations)):
                if batch:
                    c.execute(sa.insert(model), batch)
                    written += len(batch)
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:
            c.execute(sa.text("ANALYZE"))
            # Explicit ids were inserted: move the sequences past them.
            for table in ("person", "enrolment"):
                c.execute(sa.text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM "
                                  f"{table}))"))
    engine.dispose()
    return written


def report_only(url: str) -> None:
    """Run in a fresh process: time the report and print figures as JSON."""
    from bot.program_files import load_programs
    from bot.settings import BUNDLED_PROGRAMS
    from services.report import as_html, build

    programs = {k: v.program for k, v in load_programs(BUNDLED_PROGRAMS).items()}
    engine = make_engine(url)
    before = peak_rss_mb()
    t0 = time.perf_counter()
    rows = build(engine, programs)
    t1 = time.perf_counter()
    page = as_html(rows, "benchmark")
    t2 = time.perf_counter()
    print(json.dumps({"build_s": t1 - t0, "html_s": t2 - t1, "rows": len(rows),
                      "html_kb": len(page) / 1024, "rss_before_mb": before,
                      "peak_rss_mb": peak_rss_mb()}))


def run(database: str, clients: int, weeks: int) -> dict:
    admin = name = None
    if database == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    else:
        admin = make_engine(PG).execution_options(isolation_level="AUTOCOMMIT")
        name = f"coachbot_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = make_engine(PG).url.set(database=name).render_as_string(hide_password=False)
    try:
        t0 = time.perf_counter()
        written = seed(url, clients, weeks)
        seeded = time.perf_counter() - t0
        out = subprocess.run([sys.executable, __file__, "--report-only", url], check=True,
                             capture_output=True, text=True).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        return {"rows_seeded": written, "seed_s": seeded, **figures}
    finally:
        if admin is not None:
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--report-only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.report_only:
        report_only(args.report_only)
        return
    print(f"machine: {machine()}")
    print(f"report over {args.clients} clients x {args.weeks} weeks")
    for database in (["sqlite", "postgresql"] if args.database == "both" else [args.database]):
        f = run(database, args.clients, args.weeks)
        print(f"{database:<10} rows seeded {f['rows_seeded']:,} in {f['seed_s']:.0f} s | "
              f"report: queries+folding {f['build_s']:.2f} s, html {f['html_s']:.2f} s "
              f"({f['html_kb']:.0f} KB, {f['rows']} rows) | peak RSS {f['peak_rss_mb']:.0f} MB "
              f"(after imports {f['rss_before_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
