"""The quarterly review over many clients and weeks, on SQLite and PostgreSQL.

    python benchmarks/review.py [--clients 5000] [--weeks 52] [--database sqlite|postgresql|both]
                                [--runs 1]

Seeds the data directly (bulk inserts, like benchmarks/report.py): enrolments over six
monthly cohorts, each with an intake (welcome row, conversation, hours-per-week answer), one
weekly check-in row per week with its conversation (answered after 1-40 hours, or missed
after two reminders and a no-answer step), confidence, revenue and outreach values, some
rule firings with escalations. Then, in a fresh process per run so the peak memory is the
review's own, it reviews the quarter in which every client is in the program (and, as
always, the quarter before it) split by hours per week, and renders the HTML. Seeding is
not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
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
    Answer,
    Conversation,
    Enrolment,
    Escalation,
    MetricValue,
    Person,
    PlannedTouchpoint,
    RuleFiring,
)

PG = os.environ.get("COACHBOT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
START = datetime(2025, 1, 6, 8, tzinfo=UTC)
# Every cohort (enrolled January to early July 2025) is in the program all of 2025Q4.
QUARTER = "2025Q4"
CHUNK = 250  # clients per insert batch: keeps the seeding's memory flat
H = timedelta(hours=1)


def _client(n: int, clients: int, weeks: int, rng: random.Random, ids: dict[str, int],
            out: dict[str, list]) -> None:
    """One client's rows, appended to `out` per table (explicit ids, so rows can refer)."""
    at = START + timedelta(days=(n * 181) // clients)  # six monthly cohorts
    out["people"].append({"id": n, "name": f"Client {n}", "role": "client",
                          "timezone": "UTC", "created_at": at})
    out["enrolments"].append({"id": n, "person_id": n, "program_id": "business_12w",
                              "stage": "active", "status": "active", "checkin_day": "mon",
                              "checkin_time": "09:00", "enrolled_at": at,
                              "stage_started_at": at, "joined_at": at})

    def row(touchpoint: str, occurrence: str, due: datetime, status: str, kind: str = "send",
            parent: int | None = None, reason: str | None = None) -> int:
        ids["row"] += 1
        out["rows"].append({"id": ids["row"], "enrolment_id": n, "touchpoint_id": touchpoint,
                            "occurrence": occurrence, "due_at": due, "done_at": due,
                            "kind": kind, "status": status, "reason": reason,
                            "parent_id": parent, "attempts": 1})
        return ids["row"]

    def conversation(flow: str, started: datetime, closed: datetime, outcome: str) -> int:
        ids["conv"] += 1
        out["convs"].append({"id": ids["conv"], "enrolment_id": n, "flow_id": flow,
                             "state": {}, "started_at": started, "updated_at": closed,
                             "closed_at": closed, "outcome": outcome})
        return ids["conv"]

    welcome = at + timedelta(minutes=10)
    row("welcome", "once", welcome, "done")
    intake = conversation("intake", welcome, welcome + H, "completed")
    out["answers"].append({"enrolment_id": n, "conversation_id": intake,
                           "question_id": "hours_per_week", "value": {"v": n % 20},
                           "number": n % 20, "raw_text": str(n % 20),
                           "answered_at": welcome + H})
    base = rng.randint(2, 7)
    out["values"].append({"enrolment_id": n, "metric_id": "confidence.baseline",
                          "value": base, "at": welcome + H})
    fades = rng.random() < 0.3  # a third of the clients fade after week 5
    for w in range(1, weeks + 1):
        due = at + (w - 1) * timedelta(weeks=1) + H
        answered = rng.random() < (0.4 if fades and w > 5 else 0.85)
        if not answered:
            parent = row("weekly_checkin", f"w{w}", due, "missed", reason="no_answer")
            for k in (1, 2):
                row("weekly_checkin", f"w{w}/r{k}", due + 24 * k * H, "done", "remind", parent)
            row("weekly_checkin", f"w{w}/no-answer", due + 72 * H, "done", "no_answer", parent)
            conversation("weekly_checkin", due, due + 72 * H, "missed")
            continue
        row("weekly_checkin", f"w{w}", due, "done")
        closed = due + timedelta(minutes=rng.randint(30, 40 * 60))
        conversation("weekly_checkin", due, closed, "completed")
        for metric, value in (("confidence", rng.randint(1, 10)),
                              ("revenue", rng.randint(0, 5000)),
                              ("outreach_done", rng.randint(0, 1))):
            out["values"].append({"enrolment_id": n, "metric_id": metric, "value": value,
                                  "at": closed})
        if w % 4 == 0 and rng.random() < 0.1:
            fired = closed + timedelta(minutes=1)
            ids["firing"] += 1
            out["firings"].append({"id": ids["firing"], "enrolment_id": n,
                                   "rule_id": "low_confidence",
                                   "values": {"metric": "confidence", "values": [3, 4]},
                                   "fired_at": fired})
            ack = fired + timedelta(hours=rng.randint(1, 48)) if rng.random() < 0.9 else None
            out["escalations"].append({"enrolment_id": n, "rule_firing_id": ids["firing"],
                                       "reason": "Confidence low", "owner_role": "team",
                                       "opened_at": fired, "sla_due_at": fired + 24 * H,
                                       "acknowledged_at": ack})


def seed(url: str, clients: int, weeks: int) -> int:
    """Insert the dataset; the number of rows written."""
    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(7)
    ids = {"row": 0, "conv": 0, "firing": 0}
    written = 0
    tables = (("people", Person), ("enrolments", Enrolment), ("convs", Conversation),
              ("rows", PlannedTouchpoint), ("answers", Answer), ("values", MetricValue),
              ("firings", RuleFiring), ("escalations", Escalation))
    for first in range(1, clients + 1, CHUNK):
        out: dict[str, list] = {name: [] for name, _ in tables}
        for n in range(first, min(clients, first + CHUNK - 1) + 1):
            _client(n, clients, weeks, rng, ids, out)
        with engine.begin() as c:
            for name, model in tables:
                if out[name]:
                    c.execute(sa.insert(model), out[name])
                    written += len(out[name])
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:
            c.execute(sa.text("ANALYZE"))
            # Explicit ids were inserted: move the sequences past them.
            for table in ("person", "enrolment", "conversation", "touchpoint", "rulefiring"):
                c.execute(sa.text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM "
                                  f"{table}))"))
    engine.dispose()
    return written


def peak_mb() -> float:
    """This process's own peak resident memory (VmHWM), in MB.

    `getrusage`'s maxrss is not used: Linux carries it over from the parent through fork
    and exec, so a child of the seeding process would report the seeder's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def review_only(url: str) -> None:
    """Run in a fresh process: time the review and its HTML, print figures as JSON."""
    from bot.program_files import load_programs
    from bot.review_html import as_html
    from bot.settings import BUNDLED_PROGRAMS
    from scheduler.clock import SystemClock
    from services.review import review
    from services.review_period import parse_quarter
    from services.unit_of_work import Runtime

    programs = {k: v.program for k, v in load_programs(BUNDLED_PROGRAMS).items()}
    runtime = Runtime(db=make_engine(url), clock=SystemClock(), programs=programs)
    before = peak_mb()
    t0 = time.perf_counter()
    [one] = review(runtime, parse_quarter(QUARTER), by="intake.hours_per_week")
    t1 = time.perf_counter()
    page = as_html([one])
    t2 = time.perf_counter()
    rows = sum(t.planned for p in (one.current, one.previous) for t in p.touchpoints)
    print(json.dumps({"review_s": t1 - t0, "html_s": t2 - t1, "send_rows": rows,
                      "clients": one.current.clients, "html_kb": len(page) / 1024,
                      "rss_before_mb": before, "peak_rss_mb": peak_mb()}))


def run(database: str, clients: int, weeks: int, runs: int) -> dict:
    admin = name = folder = None
    if database == "sqlite":
        folder = tempfile.mkdtemp()
        url = f"sqlite:///{folder}/bench.db"
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
        results = []
        for _ in range(runs):
            out = subprocess.run([sys.executable, __file__, "--review-only", url], check=True,
                                 capture_output=True, text=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
        return {"rows_seeded": written, "seed_s": seeded, "runs": results}
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)  # 200 MB at 5,000 clients
        if admin is not None:
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--runs", type=int, default=1, help="reviews per seeded database")
    parser.add_argument("--review-only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.review_only:
        review_only(args.review_only)
        return
    print(f"machine: {machine()}")
    print(f"review of {QUARTER} (and the quarter before) over {args.clients} clients x "
          f"{args.weeks} weeks, split by hours per week, with the HTML")
    for database in (["sqlite", "postgresql"] if args.database == "both" else [args.database]):
        f = run(database, args.clients, args.weeks, args.runs)
        print(f"{database:<10} rows seeded {f['rows_seeded']:,} in {f['seed_s']:.0f} s")
        for r in f["runs"]:
            total = r["review_s"] + r["html_s"]
            print(f"  review {r['review_s']:.2f} s + html {r['html_s']:.2f} s = {total:.2f} s "
                  f"| {r['send_rows'] / r['review_s']:,.0f} touchpoint rows/s "
                  f"({r['send_rows']:,} rows, {r['clients']:,} clients) | "
                  f"html {r['html_kb']:.0f} KB | peak RSS {r['peak_rss_mb']:.0f} MB "
                  f"(after imports {r['rss_before_mb']:.0f} MB)")
        if len(f["runs"]) > 1:
            totals = [r["review_s"] + r["html_s"] for r in f["runs"]]
            print(f"  median of {len(totals)}: {statistics.median(totals):.2f} s, peak RSS "
                  f"{statistics.median(r['peak_rss_mb'] for r in f['runs']):.0f} MB")


if __name__ == "__main__":
    main()
