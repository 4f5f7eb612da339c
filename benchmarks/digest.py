"""The coach's daily digest: build time and SQL queries for 500 clients with 52 weeks of history.

    python benchmarks/digest.py [--runs 50] [--database sqlite|postgresql|both]

Seeds the database directly (bulk inserts: clients, a check-in of five answers per client
per week, rule firings, open escalations, sessions and milestone touchpoints), then builds
the digest of one coach the way `/coachbot digest` and the 08:00 run do. Prints the median
and p99 milliseconds and the number of SQL statements, counted with a SQLAlchemy
`before_cursor_execute` listener, for shorter histories and fewer clients too: the count
must not grow with either.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from sqlmodel import Session

from benchmarks.machine import machine, peak_rss_mb
from bot.program_files import load_file
from bot.serve import freeze_startup_objects
from bot.settings import BUNDLED_PROGRAMS
from services.digest import build_digest
from storage.db import make_engine, upgrade
from storage.models import (
    Answer,
    CoachingSession,
    Conversation,
    Enrolment,
    Escalation,
    Identity,
    Person,
    PlannedTouchpoint,
    RuleFiring,
)

PG = os.environ.get("COACHBOT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
PROGRAM = load_file(BUNDLED_PROGRAMS / "business-coaching-12w.yaml").program
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday 08:00 in Berlin
LAST_SUNDAY = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
CHECKIN = [("confidence", 7.0, "7"), ("blocker", None, "time"), ("revenue", 2500.0, "2500"),
           ("did_outreach", 1.0, "yes"), ("focus", None, "sales")]
COACH_ID = 1


def seed(engine: sa.Engine, clients: int, weeks: int) -> None:
    """One coach, `clients` clients each with `weeks` weekly check-ins and some events."""
    people = [{"id": COACH_ID, "name": "Casey Coach", "role": "coach",
               "timezone": "Europe/Berlin", "created_at": NOW}]
    enrolments, conversations, answers = [], [], []
    firings, cases, sessions, touchpoints = [], [], [], []
    for i in range(clients):
        pid = eid = i + 2
        people.append({"id": pid, "name": f"Client {i:04d}", "role": "client",
                       "timezone": "Europe/Berlin", "created_at": NOW})
        start = LAST_SUNDAY - timedelta(weeks=weeks)
        enrolments.append({"id": eid, "person_id": pid, "program_id": PROGRAM.id,
                           "coach_id": COACH_ID, "stage": "active", "status": "active",
                           "checkin_day": "sun", "checkin_time": "18:00", "enrolled_at": start,
                           "stage_started_at": start, "joined_at": start})
        for week in range(weeks):
            if i % 10 == 0 and week == weeks - 1:
                continue  # a tenth of the clients missed yesterday's check-in
            at = LAST_SUNDAY - timedelta(weeks=weeks - 1 - week)
            cid = len(conversations) + 1
            conversations.append({"id": cid, "enrolment_id": eid, "flow_id": "weekly_checkin",
                                  "state": {}, "started_at": at, "updated_at": at,
                                  "closed_at": at, "outcome": "completed"})
            for n, (question, number, raw) in enumerate(CHECKIN):
                score = number - (week + i) % 3 if question == "confidence" else number
                answers.append({"enrolment_id": eid, "conversation_id": cid,
                                "flow_id": "weekly_checkin", "question_id": question,
                                "value": {"v": raw}, "number": score, "raw_text": raw,
                                "answered_at": at + timedelta(minutes=n)})
            # Older firings, cleared and not: history the digest must not read.
            if week % 8 == 0:
                firings.append({"enrolment_id": eid, "rule_id": "low_confidence",
                                "values": {}, "fired_at": at, "cleared_at": at})
        if i % 20 == 0:
            firings.append({"enrolment_id": eid, "rule_id": "confidence_up", "values": {},
                            "fired_at": LAST_SUNDAY})
        if i % 25 == 0:
            cases.append({"enrolment_id": eid, "reason": "Confidence below 5 two weeks",
                          "owner_role": "coach", "owner_id": COACH_ID,
                          "opened_at": LAST_SUNDAY, "sla_due_at": LAST_SUNDAY + timedelta(
                              hours=24)})
        if i % 7 == 0:
            sessions.append({"enrolment_id": eid, "at": NOW + timedelta(hours=6),
                             "created_at": NOW - timedelta(days=3)})
        if i % 30 == 0:
            touchpoints.append({"enrolment_id": eid, "touchpoint_id": "midpoint_milestone",
                                "occurrence": "1", "due_at": NOW + timedelta(hours=4),
                                "status": "planned", "attempts": 0, "kind": "send"})
    with Session(engine) as s, s.begin():
        for model, rows in ((Person, people), (Enrolment, enrolments),
                            (Conversation, conversations), (Answer, answers),
                            (RuleFiring, firings), (Escalation, cases),
                            (CoachingSession, sessions), (PlannedTouchpoint, touchpoints)):
            for chunk in range(0, len(rows), 5000):
                s.execute(sa.insert(model), rows[chunk:chunk + 5000])
        s.execute(sa.insert(Identity), [{"person_id": COACH_ID, "channel": "slack",
                                         "address": "UCOACH"}])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(sa.text("ANALYZE"))


def measure(engine: sa.Engine, runs: int) -> tuple[list[float], int, str]:
    """Build the digest `runs` times in a fresh session each; times, statements per build."""
    statements = 0

    def count(*_args) -> None:
        nonlocal statements
        statements += 1

    programs = {PROGRAM.id: PROGRAM}
    times: list[float] = []
    text = ""
    for run in range(runs + 1):
        with Session(engine) as s:
            coach = s.get(Person, COACH_ID)
            assert coach is not None
            sa.event.listen(engine, "before_cursor_execute", count)
            statements = 0
            t0 = time.perf_counter()
            text = build_digest(s, coach, programs, NOW).text
            elapsed = time.perf_counter() - t0
            sa.event.remove(engine, "before_cursor_execute", count)
        if run:  # the first build warms the connection pool and statement caches
            times.append(elapsed * 1000)
    return times, statements, text


def database(kind: str) -> tuple[str, object]:
    """A fresh empty database URL and how to drop it afterwards."""
    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp()}/digest.db", lambda: None
    admin = make_engine(PG).execution_options(isolation_level="AUTOCOMMIT")
    name = f"coachbot_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return make_engine(PG).url.set(database=name).render_as_string(hide_password=False), drop


def run(kind: str, clients: int, weeks: int, runs: int) -> dict:
    url, drop = database(kind)
    engine = make_engine(url)
    try:
        upgrade(engine)
        seed(engine, clients, weeks)
        freeze_startup_objects()  # as `coachbot run` does once it has started
        times, statements, text = measure(engine, runs)
    finally:
        engine.dispose()
        drop()
    q = statistics.quantiles(times, n=100)
    return {"median": statistics.median(times), "p99": q[98], "statements": statements,
            "lines": text.count("\n") + 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        for clients, weeks in ((500, 52), (500, 4), (50, 52)):
            r = run(kind, clients, weeks, args.runs)
            print(f"{kind:>10}: {clients} clients x {weeks:>2} weeks: median "
                  f"{r['median']:.1f} ms, p99 {r['p99']:.1f} ms over {args.runs} builds; "
                  f"{r['statements']} SQL statements; digest of {r['lines']} lines")
    print(f"peak memory (max RSS of the process): {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
