"""Metric values from a client's history: engagement, implementation and outcome. Pure."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from conversations.program import Metric, Program


@dataclass(frozen=True)
class CheckinRecord:
    """One due check-in: when it was due, and when (if ever) it was completed."""

    due_at: datetime
    completed_at: datetime | None
    sla_hours: float | None = None

    @property
    def answered(self) -> bool:
        return self.completed_at is not None

    @property
    def on_time(self) -> bool:
        if self.completed_at is None:
            return False
        if self.sla_hours is None:
            return True
        return (self.completed_at - self.due_at).total_seconds() <= self.sla_hours * 3600


@dataclass(frozen=True)
class AnswerPoint:
    """A numeric answer (yes counts 1, no 0) of one question at a time."""

    at: datetime
    value: float


@dataclass(frozen=True)
class History:
    """What metrics are computed from, for one client."""

    checkins: Sequence[CheckinRecord]
    answers: dict[str, Sequence[AnswerPoint]]  # "flow.question" -> points in time order
    last_reply_at: datetime | None
    enrolled_at: datetime
    # The completion of the action items each check-in asked about (0..1), in time order.
    action_items: Sequence[AnswerPoint] = ()


def behaviour_value(kind: str, history: History, now: datetime) -> float | None:
    """The value of a behaviour metric now; None when there is nothing to measure yet."""
    if kind == "days_since_reply":
        since = history.last_reply_at or history.enrolled_at
        return round((now - since).total_seconds() / 86400, 2)
    if kind == "action_items":
        return history.action_items[-1].value if history.action_items else None
    values = list(_running(kind, history, now))
    last = values[-1] if values else None
    if last is None and kind == "streak":
        return 0.0  # no check-in due yet: a streak of none, not "nothing to measure"
    return last


def _running(kind: str, history: History, now: datetime) -> Iterator[float]:
    """A per-check-in behaviour metric as it stood after each due check-in, in one pass."""
    if kind not in ("streak", "response_rate", "on_time_rate"):
        raise ValueError(f"unknown behaviour {kind}")
    streak = answered = on_time = 0
    due = (c for c in history.checkins if c.due_at <= now)
    for n, record in enumerate(due, start=1):
        streak = streak + 1 if record.answered else 0
        answered += record.answered
        on_time += record.on_time
        if kind == "streak":
            yield float(streak)
        elif kind == "response_rate":
            yield round(answered / n, 4)
        else:
            yield round(on_time / n, 4)


def metric_series(metric: Metric, history: History) -> list[float]:
    """An answer metric's values over time (one per answer), oldest first."""
    if metric.source.answer is None:
        return []
    return [p.value for p in history.answers.get(metric.source.answer, ())]


def baseline(metric: Metric, history: History) -> float | None:
    """The metric's baseline answer (e.g. from intake), if it has one."""
    if metric.baseline is None:
        return None
    points = history.answers.get(metric.baseline, ())
    return points[0].value if points else None


def behaviour_series(kind: str, history: History, now: datetime) -> list[float]:
    """A behaviour metric as it stood after each due check-in, oldest first.

    Days since the last reply has no per-check-in meaning: its series is its value now.
    """
    if kind == "days_since_reply":
        value = behaviour_value(kind, history, now)
        return [value] if value is not None else []
    if kind == "action_items":
        return [p.value for p in history.action_items]
    return list(_running(kind, history, now))


def points_of(metric: Metric, history: History) -> Sequence[AnswerPoint] | None:
    """A metric's values at the moments they were given (an answer, a check-in's action
    items); None for a metric that is a running count, stored when it changes."""
    if metric.source.answer is not None:
        return history.answers.get(metric.source.answer, ())
    if metric.source.behaviour == "action_items":
        return history.action_items
    return None


def series_of(metric: Metric, history: History, now: datetime) -> list[float]:
    """A metric's values over time, oldest first: per answer, or per check-in."""
    if metric.source.behaviour is not None:
        return behaviour_series(metric.source.behaviour, history, now)
    return metric_series(metric, history)


def main_metric(program: Program) -> Metric | None:
    """The metric a client's progress is about: the one marked main, else the first
    outcome metric from an answer (/progress charts it; the review follows it by week)."""
    return next((m for m in program.metrics if m.main), None) or next(
        (m for m in program.metrics if m.bucket == "outcome" and m.source.answer), None)


def quiet_marks(program: Program, metric_id: str) -> set[float]:
    """The day counts a rule of the program compares days since the last reply to (its
    no-reply rules, thresholds on `metric_id`): where a stored value tells something."""
    marks: set[float] = set()
    for rule in program.rules:
        if rule.when.no_reply_days is not None:
            marks.add(float(rule.when.no_reply_days))
        threshold = rule.when.threshold
        if threshold is not None and threshold.metric == metric_id:
            marks.update(v for v in (threshold.below, threshold.above) if v is not None)
    return marks


def quiet_days_worth_storing(days: float, previous: float | None, marks: set[float]) -> bool:
    """Whether days since the last reply (whole days) is worth a stored value: the first
    one, a fall (a reply came: the count started again), or a mark of `quiet_marks` reached.

    In between, the count only grows by a day a day and is derivable from the last reply
    (rules compute it from there, never from stored rows): stored every day, it was most
    of an enrolment's stored values."""
    if previous is None:
        return True
    return days < previous or any(previous < mark <= days for mark in marks)
