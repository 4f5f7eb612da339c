"""Who a program's clients are right now, as a new version would find them: open
conversations, check-in slots, stages and open rule firings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlmodel import Session, col, select, update

from conversations.journey import PLANNED, STATUSES, is_open
from storage.models import PLAN_NOW, Conversation, Enrolment, RuleFiring

OPEN = tuple(s for s in STATUSES if is_open(s))


@dataclass(frozen=True)
class OpenConversation:
    """One client mid-flow: the flow, the question waiting, the version it opened on."""

    enrolment_id: int
    flow: str
    asked: str | None
    version_id: int | None


def open_conversations(session: Session, program_id: str) -> list[OpenConversation]:
    """Every conversation not closed yet of the program's open enrolments."""
    rows = session.exec(
        select(Conversation.enrolment_id, Conversation.flow_id, Conversation.state,
               Conversation.program_version_id)
        .join(Enrolment, col(Enrolment.id) == Conversation.enrolment_id)
        .where(Enrolment.program_id == program_id, col(Conversation.closed_at).is_(None),
               col(Enrolment.status).in_(OPEN)))
    return [OpenConversation(e, f, (s or {}).get("asked"), c) for e, f, s, c in rows]


def slots(session: Session, program_id: str) -> Counter[tuple[str, str]]:
    """How many planned enrolments check in on each (day, HH:MM)."""
    return Counter(session.exec(
        select(Enrolment.checkin_day, Enrolment.checkin_time)
        .where(Enrolment.program_id == program_id, col(Enrolment.status).in_(PLANNED))))


def planned_count(session: Session, program_id: str) -> int:
    """How many enrolments the scheduler plans touchpoints for."""
    return sum(slots(session, program_id).values())


def stages(session: Session, program_id: str) -> Counter[str]:
    """How many open enrolments are in each stage."""
    return Counter(session.exec(
        select(Enrolment.stage)
        .where(Enrolment.program_id == program_id, col(Enrolment.status).in_(OPEN))))


def open_firings(session: Session, program_id: str) -> Counter[str]:
    """How many firings of each rule are open in the program."""
    return Counter(session.exec(
        select(RuleFiring.rule_id)
        .join(Enrolment, col(Enrolment.id) == RuleFiring.enrolment_id)
        .where(Enrolment.program_id == program_id, col(RuleFiring.cleared_at).is_(None))))


def move_slot(session: Session, program_id: str, *, before: tuple[str, str],
              after: tuple[str, str]) -> int:
    """Move every planned enrolment on the `before` slot to `after`; how many moved."""
    result = session.exec(  # type: ignore[call-overload]
        update(Enrolment)
        .where(col(Enrolment.program_id) == program_id, col(Enrolment.status).in_(PLANNED),
               col(Enrolment.checkin_day) == before[0],
               col(Enrolment.checkin_time) == before[1])
        # A statement, not the ORM: it stamps the enrolments for replanning itself.
        .values(checkin_day=after[0], checkin_time=after[1], replan_at=PLAN_NOW))
    return result.rowcount or 0
