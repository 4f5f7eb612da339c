"""The program report's queries: per-enrolment facts, aggregated in SQL per enrolment.

Each query groups by enrolment (a few thousand groups at most) instead of returning the
raw rows, so memory follows the number of clients, not the number of weeks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, literal_column
from sqlmodel import Session, col, select

from conversations.program import Metric, Program
from storage import next_offers
from storage.metric_store import baseline_id, checkin_touchpoints
from storage.models import (
    Conversation,
    Enrolment,
    Escalation,
    MetricValue,
    PlannedTouchpoint,
    RuleFiring,
)


@dataclass
class Facts:
    """What the report needs to know about one enrolment."""

    enrolment_id: int
    program_id: str
    cohort: str  # the month of enrolment, "2026-03"
    status: str
    variant: str | None = None  # the program's variant drawn at enrolment
    checkins_due: int = 0
    checkins_answered: int = 0
    flows_started: int = 0
    flows_completed: int = 0
    milestones: int = 0
    outcome_change: float | None = None
    # Per escalation: hours to acknowledge (None if not acknowledged), and within its SLA.
    escalations: list[tuple[float | None, bool]] = field(default_factory=list)
    # The next program: offered at the end, and taken (a yes).
    next_offered: bool = False
    next_taken: bool = False


def outcome_metric(program: Program) -> Metric | None:
    """The outcome compared with its baseline: the main metric if it has a baseline, else
    the first outcome metric that has one."""
    with_base = [m for m in program.metrics if m.bucket == "outcome" and m.baseline]
    return next((m for m in with_base if m.main), None) or next(iter(with_base), None)


def facts(session: Session, programs: Mapping[str, Program], *, program_id: str | None = None,
          start: date | None = None, end: date | None = None) -> list[Facts]:
    """Facts of every enrolment enrolled between `start` and `end` (inclusive dates, UTC)."""
    query = select(Enrolment.id, Enrolment.program_id, Enrolment.enrolled_at, Enrolment.status,
                   Enrolment.variant)
    if program_id is not None:
        query = query.where(Enrolment.program_id == program_id)
    if start is not None:
        query = query.where(col(Enrolment.enrolled_at) >= datetime.combine(start, time(),
                                                                           tzinfo=UTC))
    if end is not None:
        query = query.where(col(Enrolment.enrolled_at) < datetime.combine(
            end + timedelta(days=1), time(), tzinfo=UTC))
    by_id = {row[0]: Facts(row[0], row[1], f"{row[2]:%Y-%m}", row[3], row[4])
             for row in session.exec(query) if row[1] in programs}
    if not by_id:
        return []
    _checkins(session, programs, by_id)
    _flows(session, by_id)
    _milestones(session, programs, by_id)
    _outcomes(session, programs, by_id)
    _escalations(session, by_id)
    for offer in next_offers.offers_of(session, list(by_id)):
        by_id[offer.enrolment_id].next_offered = True
        by_id[offer.enrolment_id].next_taken = offer.answer == "yes"
    return sorted(by_id.values(), key=lambda f: (f.program_id, f.cohort, f.enrolment_id))


def _checkins(session: Session, programs: Mapping[str, Program], by_id: dict[int, Facts]
              ) -> None:
    ids = sorted({tp for p in programs.values() for tp in checkin_touchpoints(p)})
    rows = session.exec(
        select(PlannedTouchpoint.enrolment_id, PlannedTouchpoint.status,
               PlannedTouchpoint.reason, func.count())
        .where(PlannedTouchpoint.kind == "send", col(PlannedTouchpoint.touchpoint_id).in_(ids),
               col(PlannedTouchpoint.status).in_(("done", "missed", "skipped")))
        .group_by(PlannedTouchpoint.enrolment_id, PlannedTouchpoint.status,
                  PlannedTouchpoint.reason))
    for enrolment_id, status, reason, count in rows:
        f = by_id.get(enrolment_id)
        if f is None or (status == "skipped" and reason != "answered"):
            continue  # skipped for a pause or downtime: the check-in was never asked
        f.checkins_due += count
        if status != "missed":
            f.checkins_answered += count


def _flows(session: Session, by_id: dict[int, Facts]) -> None:
    rows = session.exec(
        select(Conversation.enrolment_id, Conversation.outcome, func.count())
        .group_by(Conversation.enrolment_id, Conversation.outcome))
    for enrolment_id, outcome, count in rows:
        f = by_id.get(enrolment_id)
        if f is None:
            continue
        f.flows_started += count
        if outcome == "completed":
            f.flows_completed += count


def _milestones(session: Session, programs: Mapping[str, Program], by_id: dict[int, Facts]
                ) -> None:
    rule_ids = {(p.id, r.id) for p in programs.values() for r in p.rules if r.when.milestone}
    if not rule_ids:
        return
    rows = session.exec(
        select(RuleFiring.enrolment_id, RuleFiring.rule_id, func.count())
        .where(col(RuleFiring.rule_id).in_(sorted({r for _, r in rule_ids})))
        .group_by(RuleFiring.enrolment_id, RuleFiring.rule_id))
    for enrolment_id, rule_id, count in rows:
        f = by_id.get(enrolment_id)
        if f is not None and (f.program_id, rule_id) in rule_ids:
            f.milestones += count


def _latest(session: Session, metric_id: str) -> dict[int, float]:
    """The latest stored value of one metric for every enrolment that has one."""
    ranked = (select(MetricValue.enrolment_id, MetricValue.value,
                     func.row_number().over(partition_by=MetricValue.enrolment_id,
                                            order_by=col(MetricValue.at).desc())
                     .label("n"))
              .where(MetricValue.metric_id == metric_id).subquery())
    rows = session.exec(select(ranked.c.enrolment_id, ranked.c.value)
                        .where(literal_column("n") == 1))
    return {enrolment_id: value for enrolment_id, value in rows}


def _outcomes(session: Session, programs: Mapping[str, Program], by_id: dict[int, Facts]
              ) -> None:
    for metric_id in sorted({m.id for p in programs.values() if (m := outcome_metric(p))}):
        latest, base = _latest(session, metric_id), _latest(session, baseline_id(metric_id))
        for enrolment_id, value in latest.items():
            f = by_id.get(enrolment_id)
            metric = outcome_metric(programs[f.program_id]) if f else None
            if f is not None and metric is not None and metric.id == metric_id \
                    and enrolment_id in base:
                f.outcome_change = value - base[enrolment_id]


def _escalations(session: Session, by_id: dict[int, Facts]) -> None:
    rows = session.exec(select(Escalation.enrolment_id, Escalation.opened_at,
                               Escalation.acknowledged_at, Escalation.sla_due_at))
    for enrolment_id, opened, acknowledged, due in rows:
        f = by_id.get(enrolment_id)
        if f is None:
            continue
        hours = (acknowledged - opened).total_seconds() / 3600 if acknowledged else None
        f.escalations.append((hours, acknowledged is not None and acknowledged <= due))
