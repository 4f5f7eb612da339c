"""Rule firings: open while their condition holds, stored with the values that caused them."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from storage.models import RuleFiring


def open_firings(session: Session, enrolment_id: int) -> dict[str, RuleFiring]:
    """The enrolment's firings not cleared yet, by rule id."""
    rows = session.exec(_open_statement(), params={"enrolment_id": enrolment_id})
    return {row.rule_id: row for row in rows}


@cache
def _open_statement():
    # Built once: every completed check-in asks (the inbound hot path).
    return select(RuleFiring).where(RuleFiring.enrolment_id == bindparam("enrolment_id"),
                                    col(RuleFiring.cleared_at).is_(None))


def fire(session: Session, *, enrolment_id: int, rule_id: str, values: dict,
         now: datetime) -> RuleFiring:
    """Record that a rule fired, with its evidence; the id is known on return."""
    firing = RuleFiring(enrolment_id=enrolment_id, rule_id=rule_id, values=values, fired_at=now)
    session.add(firing)
    session.flush()
    return firing


def clear(session: Session, firing: RuleFiring, *, now: datetime) -> None:
    """The condition stopped holding: the rule may fire again later."""
    firing.cleared_at = now
    session.add(firing)


def of_enrolment(session: Session, enrolment_id: int) -> list[RuleFiring]:
    """Every firing of an enrolment, oldest first."""
    return list(session.exec(select(RuleFiring).where(RuleFiring.enrolment_id == enrolment_id)
                             .order_by(col(RuleFiring.fired_at), col(RuleFiring.id))))
