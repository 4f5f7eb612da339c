"""Rule firings: open while their condition holds, stored with the values that caused them."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import RuleFiring


def open_firings(session: Session, enrolment_id: int) -> dict[str, RuleFiring]:
    """The enrolment's firings not cleared yet, by rule id."""
    rows = session.exec(select(RuleFiring).where(RuleFiring.enrolment_id == enrolment_id,
                                                 col(RuleFiring.cleared_at).is_(None)))
    return {row.rule_id: row for row in rows}


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
