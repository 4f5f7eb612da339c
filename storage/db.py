"""Database engine and sessions: SQLite (WAL) by default, PostgreSQL the same way."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

# Registers the session event that stamps enrolments whose plan inputs changed.
import storage.plan_changes  # noqa: F401  (imported for its effect)
from storage.write_turns import take_turns

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("coachbot.db")


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs (the driver we install)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


# The database and its -wal/-shm hold clients' answers: readable by the bot's user only.
PRIVATE_MODE = 0o600


def make_engine(url: str, *, echo: bool = False, busy_timeout: float = 15.0) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout (seconds), foreign keys,
    secure_delete and a private file."""
    url = normalise_url(url)
    # hide_parameters: an error's message (logged, or printed at DEBUG) must not carry the
    # statement's values, which are answers and names.
    if make_url(url).get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            _create_private(path)
        engine = create_engine(url, echo=echo, hide_parameters=True,
                               connect_args={"timeout": busy_timeout})
        take_turns(engine, patience=busy_timeout)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # The WAL is folded into the database every few seconds off the request path
            # (`fold_wal`, a periodic job); a commit folds it itself only past 10,000 pages
            # (40 MB), not SQLite's 1,000, which a request paid for about once in a hundred
            # (the p99 of an answer, benchmarks/RESULTS.md).
            cursor.execute("PRAGMA wal_autocheckpoint=10000")
            cursor.execute("PRAGMA foreign_keys=ON")
            # A deleted row's bytes are overwritten with zeros, not left in free pages.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            cursor.close()
            if path is not None:
                _chmod_private(path)

        return engine
    # pool_pre_ping: a restarted PostgreSQL costs one reconnect, not a failed request.
    return create_engine(url, echo=echo, hide_parameters=True, pool_pre_ping=True,
                         pool_size=5, max_overflow=10)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL we may create; None for memory and `file:` URIs."""
    database = make_url(normalise_url(url)).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _create_private(path: Path) -> None:
    """Create the database file 0600 before SQLite would create it with the umask's mode."""
    if path.exists() or not path.parent.is_dir():
        return  # a missing folder is SQLite's error to report, in its own words
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        return
    try:
        # os.open's mode is narrowed by the umask; fchmod sets it whatever the umask.
        os.fchmod(fd, PRIVATE_MODE)
    finally:
        os.close(fd)


def _chmod_private(path: Path) -> None:
    """SQLite creates -wal and -shm like the database; make sure of it on every connect."""
    for suffix in ("-wal", "-shm"):
        # Not there yet, or not ours to change (a read-only copy): nothing to do.
        with contextlib.suppress(OSError):
            os.chmod(f"{path}{suffix}", PRIVATE_MODE)


def checkpoint(engine: Engine, *, wait: bool = True) -> None:
    """Fold SQLite's WAL into the database and empty it: erased rows leave the -wal file.
    `wait=False`: fold what no one is reading, and wait for no one (PASSIVE).

    PostgreSQL has nothing to do here: its dead rows go at the next (auto)vacuum.
    """
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(
                f"PRAGMA wal_checkpoint({'TRUNCATE' if wait else 'PASSIVE'})")
    except OperationalError as exc:
        # What it follows has committed: a busy database only delays the folding to
        # SQLite's own next checkpoint, so it must not fail the erasure.
        log.warning("wal checkpoint failed error=%s", type(exc.orig).__name__)


def is_locked(exc: BaseException) -> bool:
    """True for SQLite's "database is locked": another process holds the write lock."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply Alembic migrations up to `revision` on `engine`."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


def unknown_revision(engine: Engine) -> str | None:
    """The database's revision when this code has no such migration (a newer coachbot
    migrated it), else None."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    known = {s.revision for s in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current if current is not None and current not in known else None


def session(engine: Engine) -> Session:
    """A session for tools and tests that read or seed the tables directly."""
    return Session(engine, expire_on_commit=False)
