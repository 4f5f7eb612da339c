"""SQLite's one writer at a time, taken in turns at a lock inside this process.

SQLite lets one transaction write at once. A thread that finds the database taken waits in
SQLite's busy handler, which sleeps 1, 2, 5, 10, ... ms between tries whatever happens
meanwhile: with the poller's eight updates in hand at once, much of each one's time was
that sleep (benchmarks/RESULTS.md). Threads of this process queue at a lock instead and
the next one starts the moment the last commits. Another process (a CLI command, a
backup) still meets the busy handler, as before; PostgreSQL has no turns to take.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from weakref import WeakKeyDictionary

from sqlalchemy import Engine

# Per SQLite engine made by `storage.db.make_engine`: its lock and how long to wait for it.
_TURNS: WeakKeyDictionary[Engine, tuple[threading.RLock, float]] = WeakKeyDictionary()


def take_turns(engine: Engine, *, patience: float) -> None:
    """Make this SQLite engine's transactions (through `turn`) take turns in this process.

    `patience`: seconds a transaction waits for its turn before it goes ahead anyway and
    meets SQLite's busy handler (whose timeout is the same), so a turn never deadlocks.
    """
    _TURNS[engine] = (threading.RLock(), patience)


@contextmanager
def turn(engine: Engine) -> Iterator[None]:
    """Hold this process's writing turn on `engine` (reentrant; nothing to hold unless the
    engine takes turns)."""
    found = _TURNS.get(engine)
    if found is None:
        yield
        return
    lock, patience = found
    held = lock.acquire(timeout=patience)
    try:
        yield
    finally:
        if held:
            lock.release()
