"""The migrations build exactly the tables the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table)
from storage.db import make_engine


def test_the_migrated_database_matches_the_models(db_url):
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    finally:
        engine.dispose()
    tables = [d for d in diff if d[0] in ("add_table", "remove_table")]
    assert tables == []
    assert not [d for d in diff if d[0] in ("add_column", "remove_column")]
