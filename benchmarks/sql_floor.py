"""The database's floor: coachbot's own SQL for a check-in, replayed without coachbot.

    python benchmarks/sql_floor.py [--clients 300] [--database sqlite|postgresql]

coachbot handles the same check-ins as benchmarks/peer_ptb.py (N clients x 6 messages,
interleaved, through the Telegram update path, one transaction each) while every statement
it sends to the database driver is recorded with its parameters, message by message. Those
statements are then replayed, one transaction per message as coachbot ran them, on a copy
of the database taken just before coachbot's timed part:

- through the driver alone (sqlite3 or psycopg: cursor.execute, fetch, commit);
- through SQLAlchemy's execution path alone (a Session's connection, `exec_driver_sql`):
  what SQLAlchemy adds before any ORM object, statement construct or line of ours;
- on PostgreSQL also through the driver on 8 connections at once, each chat's messages in
  order on one of them (as the poller holds 8 chats' updates in hand), after the /checkin
  round one at a time (not timed): what concurrent commits allow when the server folds
  their flushes to disk together.

So a rate coachbot cannot pass on this machine with this SQL and one transaction per message
is printed beside its own. The fake Bot API (tests/fakes/telegram_api.py) gets only the
setup's messages (enrolment, joining, intake); the timed part's replies stay in the outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import machine, peak_rss_mb
from benchmarks.peer_ptb import (
    CHECKIN,
    FIRST_CHAT,
    TOKEN,
    checkin_updates,
    coachbot_ready,
    feed,
    fresh_database,
    load,
    summary,
)

# One message's transaction as the driver saw it: (statement, parameters, executemany).
Statement = tuple[str, Any, bool]
Transcript = list[list[Statement]]
CONCURRENT = 8


def record(engine) -> tuple[Transcript, Callable[[], None]]:
    """From now on, every statement `engine` sends to its driver, grouped by message (call
    the returned function at each message's start)."""
    import sqlalchemy as sa

    transcript: Transcript = []

    def seen(_conn, _cursor, statement, parameters, _context, executemany) -> None:
        transcript[-1].append((statement, parameters, executemany))

    sa.event.listen(engine, "before_cursor_execute", seen)
    return transcript, lambda: transcript.append([])


async def coachbot_run(api_url: str, db_url: str, chats: list[int],
                       freeze: Callable[[object], None]) -> tuple[dict, Transcript]:
    """coachbot's timed check-ins, recorded, after `freeze` has copied its database;
    (its figures, the transcript)."""
    warm = [FIRST_CHAT]
    app, bot, handle = await coachbot_ready(api_url, db_url, warm + chats,
                                            checkin_updates(warm, 10_000_000))
    freeze(app)
    transcript, next_message = record(app.db)
    timed = checkin_updates(chats, 20_000_000)

    async def recorded(data: dict) -> None:
        next_message()
        await handle(data)

    latencies, elapsed = await feed(recorded, timed)
    await bot.shutdown()
    app.db.dispose()
    return summary(latencies, elapsed), transcript


def replay_driver(engine, transcript: Transcript) -> dict:
    """Each message's statements straight on the driver's connection, then its commit."""
    began = time.perf_counter()
    latencies = _lane(engine, transcript)
    return summary(latencies, time.perf_counter() - began)


def _lane(engine, messages: Transcript) -> list[float]:
    """Replay `messages` in order on one driver connection, each with its commit (its
    statements' rows fetched); the time of each."""
    connection = engine.raw_connection()
    cursor = connection.cursor()
    latencies = []
    for statements in messages:
        t0 = time.perf_counter()
        for statement, parameters, many in statements:
            if many:
                cursor.executemany(statement, parameters)
            else:
                cursor.execute(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
        connection.commit()
        latencies.append(time.perf_counter() - t0)
    connection.close()
    return latencies


def replay_sqlalchemy(engine, transcript: Transcript) -> dict:
    """Each message in a Session of its own, its statements through `exec_driver_sql`."""
    from sqlmodel import Session

    latencies = []
    began = time.perf_counter()
    for statements in transcript:
        t0 = time.perf_counter()
        with Session(engine) as session, session.begin():
            connection = session.connection()
            for statement, parameters, _many in statements:
                result = connection.exec_driver_sql(statement, parameters)
                if result.returns_rows:
                    result.all()
        latencies.append(time.perf_counter() - t0)
    return summary(latencies, time.perf_counter() - began)


def replay_concurrent(engine, transcript: Transcript, chats: int) -> dict:
    """The driver replay on CONCURRENT connections at once, chat k's messages on thread
    k mod CONCURRENT (a chat's messages are every `chats`-th transaction, interleaved).

    The first round (each chat's /checkin, which opens its conversation) runs first, one at
    a time and not timed: the conversations then get the ids the recorded answers name,
    where opened in another order they would point at other chats' rows (or none yet).
    """
    _lane(engine, transcript[:chats])
    lanes: list[Transcript] = [[] for _ in range(CONCURRENT)]
    for index, statements in enumerate(transcript[chats:]):
        lanes[(index % chats) % CONCURRENT].append(statements)
    latencies: list[float] = []
    lock = threading.Lock()

    def lane(messages: Transcript) -> None:
        mine = _lane(engine, messages)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=lane, args=(messages,)) for messages in lanes]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return summary(latencies, time.perf_counter() - began)


class Copies:
    """Copies of coachbot's database as it was just before its timed part: SQLite files
    (sqlite3's backup) or PostgreSQL databases made from a template."""

    def __init__(self, kind: str, db_url: str) -> None:
        import sqlalchemy as sa

        from storage.db import make_engine

        self.kind, self.url = kind, sa.engine.make_url(db_url)
        self.source = self.url.database or ""
        self.frozen = f"{self.source}.before" if kind == "sqlite" else f"{self.source}_before"
        self.made: list[str] = []
        self.admin = None if kind == "sqlite" else make_engine(db_url).execution_options(
            isolation_level="AUTOCOMMIT")

    def take(self, app) -> None:
        """Freeze the database as it is now."""
        if self.kind == "sqlite":
            _backup(self.source, self.frozen)
            return
        app.db.dispose()  # a template may have no one connected
        self._sql(f'CREATE DATABASE "{self.frozen}" TEMPLATE "{self.source}"')

    def fresh(self) -> str:
        """A new copy of the frozen database; its URL."""
        name = f"{self.frozen}.{len(self.made)}" if self.kind == "sqlite" else \
            f"{self.frozen}_{len(self.made)}"
        self.made.append(name)
        if self.kind == "sqlite":
            _backup(self.frozen, name)
        else:
            self._sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.frozen}"')
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self) -> None:
        """Drop the PostgreSQL copies (SQLite's go with their folder)."""
        if self.admin is None:
            return
        for name in [*self.made, self.frozen]:
            self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()

    def _sql(self, statement: str) -> None:
        import sqlalchemy as sa

        assert self.admin is not None
        with self.admin.connect() as c:
            c.execute(sa.text(statement))


def _backup(source: str, target: str) -> None:
    """Copy one SQLite database to another file (closed after: `with` alone only commits)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def replayed(fresh: Callable[[], str], run: Callable[..., dict], *args) -> dict:
    """`run` on a fresh copy of the database as it was before coachbot's timed part."""
    from storage.db import make_engine

    engine = make_engine(fresh())
    engine.connect().close()  # the first connection (and SQLite's pragmas) before timing
    try:
        return run(engine, *args)
    finally:
        engine.dispose()


def line(label: str, r: dict) -> str:
    return (f"{label:<44} {r['per_second']:>7,.0f} msg/s  p50 {r['p50_ms']:6.2f} ms  "
            f"p99 {r['p99_ms']:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    os.environ.setdefault("COACHBOT_LOG_LEVEL", "WARNING")
    from tests.fakes.telegram_api import FakeTelegramAPI

    chats = [FIRST_CHAT + i for i in range(1, args.clients + 1)]
    print(f"machine: {machine()}")
    print(f"{args.clients} clients x {len(CHECKIN)} check-in messages, one transaction each, "
          f"on {args.database}; {load()}")
    url, drop_database = fresh_database(args.database)
    copies = Copies(args.database, url)
    try:
        with FakeTelegramAPI(token=TOKEN, flood_limits=False,
                             chats=(FIRST_CHAT, *chats)) as api:
            ours, transcript = asyncio.run(coachbot_run(api.url, url, chats, copies.take))
        statements = sum(len(s) for s in transcript)
        results = {
            "coachbot's update path (recorded)": ours,
            "its SQL through the driver alone": replayed(copies.fresh, replay_driver,
                                                         transcript),
            "its SQL through SQLAlchemy's execution": replayed(copies.fresh, replay_sqlalchemy,
                                                               transcript)}
        if args.database == "postgresql":
            results[f"its SQL through the driver, {CONCURRENT} at once"] = replayed(
                copies.fresh, replay_concurrent, transcript, args.clients)
    finally:
        copies.drop()
        drop_database()
    print(f"{len(transcript):,} messages, {statements / len(transcript):.1f} statements and "
          f"one commit each")
    for label, r in results.items():
        print(line(label, r))
    print(f"{load()}; peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
