"""Times go in as aware datetimes in any zone and come back as the same instant in UTC, to
the microsecond, in time order, on both databases; naive ones are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import StatementError
from sqlmodel import Session, col, select

from storage.db import make_engine
from storage.models import Person

BERLIN = ZoneInfo("Europe/Berlin")
# Around the autumn DST change in Berlin, with fractions of a second.
MOMENTS = [datetime(2026, 10, 25, 2, 30, 0, 999_999, tzinfo=BERLIN, fold=1),
           datetime(2026, 10, 25, 0, 30, 0, 1, tzinfo=UTC),
           datetime(2026, 10, 25, 2, 30, 0, 0, tzinfo=BERLIN, fold=0),
           datetime(1999, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)]


def _person(at: datetime) -> Person:
    return Person(name="Time Keeper", role="client", timezone="Europe/Berlin", created_at=at)


def test_a_time_comes_back_as_the_same_instant_in_utc_in_time_order(db_url):
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            session.add_all([_person(at) for at in MOMENTS])
            session.commit()
        with Session(engine) as session:
            stored = list(session.exec(select(Person.created_at)
                                       .order_by(col(Person.created_at))))
            later = list(session.exec(select(Person.created_at).where(
                col(Person.created_at) > datetime(2026, 10, 25, 0, 30, tzinfo=UTC))))
    finally:
        engine.dispose()
    assert stored == sorted(at.astimezone(UTC) for at in MOMENTS)
    assert all(at.tzinfo == UTC for at in stored)
    # A microsecond after the bound counts as after it; the fold's second 02:30 (01:30 UTC)
    # is an hour later than the first (00:30 UTC).
    assert sorted(later) == [MOMENTS[1].astimezone(UTC), MOMENTS[0].astimezone(UTC)]


def test_sqlite_keeps_a_time_as_integer_microseconds(sqlite_url):
    engine = make_engine(sqlite_url)
    try:
        with Session(engine) as session:
            session.add(_person(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=90,
                                                                             microseconds=7)))
            session.commit()
        with engine.connect() as connection:
            raw = connection.execute(sa.text("SELECT created_at, typeof(created_at) FROM person"))
            assert list(raw) == [(90_000_007, "integer")]
    finally:
        engine.dispose()


def test_a_naive_time_is_refused(db_url):
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            session.add(_person(datetime(2026, 3, 2, 8, 0)))
            with pytest.raises(StatementError, match="naive datetime"):
                session.commit()
    finally:
        engine.dispose()
