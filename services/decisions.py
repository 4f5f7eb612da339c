"""Decisions from data: recompute an enrolment's metrics, evaluate the program's rules, act.

Runs inside the caller's transaction: when the inbound handler accepts answers that matter
(see `needed`), and from the time-based sweep (a missed check-in, days without a reply). A firing is
stored with the values that caused it and stays open while its condition holds, so it
acts once; when the condition stops holding it is cleared and may fire again later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session

from conversations.engine import Step
from conversations.journey import rules_apply
from conversations.messages import Reply
from conversations.metrics import quiet_days_worth_storing, quiet_marks
from conversations.program import Program, Rule
from conversations.program_diff import renamed_questions
from conversations.render import fill
from conversations.rules import Decision, RuleInputs, decide, lookback
from conversations.running import (
    Aggregate,
    Current,
    behaviour_now,
    fold,
    points_now,
    points_to_store,
)
from services import escalations, keys
from services.client_context import context
from services.unit_of_work import Runtime, UnitOfWork
from storage import aggregate_store as aggregates
from storage import metric_store as stored
from storage import rule_firings
from storage.models import Enrolment, Person

log = logging.getLogger("coachbot.decisions")



@dataclass
class Outcome:
    """What one evaluation did."""

    stored: int = 0
    fired: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)


def needed(program: Program, step: Step) -> bool:
    """Whether an engine step calls for an evaluation: a finished flow (a check-in counts),
    an edited answer a metric reads, or an answer a keyword rule reads (urgent).

    Answers in the middle of a flow wait for its end (or for the sweep, if it is missed):
    one evaluation per check-in instead of one per question, and no rule message arrives
    between two questions.
    """
    if any(e.kind == "flow_completed" for e in step.events):
        return True
    read = {m.source.answer for m in program.metrics} | {m.baseline for m in program.metrics}
    urgent = {r.when.keyword.question for r in program.rules if r.when.keyword}
    return any((a.edited and f"{a.flow}.{a.question}" in read)
               or f"{a.flow}.{a.question}" in urgent for a in step.answers)


def evaluate(rt: Runtime, uow: UnitOfWork, *, program: Program, enrolment: Enrolment,
             person: Person) -> Outcome:
    """Store the enrolment's changed metric values; fire, clear and act on its rules."""
    session, now = uow.session, uow.now
    enrolment_id = enrolment.id or 0
    program = program.with_variant(enrolment.variant)  # its rules may differ
    version = rt.catalog.checksum(program.id)
    key = f"{version}:{enrolment.variant}"
    current, before, after = _fold(session, program, enrolment_id, key if version else None,
                                   now)
    latest = ({k: (v, now) for k, v in before.stored.items()} if before is not None
              else _latest(stored.all_stored(session, enrolment_id)))
    outcome = Outcome(stored=_store_metrics(session, program, enrolment, current, before,
                                            latest, now, rt.catalog.version_id(program.id)))
    if version is not None:  # a program outside the catalog is evaluated from scratch
        aggregates.save(session, enrolment_id, after.model_copy(
            update={"stored": {k: v for k, (v, _at) in latest.items()}}))
    if not rules_apply(enrolment.status):
        return outcome  # rules act on clients in the program, not on a pause or an intake
    inputs = _inputs(session, program, enrolment, current, now)
    open_ = rule_firings.open_firings(session, enrolment_id)
    fired, cleared = decide(program.rules, inputs, set(open_))
    # A rule this version removed no longer holds: its open firing is cleared.
    cleared += sorted(set(open_) - {r.id for r in program.rules})
    for rule_id in cleared:
        rule_firings.clear(session, open_[rule_id], now=now)
        outcome.cleared.append(rule_id)
    for decision in fired:
        firing = rule_firings.fire(session, enrolment_id=enrolment_id, rule_id=decision.rule.id,
                                   values=_json(decision.evidence), now=now)
        _act(rt, uow, program, decision, enrolment, person, firing.id or 0)
        outcome.fired.append(decision.rule.id)
        log.info("rule fired enrolment=%s rule=%s firing=%s", enrolment_id, decision.rule.id,
                 firing.id)
    session.add(enrolment)
    session.flush()
    return outcome


def _fold(session: Session, program: Program, enrolment_id: int, key: str | None,
          now: datetime) -> tuple[Current, Aggregate | None, Aggregate]:
    """The metrics' inputs now, from the stored aggregate and what came after it (or from
    the whole history when there is none for this version, or the clock went back); the
    aggregate it started from (None: the whole history) and the one moved forward."""
    before = aggregates.load(session, enrolment_id, key) if key is not None else None
    if before is not None and before.folded_at is not None and before.folded_at > now:
        before = None
    refs = stored.answer_refs(program)
    while True:
        rows, done, given = stored.load_since(session, program, enrolment_id, before, now)
        folded = fold(before or Aggregate(key=key or ""), rows, done, given,
                      sla=stored.checkin_sla(program), now=now, depth=lookback(program.rules),
                      refs=refs)
        if folded is not None:
            return folded[0], before, folded[1]
        before = None  # what came after cannot be appended: from the whole history


def _latest(rows: dict[str, list[stored.StoredPoint]]) -> stored.Latest:
    return {metric_id: (series[-1].value, series[-1].at) for metric_id, series in rows.items()}


def _store_metrics(session: Session, program: Program, enrolment: Enrolment, current: Current,
                   before: Aggregate | None, latest: stored.Latest,
                   now: datetime, version: int | None) -> int:
    """Store what changed: new (or, from the whole history, corrected) points of answers and
    of action items, and behaviour values and baselines that differ from the latest stored."""
    enrolment_id = enrolment.id or 0
    new_points = {m.id: points for m in program.metrics
                  if (points := points_to_store(m, current))}
    # A check-in's completion of action items keeps the time of its first answer about one,
    # which may come before the checkpoint: the stored rows are read from the earliest point.
    rows = ({} if not new_points
            else stored.all_stored(session, enrolment_id) if before is None
            else stored.stored_since(session, enrolment_id, list(new_points),
                                     min(p.at for points in new_points.values() for p in points)))
    changed = 0
    new_rows: list[dict] = []
    for metric in program.metrics:
        points = points_to_store(metric, current)
        if points:
            changed += stored.store_points(enrolment_id, metric.id,
                                           [(p.at, p.value) for p in points],
                                           rows.get(metric.id, []), new_rows, version=version)
        elif points is None:
            value = behaviour_now(metric.source.behaviour or "", current,
                                  _enrolled_at(enrolment), now)
            if value is None:
                continue
            if metric.source.behaviour == "days_since_reply":
                value = float(int(value))  # whole days: one row a day at most, not per read
                previous = latest.get(metric.id)
                if not quiet_days_worth_storing(value, previous[0] if previous else None,
                                                quiet_marks(program, metric.id)):
                    continue
            changed += stored.store_if_changed(enrolment_id, metric.id, value, now, latest,
                                               new_rows, version=version)
        base = current.firsts.get(metric.baseline or "")
        if base is not None:
            changed += stored.store_if_changed(enrolment_id, stored.baseline_id(metric.id),
                                               base.value, base.at, latest, new_rows,
                                               version=version)
    stored.insert_all(session, new_rows)
    return changed


def _enrolled_at(enrolment: Enrolment) -> datetime:
    return enrolment.joined_at or enrolment.enrolled_at


def _inputs(session: Session, program: Program, enrolment: Enrolment, current: Current,
            now: datetime) -> RuleInputs:
    keyword_refs = {r.when.keyword.question for r in program.rules if r.when.keyword}
    series: dict[str, list[float]] = {}
    baselines: dict[str, float] = {}
    for m in program.metrics:
        kind = m.source.behaviour
        points = points_now(m, current)
        if points is not None:
            series[m.id] = [p.value for p in points]
        elif kind == "days_since_reply":
            series[m.id] = [behaviour_now(kind, current, _enrolled_at(enrolment), now) or 0.0]
        else:
            series[m.id] = list(current.behaviour.get(kind or "", []))
        if m.baseline is not None and m.baseline in current.firsts:
            baselines[m.id] = current.firsts[m.baseline].value
    return RuleInputs(
        series=series, baselines=baselines,
        latest_text=stored.latest_texts(session, enrolment.id or 0, keyword_refs,
                                        renamed_questions(program)),
        days_since_reply=behaviour_now("days_since_reply", current, _enrolled_at(enrolment),
                                       now) or 0.0)


def _act(rt: Runtime, uow: UnitOfWork, program: Program, decision: Decision,
         enrolment: Enrolment, person: Person, firing_id: int) -> None:
    session, now = uow.session, uow.now
    rule: Rule = decision.rule
    action = rule.then
    if action.escalate is not None:
        escalations.open_case(
            rt, uow, enrolment_id=enrolment.id or 0, reason=action.escalate.reason,
            owner_role=action.escalate.owner, sla=action.escalate.sla,
            actor=f"rule:{rule.id}", rule_firing_id=firing_id,
            evidence=escalations.evidence_of(_json(decision.evidence)))
    elif action.message is not None or action.celebrate is not None:
        text = action.message if action.message is not None else action.celebrate
        # The key comes from the firing: a retried transaction or a second worker queues
        # nothing twice.
        values = context(session, program, enrolment, person, None, now).values
        uow.queue_to_person(person.id or 0, keys.rule_message(firing_id),
                            [Reply(fill(text or "", values))])
    elif action.cadence is not None:
        # The plan inputs change; the scheduler replans the check-ins on its next tick.
        enrolment.checkin_day = action.cadence.day
        enrolment.checkin_time = action.cadence.time.strftime("%H:%M")
    elif action.move_to_stage is not None and enrolment.stage != action.move_to_stage:
        enrolment.stage = action.move_to_stage
        enrolment.stage_started_at = now


def _json(evidence: dict[str, object]) -> dict:
    """Evidence as plain JSON (lists of floats, numbers, strings)."""
    return {k: list(v) if isinstance(v, list | tuple) else v for k, v in evidence.items()}


class Sweep:
    """The time-based part: enrolments with a check-in found unanswered since the last run,
    and once a UTC day every active enrolment (for "no reply for N days")."""

    def __init__(self, rt: Runtime, *, lookback: timedelta = timedelta(days=1)) -> None:
        self.rt = rt
        self.lookback = lookback
        self.since: datetime | None = None
        self.day: date | None = None

    def __call__(self) -> int:
        """The periodic job: a run at the runtime clock's now."""
        return self.run(self.rt.clock.now())

    def run(self, now: datetime) -> int:
        """Re-evaluate what needs it at `now`; how many enrolments were evaluated."""
        with self.rt.reading() as session:
            ids = stored.missed_since(session, self.since or now - self.lookback)
            if self.day != now.date():
                ids |= set(stored.active_enrolments(session))
        for enrolment_id in sorted(ids):
            reevaluate(self.rt, enrolment_id)
        self.since, self.day = now, now.date()
        if ids:
            # A periodic pass: a fired rule logs itself at INFO, the pass only at DEBUG.
            log.debug("decisions sweep evaluated=%d", len(ids))
        return len(ids)


def reevaluate(rt: Runtime, enrolment_id: int) -> Outcome | None:
    """Recompute one enrolment's metrics and rules now (a missed check-in, a quiet day)."""
    with rt.transaction() as uow:
        enrolment = uow.session.get(Enrolment, enrolment_id, with_for_update=True)
        person = uow.session.get(Person, enrolment.person_id) if enrolment else None
        if enrolment is None or person is None:
            return None
        return evaluate(rt, uow, program=rt.program(enrolment.program_id), enrolment=enrolment,
                        person=person)
