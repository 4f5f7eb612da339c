"""Column types: datetimes go in and come out as aware UTC on every database; an answer's
typed value is stored as its JSON alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, DateTime, Text
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator


class _SQLiteMicros(sqlite.DATETIME):
    """A UTC time on SQLite as whole microseconds since 1970 (an integer of 8 bytes at most,
    not 26 characters of text): exact to Python's resolution, ordered as the times are, and
    subtracted in SQL. The column stays declared DATETIME. Text an older database still
    holds reads back too; migration 0019 rewrites it."""

    def bind_processor(self, dialect):
        def process(value: datetime | None) -> int | None:
            # `value` is naive UTC here (UTCDateTime dropped its zone).
            return None if value is None else (value - _EPOCH) // _MICROSECOND

        return process

    def result_processor(self, dialect, coltype):
        def process(value: int | str | None) -> datetime | None:
            if value is None or isinstance(value, str):
                return None if value is None else datetime.fromisoformat(value)
            return _EPOCH + timedelta(microseconds=value)

        return process


_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)
# A second in the stored unit, for SQL that does arithmetic on stored times.
SQLITE_SECOND = 1_000_000


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; refuses naive datetimes so local times can never slip in.

    PostgreSQL keeps a timestamptz; SQLite, which has no time type, an integer of
    microseconds (`_SQLiteMicros`).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SQLiteMicros())
        return super().load_dialect_impl(dialect)

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class AnswerValue(TypeDecorator[dict]):
    """An answer's typed value, `{"v": value}` to the code, stored as the value's JSON alone
    (`7`, `"sales"`, `true`): the wrapper was 7 bytes of every answer row.

    On SQLite the column's declared type (JSON) gives it NUMERIC affinity: a number is
    stored, and read back, as a number (1 to 8 bytes), a whole float as an integer.
    """

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect):
        # SQLite's JSON reader would refuse the number the column hands back: read here.
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(JSON(none_as_null=False))

    def process_bind_param(self, value: dict | None, dialect) -> Any:
        if value is None:
            return None
        inner = value["v"]
        return json.dumps(inner, ensure_ascii=False) if dialect.name == "sqlite" else inner

    def process_result_value(self, value: Any, dialect) -> dict | None:
        if dialect.name == "sqlite":
            if value is None:
                return None
            return {"v": value if isinstance(value, int | float) else json.loads(value)}
        return {"v": value}


def cached_bind(type_: Any, dialect: Any) -> Callable[[Any], Any]:
    """What `type_` sends the database for a value, each distinct value converted once:
    for bulk statements whose rows travel as one parameter (many clients share a time:
    one slot and zone, one sweep's now)."""
    return _once_each(type_._cached_bind_processor(dialect) or (lambda value: value))


def json_time(type_: Any, dialect: Any) -> Callable[[datetime | None], int | str | None]:
    """How a time of a `type_` column travels inside a JSON parameter (rows sent as one):
    the column's own stored integer on SQLite, ISO 8601 with its offset on PostgreSQL (the
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
