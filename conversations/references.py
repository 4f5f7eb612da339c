"""Cross-reference checks of a program: every id named somewhere must exist and make sense."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from conversations.program import (
    ChoiceQuestion,
    Flow,
    NumberQuestion,
    Program,
    Rule,
    RuleCondition,
    ScaleQuestion,
    TextQuestion,
    Threshold,
    Touchpoint,
    YesNoQuestion,
)
from conversations.render import MAY_BE_EMPTY, PLACEHOLDERS

Problem = tuple[tuple[str | int, ...], str]
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def check_references(program: Program) -> list[Problem]:
    """All reference problems, each with the pydantic-style location of the offending field."""
    problems = _duplicate_ids(program)
    if program.checkin_flow not in {f.id for f in program.flows}:
        problems.append((("checkin_flow",), f"no flow with id '{program.checkin_flow}'"))
    problems += _check_stages(program)
    problems += _check_renames(program)
    for i, flow in enumerate(program.flows):
        problems += _check_flow(flow, i)
    for i, tp in enumerate(program.touchpoints):
        problems += _check_touchpoint(program, tp, ("touchpoints", i))
    problems += _check_metric_sources(program)
    for i, rule in enumerate(program.rules):
        problems += _check_rule(program, rule, i)
    problems += _check_next_step(program)
    if program.action_items.question is not None:
        problems += _check_text(program.action_items.question, ("action_items", "question"),
                                extra=ITEM_PLACEHOLDERS)
    if program.booking_link is None:
        problems += [(loc, "{booking_link} is used but the program sets no booking_link")
                     for loc, text in _texts(program) if "{booking_link}" in text]
    problems += _ids_used_twice("variants", [v.id for v in program.variants])
    if not problems:
        problems += _check_variants(program)
    return problems


def _ids_used_twice(kind: str, ids: list[str]) -> list[Problem]:
    """Each repetition of an id already used earlier in the same list."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, item in enumerate(ids):
        if item in seen:
            problems.append(((kind, i, "id"), f"id '{item}' is used twice"))
        seen.add(item)
    return problems


def _duplicate_ids(program: Program) -> list[Problem]:
    """Ids used twice among the stages, flows, touchpoints, metrics and rules."""
    return (_ids_used_twice("stages", [s.id for s in program.stages])
            + _ids_used_twice("flows", [f.id for f in program.flows])
            + _ids_used_twice("touchpoints", [t.id for t in program.touchpoints])
            + _ids_used_twice("metrics", [m.id for m in program.metrics])
            + _ids_used_twice("rules", [r.id for r in program.rules]))


def _check_stages(program: Program) -> list[Problem]:
    """Each stage's next stage and awaited flow exist."""
    problems: list[Problem] = []
    flows = {f.id for f in program.flows}
    stages = {s.id for s in program.stages}
    for i, stage in enumerate(program.stages):
        if stage.next is not None and stage.next not in stages:
            problems.append((("stages", i, "next"), f"no stage with id '{stage.next}'"))
        if stage.until_flow_done is not None and stage.until_flow_done not in flows:
            problems.append((("stages", i, "until_flow_done"),
                             f"no flow with id '{stage.until_flow_done}'"))
    return problems


def _check_renames(program: Program) -> list[Problem]:
    """A renamed_from names an id that is gone, not one still in use."""
    problems: list[Problem] = []
    for i, flow in enumerate(program.flows):
        for j, question in enumerate(flow.questions):
            if question.renamed_from is not None and flow.question(question.renamed_from):
                problems.append((("flows", i, "questions", j, "renamed_from"),
                                 f"'{question.renamed_from}' is still a question of this "
                                 "flow; renamed_from names the id it had before"))
    metrics = {m.id for m in program.metrics}
    for i, metric in enumerate(program.metrics):
        if metric.renamed_from is not None and metric.renamed_from in metrics:
            problems.append((("metrics", i, "renamed_from"),
                             f"'{metric.renamed_from}' is still a metric of this program; "
                             "renamed_from names the id it had before"))
    return problems


def _check_flow(flow: Flow, i: int) -> list[Problem]:
    """A flow's conditions point to earlier questions, its texts render, consent comes first."""
    problems: list[Problem] = []
    earlier: set[str] = set()
    for j, question in enumerate(flow.questions):
        if question.when is not None:
            loc = ("flows", i, "questions", j, "when", "question")
            target = question.when.question
            if target == question.id:
                problems.append((loc, "a question cannot depend on itself"))
            elif target not in earlier:
                later = flow.question(target) is not None
                problems.append((loc, f"'{target}' is asked later in this flow" if later
                                 else f"no question '{target}' in flow '{flow.id}'"))
        earlier.add(question.id)
        problems += _check_text(question.prompt, ("flows", i, "questions", j, "prompt"))
    consent = [q for q in flow.questions if isinstance(q, YesNoQuestion) and q.consent]
    if consent and flow.questions[0] is not consent[0]:
        problems.append((("flows", i, "questions"), "the consent question must come first"))
    problems += _check_text(flow.outro, ("flows", i, "outro"))
    return problems


def _check_touchpoint(program: Program, tp: Touchpoint,
                      loc: tuple[str | int, ...]) -> list[Problem]:
    """A touchpoint sends an existing flow or a valid message, at stages and times that exist."""
    problems: list[Problem] = []
    if tp.send.flow is not None and tp.send.flow not in {f.id for f in program.flows}:
        problems.append(((*loc, "send", "flow"), f"no flow with id '{tp.send.flow}'"))
    if tp.send.message is not None:
        problems += _check_text(tp.send.message, (*loc, "send", "message"))
    problems += _check_touchpoint_when(program, tp, loc)
    if tp.on_no_answer is not None and tp.send.flow is None:
        problems.append(((*loc, "on_no_answer"), "only a touchpoint that sends a flow "
                         "can be unanswered"))
    return problems


def _check_touchpoint_when(program: Program, tp: Touchpoint,
                           loc: tuple[str | int, ...]) -> list[Problem]:
    """The stages a touchpoint waits for exist and its cron expression is valid."""
    problems: list[Problem] = []
    stages = {s.id for s in program.stages}
    when = tp.when
    for field in ("stage_start", "stage"):
        value = getattr(when, field)
        if value is not None and value not in stages:
            problems.append(((*loc, "when", field), f"no stage with id '{value}'"))
    for k, stage_id in enumerate(when.stages or []):
        if stage_id not in stages:
            problems.append(((*loc, "when", "stages", k), f"no stage with id '{stage_id}'"))
    if when.cron is not None:
        message = _check_cron(when.cron, program.timezone)
        if message:
            problems.append(((*loc, "when", "cron"), message))
    return problems


def _check_metric_sources(program: Program) -> list[Problem]:
    """A metric's answer and baseline name numeric questions."""
    problems: list[Problem] = []
    for i, metric in enumerate(program.metrics):
        if metric.source.answer:
            problems += _check_answer_ref(program, metric.source.answer, ("metrics", i, "from",
                                                                          "answer"), numeric=True)
        if metric.baseline:
            problems += _check_answer_ref(program, metric.baseline, ("metrics", i, "baseline"),
                                          numeric=True)
    return problems


def _check_rule(program: Program, rule: Rule, i: int) -> list[Problem]:
    """A rule's condition can come true and its action names what exists."""
    problems = _check_rule_condition(program, rule.when, ("rules", i, "when"))
    stages = {s.id for s in program.stages}
    action = rule.then
    if action.move_to_stage and action.move_to_stage not in stages:
        problems.append((("rules", i, "then", "move_to_stage"),
                         f"no stage with id '{action.move_to_stage}'"))
    for field in ("message", "celebrate"):
        text = getattr(action, field)
        if text:
            problems += _check_text(text, ("rules", i, "then", field))
    return problems


def _check_rule_condition(program: Program, cond: RuleCondition,
                          loc: tuple[str | int, ...]) -> list[Problem]:
    """The metrics and questions a condition watches exist and can reach its figures."""
    problems: list[Problem] = []
    metrics = {m.id: m for m in program.metrics}
    named = [(cond.threshold, "threshold"), (cond.plateau, "plateau"),
             (cond.milestone, "milestone")]
    for part, name in named:
        if part is not None and part.metric not in metrics:
            problems.append(((*loc, name, "metric"), f"no metric with id '{part.metric}'"))
    problems += _check_checkin_counts(program, cond, loc)
    if cond.milestone and cond.milestone.change_from_baseline is not None:
        metric = metrics.get(cond.milestone.metric)
        if metric is not None and metric.baseline is None:
            problems.append(((*loc, "milestone", "change_from_baseline"),
                             f"metric '{metric.id}' has no baseline"))
    if cond.keyword is not None:
        problems += _check_answer_ref(program, cond.keyword.question,
                                      (*loc, "keyword", "question"), text=True)
    return problems


def _check_checkin_counts(program: Program, cond: RuleCondition,
                          loc: tuple[str | int, ...]) -> list[Problem]:
    """A threshold's or plateau's count of check-ins fits the program and its metric."""
    problems: list[Problem] = []
    metrics = {m.id: m for m in program.metrics}
    for part, name, count in ((cond.threshold, "threshold", "for_checkins"),
                              (cond.plateau, "plateau", "weeks")):
        metric = metrics.get(part.metric) if part is not None else None
        if part is None or metric is None:
            continue
        n = part.for_checkins if isinstance(part, Threshold) else part.weeks
        if metric.source.behaviour == "days_since_reply" and (n > 1 or name == "plateau"):
            problems.append(((*loc, name, "metric"),
                             f"'{metric.id}' has one value now, not one per check-in; "
                             "use no_reply_days"))
        elif n > program.weeks:
            problems.append(((*loc, name, count), f"{n} check-ins can never happen in a "
                             f"{program.weeks}-week program"))
    return problems


def _check_variants(program: Program) -> list[Problem]:
    """Each variant checked as it runs: the program with its rules and touchpoints merged.

    A problem is shown at the variant's rule or touchpoint when it comes from one.
    """
    problems: list[Problem] = []
    for i, variant in enumerate(program.variants):
        resolved = program.with_variant(variant.id)
        for loc, message in check_references(resolved):
            kind, index = loc[0], loc[1] if len(loc) > 1 else None
            items = {"rules": resolved.rules, "touchpoints": resolved.touchpoints}.get(
                str(kind))
            own = {"rules": variant.rules, "touchpoints": variant.touchpoints}.get(str(kind))
            if items is not None and own is not None and isinstance(index, int):
                ids = [item.id for item in own]
                if items[index].id in ids:
                    loc = ("variants", i, kind, ids.index(items[index].id), *loc[2:])
                    problems.append((loc, message))
                    continue
            problems.append((("variants", i, "id"), f"as variant {variant.id} runs it: "
                             f"{message}"))
    return problems


def _texts(program: Program) -> list[tuple[tuple[str | int, ...], str]]:
    """Every text of the program that placeholders are filled in, with its location."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    for i, flow in enumerate(program.flows):
        found += [(("flows", i, "intro"), flow.intro or ""), (("flows", i, "outro"), flow.outro)]
        found += [(("flows", i, "questions", j, "prompt"), q.prompt)
                  for j, q in enumerate(flow.questions)]
    found += [(("touchpoints", i, "send", "message"), tp.send.message)
              for i, tp in enumerate(program.touchpoints) if tp.send.message]
    found += [(("rules", i, "then", field), getattr(rule.then, field))
              for i, rule in enumerate(program.rules) for field in ("message", "celebrate")
              if getattr(rule.then, field)]
    return found


def _check_next_step(program: Program) -> list[Problem]:
    """The next step offers another program; whether it is loaded is checked with the others."""
    step = program.next
    if step is None:
        return []
    problems: list[Problem] = []
    if step.program == program.id:
        problems.append((("next", "program"), "a program cannot offer itself as the next step"))
    problems += _check_text(step.message, ("next", "message"), extra=NEXT_PLACEHOLDERS)
    if step.after_review is not None:
        problems += _check_answer_ref(program, step.after_review.question,
                                      ("next", "after_review", "question"), numeric=True)
    return problems


# Only the action items' question may name the item and its due date.
ITEM_PLACEHOLDERS = frozenset({"item", "due"})
# Only the next-step offer may name the program it offers.
NEXT_PLACEHOLDERS = frozenset({"next.name"})


def _check_answer_ref(program: Program, ref: str, loc: tuple, *, numeric: bool = False,
                      text: bool = False) -> list[Problem]:
    flow_id, question_id = ref.split(".", 1)
    flow = next((f for f in program.flows if f.id == flow_id), None)
    if flow is None:
        return [(loc, f"no flow with id '{flow_id}'")]
    question = flow.question(question_id)
    if question is None:
        return [(loc, f"no question '{question_id}' in flow '{flow_id}'")]
    if numeric and not isinstance(question, NumberQuestion | ScaleQuestion | YesNoQuestion):
        return [(loc, f"'{ref}' is a {question.type} question; a metric needs a number, "
                 "scale or yes/no answer")]
    if text and not isinstance(question, TextQuestion | ChoiceQuestion):
        return [(loc, f"'{ref}' is a {question.type} question; keywords need a text answer")]
    return []


def _check_text(text: str, loc: tuple, extra: frozenset[str] = frozenset()) -> list[Problem]:
    names = PLACEHOLDERS | extra
    used = [inside.partition("|") for inside in _PLACEHOLDER.findall(text)]
    unknown = [name for name, _, _ in used if name not in names]
    if unknown:
        allowed = ", ".join("{" + p + "}" for p in sorted(names))
        return [(loc, f"unknown placeholder {{{unknown[0]}}}; use one of {allowed}")]
    bare = [name for name, bar, _ in used if name in MAY_BE_EMPTY and not bar]
    if bare:
        return [(loc, f"{{{bare[0]}}} can be empty (a client without a coach): give it a "
                 f"fallback that reads well in the sentence, e.g. {{{bare[0]}|your coach}}")]
    return []


def _check_cron(expression: str, zone: str) -> str | None:
    # APScheduler's CronTrigger is the calendar maths; a trigger that never fires in
    # eight years (e.g. 30 February) is a mistake the program owner wants to hear about.
    from apscheduler.triggers.cron import CronTrigger

    try:
        trigger = CronTrigger.from_crontab(expression, timezone=zone)
    except ValueError as exc:
        return f"not a valid cron expression ({exc})"
    start = datetime(2026, 1, 1, tzinfo=UTC)
    if trigger.get_next_fire_time(None, start) is None:
        return "this schedule never fires"
    fire = trigger.get_next_fire_time(None, start)
    if fire is not None and fire - start > timedelta(days=366 * 8):
        return "this schedule never fires"
    return None
