"""The stored running aggregate of each enrolment's metrics (see conversations/running.py)."""

from __future__ import annotations

from functools import cache

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from conversations.running import Aggregate
from storage.models import MetricAggregate

_TABLE = MetricAggregate.__table__  # type: ignore[attr-defined]


def load(session: Session, enrolment_id: int, key: str) -> Aggregate | None:
    """The enrolment's aggregate if it was computed for program version `key`, else None."""
    state = session.execute(_load_statement(), {"enrolment_id": enrolment_id}).scalar()
    if not state or state.get("key") != key:
        return None
    return Aggregate.model_validate(state)


def save(session: Session, enrolment_id: int, aggregate: Aggregate) -> None:
    """Store the enrolment's aggregate, replacing the one before."""
    state = aggregate.model_dump(mode="json", exclude_defaults=True)
    state["key"] = aggregate.key
    session.execute(_save_statement(session.get_bind().dialect.name),
                    {"enrolment_id": enrolment_id, "state": state})


# Built once: every completed check-in loads and saves its aggregate (the inbound hot path).
@cache
def _load_statement():
    return select(_TABLE.c.state).where(_TABLE.c.enrolment_id == bindparam("enrolment_id"))


@cache
def _save_statement(dialect: str):
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(_TABLE)
    return statement.on_conflict_do_update(index_elements=["enrolment_id"],
                                           set_={"state": statement.excluded.state})


def forget(session: Session, enrolment_ids: list[int]) -> None:
    """Drop the aggregates of these enrolments (an answer edited or erased): the next
    evaluation computes from the whole history again."""
    session.execute(delete(MetricAggregate)
                    .where(col(MetricAggregate.enrolment_id).in_(enrolment_ids)))
