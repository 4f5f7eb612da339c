"""SQLite's WAL is folded into the database by a periodic job (`database.fold_wal`), not by
whichever request crosses SQLite's page count: a commit stays cheap, and what was committed
is in the database file within seconds."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert

from services.database import fold_wal, open_database
from storage.models import InboundEvent
from tests.conftest import START


def test_commits_reach_the_database_file_at_the_next_fold_not_at_the_commit(sqlite_url):
    engine = open_database(sqlite_url)
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    try:
        # Bursts of about 2,000 pages in all: past SQLite's own threshold (1,000 pages), which
        # a commit paid for; it folds the WAL itself only past 10,000 now.
        for burst in range(8):
            with engine.begin() as connection:
                connection.execute(insert(InboundEvent), [
                    {"channel": "telegram", "event_id": f"{burst}-{i}", "received_at": START}
                    for i in range(10_000)])
        in_the_file = path.stat().st_size
        wal = path.with_name(path.name + "-wal").stat().st_size
        assert wal > 1_000 * 4096  # past SQLite's default, still in the WAL

        fold_wal(engine)

        assert path.stat().st_size > in_the_file + 1_000 * 4096
    finally:
        engine.dispose()
