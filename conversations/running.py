"""Running aggregates of one client's history, so an evaluation reads only what is new. Pure.

The history is cut at a checkpoint before which nothing can change any more: the check-ins
due before it are settled (answered, or found missed, and the next one was due too, so no
later completion can fall in their window) and the answers before it were given. The
aggregate keeps what the metrics and rules need of that settled part: the counts behind
the rates and the streak, the last few values of each series (as far back as a rule
looks), the first value of each baseline, the latest reply, and the last completions of
action items with the latest check-in's item scores (its later answers still join them: a
check-in's completion is one point, at its first answer about an item). An evaluation folds in
what came after the checkpoint and moves it forward. The answers are the same as
`conversations.metrics` computing from the whole history (a property test compares them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from conversations.action_items import completion, item_of
from conversations.journey import ANSWERED_EARLY
from conversations.metrics import AnswerPoint, CheckinRecord
from conversations.program import Metric

# Statuses of due rows that say what became of a check-in; "done" means sent and answered
# or still open, "missed" unanswered, "skipped" answered ahead of time.
ENDED = ("done", "missed", "skipped")
BEHAVIOURS = ("streak", "response_rate", "on_time_rate")


@dataclass(frozen=True)
class DueRow:
    """A check-in the scheduler sent (or skipped) and what became of it."""

    due_at: datetime
    status: str


@dataclass(frozen=True)
class Given:
    """An answer as the metrics read it: its question ("flow.question", renames applied),
    its time, its number (None for text; an action item's score), when the client last
    touched it, and the conversation it was given in."""

    ref: str
    at: datetime
    number: float | None
    replied_at: datetime
    conversation_id: int


class ItemScores(BaseModel):
    """The scores of one check-in's answers about action items so far."""

    conversation_id: int
    at: datetime  # its first answer about an item: when its completion is counted
    scores: list[float]


class Aggregate(BaseModel):
    """What the metrics need of the settled part of a history (stored as JSON)."""

    key: str  # the program version and variant it was computed for
    checkins_from: datetime | None = None  # check-ins due from here on are not folded in
    answers_from: datetime | None = None  # answers given from here on are not folded in
    folded_at: datetime | None = None
    count: int = 0
    answered: int = 0
    on_time: int = 0
    streak: int = 0
    behaviour: dict[str, list[float]] = Field(default_factory=dict)  # last values per kind
    points: dict[str, list[tuple[datetime, float]]] = Field(default_factory=dict)
    firsts: dict[str, tuple[datetime, float]] = Field(default_factory=dict)
    last_reply_at: datetime | None = None
    action_items: list[tuple[datetime, float]] = Field(default_factory=list)  # last completions
    checkin_items: ItemScores | None = None  # the latest check-in's, which its answers join
    stored: dict[str, float] = Field(default_factory=dict)  # latest stored value per metric


@dataclass(frozen=True)
class Current:
    """The metrics' inputs now: series cut to the rules' look-back, and what is new."""

    behaviour: dict[str, list[float]]  # per behaviour kind, one value per due check-in
    points: dict[str, list[AnswerPoint]]  # per answer ref, the latest points
    new_points: dict[str, list[AnswerPoint]]  # per answer ref, points since the checkpoint
    firsts: dict[str, AnswerPoint]
    last_reply_at: datetime | None
    action_items: list[AnswerPoint]  # the latest completions of action items
    new_action_items: list[AnswerPoint]  # the completions the answers since the checkpoint changed


def match(rows: Sequence[DueRow], done: Sequence[tuple[datetime, datetime | None]],
          sla: float | None) -> tuple[list[CheckinRecord | None], list[CheckinRecord]]:
    """Pair each due check-in with the completed check-in that answered it.

    A completed check-in belongs to the due row whose window (from a day before it was due
    until a day before the next one) holds its completion. Returns one record per row
    (None for a row sent and still open: neither answered nor missed yet) and the
    completed check-ins that belong to no row (asked for with /checkin between weeks).
    """
    completed = [(start, closed) for start, closed in done if closed is not None]
    used = [False] * len(completed)
    per_row: list[CheckinRecord | None] = []
    k = 0  # both lists are in time order and the windows follow each other: one pass
    for i, row in enumerate(rows):
        end = rows[i + 1].due_at - ANSWERED_EARLY if i + 1 < len(rows) else None
        while k < len(completed) and completed[k][1] < row.due_at - ANSWERED_EARLY:
            k += 1  # completed before this window: a record of its own
        if k < len(completed) and (end is None or completed[k][1] < end):
            used[k] = True
            per_row.append(CheckinRecord(row.due_at, completed[k][1], sla))
            k += 1
        elif row.status == "missed":
            per_row.append(CheckinRecord(row.due_at, None, sla))
        else:
            per_row.append(None)
    extra = [CheckinRecord(start, closed, sla)
             for j, (start, closed) in enumerate(completed) if not used[j]]
    return per_row, extra


def records(rows: Sequence[DueRow], done: Sequence[tuple[datetime, datetime | None]],
            sla: float | None) -> list[CheckinRecord]:
    """Every check-in record of a history, in due order (rows already filtered to ENDED)."""
    per_row, extra = match(rows, done, sla)
    return sorted([r for r in per_row if r is not None] + extra, key=lambda r: r.due_at)


class _Run:
    """The behaviour counters, advanced one due check-in at a time."""

    def __init__(self, agg: Aggregate, depth: int) -> None:
        self.count, self.answered, self.on_time = agg.count, agg.answered, agg.on_time
        self.streak, self.depth = agg.streak, depth
        self.values = {kind: list(agg.behaviour.get(kind, ())) for kind in BEHAVIOURS}

    def add(self, record: CheckinRecord) -> None:
        self.count += 1
        self.streak = self.streak + 1 if record.answered else 0
        self.answered += record.answered
        self.on_time += record.on_time
        for kind, value in (("streak", float(self.streak)),
                            ("response_rate", round(self.answered / self.count, 4)),
                            ("on_time_rate", round(self.on_time / self.count, 4))):
            self.values[kind] = [*self.values[kind], value][-self.depth:]


def fold(agg: Aggregate, rows: Sequence[DueRow], done: Sequence[tuple[datetime, datetime | None]],
         given: Sequence[Given], *, sla: float | None, now: datetime, depth: int,
         refs: set[str]) -> tuple[Current, Aggregate] | None:
    """The inputs now and the aggregate moved forward, from `agg` and what came after it.

    `rows` are the check-in rows due since `agg.checkins_from` up to `now` (any status, in
    due order), `done` the completed check-ins closed since a day before it, `given` the
    answers since `agg.answers_from` in the order given; `refs` the answers a metric reads.
    None when the new part cannot be appended (a completed check-in started before the
    checkpoint): the caller folds the whole history into an empty aggregate instead.
    """
    ended = [r for r in rows if r.status in ENDED]
    per_row, extra = match(ended, done, sla)
    start = agg.checkins_from
    if start is not None and any(r.due_at < start for r in extra):
        return None
    cut = _checkpoint(rows, ended, per_row, extra, start)
    new = _fold_checkins(agg, ended, per_row, extra, cut, depth)
    run = _Run(new, depth)
    for record in sorted([r for r in per_row if r is not None] + extra, key=lambda r: r.due_at):
        if cut is None or record.due_at >= cut:
            run.add(record)
    answers = _Answers(agg, depth, refs)
    for answer in given:
        answers.add(answer, settled=answer.at < now)  # one given at `now` may still be joined
    new = new.model_copy(update={"answers_from": now, "folded_at": now, **answers.kept()})
    return answers.current(run.values), new


def _later(seen: datetime | None, replied: datetime) -> datetime:
    """The later of two reply times, the first one possibly unknown."""
    return replied if seen is None else max(seen, replied)


class _Answers:
    """The answers folded twice: all of them for now, the settled ones for the aggregate."""

    def __init__(self, agg: Aggregate, depth: int, refs: set[str]) -> None:
        self.depth, self.refs = depth, refs
        self.points = {ref: [AnswerPoint(at, v) for at, v in pts]
                       for ref, pts in agg.points.items()}
        self.firsts = {ref: AnswerPoint(*p) for ref, p in agg.firsts.items()}
        self.new_points: dict[str, list[AnswerPoint]] = {}
        self.last_reply = agg.last_reply_at
        self.kept_points = {ref: list(pts) for ref, pts in agg.points.items()}
        self.kept_firsts = dict(agg.firsts)
        self.kept_reply = agg.last_reply_at
        self.items = _Items(agg, depth)
        self.kept_items = _Items(agg, depth)
        self.new_items: dict[int, AnswerPoint] = {}  # by check-in, the completion as it stands

    def add(self, answer: Given, *, settled: bool) -> None:
        """One answer; a settled one is also kept in the aggregate."""
        self.last_reply = _later(self.last_reply, answer.replied_at)
        if settled:
            self.kept_reply = _later(self.kept_reply, answer.replied_at)
        if answer.number is not None and item_of(answer.ref.partition(".")[2]) is not None:
            self.new_items[answer.conversation_id] = self.items.add(answer, answer.number)
            if settled:
                self.kept_items.add(answer, answer.number)
            return
        if answer.number is None or answer.ref not in self.refs:
            return
        point = AnswerPoint(answer.at, answer.number)
        self.points[answer.ref] = [*self.points.get(answer.ref, ()), point][-self.depth:]
        self.new_points.setdefault(answer.ref, []).append(point)
        self.firsts.setdefault(answer.ref, point)
        if settled:
            self.kept_points[answer.ref] = [*self.kept_points.get(answer.ref, ()),
                                            (answer.at, answer.number)][-self.depth:]
            self.kept_firsts.setdefault(answer.ref, (answer.at, answer.number))

    def current(self, behaviour: dict[str, list[float]]) -> Current:
        """The inputs now, every answer counted."""
        return Current(behaviour=behaviour, points=self.points, new_points=self.new_points,
                       firsts=self.firsts, last_reply_at=self.last_reply,
                       action_items=self.items.points,
                       new_action_items=list(self.new_items.values()))

    def kept(self) -> dict:
        """The aggregate's answer fields, only settled answers counted."""
        return {"points": self.kept_points, "firsts": self.kept_firsts,
                "last_reply_at": self.kept_reply,
                "action_items": [(p.at, p.value) for p in self.kept_items.points],
                "checkin_items": self.kept_items.checkin}


class _Items:
    """The completions of action items, advanced one answer about an item at a time."""

    def __init__(self, agg: Aggregate, depth: int) -> None:
        self.points = [AnswerPoint(at, v) for at, v in agg.action_items]
        self.checkin = agg.checkin_items
        self.depth = depth

    def add(self, answer: Given, score: float) -> AnswerPoint:
        """Count one answer about an item (its score); its check-in's completion now."""
        checkin = self.checkin
        if checkin is not None and checkin.conversation_id == answer.conversation_id:
            checkin = checkin.model_copy(update={"scores": [*checkin.scores, score]})
            self.points = self.points[:-1]  # its completion so far is the latest point
        else:
            checkin = ItemScores(conversation_id=answer.conversation_id, at=answer.at,
                                 scores=[score])
        value = completion(checkin.scores)
        assert value is not None  # it holds a score
        point = AnswerPoint(checkin.at, value)
        self.checkin, self.points = checkin, [*self.points, point][-self.depth:]
        return point


def _checkpoint(rows: Sequence[DueRow], ended: Sequence[DueRow],
                per_row: Sequence[CheckinRecord | None], extra: Sequence[CheckinRecord],
                start: datetime | None) -> datetime | None:
    """How far the settled part can reach: the due time of the first row not settled.

    A row is settled when it is answered, missed or skipped (a final status) and the next
    row (of any status) has ended too, so its window is closed and computed as the whole
    history would. The
    checkpoint never passes a completed check-in of its own that is still to be folded.
    """
    record_of = {id(row): rec for row, rec in zip(ended, per_row, strict=True)}
    cut = start
    for i, row in enumerate(rows[:-1]):
        nxt = rows[i + 1]
        rec = record_of.get(id(row))
        if row.status not in ENDED or nxt.status not in ENDED:
            break
        if rec is None and row.status != "skipped":
            break  # sent and still unanswered: it may yet be found missed
        candidate = nxt.due_at
        # A completion of its own stays in the new part only if it starts after the cut.
        if any(r.completed_at is not None and r.completed_at >= candidate - ANSWERED_EARLY
               and r.due_at < candidate for r in extra):
            break
        cut = candidate
    return cut


def _fold_checkins(agg: Aggregate, ended: Sequence[DueRow],
                   per_row: Sequence[CheckinRecord | None], extra: Sequence[CheckinRecord],
                   cut: datetime | None, depth: int) -> Aggregate:
    """`agg` with the check-ins due before `cut` folded in."""
    if cut is None or cut == agg.checkins_from:
        return agg
    run = _Run(agg, depth)
    settled = [r for row, r in zip(ended, per_row, strict=True)
               if r is not None and row.due_at < cut]
    settled += [r for r in extra if r.completed_at is not None
                and r.completed_at < cut - ANSWERED_EARLY]
    for record in sorted(settled, key=lambda r: r.due_at):
        run.add(record)
    return agg.model_copy(update={
        "checkins_from": cut, "count": run.count, "answered": run.answered,
        "on_time": run.on_time, "streak": run.streak, "behaviour": run.values})


def behaviour_now(kind: str, current: Current, enrolled_at: datetime,
                  now: datetime) -> float | None:
    """A behaviour metric's value now, as `conversations.metrics.behaviour_value`."""
    if kind == "days_since_reply":
        since = current.last_reply_at or enrolled_at
        return round((now - since).total_seconds() / 86400, 2)
    if kind == "action_items":
        return current.action_items[-1].value if current.action_items else None
    values = current.behaviour.get(kind, [])
    if not values:
        return 0.0 if kind == "streak" else None
    return values[-1]


def points_now(metric: Metric, current: Current) -> list[AnswerPoint] | None:
    """A metric's latest values at the moments they were given (an answer, a check-in's
    action items), as far back as a rule looks; None for a running count (see
    `conversations.metrics.points_of`)."""
    if metric.source.answer is not None:
        return current.points.get(metric.source.answer, [])
    if metric.source.behaviour == "action_items":
        return current.action_items
    return None


def points_to_store(metric: Metric, current: Current) -> list[AnswerPoint] | None:
    """Of `points_now`, those the answers since the checkpoint added or changed (a later
    answer about an item changes its check-in's completion); None for a running count."""
    if metric.source.answer is not None:
        return current.new_points.get(metric.source.answer, [])
    if metric.source.behaviour == "action_items":
        return current.new_action_items
    return None
