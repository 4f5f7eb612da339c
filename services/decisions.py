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
from conversations.metrics import History, baseline, behaviour_value, points_of, series_of
from conversations.program import Program, Rule
from conversations.program_diff import renamed_questions
from conversations.render import fill
from conversations.rules import Decision, RuleInputs, decide
from services import escalations, keys
from services.client_context import context
from services.unit_of_work import Runtime, UnitOfWork
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
    history = stored.load_history(session, program, enrolment, now)
    outcome = Outcome(stored=_store_metrics(session, program, enrolment_id, history, now,
                                            rt.catalog.checksum(program.id)))
    if not rules_apply(enrolment.status):
        return outcome  # rules act on clients in the program, not on a pause or an intake
    inputs = _inputs(session, program, enrolment_id, history, now)
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


def _store_metrics(session: Session, program: Program, enrolment_id: int, history: History,
                   now: datetime, version: str | None) -> int:
    rows = stored.all_stored(session, enrolment_id)
    latest = {metric_id: (series[-1].value, series[-1].at) for metric_id, series in rows.items()}
    changed = 0
    for metric in program.metrics:
        points = points_of(metric, history)
        if points is not None:
            changed += stored.store_points(session, enrolment_id, metric.id,
                                           [(p.at, p.value) for p in points],
                                           rows.get(metric.id, []), version=version)
        else:
            value = behaviour_value(metric.source.behaviour or "", history, now)
            if value is None:
                continue
            if metric.source.behaviour == "days_since_reply":
                value = float(int(value))  # whole days: one row a day at most, not per read
            changed += stored.store_if_changed(session, enrolment_id, metric.id, value, now,
                                               latest, version=version)
        base = history.answers.get(metric.baseline or "", ())
        if base:
            changed += stored.store_if_changed(session, enrolment_id,
                                               stored.baseline_id(metric.id), base[0].value,
                                               base[0].at, latest, version=version)
    return changed


def _inputs(session: Session, program: Program, enrolment_id: int, history: History,
            now: datetime) -> RuleInputs:
    keyword_refs = {r.when.keyword.question for r in program.rules if r.when.keyword}
    baselines = {m.id: b for m in program.metrics
                 if (b := baseline(m, history)) is not None}
    return RuleInputs(
        series={m.id: series_of(m, history, now) for m in program.metrics},
        baselines=baselines,
        latest_text=stored.latest_texts(session, enrolment_id, keyword_refs,
                                        renamed_questions(program)),
        days_since_reply=behaviour_value("days_since_reply", history, now) or 0.0)


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
