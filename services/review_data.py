"""The data layer: what each metric is for, and what each rule achieved.

A metric is read by the rules that name it (threshold, plateau, milestone; a no-reply rule
reads the days-since-reply behaviour) and by the reports (/progress, `coachbot report`,
this review). One that nobody reads is a candidate to drop: it is stored for nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conversations.action_items import metric_of
from conversations.metrics import main_metric
from conversations.program import Program, Rule
from services.review_stats import median_of_counts, share
from storage.report_queries import outcome_metric
from storage.review_queries import AckCount, AfterFiring

# Check-ins after a rule acted within which its metric should have recovered.
RECOVERY_CHECKINS = 2


@dataclass(frozen=True)
class MetricFigures:
    """One metric in the period: how much it was stored and read, and who reads it."""

    metric_id: str
    title: str
    bucket: str
    values: int  # stored in the period
    rules: tuple[str, ...]  # the rules that read it
    reads: int  # values stored x rules reading them: each rule reads each new value
    firings: int  # firings of those rules in the period
    used_by: tuple[str, ...]  # reports that show it
    drop_candidate: bool


@dataclass(frozen=True)
class RuleFigures:
    """One rule in the period: firings, its escalations, and whether its metric recovered.

    The recovery figures are None for a rule that watches no metric level (a milestone,
    a keyword, no reply); `too_early` counts firings with fewer later check-ins than
    needed to judge and no recovery yet.
    """

    rule_id: str
    title: str
    condition: str
    metric: str | None
    action: str
    firings: int
    escalations: int
    acknowledged: int
    median_hours_to_acknowledge: float | None
    acknowledged_within_sla: float | None
    recovered: int | None
    not_recovered: int | None
    too_early: int | None

    @property
    def recovery_rate(self) -> float | None:
        if self.recovered is None or self.not_recovered is None:
            return None
        return share(self.recovered, self.recovered + self.not_recovered)


def _kind(model: object) -> str:
    return next(name for name, value in model if value is not None)  # type: ignore[attr-defined]


def rule_metric(program: Program, rule: Rule) -> str | None:
    """The metric a rule reads, if any."""
    when = rule.when
    for condition in (when.threshold, when.plateau, when.milestone):
        if condition is not None:
            return condition.metric
    if when.no_reply_days is not None:
        return next((m.id for m in program.metrics
                     if m.source.behaviour == "days_since_reply"), None)
    return None


def readers(program: Program) -> dict[str, tuple[str, ...]]:
    """The reports that show each metric (only metrics shown somewhere are listed)."""
    shown: dict[str, list[str]] = {}
    main = main_metric(program)
    if main is not None:
        shown.setdefault(main.id, []).extend(["/progress", "review"])
    # /progress shows the streak from the first streak metric (bot/progress.py).
    streak = next((m.id for m in program.metrics if m.source.behaviour == "streak"), None)
    if streak is not None:
        shown.setdefault(streak, []).append("/progress")
    items = metric_of(program)
    if items is not None:
        shown.setdefault(items.id, []).extend(["/progress", "digest"])
    outcome = outcome_metric(program)
    if outcome is not None:
        shown.setdefault(outcome.id, []).extend(["report", "review"])
    return {metric: tuple(dict.fromkeys(names)) for metric, names in shown.items()}


def metric_figures(program: Program, values: Mapping[str, int],
                   firings: Mapping[str, int]) -> list[MetricFigures]:
    """One line per metric of the program, in the file's order."""
    reading: dict[str, list[str]] = {}
    for rule in program.rules:
        metric = rule_metric(program, rule)
        if metric is not None:
            reading.setdefault(metric, []).append(rule.id)
    shown = readers(program)
    out = []
    for metric in program.metrics:
        rules = tuple(reading.get(metric.id, ()))
        stored = values.get(metric.id, 0)
        used_by = shown.get(metric.id, ())
        out.append(MetricFigures(
            metric_id=metric.id, title=metric.title or metric.id, bucket=metric.bucket,
            values=stored, rules=rules, reads=stored * len(rules),
            firings=sum(firings.get(rule, 0) for rule in rules), used_by=used_by,
            drop_candidate=not rules and not used_by))
    return out


def rule_figures(program: Program, firings: Mapping[str, int], acks: Sequence[AckCount],
                 after: Sequence[AfterFiring]) -> list[RuleFigures]:
    """One line per rule of the program, in the file's order."""
    out = []
    for rule in program.rules:
        mine = [a for a in acks if a.rule_id == rule.id]
        minutes = Counter({a.ack_minutes: a.escalations for a in mine
                           if a.ack_minutes is not None})
        escalations = sum(a.escalations for a in mine)
        acknowledged = sum(minutes.values())
        median_minutes = median_of_counts(minutes)
        recovery = _recovery(rule, [a for a in after if a.rule_id == rule.id])
        out.append(RuleFigures(
            rule_id=rule.id, title=rule.title or rule.id, condition=_kind(rule.when),
            metric=rule_metric(program, rule), action=_kind(rule.then),
            firings=firings.get(rule.id, 0), escalations=escalations,
            acknowledged=acknowledged,
            median_hours_to_acknowledge=median_minutes / 60 if median_minutes is not None
            else None,
            acknowledged_within_sla=share(sum(a.escalations for a in mine if a.within_sla),
                                          escalations),
            recovered=recovery[0], not_recovered=recovery[1], too_early=recovery[2]))
    return out


def watched_metrics(program: Program) -> dict[str, str]:
    """Rule id -> metric, for the rules whose metric can recover (threshold, plateau)."""
    return {rule.id: (rule.when.threshold or rule.when.plateau).metric  # type: ignore[union-attr]
            for rule in program.rules
            if rule.when.threshold is not None or rule.when.plateau is not None}


def _recovery(rule: Rule, after: Sequence[AfterFiring]
              ) -> tuple[int | None, int | None, int | None]:
    """(recovered, not recovered, too early) over a rule's firings."""
    threshold, plateau = rule.when.threshold, rule.when.plateau
    if threshold is None and plateau is None:
        return None, None, None
    recovered = not_recovered = too_early = 0
    for firing in after:
        if threshold is not None:
            # The condition no longer holds: the value is back on the right side.
            if threshold.below is not None:
                back = any(v >= threshold.below for v in firing.later)
            else:
                back = any(v <= threshold.above for v in firing.later)  # type: ignore[operator]
        else:
            # Off the plateau: a value above everything in the window the rule saw.
            seen = firing.evidence.get("values") or []
            level = max(seen) if seen else None
            back = level is not None and any(v > level for v in firing.later)
        if back:
            recovered += 1
        elif len(firing.later) >= RECOVERY_CHECKINS:
            not_recovered += 1
        else:
            too_early += 1
    return recovered, not_recovered, too_early
