"""Column types: datetimes go in and come out as aware UTC on every database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; refuses naive datetimes so local times can never slip in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC time")
        value = value.astimezone(UTC)
        # SQLite has no zone support: store naive UTC text.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class _SQLiteIsoText(sqlite.DATETIME):
    """ISO text with no fraction when it is zero ("2026-03-02 08:00:00", 19 characters,
    not 26). Text order stays time order: a fraction only ever follows the same second."""

    def bind_processor(self, dialect):
        def process(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat(" ")
        return process


class CompactUTCDateTime(UTCDateTime):
    """`UTCDateTime` whose SQLite text drops a zero fraction: for the columns stored once or
    more per client (planned rows and their index, enrolments, plans), most of them on a
    whole minute. A column is one form or the other, never both (migration 0018)."""

    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SQLiteIsoText())
        return super().load_dialect_impl(dialect)


def cached_bind(type_: Any, dialect: Any) -> Callable[[Any], Any]:
    """What `type_` sends the database for a value, each distinct value converted once:
    for bulk statements whose rows travel as one parameter (many clients share a time:
    one slot and zone, one sweep's now)."""
    return _once_each(type_._cached_bind_processor(dialect) or (lambda value: value))


def json_time(type_: Any, dialect: Any) -> Callable[[datetime | None], str | None]:
    """How a time of a `type_` column travels inside a JSON parameter (rows sent as one):
    the column's own stored text on SQLite, ISO 8601 with its offset on PostgreSQL (the
    statement casts it back); each distinct value converted once."""
    if dialect.name != "postgresql":
        return cached_bind(type_, dialect)
    return _once_each(lambda value: None if value is None
                      else value.astimezone(UTC).isoformat())


def _once_each(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    done: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        found = done.get(value, done)
        if found is done:
            found = done[value] = process(value)
        return found

    return convert
