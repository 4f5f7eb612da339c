"""Metric inputs and values: one enrolment's history read from the database, and the metric
values stored with a time whenever they change (reads take the latest stored values)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from conversations.action_items import completions, item_of
from conversations.journey import ANSWERED_EARLY
from conversations.metrics import AnswerPoint, History
from conversations.program import Program
from conversations.program_diff import renamed_questions
from conversations.running import ENDED, Aggregate, DueRow, Given, records
from storage.models import Answer, Conversation, Enrolment, MetricValue, PlannedTouchpoint
from storage.upsert import insert_or_replace_many

# A metric value's key: one value per enrolment, metric and instant.
KEY = ["enrolment_id", "metric_id", "at"]
# Each metric's (and baseline's) latest stored value with its time, by metric id.
Latest = dict[str, tuple[float, datetime]]


def baseline_id(metric_id: str) -> str:
    """The stored id of a metric's baseline (a dot never occurs in a metric id)."""
    return f"{metric_id}.baseline"


def checkin_touchpoints(program: Program) -> list[str]:
    """Ids of the touchpoints that send the program's check-in flow."""
    return [t.id for t in program.touchpoints if t.send.flow == program.checkin_flow]


def load_history(session: Session, program: Program, enrolment: Enrolment,
                 now: datetime) -> History:
    """What the metrics of one enrolment are computed from, as of `now` (the whole history)."""
    rows, done, given = load_since(session, program, enrolment.id or 0, None, now)
    ended = [r for r in rows if r.status in ENDED]
    answers: dict[str, list[AnswerPoint]] = {}
    refs = answer_refs(program)
    last_reply: datetime | None = None
    scored: list[tuple[int, datetime, float]] = []  # answers about action items
    for answer in given:
        last_reply = answer.replied_at if last_reply is None else max(last_reply,
                                                                       answer.replied_at)
        if answer.number is None:
            continue
        if item_of(answer.ref.partition(".")[2]) is not None:
            scored.append((answer.conversation_id, answer.at, answer.number))
        elif answer.ref in refs:
            answers.setdefault(answer.ref, []).append(AnswerPoint(answer.at, answer.number))
    return History(checkins=records(ended, done, checkin_sla(program)), answers=answers,
                   last_reply_at=last_reply,
                   enrolled_at=enrolment.joined_at or enrolment.enrolled_at,
                   action_items=completions(scored))


def answer_refs(program: Program) -> set[str]:
    """The answers ("flow.question") a metric or a baseline of the program reads."""
    refs = {m.source.answer for m in program.metrics if m.source.answer}
    return refs | {m.baseline for m in program.metrics if m.baseline}


def load_since(session: Session, program: Program, enrolment_id: int,
               aggregate: Aggregate | None, now: datetime
               ) -> tuple[list[DueRow], list[tuple[datetime, datetime | None]], list[Given]]:
    """The history not folded into `aggregate` yet (all of it without one), as of `now`:
    the check-in rows due (any status), the completed check-ins, the answers given (the
    answers about action items among them)."""
    checkins_from = aggregate.checkins_from if aggregate else None
    answers_from = aggregate.answers_from if aggregate else None
    since = checkins_from is not None
    rows = [DueRow(due_at, status) for due_at, status in session.execute(
        _rows(since), {"enrolment_id": enrolment_id, "now": now, "from": checkins_from,
                       "touchpoints": checkin_touchpoints(program)})]
    done = [(start, closed) for start, closed in session.execute(
        _done(since), {"enrolment_id": enrolment_id, "flow": program.checkin_flow,
                       "from": checkins_from - ANSWERED_EARLY if since else None})]
    answers_query = _answers(answers_from is not None)
    # Answers given under a question's earlier id count as the renamed question's.
    aliases = renamed_questions(program)
    given = []
    for flow_id, question_id, number, at, edited, conversation_id in session.execute(
            answers_query, {"enrolment_id": enrolment_id, "from": answers_from}):
        ref = f"{flow_id}.{question_id}"
        given.append(Given(aliases.get(ref, ref), at, number, max(at, edited) if edited else at,
                           conversation_id))
    return rows, done, given


# The statements are built once per shape: building them per call was most of a completing
# check-in's cost. `since`: only what came from the aggregate's checkpoint ("from") on.
@cache
def _rows(since: bool):
    query = (select(PlannedTouchpoint.due_at, PlannedTouchpoint.status)
             .where(PlannedTouchpoint.enrolment_id == bindparam("enrolment_id"),
                    PlannedTouchpoint.kind == "send",
                    col(PlannedTouchpoint.touchpoint_id).in_(
                        bindparam("touchpoints", expanding=True)),
                    col(PlannedTouchpoint.due_at) <= bindparam("now"))
             .order_by(col(PlannedTouchpoint.due_at)))
    return query.where(col(PlannedTouchpoint.due_at) >= bindparam("from")) if since else query


@cache
def _done(since: bool):
    query = (select(Conversation.started_at, Conversation.closed_at)
             .where(Conversation.enrolment_id == bindparam("enrolment_id"),
                    Conversation.flow_id == bindparam("flow"),
                    Conversation.outcome == "completed")
             .order_by(col(Conversation.closed_at)))
    return query.where(col(Conversation.closed_at) >= bindparam("from")) if since else query


@cache
def _answers(since: bool):
    query = (select(Conversation.flow_id, Answer.question_id, Answer.number,
                    Answer.answered_at, Answer.edited_at, Answer.conversation_id)
             .join(Conversation, col(Conversation.id) == Answer.conversation_id)
             .where(Answer.enrolment_id == bindparam("enrolment_id"))
             .order_by(col(Answer.answered_at), col(Answer.id)))
    return query.where(col(Answer.answered_at) >= bindparam("from")) if since else query


def checkin_sla(program: Program) -> float | None:
    """The check-in's answer window in hours, if the program sets one."""
    for tp in program.touchpoints:
        if tp.send.flow == program.checkin_flow and tp.sla is not None:
            return tp.sla.total_seconds() / 3600
    return None


def stored_since(session: Session, enrolment_id: int, metric_ids: list[str],
                 since: datetime) -> dict[str, list[StoredPoint]]:
    """The stored values of these metrics from `since` on, by metric id, oldest first."""
    by_metric: dict[str, list[StoredPoint]] = {}
    for metric_id, value, at in session.execute(_stored_since(), {
            "enrolment_id": enrolment_id, "metric_ids": metric_ids, "since": since}):
        by_metric.setdefault(metric_id, []).append(StoredPoint(value, at))
    return by_metric


@cache
def _stored_since():
    return (select(MetricValue.metric_id, MetricValue.value, MetricValue.at)
            .where(MetricValue.enrolment_id == bindparam("enrolment_id"),
                   col(MetricValue.metric_id).in_(bindparam("metric_ids", expanding=True)),
                   col(MetricValue.at) >= bindparam("since"))
            .order_by(col(MetricValue.at)))


def latest_values(session: Session, enrolment_id: int) -> Latest:
    """The latest stored value of each metric (and baseline) of an enrolment, with its time."""
    latest: Latest = {}
    for metric_id, value, at in session.exec(
            select(MetricValue.metric_id, MetricValue.value, MetricValue.at)
            .where(MetricValue.enrolment_id == enrolment_id).order_by(col(MetricValue.at))):
        latest[metric_id] = (value, at)
    return latest


def stored_series(session: Session, enrolment_id: int, metric_id: str) -> list[MetricValue]:
    """Every stored value of one metric, oldest first."""
    return list(session.exec(
        select(MetricValue).where(MetricValue.enrolment_id == enrolment_id,
                                  MetricValue.metric_id == metric_id)
        .order_by(col(MetricValue.at))))


@dataclass(frozen=True)
class StoredPoint:
    """One stored metric value: its value and time (plain data, not an ORM row)."""

    value: float
    at: datetime


def all_stored(session: Session, enrolment_id: int) -> dict[str, list[StoredPoint]]:
    """Every stored value of an enrolment by metric id, oldest first (one query)."""
    by_metric: dict[str, list[StoredPoint]] = {}
    for metric_id, value, at in session.exec(
            select(MetricValue.metric_id, MetricValue.value, MetricValue.at)
            .where(MetricValue.enrolment_id == enrolment_id).order_by(col(MetricValue.at))):
        by_metric.setdefault(metric_id, []).append(StoredPoint(value, at))
    return by_metric


def store_points(enrolment_id: int, metric_id: str, points: list[tuple[datetime, float]],
                 stored_rows: list[StoredPoint], new_rows: list[dict], *,
                 version: int | None = None) -> int:
    """Add an answer metric's new and corrected points (an edited answer) to `new_rows`, each
    written by program `version`; `insert_all` stores them, a corrected one in its row's
    place. `stored_rows` are the metric's rows so far. Returns the rows changed."""
    stored = {row.at: row.value for row in stored_rows}
    changed = 0
    for at, value in points:
        if at not in stored or stored[at] != value:
            new_rows.append({"enrolment_id": enrolment_id, "metric_id": metric_id,
                             "value": value, "at": at, "program_version_id": version})
            changed += 1
    return changed


def store_if_changed(enrolment_id: int, metric_id: str, value: float, at: datetime,
                     latest: Latest, new_rows: list[dict], *,
                     version: int | None = None) -> bool:
    """Add a value (computed by program `version`) to `new_rows` unless it equals the latest
    stored one; True if added."""
    previous = latest.get(metric_id)
    if previous is not None and previous[0] == value:
        return False
    new_rows.append({"enrolment_id": enrolment_id, "metric_id": metric_id, "value": value,
                     "at": at, "program_version_id": version})
    latest[metric_id] = (value, at)
    return True


def insert_all(session: Session, new_rows: list[dict]) -> None:
    """Store the metric values collected by `store_points` and `store_if_changed` in one
    statement; a metric computed twice at one instant (a clock standing still) keeps the
    later value, as the later row was the one read before."""
    insert_or_replace_many(session, MetricValue, new_rows, KEY)


def latest_texts(session: Session, enrolment_id: int, refs: set[str],
                 earlier: dict[str, str] | None = None) -> dict[str, str]:
    """The latest text answer of each "flow.question" asked for; `earlier` maps a renamed
    question's earlier ref to its ref, so an answer under the earlier id counts."""
    texts: dict[str, str] = {}
    before = {new: old.split(".", 1)[1] for old, new in (earlier or {}).items()}
    for ref in sorted(refs):
        flow_id, question_id = ref.split(".", 1)
        ids = [question_id, *([before[ref]] if ref in before else [])]
        value = session.execute(_latest_answer(), {
            "enrolment_id": enrolment_id, "flow": flow_id, "ids": ids}).scalar()
        if value is not None and isinstance(value.get("v"), str):
            texts[ref] = value["v"]
    return texts


@cache
def _latest_answer():
    # One row per question, newest first: the history can be long, only the last counts.
    return (select(Answer.value)
            .join(Conversation, col(Conversation.id) == Answer.conversation_id)
            .where(Answer.enrolment_id == bindparam("enrolment_id"),
                   Conversation.flow_id == bindparam("flow"),
                   col(Answer.question_id).in_(bindparam("ids", expanding=True)))
            .order_by(col(Answer.answered_at).desc(), col(Answer.id).desc())
            .limit(1))


def missed_since(session: Session, since: datetime) -> set[int]:
    """Enrolments whose flow was found unanswered (a no-answer step ran) since `since`."""
    return {row for row in session.exec(
        select(PlannedTouchpoint.enrolment_id)
        .where(PlannedTouchpoint.kind == "no_answer", PlannedTouchpoint.status == "done",
               col(PlannedTouchpoint.done_at) >= since)) if row is not None}


def active_enrolments(session: Session) -> list[int]:
    """Ids of every active enrolment (the daily check of time-based rules)."""
    return [row for row in session.exec(
        select(Enrolment.id).where(Enrolment.status == "active").order_by(col(Enrolment.id)))
        if row is not None]


def rename_metric(session: Session, program_id: str, *, before: str, after: str) -> int:
    """Keep a renamed metric's history (and its baseline's) under its new id; rows moved."""
    enrolments = select(Enrolment.id).where(Enrolment.program_id == program_id)
    moved = 0
    for old, new in ((before, after), (baseline_id(before), baseline_id(after))):
        result = session.exec(  # type: ignore[call-overload]
            update(MetricValue)
            .where(col(MetricValue.metric_id) == old,
                   col(MetricValue.enrolment_id).in_(enrolments.scalar_subquery()))
            .values(metric_id=new))
        moved += result.rowcount or 0
    return moved
