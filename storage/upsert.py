"""INSERT ... ON CONFLICT DO NOTHING (or DO UPDATE) on SQLite and PostgreSQL alike."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


@cache
def _statement(dialect: str, table: Table, conflict: tuple[str, ...]) -> Insert:
    # Built once per table: constructing statements per call is the hot path's main cost.
    module = postgresql if dialect == "postgresql" else sqlite
    return (module.insert(table)
            .on_conflict_do_nothing(index_elements=list(conflict))
            .returning(table.c.id))


def insert_ignore(session: Session, model: type[SQLModel], values: dict[str, Any],
                  conflict: list[str]) -> bool:
    """Insert one row unless `conflict` columns clash with an existing row; True if inserted."""
    dialect = session.get_bind().dialect.name
    table = model.__table__  # type: ignore[attr-defined]
    # RETURNING rather than rowcount: drivers disagree on rowcount for ON CONFLICT.
    return session.execute(_statement(dialect, table, tuple(conflict)), values).first() is not None


def insert_ignore_many(session: Session, model: type[SQLModel], rows: list[dict[str, Any]],
                       conflict: list[str]) -> int:
    """Insert many rows in one statement, skipping those whose `conflict` columns clash;
    how many were inserted."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    table = model.__table__  # type: ignore[attr-defined]
    return len(session.execute(_statement(dialect, table, tuple(conflict)), rows).all())


@cache
def _replacing(dialect: str, table: Table, conflict: tuple[str, ...]) -> Insert:
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(conflict),
        set_={c.name: statement.excluded[c.name] for c in table.c if c.name not in conflict})


def insert_or_replace_many(session: Session, model: type[SQLModel], rows: list[dict[str, Any]],
                           conflict: list[str]) -> None:
    """Insert many rows in one statement; a row whose `conflict` columns clash with a stored
    one (or a later row of `rows`) replaces its other columns."""
    # The last row of each key only: PostgreSQL refuses a statement that updates a row twice.
    last = list({tuple(row[c] for c in conflict): row for row in rows}.values())
    if not last:
        return
    dialect = session.get_bind().dialect.name
    table = model.__table__  # type: ignore[attr-defined]
    session.execute(_replacing(dialect, table, tuple(conflict)), last)
