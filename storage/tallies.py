"""Anonymous daily counts: how many of something happened, never to whom."""

from __future__ import annotations

from datetime import date

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from storage.models import Tally


def add(session: Session, name: str, *, day: date, count: int = 1) -> None:
    """Add `count` to the tally `name` of `day`."""
    if count <= 0:
        return
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = Tally.__table__  # type: ignore[attr-defined]
    statement = module.insert(table).values(name=name, day=day, count=count)
    session.execute(statement.on_conflict_do_update(
        index_elements=["name", "day"], set_={"count": table.c.count + count}))


def of_day(session: Session, day: date) -> dict[str, int]:
    """Every tally of one day by name."""
    return {t.name: t.count for t in session.exec(select(Tally).where(Tally.day == day))}
