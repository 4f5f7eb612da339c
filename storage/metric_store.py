"""Metric inputs and values: one enrolment's history read from the database, and the metric
values stored with a time whenever they change (reads take the latest stored values)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from conversations.action_items import completion, item_of
from conversations.metrics import AnswerPoint, CheckinRecord, History
from conversations.program import Program
from conversations.program_diff import renamed_questions
from storage.models import Answer, Conversation, Enrolment, MetricValue, PlannedTouchpoint

# A check-in completed this long before its due time counts as that week's (the scheduler
# skips the send then, with reason "answered").
EARLY = timedelta(hours=24)
# Rows that say a check-in was due and what became of it; "done" means sent and answered
# or still open, "missed" unanswered, "skipped"/"answered" answered ahead of time.
_ENDED = ("done", "missed", "skipped")


def baseline_id(metric_id: str) -> str:
    """The stored id of a metric's baseline (a dot never occurs in a metric id)."""
    return f"{metric_id}.baseline"


def checkin_touchpoints(program: Program) -> list[str]:
    """Ids of the touchpoints that send the program's check-in flow."""
    return [t.id for t in program.touchpoints if t.send.flow == program.checkin_flow]


def load_history(session: Session, program: Program, enrolment: Enrolment,
                 now: datetime) -> History:
    """What the metrics of one enrolment are computed from, as of `now`."""
    enrolment_id = enrolment.id or 0
    rows = list(session.exec(
        select(PlannedTouchpoint.due_at, PlannedTouchpoint.status, PlannedTouchpoint.reason)
        .where(PlannedTouchpoint.enrolment_id == enrolment_id, PlannedTouchpoint.kind == "send",
               col(PlannedTouchpoint.touchpoint_id).in_(checkin_touchpoints(program)),
               col(PlannedTouchpoint.status).in_(_ENDED), col(PlannedTouchpoint.due_at) <= now)
        .order_by(col(PlannedTouchpoint.due_at))))
    done = list(session.exec(
        select(Conversation.started_at, Conversation.closed_at)
        .where(Conversation.enrolment_id == enrolment_id,
               Conversation.flow_id == program.checkin_flow, Conversation.outcome == "completed")
        .order_by(col(Conversation.closed_at))))
    sla = _checkin_sla(program)
    checkins = _match(rows, done, sla)
    refs = {m.source.answer for m in program.metrics if m.source.answer}
    refs |= {m.baseline for m in program.metrics if m.baseline}
    flows = {ref.split(".", 1)[0] for ref in refs if ref}
    answers: dict[str, list[AnswerPoint]] = {}
    last_reply: datetime | None = None
    # Answers given under a question's earlier id count as the renamed question's.
    aliases = renamed_questions(program)
    flows |= {ref.split(".", 1)[0] for ref in aliases}
    # Each check-in's answers about action items, by conversation: (first answer, scores).
    items: dict[int, tuple[datetime, list[float]]] = {}
    for flow_id, question_id, number, at, edited, conversation_id in session.exec(
            select(Answer.flow_id, Answer.question_id, Answer.number, Answer.answered_at,
                   Answer.edited_at, Answer.conversation_id)
            .where(Answer.enrolment_id == enrolment_id)
            .order_by(col(Answer.answered_at), col(Answer.id))):
        latest = max(at, edited) if edited else at
        last_reply = latest if last_reply is None else max(last_reply, latest)
        if item_of(question_id) is not None and number is not None:
            items.setdefault(conversation_id, (at, []))[1].append(number)
            continue
        ref = f"{flow_id}.{question_id}"
        ref = aliases.get(ref, ref)
        if flow_id in flows and ref in refs and number is not None:
            answers.setdefault(ref, []).append(AnswerPoint(at=at, value=number))
    done = [AnswerPoint(at=at, value=value) for at, scores in items.values()
            if (value := completion(scores)) is not None]
    return History(checkins=checkins, answers=answers, last_reply_at=last_reply,
                   enrolled_at=enrolment.joined_at or enrolment.enrolled_at,
                   action_items=sorted(done, key=lambda p: p.at))


def _checkin_sla(program: Program) -> float | None:
    for tp in program.touchpoints:
        if tp.send.flow == program.checkin_flow and tp.sla is not None:
            return tp.sla.total_seconds() / 3600
    return None


def _match(rows: list, done: list, sla: float | None) -> list[CheckinRecord]:
    """Pair each due check-in with the completed check-in that answered it.

    A completed check-in belongs to the due row whose window (from a day before it was due
    until a day before the next one) holds its completion; one that belongs to no row
    (asked for with /checkin between weeks) is a record of its own.
    """
    completed = [(start, closed) for start, closed in done if closed is not None]
    used = [False] * len(completed)
    records: list[CheckinRecord] = []
    k = 0  # both lists are in time order and the windows follow each other: one pass
    for i, (due_at, status, _reason) in enumerate(rows):
        end = rows[i + 1][0] - EARLY if i + 1 < len(rows) else None
        while k < len(completed) and completed[k][1] < due_at - EARLY:
            k += 1  # completed before this window: a record of its own (below)
        if k < len(completed) and (end is None or completed[k][1] < end):
            used[k] = True
            records.append(CheckinRecord(due_at, completed[k][1], sla))
            k += 1
        elif status == "missed":
            records.append(CheckinRecord(due_at, None, sla))
        # A row sent and still open is neither answered nor missed yet: not counted.
    for j, (start, closed) in enumerate(completed):
        if not used[j]:
            records.append(CheckinRecord(start, closed, sla))
    return sorted(records, key=lambda r: r.due_at)


def latest_values(session: Session, enrolment_id: int) -> dict[str, tuple[float, datetime]]:
    """The latest stored value of each metric (and baseline) of an enrolment, with its time."""
    latest: dict[str, tuple[float, datetime]] = {}
    for metric_id, value, at in session.exec(
            select(MetricValue.metric_id, MetricValue.value, MetricValue.at)
            .where(MetricValue.enrolment_id == enrolment_id)
            .order_by(col(MetricValue.at), col(MetricValue.id))):
        latest[metric_id] = (value, at)
    return latest


def stored_series(session: Session, enrolment_id: int, metric_id: str) -> list[MetricValue]:
    """Every stored value of one metric, oldest first."""
    return list(session.exec(
        select(MetricValue).where(MetricValue.enrolment_id == enrolment_id,
                                  MetricValue.metric_id == metric_id)
        .order_by(col(MetricValue.at), col(MetricValue.id))))


@dataclass(frozen=True)
class StoredPoint:
    """One stored metric value: its row id, value and time (plain data, not an ORM row)."""

    id: int
    value: float
    at: datetime


def all_stored(session: Session, enrolment_id: int) -> dict[str, list[StoredPoint]]:
    """Every stored value of an enrolment by metric id, oldest first (one query)."""
    by_metric: dict[str, list[StoredPoint]] = {}
    for row_id, metric_id, value, at in session.exec(
            select(MetricValue.id, MetricValue.metric_id, MetricValue.value, MetricValue.at)
            .where(MetricValue.enrolment_id == enrolment_id)
            .order_by(col(MetricValue.at), col(MetricValue.id))):
        by_metric.setdefault(metric_id, []).append(StoredPoint(row_id or 0, value, at))
    return by_metric


def store_points(session: Session, enrolment_id: int, metric_id: str,
                 points: list[tuple[datetime, float]], stored_rows: list[StoredPoint], *,
                 version: str | None = None) -> int:
    """Store an answer metric's points: new ones are added, corrected ones (an edited answer)
    updated in place; each written by program `version`. `stored_rows` are the metric's rows
    so far. Returns the rows changed."""
    stored = {row.at: row for row in stored_rows}
    changed = 0
    for at, value in points:
        row = stored.get(at)
        if row is None:
            session.add(MetricValue(enrolment_id=enrolment_id, metric_id=metric_id,
                                    value=value, at=at, program_checksum=version))
            changed += 1
        elif row.value != value:
            session.execute(update(MetricValue).where(col(MetricValue.id) == row.id)
                            .values(value=value, program_checksum=version))
            changed += 1
    return changed


def store_if_changed(session: Session, enrolment_id: int, metric_id: str, value: float,
                     at: datetime, latest: dict[str, tuple[float, datetime]], *,
                     version: str | None = None) -> bool:
    """Store a value (computed by program `version`) unless it equals the latest stored one;
    True if stored."""
    previous = latest.get(metric_id)
    if previous is not None and previous[0] == value:
        return False
    session.add(MetricValue(enrolment_id=enrolment_id, metric_id=metric_id, value=value, at=at,
                            program_checksum=version))
    latest[metric_id] = (value, at)
    return True


def latest_texts(session: Session, enrolment_id: int, refs: set[str],
                 earlier: dict[str, str] | None = None) -> dict[str, str]:
    """The latest text answer of each "flow.question" asked for; `earlier` maps a renamed
    question's earlier ref to its ref, so an answer under the earlier id counts."""
    texts: dict[str, str] = {}
    before = {new: old.split(".", 1)[1] for old, new in (earlier or {}).items()}
    for ref in sorted(refs):
        flow_id, question_id = ref.split(".", 1)
        ids = [question_id, *([before[ref]] if ref in before else [])]
        # One row per question, newest first: the history can be long, only the last counts.
        value = session.exec(
            select(Answer.value)
            .where(Answer.enrolment_id == enrolment_id, Answer.flow_id == flow_id,
                   col(Answer.question_id).in_(ids))
            .order_by(col(Answer.answered_at).desc(), col(Answer.id).desc())
            .limit(1)).first()
        if value is not None and isinstance(value.get("v"), str):
            texts[ref] = value["v"]
    return texts


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
