"""On SQLite, this process's transactions take turns at a lock (`storage/write_turns.py`):
eight updates in hand at once write one after another without ever meeting SQLite's
busy handler, and a turn held too long never blocks the next for good."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from scheduler.clock import ManualClock
from services.unit_of_work import Runtime
from storage import dedupe
from storage.db import make_engine
from storage.models import InboundEvent
from storage.write_turns import take_turns, turn
from tests.conftest import START


def test_eight_threads_writing_at_once_all_get_through_with_sqlites_busy_wait_switched_off(
        sqlite_url):
    # busy_timeout 0: a thread that met another's write lock would fail at once.
    engine = make_engine(sqlite_url, busy_timeout=0)
    take_turns(engine, patience=60)
    rt = Runtime(db=engine, clock=ManualClock(START), programs={})

    def client(n: int) -> int:
        stored = 0
        for message in range(25):
            with rt.transaction() as uow:
                stored += dedupe.first_delivery(uow.session, channel="telegram",
                                                event_id=f"{n}:{message}", now=uow.now)
        return stored

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            stored = sum(pool.map(client, range(8)))
        with rt.transaction() as uow:
            rows = uow.session.execute(select(func.count()).select_from(InboundEvent)).scalar()
    finally:
        engine.dispose()
    assert stored == rows == 200


def test_a_use_case_inside_another_does_not_wait_for_its_own_turn(sqlite_url):
    engine = make_engine(sqlite_url)
    rt = Runtime(db=engine, clock=ManualClock(START), programs={})
    try:
        with rt.transaction(), rt.transaction() as inner:
            assert dedupe.first_delivery(inner.session, channel="telegram", event_id="1",
                                         now=inner.now)
    finally:
        engine.dispose()


def test_a_turn_held_past_its_patience_lets_the_next_go_on_to_sqlites_own_wait(sqlite_url):
    engine = make_engine(sqlite_url)
    take_turns(engine, patience=0.01)
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        with turn(engine):
            holding.set()
            done.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        holding.wait()
        with turn(engine):  # not held: it went ahead once its patience ran out
            went_ahead = True
    finally:
        done.set()
        holder.join()
        engine.dispose()
    assert went_ahead


def test_postgresql_has_no_turns_to_take():
    engine = make_engine("postgresql://postgres@127.0.0.1:5432/none")  # never connected
    with turn(engine), turn(engine):
        pass
