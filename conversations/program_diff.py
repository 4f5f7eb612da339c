"""What one program version changes compared with another, as structured changes (pure).

Who the changes reach (clients mid-flow, on a schedule, with an open firing) is the
database's part: `services/program_impact.py` counts them and words each change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from conversations.program import ChoiceQuestion, Flow, Program, Schedule

ChangeKind = Literal[
    "flow_removed", "flow_added", "question_removed", "question_renamed", "question_added",
    "question_changed", "option_removed", "stage_removed", "stage_added", "touchpoint_moved",
    "touchpoint_removed", "touchpoint_added", "metric_reads", "metric_renamed",
    "metric_removed", "metric_added", "rule_removed", "rule_added", "rule_changed",
]
DAYS = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
        "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}


@dataclass(frozen=True)
class Change:
    """One difference; `subject` is the id changed (FLOW.QUESTION for a question)."""

    kind: ChangeKind
    subject: str
    before: str | None = None
    after: str | None = None
    # Question changes: the flow, so open conversations in it can be found.
    flow: str | None = None


def compare(old: Program, new: Program) -> list[Change]:
    """Every change from `old` to `new`, in the file's order: flows, stages, touchpoints,
    metrics, rules."""
    return [*_flows(old, new), *_stages(old, new), *_touchpoints(old, new),
            *_metrics(old, new), *_rules(old, new)]


def renamed_questions(new: Program) -> dict[str, str]:
    """FLOW.OLD_ID -> FLOW.NEW_ID for every question that names the id it had before."""
    return {f"{f.id}.{q.renamed_from}": f"{f.id}.{q.id}" for f in new.flows
            for q in f.questions if q.renamed_from}


def _flows(old: Program, new: Program) -> list[Change]:
    changes: list[Change] = []
    before, after = old.flows_by_id(), new.flows_by_id()
    changes += [Change("flow_removed", f, before=before[f].title) for f in before
                if f not in after]
    changes += [Change("flow_added", f, after=after[f].title) for f in after if f not in before]
    for flow_id in (f for f in after if f in before):
        changes += _questions(flow_id, before[flow_id], after[flow_id])
    return changes


def _questions(flow_id: str, was: Flow, now: Flow) -> list[Change]:
    """What happened to one flow's questions: renamed, removed, retyped, options removed,
    added."""
    changes: list[Change] = []
    renamed = {q.renamed_from: q.id for q in now.questions if q.renamed_from}
    for question in was.questions:
        ref = f"{flow_id}.{question.id}"
        kept = now.question(question.id)
        if kept is None and question.id in renamed:
            changes.append(Change("question_renamed", f"{flow_id}.{renamed[question.id]}",
                                  before=ref, flow=flow_id))
        elif kept is None:
            changes.append(Change("question_removed", ref, flow=flow_id))
        elif kept.type != question.type:
            changes.append(Change("question_changed", ref, before=question.type,
                                  after=kept.type, flow=flow_id))
        elif isinstance(question, ChoiceQuestion) and isinstance(kept, ChoiceQuestion):
            left = {o.id for o in kept.options}
            changes += [Change("option_removed", ref, before=o.id, flow=flow_id)
                        for o in question.options if o.id not in left]
    changes += [Change("question_added", f"{flow_id}.{q.id}", flow=flow_id)
                for q in now.questions if was.question(q.id) is None and q.renamed_from is None]
    return changes


def _stages(old: Program, new: Program) -> list[Change]:
    before, after = {s.id for s in old.stages}, {s.id for s in new.stages}
    return ([Change("stage_removed", s.id) for s in old.stages if s.id not in after]
            + [Change("stage_added", s.id) for s in new.stages if s.id not in before])


def _touchpoints(old: Program, new: Program) -> list[Change]:
    before = {t.id: t for t in old.touchpoints}
    after = {t.id: t for t in new.touchpoints}
    changes = [Change("touchpoint_removed", t, before=before[t].title or t) for t in before
               if t not in after]
    for tp_id, tp in after.items():
        if tp_id not in before:
            changes.append(Change("touchpoint_added", tp_id, after=when_words(tp.when)))
        elif before[tp_id].when != tp.when:
            changes.append(Change("touchpoint_moved", tp_id, before=when_words(
                before[tp_id].when), after=when_words(tp.when)))
    return changes


def _metrics(old: Program, new: Program) -> list[Change]:
    before = {m.id: m for m in old.metrics}
    renamed = {m.renamed_from: m.id for m in new.metrics if m.renamed_from in before}
    changes: list[Change] = []
    for metric in new.metrics:
        was = before.get(metric.id) or before.get(metric.renamed_from or "")
        if was is None:
            changes.append(Change("metric_added", metric.id))
            continue
        if was.id != metric.id:
            changes.append(Change("metric_renamed", metric.id, before=was.id))
        if was.source != metric.source:
            changes.append(Change("metric_reads", metric.id, before=_source(was.source),
                                  after=_source(metric.source)))
    now = {m.id for m in new.metrics}
    changes += [Change("metric_removed", m) for m in before if m not in now and m not in renamed]
    return changes


def _rules(old: Program, new: Program) -> list[Change]:
    before = {r.id: r for r in old.rules}
    after = {r.id: r for r in new.rules}
    return ([Change("rule_removed", r, before=before[r].title) for r in before if r not in after]
            + [Change("rule_added", r, after=after[r].title) for r in after if r not in before]
            + [Change("rule_changed", r, after=after[r].title) for r in after
               if r in before and before[r] != after[r]])


def _source(source: object) -> str:
    answer = getattr(source, "answer", None)
    return answer if answer else f"behaviour {getattr(source, 'behaviour', '')}"


def _span(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes} min"


def when_words(when: Schedule) -> str:
    """A schedule in plain words: 'Monday 09:00', 'the start of review at 10:00'."""
    at = f" at {when.time:%H:%M}" if when.time else ""
    if when.weekly is not None:
        words = f"{DAYS[when.weekly.day]} {when.weekly.time:%H:%M}"
    elif when.after_enrolment is not None:
        words = f"{_span(when.after_enrolment)} after enrolment{at}"
    elif when.stage_start is not None:
        words = f"the start of {when.stage_start}{at}"
    elif when.stage_week is not None:
        words = f"week {when.stage_week} of {when.stage}{at}"
    elif when.before_session is not None:
        words = f"{_span(when.before_session)} before each session"
    elif when.after_session is not None:
        words = f"{_span(when.after_session)} after each session"
    else:
        words = f"cron '{when.cron}'"
    if when.stages:
        words += f" (in {', '.join(when.stages)})"
    return words
