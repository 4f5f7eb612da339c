"""INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def insert_ignore(session: Session, model: type[SQLModel], values: dict[str, Any],
                  conflict: list[str]) -> bool:
    """Insert one row unless `conflict` columns clash with an existing row; True if inserted."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    table = model.__table__  # type: ignore[attr-defined]
    statement = (module.insert(table).values(**values)
                 .on_conflict_do_nothing(index_elements=conflict)
                 .returning(table.c.id))
    # RETURNING rather than rowcount: drivers disagree on rowcount for ON CONFLICT.
    return session.execute(statement).first() is not None
