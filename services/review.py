"""Use case: the quarterly review of a program, from stored data.

For each program (one with `program_id`), the period's figures and the same figures for
the period before, side by side: the delivery operations map as it ran, the journey by
program week and its fade, the data layer (metrics and rules), segments split by an answer
of the owner's choice, and what changed. Everything is read in one read-only session;
the figures come out as frozen dataclasses for the renderers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from conversations.journey import ANSWERED_EARLY
from conversations.metrics import main_metric
from conversations.program import Program
from scheduler.due import ON_TIME
from services.review_data import (
    RECOVERY_CHECKINS,
    MetricFigures,
    RuleFigures,
    metric_figures,
    rule_figures,
    watched_metrics,
)
from services.review_delivery import (
    OwnerFigures,
    TouchpointFigures,
    by_owner,
    tally,
    touchpoint_figures,
    worst,
)
from services.review_journey import Fade, WeekFigures, fade, weeks
from services.review_period import Period
from services.review_segments import (
    BadSegment,
    Segmentation,
    SegmentBy,
    segment_by,
    segments,
)
from services.review_stats import median, median_of_counts, share
from services.unit_of_work import Runtime
from storage import review_queries as queries
from storage.metric_store import baseline_id, checkin_touchpoints
from storage.report_queries import outcome_metric

__all__ = ["BadSegment", "Change", "PeriodReview", "Review", "ReviewError", "review"]


class ReviewError(ValueError):
    """Nothing to review, or a program that is not loaded."""


@dataclass(frozen=True)
class PeriodReview:
    """Every figure of one program in one period."""

    period: Period
    clients: int  # clients with a touchpoint due in the period
    touchpoints: tuple[TouchpointFigures, ...]
    owners: tuple[OwnerFigures, ...]
    worst: tuple[str, ...]
    main_metric: str | None
    weeks: tuple[WeekFigures, ...]
    fade: Fade | None
    metrics: tuple[MetricFigures, ...]
    rules: tuple[RuleFigures, ...]
    median_hours_to_acknowledge: float | None  # escalations of every rule
    outcome_metric: str | None
    outcome_change_median: float | None
    segments: Segmentation | None

    @property
    def response_rate(self) -> float | None:
        """Check-ins answered over check-ins asked, all weeks together."""
        return share(sum(w.answered for w in self.weeks), sum(w.asked for w in self.weeks))

    @property
    def to_drop(self) -> tuple[str, ...]:
        """Metrics no rule reads and no report shows."""
        return tuple(m.metric_id for m in self.metrics if m.drop_candidate)


@dataclass(frozen=True)
class Change:
    """One figure in this period and the one before."""

    figure: str
    unit: str  # rate | count | hours | points
    this: float | None
    previous: float | None


@dataclass(frozen=True)
class Review:
    """One program's review.

    `group` names what the figures are grouped by. Today that is the program; when program
    versions and variants exist, their key joins it here (and `storage.review_queries.Window`
    filters on it), and reviews with different keys are shown side by side.
    """

    program_id: str
    program_name: str
    group: tuple[tuple[str, str], ...]
    current: PeriodReview
    previous: PeriodReview
    changes: tuple[Change, ...]


def review(runtime: Runtime, period: Period, *, program_id: str | None = None,
           by: str | None = None, bands: str | None = None) -> list[Review]:
    """The review of every loaded program (or one) with something due in `period`.

    Raises ReviewError when a program is unknown or nothing was due in the period, and
    BadSegment when `by` (FLOW.QUESTION) or `bands` ("5,10") cannot be used.
    """
    if program_id is not None and program_id not in runtime.programs:
        raise ReviewError(f"no program '{program_id}'; loaded: "
                          f"{', '.join(sorted(runtime.programs))}")
    chosen = [runtime.programs[program_id]] if program_id is not None else \
        [runtime.programs[p] for p in sorted(runtime.programs)]
    specs = {p.id: segment_by(p, by, bands) if by is not None else None for p in chosen}
    before = period.previous()
    reviews = []
    with runtime.reading() as session:
        queries.prepare(session)
        for program in chosen:
            previous, current = _periods(session, program, (before, period), specs[program.id])
            if current.clients == 0:
                continue
            reviews.append(Review(program_id=program.id, program_name=program.name,
                                  group=(("program", program.id),), current=current,
                                  previous=previous, changes=changes(current, previous)))
    if not reviews:
        names = ", ".join(p.id for p in chosen)
        raise ReviewError(f"nothing to review in {period.label} ({period.first} to "
                          f"{period.last}): no touchpoint of {names} was due then")
    return reviews


def _periods(session: Session, program: Program, periods: Sequence[Period],
             spec: SegmentBy | None) -> list[PeriodReview]:
    """The figures of consecutive periods, each table read once for all of them."""
    window = queries.Window(program.id, (*(p.start for p in periods), periods[-1].end))
    read = _read(session, program, window, spec)
    return [_fold(program, read, index, period, spec) for index, period in enumerate(periods)]


@dataclass(frozen=True)
class _Read:
    """What the queries answered for a whole window, before it is split by period."""

    delivery: queries.Delivery
    follow_ups: list[queries.FollowUp]
    metric_counts: list[queries.MetricCount]
    firings: dict[tuple[int, str], int]
    acks: list[queries.AckCount]
    after: list[queries.AfterFiring]
    changes: list[dict[int, float]]  # per period: client -> outcome change from baseline
    answers: dict[int, tuple[float | None, Any]]  # client -> the answer segments split by
    milestones: list[dict[int, int]]  # per period: client -> seconds to a first milestone


def _read(session: Session, program: Program, window: queries.Window,
          spec: SegmentBy | None) -> _Read:
    rules = queries.Rules(
        flows={tp.id: tp.send.flow for tp in program.touchpoints if tp.send.flow},
        sla_seconds={tp.id: tp.sla.total_seconds() for tp in program.touchpoints
                     if tp.send.flow and tp.sla},
        checkins=checkin_touchpoints(program), on_time_seconds=ON_TIME.total_seconds(),
        early=ANSWERED_EARLY)
    main, outcome = main_metric(program), outcome_metric(program)
    stored = [m.id for m in program.metrics] + [baseline_id(m.id) for m in program.metrics
                                                 if m.baseline]
    periods = len(window.bounds) - 1
    return _Read(
        delivery=queries.delivery(session, window, rules),
        follow_ups=queries.follow_ups(session, window),
        metric_counts=queries.metric_counts(session, window, stored,
                                            main.id if main else None),
        firings=queries.firings_per_rule(session, window),
        acks=queries.rule_escalations(session, window),
        after=queries.after_firings(session, window, watched_metrics(program),
                                    depth=RECOVERY_CHECKINS),
        changes=queries.changes_from_baseline(session, window, outcome.id) if outcome
        else [{} for _ in range(periods)],
        answers=queries.first_answers(session, program.id, spec.flow_id, spec.question_id)
        if spec is not None else {},
        milestones=queries.first_firing_seconds(
            session, window, [r.id for r in program.rules if r.when.milestone is not None]))


def _fold(program: Program, read: _Read, index: int, period: Period, spec: SegmentBy | None
          ) -> PeriodReview:
    """The figures of the `index`-th period of the window."""
    mine = tally(program, read.delivery, index)
    clients = sorted(mine.clients)
    changed = {e: read.changes[index][e] for e in clients if e in read.changes[index]}
    counts = [c for c in read.metric_counts if c.period == index]
    fired = {rule: n for (p, rule), n in read.firings.items() if p == index}
    acked = [a for a in read.acks if a.period == index]
    lines = touchpoint_figures(program, mine, [f for f in read.follow_ups if f.period == index])
    week_lines = weeks(program, mine.weeks,
                       [(c.week, c.values, c.total) for c in counts if c.week is not None])
    values: Counter[str] = Counter()
    for c in counts:
        values[c.metric_id] += c.values
    main, outcome = main_metric(program), outcome_metric(program)
    split = segments(spec, clients, read.answers, mine.per_client, changed,
                     read.milestones[index], outcome.id if outcome else None) \
        if spec is not None else None
    return PeriodReview(
        period=period, clients=len(clients), touchpoints=tuple(lines),
        owners=tuple(by_owner(lines)), worst=tuple(worst(lines)),
        main_metric=main.id if main else None, weeks=tuple(week_lines),
        fade=fade(week_lines), metrics=tuple(metric_figures(program, values, fired)),
        rules=tuple(rule_figures(program, fired, acked,
                                 [a for a in read.after if a.period == index])),
        median_hours_to_acknowledge=_hours(acked),
        outcome_metric=outcome.id if outcome else None,
        outcome_change_median=median(list(changed.values())), segments=split)


def _hours(acks: Sequence[queries.AckCount]) -> float | None:
    """The median hours to acknowledge of these escalations."""
    minutes = Counter[int]()
    for a in acks:
        if a.ack_minutes is not None:
            minutes[a.ack_minutes] += a.escalations
    middle = median_of_counts(minutes)
    return middle / 60 if middle is not None else None


def changes(current: PeriodReview, previous: PeriodReview) -> tuple[Change, ...]:
    """The headline figures of both periods, side by side."""
    out = [Change("clients", "count", current.clients, previous.clients),
           Change("check-in response", "rate", current.response_rate, previous.response_rate)]
    for now, then in zip(current.touchpoints, previous.touchpoints, strict=True):
        if now.sent or then.sent:
            name, rate = now.headline
            out.append(Change(f"{now.title}: {name}", "rate", rate, then.headline[1]))
    if current.outcome_metric is not None:
        out.append(Change(f"{current.outcome_metric} change from baseline (median)", "points",
                          current.outcome_change_median, previous.outcome_change_median))
    for now_rule, then_rule in zip(current.rules, previous.rules, strict=True):
        out.append(Change(f"{now_rule.title}: firings", "count", now_rule.firings,
                          then_rule.firings))
    out.append(Change("hours to acknowledge a rule's escalation (median)", "hours",
                      current.median_hours_to_acknowledge,
                      previous.median_hours_to_acknowledge))
    return tuple(out)
