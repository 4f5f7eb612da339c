"""Another process holds SQLite's write lock: the bot says so in its log and tries again."""

from __future__ import annotations

import dataclasses
import io
import logging
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from bot.console import BUSY_TEXT, ConsoleChannel
from conversations.messages import Inbound
from services.inbound import InboundService
from services.unit_of_work import DatabaseBusy
from storage.db import make_engine


class OnRecord(logging.Handler):
    """Calls `then` once, when a record containing `needle` is logged."""

    def __init__(self, needle: str, then) -> None:
        super().__init__()
        self.needle, self.then, self.seen = needle, then, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage() and not self.seen.is_set():
            self.seen.set()
            self.then()


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """This story is about SQLite only."""
    return sqlite_url


@pytest.fixture
def lock(sqlite_url: str):
    """Start an open write transaction on the same file, as another process's would be."""
    held: list[sqlite3.Connection] = []

    def take() -> sqlite3.Connection:
        connection = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"),
                                     check_same_thread=False, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        held.append(connection)
        return connection

    yield take
    for connection in held:
        connection.close()


def test_a_message_arriving_while_another_process_writes_is_handled_once_it_lets_go(
        sqlite_url, lock, clock, enrol, app):
    client = enrol("Ana Lima")
    other_process_lock = lock()
    # The same handler as the app's, with a short busy timeout so the test stays quick.
    handler = InboundService(dataclasses.replace(
        app.rt, db=make_engine(sqlite_url, busy_timeout=0.05)))
    release = OnRecord("locked by another process", other_process_lock.commit)
    logging.getLogger("coachbot.db").addHandler(release)
    try:
        with ThreadPoolExecutor(1) as pool:
            handled = pool.submit(handler.handle, Inbound(
                channel="test", sender=client.address, event_id="e-locked", text="yes")).result()
    finally:
        logging.getLogger("coachbot.db").removeHandler(release)
    assert release.seen.is_set(), "the lock never got in the way"
    assert handled.outcome == "handled"
    with app.db.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM answer")).scalar_one() == 1


def test_a_lock_that_never_goes_away_is_a_clear_error_not_a_half_write(
        sqlite_url, lock, clock, enrol, app):
    client = enrol("Ana Lima")
    other_process_lock = lock()
    handler = InboundService(dataclasses.replace(
        app.rt, db=make_engine(sqlite_url, busy_timeout=0.02)))
    with pytest.raises(DatabaseBusy, match="database is locked"):
        handler.handle(Inbound(channel="test", sender=client.address, event_id="e-stuck",
                               text="yes"))
    other_process_lock.rollback()
    with app.db.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM answer")).scalar_one() == 0
    # Delivered again later, the same message is handled normally.
    assert "In your own words" in client.says("yes", event_id="e-stuck")[-1]


def test_the_console_says_the_database_is_busy_instead_of_crashing(sqlite_url, lock, clock,
                                                                   app):
    busy = make_engine(sqlite_url, busy_timeout=0.02)
    rt = dataclasses.replace(app.rt, db=busy)
    console_app = dataclasses.replace(app, rt=rt, inbound=InboundService(rt))
    out = io.StringIO()
    console = ConsoleChannel(console_app, stdin=io.StringIO(), stdout=out, interactive=False)
    lock()
    console.say("hello")
    assert BUSY_TEXT in out.getvalue()
