"""The quarterly review's queries: what happened to one program over consecutive periods.

A review compares a period with the one before, so every query reads both at once (a
`Window` of consecutive periods) and groups by the period a row falls in: each table is
read once, not once per period. Everything is grouped in SQL, so what comes back follows
the number of touchpoints, weeks and clients, not the number of rows. Durations are
computed by the database (from SQLite's stored microseconds, PostgreSQL's epoch) as whole
seconds or minutes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from storage.metric_store import baseline_id
from storage.models import (
    Answer,
    Conversation,
    Enrolment,
    Escalation,
    MetricValue,
    PlannedTouchpoint,
    RuleFiring,
)
from storage.types import SQLITE_SECOND, UTCDateTime

WEEK_SECONDS = 7 * 24 * 3600
# How far past the window a send row's next occurrence is looked for: an answer counts
# for the occurrence it follows, until a little before the next one, and at most this long
# after the window (a session prep answered weeks after the session answers nothing).
HORIZON = timedelta(days=14)


@dataclass(frozen=True)
class Window:
    """One program over consecutive periods: [bounds[0], bounds[1]), [bounds[1], ...), UTC.

    A later grouping key (a program version or variant) belongs here, as one more filter
    on the enrolment, so that every query below honours it.
    """

    program_id: str
    bounds: tuple[datetime, ...]

    @property
    def start(self) -> datetime:
        return self.bounds[0]

    @property
    def end(self) -> datetime:
        return self.bounds[-1]


class MapCount(NamedTuple):
    """Send rows of one touchpoint, period and program week with the same outcome."""

    period: int
    touchpoint_id: str
    week: int  # 1 in the first seven days after enrolment; not capped
    sent: bool  # went out (done, or sent then missed)
    on_time: bool  # sent within the tolerance of its due time
    asked: bool  # sent, or answered ahead so not sent
    answered: bool  # a completed conversation of its flow belongs to it
    within_sla: bool  # sent and answered within the touchpoint's SLA
    missed: bool  # the no-answer step ran
    rows: int


class ClientCount(NamedTuple):
    """One client's send rows in a period: how many check-ins were asked and answered."""

    period: int
    enrolment_id: int
    checkins_asked: int
    checkins_answered: int


class AnswerTimes(NamedTuple):
    """Sent rows of one touchpoint answered after the same number of minutes."""

    period: int
    touchpoint_id: str
    minutes: int
    rows: int


@dataclass(frozen=True)
class Delivery:
    """Everything the review counts of the send rows."""

    counts: list[MapCount]
    clients: list[ClientCount]
    answer_times: list[AnswerTimes]


@dataclass(frozen=True)
class Rules:
    """What the touchpoint policy needs to say about each one, passed in by the caller."""

    flows: Mapping[str, str]  # touchpoint id -> the flow it sends
    sla_seconds: Mapping[str, float]  # touchpoint id -> its SLA
    checkins: Sequence[str]  # the touchpoints that send the check-in
    on_time_seconds: float  # sent this late or less is on time
    early: timedelta  # a flow completed this long before its due time answers it


class FollowUp(NamedTuple):
    """Reminders and no-answer steps of the send rows due in one period."""

    period: int
    touchpoint_id: str
    kind: str  # remind | no_answer
    status: str
    reason: str | None
    rows: int


class MetricCount(NamedTuple):
    """Values of one metric stored in a period (and program week, for the main metric)."""

    period: int
    metric_id: str
    week: int | None
    values: int
    total: float


class AckCount(NamedTuple):
    """Escalations of one rule's firings in a period with the same time to acknowledge."""

    period: int
    rule_id: str
    ack_minutes: int | None  # None: not acknowledged
    within_sla: bool
    escalations: int


class AfterFiring(NamedTuple):
    """A firing of a metric rule and the metric's first values stored after it."""

    period: int
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
        # Stored as integer microseconds; `op` keeps each side's own type (a bound time is
        # still converted to the stored integer).
        return later.op("-", return_type=Float())(earlier) / float(SQLITE_SECOND)
    return func.extract("epoch", later - earlier)


def _rounded(expression: ColumnElement[Any]) -> ColumnElement[Any]:
    return cast(func.round(expression), Integer)


def _floor(session: Session, expression: ColumnElement[Any]) -> ColumnElement[Any]:
    # SQLite's CAST truncates (the values here are never negative); PostgreSQL's rounds.
    return cast(expression if _sqlite(session) else func.floor(expression), Integer)


def _shifted(session: Session, moment: Any, seconds: int) -> ColumnElement[Any]:
    """moment + seconds, comparable with the stored column on either database."""
    if _sqlite(session):
        return moment.op("+", return_type=Integer())(literal(seconds * SQLITE_SECOND, Integer))
    return moment + literal(timedelta(seconds=seconds))


def _moment(at: datetime) -> ColumnElement[Any]:
    """A bound UTC time, stored the way the columns store it."""
    return literal(at, UTCDateTime())


def _week(session: Session, at: Any, enrolled_at: Any) -> ColumnElement[Any]:
    """The program week of `at`, 1 in the first seven days after enrolment (not capped)."""
    return _floor(session, _seconds(session, at, enrolled_at) / WEEK_SECONDS) + 1


def _in(window: Window, at: Any) -> ColumnElement[bool]:
    return and_(at >= window.start, at < window.end)


def _period(window: Window, at: Any) -> ColumnElement[Any]:
    """The index of the period `at` falls in (for an `at` inside the window)."""
    if len(window.bounds) == 2:
        return literal(0, Integer)
    return case(*[(at < bound, index) for index, bound in enumerate(window.bounds[1:-1])],
                else_=len(window.bounds) - 2)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return case((condition, 1), else_=0)


def prepare(session: Session) -> None:
    """Settings for the review's few large queries, for this transaction only.

    PostgreSQL's JIT compiles them for longer than they run (about 0.45 s of 1.3 s for the
    send rows of 5,000 clients), and the default 4 MB of sort memory spills to disk.
    """
    if not _sqlite(session):
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '32MB'"))


# --- delivery ---------------------------------------------------------------------------


def delivery(session: Session, window: Window, rules: Rules) -> Delivery:
    """The send rows of the program due in the window, counted three ways in one statement:
    per touchpoint, period, week and outcome; per client; and by minutes to answer.

    A row counts as answered by the first completed conversation of its flow that closed
    from `rules.early` before it was due until `rules.early` before the same touchpoint's
    next row for that client (the window the scheduler and the metrics use), and at most
    `HORIZON` after the window.
    """
    facts = _facts(session, window, _send_rows(window), rules)
    out = Delivery([], [], [])
    for part, period, tp, enrolment, a, b, c, d, e, f, g, n in session.execute(
            _counted(facts, rules)):
        if part == "map":
            out.counts.append(MapCount(period, tp, a, bool(b), bool(c), bool(d), bool(e),
                                       bool(f), bool(g), n))
        elif part == "client":
            out.clients.append(ClientCount(period, enrolment, int(b), int(c)))
        else:
            out.answer_times.append(AnswerTimes(period, tp, a, n))
    return out


def _send_rows(window: Window) -> Any:
    """The program's send rows due in the window, each with its next occurrence's due time."""
    pt = PlannedTouchpoint.__table__  # type: ignore[attr-defined]
    # Each send row's next occurrence, sorted on as few columns as possible (the sort is
    # the costly part); the rest of the row is joined back by id.
    nexts = (select(pt.c.id, func.lead(pt.c.due_at).over(
                 partition_by=(pt.c.enrolment_id, pt.c.touchpoint_id),
                 order_by=pt.c.due_at).label("next_due"))
             .join(Enrolment, col(Enrolment.id) == pt.c.enrolment_id)
             .where(pt.c.kind == "send", Enrolment.program_id == window.program_id,
                    pt.c.due_at >= window.start, pt.c.due_at < window.end + HORIZON)
             .subquery("nexts"))
    return (select(pt.c.enrolment_id, pt.c.touchpoint_id, pt.c.due_at, pt.c.done_at,
                   pt.c.status, pt.c.reason, Enrolment.enrolled_at, nexts.c.next_due)
            .join(pt, pt.c.id == nexts.c.id)
            .join(Enrolment, col(Enrolment.id) == pt.c.enrolment_id)
            .where(pt.c.due_at < window.end)
            .subquery("r"))


def _facts(session: Session, window: Window, rows: Any, rules: Rules) -> Any:
    """One row per send row: its period, week and outcome flags as plain columns."""
    sent = or_(and_(rows.c.status == "done", rows.c.reason.is_(None)), rows.c.status == "missed")
    ahead = and_(rows.c.status == "skipped", rows.c.reason == "answered")
    late = _rounded(_seconds(session, rows.c.done_at, rows.c.due_at))
    sla = case(dict(rules.sla_seconds), value=rows.c.touchpoint_id) \
        if rules.sla_seconds else literal(None, Integer)
    # Materialized: the answer of each row is looked up once, then counted three ways.
    sends = (select(_period(window, rows.c.due_at).label("period"),
                    rows.c.touchpoint_id, rows.c.enrolment_id,
                    _week(session, rows.c.due_at, rows.c.enrolled_at).label("week"),
                    _flag(sent).label("sent"),
                    _flag(and_(sent, late <= rules.on_time_seconds)).label("on_time"),
                    _flag(or_(sent, ahead)).label("asked"),
                    _flag(rows.c.status == "missed").label("missed"),
                    sla.label("sla"),
                    _answer_seconds(session, window, rows, rules).label("answer"))
             .cte("sends").prefix_with("MATERIALIZED"))
    answered = sends.c.answer.is_not(None)
    # The outcome flags as columns, so that every grouping below is by plain columns.
    return (select(sends.c.period, sends.c.touchpoint_id, sends.c.enrolment_id,
                   sends.c.week, sends.c.sent, sends.c.on_time, sends.c.asked,
                   sends.c.missed, _flag(answered).label("answered"),
                   _flag(and_(sends.c.sent == 1, answered, sends.c.answer <= sends.c.sla))
                   .label("within"),
                   case((and_(sends.c.sent == 1, answered),
                         _rounded(sends.c.answer / 60.0)), else_=None).label("minutes"))
            .cte("facts").prefix_with("MATERIALIZED"))


def _counted(facts: Any, rules: Rules) -> Any:
    """The facts counted three ways in one statement: by outcome, by client, by minutes."""
    checkin = facts.c.touchpoint_id.in_(list(rules.checkins))
    by_outcome = select(
        literal("map"), facts.c.period, facts.c.touchpoint_id, cast(None, Integer),
        facts.c.week, facts.c.sent, facts.c.on_time, facts.c.asked, facts.c.answered,
        facts.c.within, facts.c.missed, func.count()
    ).group_by(facts.c.period, facts.c.touchpoint_id, facts.c.week, facts.c.sent,
               facts.c.on_time, facts.c.asked, facts.c.answered, facts.c.within,
               facts.c.missed)
    by_client = select(
        literal("client"), facts.c.period, cast(None, String), facts.c.enrolment_id,
        cast(None, Integer), func.sum(case((checkin, facts.c.asked), else_=0)),
        func.sum(case((checkin, facts.c.asked * facts.c.answered), else_=0)),
        *[cast(None, Integer)] * 4, func.count()
    ).group_by(facts.c.period, facts.c.enrolment_id)
    by_minutes = select(
        literal("minutes"), facts.c.period, facts.c.touchpoint_id, cast(None, Integer),
        facts.c.minutes, *[cast(None, Integer)] * 6, func.count()
    ).where(facts.c.minutes.is_not(None)).group_by(facts.c.period, facts.c.touchpoint_id,
                                                   facts.c.minutes)
    return union_all(by_outcome, by_client, by_minutes)


def _answer_seconds(session: Session, window: Window, rows: Any, rules: Rules
                    ) -> ColumnElement[Any]:
    """Seconds from sending a row to the answer that belongs to it; NULL if none."""
    if not rules.flows:
        return literal(None, Integer)
    conv = Conversation.__table__  # type: ignore[attr-defined]
    lead = int(rules.early.total_seconds())
    until = func.coalesce(rows.c.next_due, _moment(window.end + HORIZON))
    answered_at = (
        select(conv.c.closed_at)
        .where(conv.c.enrolment_id == rows.c.enrolment_id,
               conv.c.flow_id == case(dict(rules.flows), value=rows.c.touchpoint_id),
               conv.c.outcome == "completed",
               conv.c.closed_at >= _shifted(session, rows.c.due_at, -lead),
               conv.c.closed_at < _shifted(session, until, -lead))
        # The first one: ordered by the index (enrolment, closed_at), so the search stops
        # at the first match instead of reading every later conversation.
        .order_by(conv.c.closed_at).limit(1)
        .scalar_subquery())
    # Only flow touchpoints can be answered: message rows never run the subquery.
    return case((rows.c.touchpoint_id.in_(sorted(rules.flows)),
                 _rounded(_seconds(session, answered_at, rows.c.done_at))), else_=None)


def follow_ups(session: Session, window: Window) -> list[FollowUp]:
    """Reminders and no-answer steps per period and touchpoint, of the send rows due."""
    child, parent = aliased(PlannedTouchpoint), aliased(PlannedTouchpoint)
    period = _period(window, col(parent.due_at)).label("period")
    query = (select(period, parent.touchpoint_id, child.kind, child.status, child.reason,
                    func.count())
             .join(parent, col(parent.id) == col(child.parent_id))
             .join(Enrolment, col(Enrolment.id) == col(parent.enrolment_id))
             .where(col(child.kind).in_(("remind", "no_answer")),
                    Enrolment.program_id == window.program_id,
                    _in(window, col(parent.due_at)))
             .group_by(period, parent.touchpoint_id, child.kind, child.status, child.reason))
    return [FollowUp(*row) for row in session.execute(query)]


# --- metrics and rules ------------------------------------------------------------------


def metric_counts(session: Session, window: Window, metric_ids: Sequence[str],
                  weekly_metric: str | None) -> list[MetricCount]:
    """Values of these metrics (baselines too, if listed) stored per period; for
    `weekly_metric`, also per program week with their sum (for its mean by week)."""
    week = case((MetricValue.metric_id == weekly_metric,
                 _week(session, MetricValue.at, Enrolment.enrolled_at)),
                else_=None).label("week") if weekly_metric else literal(None, Integer)
    period = _period(window, col(MetricValue.at)).label("period")
    # The metric ids let the index (enrolment, metric, at) find the window's rows.
    query = (select(period, MetricValue.metric_id, week, func.count(),
                    func.sum(MetricValue.value))
             .join(Enrolment, col(Enrolment.id) == col(MetricValue.enrolment_id))
             .where(Enrolment.program_id == window.program_id,
                    col(MetricValue.metric_id).in_(list(metric_ids)),
                    _in(window, col(MetricValue.at)))
             .group_by(period, MetricValue.metric_id, week))
    return [MetricCount(p, metric, w, n, float(total or 0))
            for p, metric, w, n, total in session.execute(query)]


def firings_per_rule(session: Session, window: Window) -> dict[tuple[int, str], int]:
    """How many times each rule fired in each period: {(period, rule id): firings}."""
    period = _period(window, col(RuleFiring.fired_at)).label("period")
    query = (select(period, RuleFiring.rule_id, func.count())
             .join(Enrolment, col(Enrolment.id) == col(RuleFiring.enrolment_id))
             .where(Enrolment.program_id == window.program_id,
                    _in(window, col(RuleFiring.fired_at)))
             .group_by(period, RuleFiring.rule_id))
    return {(p, rule_id): count for p, rule_id, count in session.execute(query)}


def rule_escalations(session: Session, window: Window) -> list[AckCount]:
    """The escalations opened by rule firings in the window, by time to acknowledge."""
    minutes = _rounded(_seconds(session, Escalation.acknowledged_at, Escalation.opened_at)
                       / 60).label("minutes")
    within = _flag(col(Escalation.acknowledged_at) <= col(Escalation.sla_due_at)
                   ).label("within")
    period = _period(window, col(RuleFiring.fired_at)).label("period")
    query = (select(period, RuleFiring.rule_id, minutes, within, func.count())
             .join(RuleFiring, col(RuleFiring.id) == col(Escalation.rule_firing_id))
             .join(Enrolment, col(Enrolment.id) == col(Escalation.enrolment_id))
             .where(Enrolment.program_id == window.program_id,
                    _in(window, col(RuleFiring.fired_at)))
             .group_by(period, RuleFiring.rule_id, minutes, within))
    return [AckCount(p, rule, m, bool(w), n) for p, rule, m, w, n in session.execute(query)]


def after_firings(session: Session, window: Window, metric_of_rule: Mapping[str, str], *,
                  depth: int) -> list[AfterFiring]:
    """For each firing in the window of a rule on a metric, the evidence it stored and the
    first `depth` values of that metric stored for the client after it fired."""
    if not metric_of_rule:
        return []
    firings = (select(RuleFiring.id, RuleFiring.enrolment_id, RuleFiring.rule_id,
                      RuleFiring.fired_at, RuleFiring.values,
                      _period(window, col(RuleFiring.fired_at)).label("period"))
               .join(Enrolment, col(Enrolment.id) == col(RuleFiring.enrolment_id))
               .where(Enrolment.program_id == window.program_id,
                      col(RuleFiring.rule_id).in_(sorted(metric_of_rule)),
                      _in(window, col(RuleFiring.fired_at))))
    found = {row.id: (row.period, row.rule_id, row.values or {})
             for row in session.execute(firings)}
    if not found:
        return []
    f = firings.subquery("f")
    metric = case(dict(metric_of_rule), value=f.c.rule_id)
    ranked = (select(f.c.id.label("firing_id"), MetricValue.value,
                     func.row_number().over(partition_by=f.c.id,
                                            order_by=col(MetricValue.at))
                     .label("n"))
              .join(MetricValue, and_(col(MetricValue.enrolment_id) == f.c.enrolment_id,
                                      col(MetricValue.metric_id) == metric,
                                      col(MetricValue.at) > f.c.fired_at))
              .subquery("ranked"))
    later: dict[int, list[tuple[int, float]]] = {}
    for firing_id, value, n in session.execute(
            select(ranked.c.firing_id, ranked.c.value, ranked.c.n).where(ranked.c.n <= depth)):
        later.setdefault(firing_id, []).append((n, value))
    return [AfterFiring(period, firing_id, rule_id, evidence,
                        tuple(v for _, v in sorted(later.get(firing_id, []))))
            for firing_id, (period, rule_id, evidence) in sorted(found.items())]


# --- segments ---------------------------------------------------------------------------


def first_answers(session: Session, program_id: str, flow_id: str, question_id: str
                  ) -> dict[int, tuple[float | None, Any]]:
    """Each client's first answer to one question: (its number, its typed value)."""
    ranked = (select(Answer.enrolment_id, Answer.number, Answer.value,
                     func.row_number().over(partition_by=Answer.enrolment_id,
                                            order_by=(col(Answer.answered_at), col(Answer.id)))
                     .label("n"))
              .join(Enrolment, col(Enrolment.id) == col(Answer.enrolment_id))
              .join(Conversation, col(Conversation.id) == col(Answer.conversation_id))
              .where(Enrolment.program_id == program_id, Conversation.flow_id == flow_id,
                     Answer.question_id == question_id)
              .subquery())
    rows = session.execute(select(ranked.c.enrolment_id, ranked.c.number, ranked.c.value)
                           .where(ranked.c.n == 1))
    return {e: (number, (value or {}).get("v")) for e, number, value in rows}


def changes_from_baseline(session: Session, window: Window, metric_id: str
                          ) -> list[dict[int, float]]:
    """Per period, each client's latest value of a metric minus its latest baseline, both
    as they stood at the end of that period (clients with both only).

    One index lookup per client, metric and end (the index on enrolment, metric, time
    gives the latest directly), rather than ranking every value ever stored.
    """
    ends = window.bounds[1:]

    def latest(metric: str, end: datetime) -> Any:
        return (select(MetricValue.value)
                .where(col(MetricValue.enrolment_id) == col(Enrolment.id),
                       MetricValue.metric_id == metric, col(MetricValue.at) < end)
                .order_by(col(MetricValue.at).desc())
                .limit(1).scalar_subquery())

    columns = [latest(m, end) for end in ends for m in (metric_id, baseline_id(metric_id))]
    out: list[dict[int, float]] = [{} for _ in ends]
    for e, *values in session.execute(select(Enrolment.id, *columns)
                                      .where(Enrolment.program_id == window.program_id)):
        for index, changes in enumerate(out):
            value, base = values[2 * index], values[2 * index + 1]
            if value is not None and base is not None:
                changes[e] = value - base
    return out


def first_firing_seconds(session: Session, window: Window, rule_ids: Sequence[str]
                         ) -> list[dict[int, int]]:
    """Per period, seconds from enrolment to each client's first firing of these rules
    before the end of that period."""
    ends = window.bounds[1:]
    if not rule_ids:
        return [{} for _ in ends]
    query = (select(RuleFiring.enrolment_id, Enrolment.enrolled_at,
                    func.min(RuleFiring.fired_at))
             .join(Enrolment, col(Enrolment.id) == col(RuleFiring.enrolment_id))
             .where(Enrolment.program_id == window.program_id,
                    col(RuleFiring.rule_id).in_(list(rule_ids)),
                    col(RuleFiring.fired_at) < window.end)
             .group_by(RuleFiring.enrolment_id, Enrolment.enrolled_at))
    out: list[dict[int, int]] = [{} for _ in ends]
    for e, enrolled, first in session.execute(query):
        for index, end in enumerate(ends):
            if first < end:
                out[index][e] = round((first - enrolled).total_seconds())
    return out
