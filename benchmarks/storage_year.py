"""Storage per client-week: a year of weekly check-ins through the real bot, then its bytes.

    python benchmarks/storage_year.py [--clients 20] [--weeks 52]

The bundled sample program stretched to a year (its active stage and `weeks` set to
`--weeks`), on a SQLite file, console channel. N clients are enrolled and join; then the
clock walks the year hour by hour from 07:00 to 12:00 UTC (every touchpoint of the
program falls due in those hours for a client in Berlin: check-ins at 09:00 local, their
reminders a day later, the stage messages at 10:00 and 12:00). Each hour the scheduler's
tick runs, the outbox is drained, and every client answers whatever question it was just
asked (the check-in's five answers, the intake's), each answer a message through the
inbound service; once a day (03:00) the decisions sweep and the retention pass run, as
`coachbot run` schedules them. At the end the file is vacuumed and its pages counted per
table, indexes included (SQLite's dbstat). Prints bytes per client-week in total and per
table. Deterministic, so one run is the figure (no timing).
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import sys
import tempfile
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import machine

START = datetime(2026, 1, 5, 6, tzinfo=UTC)  # a Monday, before the first check-in
ANSWERS = {"consent": "yes", "goal": "Grow the business", "revenue_baseline": "12000",
           "confidence_baseline": "6", "hours_per_week": "10", "start_date": "/skip",
           "confidence": "7", "blocker": "time", "revenue": "2500", "did_outreach": "yes",
           "focus": "sales", "note": "all good"}


def year_program(weeks: int, folder: Path) -> Path:
    """The bundled sample with its active stage lasting `weeks` weeks."""
    from bot.settings import BUNDLED_PROGRAMS

    text = (BUNDLED_PROGRAMS / "business-coaching-12w.yaml").read_text()
    text = re.sub(r"(?m)^weeks: 12$", f"weeks: {weeks}", text)
    text = text.replace("duration: 12w", f"duration: {weeks}w")
    (folder / "programs").mkdir()
    (folder / "programs" / "year.yaml").write_text(text)
    return folder / "programs"


def run(clients: int, weeks: int, folder: Path) -> dict:
    from bot.composition import build_app
    from bot.serve import periodic_work
    from bot.settings import Settings
    from conversations.messages import Inbound
    from scheduler.clock import ManualClock
    from scheduler.jobs import RETENTION, SWEEP, TICK
    from services.delivery import drain
    from services.enrolment import enrol_client

    path = folder / "year.db"
    clock = ManualClock(START)
    app = build_app(Settings(database_url=f"sqlite:///{path}", program=year_program(weeks, folder),
                             _env_file=None), clock=clock, migrate=True)
    work = periodic_work(app)
    asked: dict[str, str] = {}
    events = iter(range(10**9))

    def send(address: str, reply) -> str:
        if reply.question:
            asked[address] = reply.question
        return f"m{next(events)}"

    def settle() -> None:
        """Deliver, and let every client answer what it was asked, until nothing is asked."""
        while drain(app.rt, "console", send, limit=500):
            pass
        while asked:
            for address, question in sorted(asked.items()):
                del asked[address]
                app.inbound.handle(Inbound("console", address, f"e{next(events)}",
                                           ANSWERS.get(question, "/skip")))
            while drain(app.rt, "console", send, limit=500):
                pass

    for i in range(clients):
        enrolled = enrol_client(app.rt, program_id="business_12w", name=f"Client {i}",
                                zone="Europe/Berlin", coach="Casey Coach")
        app.inbound.handle(Inbound("console", f"c{i}", f"join-{i}", f"/start {enrolled.code}"))
    settle()
    for day in range(weeks * 7 + 7):
        midnight = START.replace(hour=0) + timedelta(days=day)
        clock.set(midnight + timedelta(hours=3))
        work[SWEEP]()
        work[RETENTION]()
        for hour in range(7, 13):
            clock.set(midnight + timedelta(hours=hour, seconds=30))
            work[TICK]()
            settle()
    app.db.dispose()
    vacuum(path)
    with closing(sqlite3.connect(path)) as c:
        owner = dict(c.execute("SELECT name, tbl_name FROM sqlite_master"))
        by_table: dict[str, int] = {}
        for name, size in c.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            table = owner.get(name, name)
            by_table[table] = by_table.get(table, 0) + size
        rows = {t: c.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                for t in by_table if t in owner.values() and not t.startswith("sqlite_")}
        checkins = c.execute("SELECT count(*) FROM conversation WHERE flow_id = 'weekly_checkin'"
                             " AND outcome = 'completed'").fetchone()[0]
    return {"bytes": os.path.getsize(path), "by_table": by_table, "rows": rows,
            "checkins": checkins, "empty": empty_schema_bytes(folder)}


def empty_schema_bytes(folder: Path) -> int:
    """The bytes of a migrated database holding only the program (a page per table and index)."""
    from bot.composition import build_app
    from bot.settings import Settings
    from scheduler.clock import ManualClock

    path = folder / "empty.db"
    app = build_app(Settings(database_url=f"sqlite:///{path}", program=folder / "programs",
                             _env_file=None), clock=ManualClock(START), migrate=True)
    app.db.dispose()
    vacuum(path)
    return os.path.getsize(path)


def vacuum(path: Path) -> None:
    """VACUUM, then close: in WAL mode the rebuilt file reaches the disk only at the checkpoint
    of the last close, so the file's size read before it is the size before VACUUM."""
    with closing(sqlite3.connect(path)) as c:
        c.execute("VACUUM")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--weeks", type=int, default=52)
    args = parser.parse_args()
    os.environ.setdefault("COACHBOT_LOG_LEVEL", "WARNING")
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        r = run(args.clients, args.weeks, Path(tmp))
    client_weeks = args.clients * args.weeks
    print(f"{args.clients} clients x {args.weeks} weeks on SQLite: {r['checkins']} check-ins "
          f"completed; file {r['bytes']:,} bytes after VACUUM = "
          f"{r['bytes'] / client_weeks:,.0f} bytes per client-week; without the empty schema "
          f"({r['empty']:,} bytes) {(r['bytes'] - r['empty']) / client_weeks:,.0f}")
    for table, size in sorted(r["by_table"].items(), key=lambda kv: -kv[1]):
        print(f"  {table:<22} {size / client_weeks:>7,.0f} B/client-week "
              f"({r['rows'].get(table, 0):,} rows, indexes included)")


if __name__ == "__main__":
    main()
