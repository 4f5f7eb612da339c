"""Opening the database for a running bot (migrations first), and folding SQLite's WAL."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from storage.db import checkpoint, is_current, make_engine, normalise_url, unknown_revision, upgrade


class NotMigrated(Exception):
    """The database is behind the code's migrations."""


class DatabaseTooNew(Exception):
    """A newer coachbot migrated the database: this code must not read or change it."""


def refuse_newer(engine: Engine) -> None:
    """Raise DatabaseTooNew when the database's migration is unknown to this code."""
    revision = unknown_revision(engine)
    if revision is not None:
        engine.dispose()
        raise DatabaseTooNew(f"the database was migrated by a newer coachbot (revision "
                             f"{revision}); install that version, or restore a backup "
                             f"made for this one")


def open_database(url: str, *, migrate: bool | None = None) -> Engine:
    """An engine for `url`; SQLite migrates itself, PostgreSQL must be migrated first."""
    engine = make_engine(url)
    refuse_newer(engine)
    sqlite = make_url(normalise_url(url)).get_backend_name() == "sqlite"
    if migrate if migrate is not None else sqlite:
        upgrade(engine)
    elif not is_current(engine):
        raise NotMigrated("the database is not up to date: run `coachbot db upgrade` first")
    return engine


def migrate(url: str) -> None:
    """Apply every migration to the database at `url` (`coachbot db upgrade`)."""
    engine = make_engine(url)
    refuse_newer(engine)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def fold_wal(engine: Engine) -> None:
    """Fold SQLite's WAL into the database without waiting for anyone (a periodic job): a
    request then rarely pays for it, and what was committed is synced to disk within
    seconds, not at the next 10,000 pages. Nothing to do on PostgreSQL."""
    checkpoint(engine, wait=False)
