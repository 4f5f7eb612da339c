"""The quarterly review's queries: what happened to one program in a span of time.

Every function takes a session and a `Window` and reads columns, not ORM rows. The one
query that returns a row per planned touchpoint (`send_facts`) streams it; every other
query is grouped in SQL, so memory follows the number of clients and touchpoints, not the
number of weeks. Times are compared in SQL; durations come back as whole seconds or
minutes, computed by the database (SQLite's julianday, PostgreSQL's epoch).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Integer, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from storage.models import (
    Answer,
    Conversation,
    Enrolment,
    Escalation,
    MetricValue,
    PlannedTouchpoint,
    RuleFiring,
)

WEEK_SECONDS = 7 * 24 * 3600
# Rows per fetch while streaming send facts: big enough to amortise round trips, small
# enough that memory stays flat.
STREAM_BATCH = 5000


@dataclass(frozen=True)
class Window:
    """Which program and which span a review reads: start inclusive, end exclusive, UTC.

    A later grouping key (a program version or variant) belongs here, as one more filter
    on the enrolment, so that every query below honours it.
    """

    program_id: str
    start: datetime
    end: datetime


class SendFact(NamedTuple):
    """One touchpoint send row due in the window, with what became of it."""

    touchpoint_id: str
    enrolment_id: int
    week: int  # 1 in the first seven days after enrolment; not capped
    status: str
    reason: str | None
    late_seconds: int | None  # from due to sent (or skipped); None while still planned
    answer_seconds: int | None  # from sent to the answer; None when not answered


class FollowUp(NamedTuple):
    """Reminders and no-answer steps of the send rows due in the window."""

    touchpoint_id: str
    kind: str  # remind | no_answer
    status: str
    reason: str | None
    rows: int


class AckCount(NamedTuple):
    """Escalations of one rule's firings with the same time to acknowledge."""

    rule_id: str
    ack_minutes: int | None  # None: not acknowledged
    within_sla: bool
    escalations: int


class AfterFiring(NamedTuple):
    """A firing of a metric rule and the metric's first values stored after it."""

    firing_id: int
    rule_id: str
    evidence: dict[str, Any]
    later: tuple[float, ...]


# --- dialect helpers ------------------------------------------------------------------


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _seconds(session: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    """later - earlier in seconds, as a float expression (NULL if either is NULL)."""
    if _sqlite(session):
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def _rounded(expression: ColumnElement[Any]) -> ColumnElement[Any]:
    return cast(func.round(expression), Integer)


def _floor(session: Session, expression: ColumnElement[Any]) -> ColumnElement[Any]:
    # SQLite's CAST truncates (the values here are never negative); PostgreSQL's rounds.
    return cast(expression if _sqlite(session) else func.floor(expression), Integer)


def _shifted(session: Session, moment: Any, seconds: int) -> ColumnElement[Any]:
    """moment + seconds, comparable with the stored column on either database."""
    if _sqlite(session):
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff'; this gives the same layout to the ms.
        return func.strftime("%Y-%m-%d %H:%M:%f", moment, f"{seconds:+d} seconds")
    return moment + literal(timedelta(seconds=seconds))


def _week(session: Session, at: Any, enrolled_at: Any) -> ColumnElement[Any]:
    """The program week of `at`, 1 in the first seven days after enrolment (not capped)."""
    return _floor(session, _seconds(session, at, enrolled_at) / WEEK_SECONDS) + 1


def _in(window: Window, at: Any) -> ColumnElement[bool]:
    return and_(at >= window.start, at < window.end)


# --- delivery ---------------------------------------------------------------------------


def send_facts(session: Session, window: Window, *, flows: Mapping[str, str],
               early: timedelta) -> Iterator[SendFact]:
    """Every send row of the program due in the window, streamed.

    `flows` maps a touchpoint id to the flow it sends. A row counts as answered by the
    first completed conversation of its flow that closed from `early` before it was due
    until `early` before the same touchpoint's next row for that client: the window the
    scheduler and the metrics use, so a check-in done a little ahead belongs to its week.
    """
    pt = PlannedTouchpoint.__table__  # type: ignore[attr-defined]
    rows = (select(pt.c.id, pt.c.enrolment_id, pt.c.touchpoint_id, pt.c.due_at,
                   pt.c.done_at, pt.c.status, pt.c.reason, Enrolment.enrolled_at,
                   func.lead(pt.c.due_at).over(partition_by=(pt.c.enrolment_id,
                                                             pt.c.touchpoint_id),
                                               order_by=pt.c.due_at).label("next_due"))
            .join(Enrolment, col(Enrolment.id) == pt.c.enrolment_id)
            .where(pt.c.kind == "send", Enrolment.program_id == window.program_id,
                   pt.c.due_at >= window.start)
            .subquery("r"))
    answer = _answer_seconds(session, rows, flows, early)
    query = (select(rows.c.touchpoint_id, rows.c.enrolment_id,
                    _week(session, rows.c.due_at, rows.c.enrolled_at), rows.c.status,
                    rows.c.reason, _rounded(_seconds(session, rows.c.done_at, rows.c.due_at)),
                    answer)
             .where(rows.c.due_at < window.end))
    result = session.execute(query.execution_options(yield_per=STREAM_BATCH))
    for row in result:
        yield SendFact(*row)


def _answer_seconds(session: Session, rows: Any, flows: Mapping[str, str],
                    early: timedelta) -> ColumnElement[Any]:
    if not flows:
        return literal(None, Integer)
    conv = Conversation.__table__  # type: ignore[attr-defined]
    lead = int(early.total_seconds())
    flow = case(dict(flows), value=rows.c.touchpoint_id)
    answered_at = (
        select(func.min(conv.c.closed_at))
        .where(conv.c.enrolment_id == rows.c.enrolment_id, conv.c.flow_id == flow,
               conv.c.outcome == "completed",
               conv.c.closed_at >= _shifted(session, rows.c.due_at, -lead),
               or_(rows.c.next_due.is_(None),
                   conv.c.closed_at < _shifted(session, rows.c.next_due, -lead)))
        .scalar_subquery())
    # Only flow touchpoints can be answered: message rows never run the subquery.
    return case((rows.c.touchpoint_id.in_(sorted(flows)),
                 _rounded(_seconds(session, answered_at, rows.c.done_at))), else_=None)


def follow_ups(session: Session, window: Window) -> list[FollowUp]:
    """Reminders and no-answer steps per touchpoint, of the send rows due in the window."""
    child, parent = aliased(PlannedTouchpoint), aliased(PlannedTouchpoint)
    query = (select(parent.touchpoint_id, child.kind, child.status, child.reason, func.count())
             .join(parent, col(parent.id) == col(child.parent_id))
             .join(Enrolment, col(Enrolment.id) == col(parent.enrolment_id))
             .where(col(child.kind).in_(("remind", "no_answer")),
                    Enrolment.program_id == window.program_id,
                    _in(window, col(parent.due_at)))
             .group_by(parent.touchpoint_id, child.kind, child.status, child.reason))
    return [FollowUp(*row) for row in session.execute(query)]


# --- metrics and rules ------------------------------------------------------------------


def values_per_metric(session: Session, window: Window) -> dict[str, int]:
    """How many values of each metric (baselines included) were stored in the window."""
    query = (select(MetricValue.metric_id, func.count())
             .join(Enrolment, col(Enrolment.id) == col(MetricValue.enrolment_id))
             .where(Enrolment.program_id == window.program_id,
                    _in(window, col(MetricValue.at)))
             .group_by(MetricValue.metric_id))
    return {metric_id: count for metric_id, count in session.execute(query)}


def weekly_sums(session: Session, window: Window, metric_id: str
                ) -> list[tuple[int, int, float]]:
    """(program week, values, their sum) of one metric's values stored in the window."""
    week = _week(session, MetricValue.at, Enrolment.enrolled_at).label("week")
    query = (select(week, func.count(), func.sum(MetricValue.value))
             .join(Enrolment, col(Enrolment.id) == col(MetricValue.enrolment_id))
             .where(Enrolment.program_id == window.program_id,
                    MetricValue.metric_id == metric_id, _in(window, col(MetricValue.at)))
             .group_by(week))
    return [(int(w), int(n), float(total)) for w, n, total in session.execute(query)]


def firings_per_rule(session: Session, window: Window) -> dict[str, int]:
    """How many times each rule fired in the window."""
    query = (select(RuleFiring.rule_id, func.count())
             .join(Enrolment, col(Enrolment.id) == col(RuleFiring.enrolment_id))
             .where(Enrolment.program_id == window.program_id,
                    _in(window, col(RuleFiring.fired_at)))
             .group_by(RuleFiring.rule_id))
    return {rule_id: count for rule_id, count in session.execute(query)}


def rule_escalations(session: Session, window: Window) -> list[AckCount]:
    """The escalations opened by rule firings in the window, by time to acknowledge."""
    minutes = _rounded(_seconds(session, Escalation.acknowledged_at, Escalation.opened_at)
                       / 60).label("minutes")
    within = case((col(Escalation.acknowledged_at) <= col(Escalation.sla_due_at), True),
                  else_=False).label("within")
    query = (select(RuleFiring.rule_id, minutes, within, func.count())
             .join(RuleFiring, col(RuleFiring.id) == col(Escalation.rule_firing_id))
             .join(Enrolment, col(Enrolment.id) == col(Escalation.enrolment_id))
             .where(Enrolment.program_id == window.program_id,
                    _in(window, col(RuleFiring.fired_at)))
             .group_by(RuleFiring.rule_id, minutes, within))
    return [AckCount(rule, m, bool(w), n) for rule, m, w, n in session.execute(query)]


def after_firings(session: Session, window: Window, metric_of_rule: Mapping[str, str], *,
                  depth: int) -> list[AfterFiring]:
    """For each firing in the window of a rule on a metric, the evidence it stored and the
    first `depth` values of that metric stored for the client after it fired."""
    if not metric_of_rule:
        return []
    firings = (select(RuleFiring.id, RuleFiring.enrolment_id, RuleFiring.rule_id,
                      RuleFiring.fired_at, RuleFiring.values)
               .join(Enrolment, col(Enrolment.id) == col(RuleFiring.enrolment_id))
               .where(Enrolment.program_id == window.program_id,
                      col(RuleFiring.rule_id).in_(sorted(metric_of_rule)),
                      _in(window, col(RuleFiring.fired_at))))
    found = {row.id: (row.rule_id, row.values or {}) for row in session.execute(firings)}
    if not found:
        return []
    f = firings.subquery("f")
    metric = case(dict(metric_of_rule), value=f.c.rule_id)
    ranked = (select(f.c.id.label("firing_id"), MetricValue.value,
                     func.row_number().over(partition_by=f.c.id,
                                            order_by=(col(MetricValue.at), col(MetricValue.id)))
                     .label("n"))
              .join(MetricValue, and_(col(MetricValue.enrolment_id) == f.c.enrolment_id,
                                      col(MetricValue.metric_id) == metric,
                                      col(MetricValue.at) > f.c.fired_at))
              .subquery("ranked"))
    later: dict[int, list[tuple[int, float]]] = {}
    for firing_id, value, n in session.execute(
            select(ranked.c.firing_id, ranked.c.value, ranked.c.n).where(ranked.c.n <= depth)):
        later.setdefault(firing_id, []).append((n, value))
    return [AfterFiring(firing_id, rule_id, evidence,
                        tuple(v for _, v in sorted(later.get(firing_id, []))))
            for firing_id, (rule_id, evidence) in sorted(found.items())]


# --- segments ---------------------------------------------------------------------------


def first_answers(session: Session, program_id: str, flow_id: str, question_id: str
                  ) -> dict[int, tuple[float | None, Any]]:
    """Each client's first answer to one question: (its number, its typed value)."""
    ranked = (select(Answer.enrolment_id, Answer.number, Answer.value,
                     func.row_number().over(partition_by=Answer.enrolment_id,
                                            order_by=(col(Answer.answered_at), col(Answer.id)))
                     .label("n"))
              .join(Enrolment, col(Enrolment.id) == col(Answer.enrolment_id))
              .where(Enrolment.program_id == program_id, Answer.flow_id == flow_id,
                     Answer.question_id == question_id)
              .subquery())
    rows = session.execute(select(ranked.c.enrolment_id, ranked.c.number, ranked.c.value)
                           .where(ranked.c.n == 1))
    return {e: (number, (value or {}).get("v")) for e, number, value in rows}


def latest_before(session: Session, program_id: str, metric_id: str, end: datetime
                  ) -> dict[int, float]:
    """Each client's latest value of one metric stored before `end`."""
    ranked = (select(MetricValue.enrolment_id, MetricValue.value,
                     func.row_number().over(partition_by=MetricValue.enrolment_id,
                                            order_by=(col(MetricValue.at).desc(),
                                                      col(MetricValue.id).desc()))
                     .label("n"))
              .join(Enrolment, col(Enrolment.id) == col(MetricValue.enrolment_id))
              .where(Enrolment.program_id == program_id, MetricValue.metric_id == metric_id,
                     col(MetricValue.at) < end)
              .subquery())
    rows = session.execute(select(ranked.c.enrolment_id, ranked.c.value)
                           .where(ranked.c.n == 1))
    return {e: value for e, value in rows}


def first_firing_seconds(session: Session, program_id: str, rule_ids: Sequence[str],
                         end: datetime) -> dict[int, int]:
    """Seconds from enrolment to each client's first firing of these rules before `end`."""
    if not rule_ids:
        return {}
    first = func.min(RuleFiring.fired_at)
    query = (select(RuleFiring.enrolment_id,
                    _rounded(_seconds(session, first, func.min(Enrolment.enrolled_at))))
             .join(Enrolment, col(Enrolment.id) == col(RuleFiring.enrolment_id))
             .where(Enrolment.program_id == program_id,
                    col(RuleFiring.rule_id).in_(list(rule_ids)),
                    col(RuleFiring.fired_at) < end)
             .group_by(RuleFiring.enrolment_id))
    return {e: seconds for e, seconds in session.execute(query)}
