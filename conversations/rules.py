"""Rules: structured conditions over metrics and answers, evaluated to a decision. Pure.

A rule fires when its condition starts to hold, not again while it keeps holding, and
may fire again once it has cleared; the caller keeps that state (the open firing).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conversations.program import Keyword, Milestone, Plateau, Rule, RuleCondition, Threshold


@dataclass(frozen=True)
class RuleInputs:
    """What conditions look at for one client, now."""

    # Values per metric, oldest first: one per answer for answer metrics, one per check-in
    # snapshot for behaviour metrics.
    series: Mapping[str, Sequence[float]]
    baselines: Mapping[str, float] = field(default_factory=dict)
    # The latest text answer per "flow.question".
    latest_text: Mapping[str, str] = field(default_factory=dict)
    days_since_reply: float = 0.0


@dataclass(frozen=True)
class Decision:
    """A rule whose condition holds, with the values that made it hold."""

    rule: Rule
    evidence: dict[str, object]


Evidence = dict[str, object] | None


def holds(condition: RuleCondition, inputs: RuleInputs) -> Evidence:
    """The evidence when the condition holds now, else None."""
    for kind, check in _CHECKS.items():
        given = getattr(condition, kind)
        if given is not None:
            return check(given, inputs)
    raise AssertionError("validated to have one condition")


def _threshold(t: Threshold, inputs: RuleInputs) -> Evidence:
    recent = list(inputs.series.get(t.metric, ()))[-t.for_checkins:]
    if len(recent) < t.for_checkins:
        return None
    if t.below is not None:
        ok = all(v < t.below for v in recent)
    else:
        assert t.above is not None  # validated: one of the two
        ok = all(v > t.above for v in recent)
    return {"metric": t.metric, "values": recent} if ok else None


def _no_reply(days: int, inputs: RuleInputs) -> Evidence:
    since = inputs.days_since_reply
    return {"days_since_reply": since} if since >= days else None


def _plateau(p: Plateau, inputs: RuleInputs) -> Evidence:
    window = list(inputs.series.get(p.metric, ()))[-(p.weeks + 1):]
    if len(window) < p.weeks + 1:
        return None
    # No improvement: nothing in the last N check-ins beat the value N check-ins ago.
    return {"metric": p.metric, "values": window} if max(window[1:]) <= window[0] else None


def _keyword(k: Keyword, inputs: RuleInputs) -> Evidence:
    text = inputs.latest_text.get(k.question, "")
    found = [word for word in k.any if _contains(text, word)]
    return {"question": k.question, "keywords": found} if found else None


def _milestone(m: Milestone, inputs: RuleInputs) -> Evidence:
    values = inputs.series.get(m.metric, ())
    if not values:
        return None
    latest = values[-1]
    if m.reaches is not None:
        return {"metric": m.metric, "value": latest} if latest >= m.reaches else None
    base = inputs.baselines.get(m.metric)
    if base is None or m.change_from_baseline is None:
        return None
    change = latest - base
    if change < m.change_from_baseline:
        return None
    return {"metric": m.metric, "value": latest, "baseline": base, "change": change}


# A condition has exactly one of these set (the program's validation says so).
_CHECKS: dict[str, Callable[[Any, RuleInputs], Evidence]] = {
    "threshold": _threshold, "no_reply_days": _no_reply, "plateau": _plateau,
    "keyword": _keyword, "milestone": _milestone}


def _contains(text: str, phrase: str) -> bool:
    pattern = r"\b" + r"\s+".join(re.escape(w) for w in phrase.lower().split()) + r"\b"
    return re.search(pattern, text.lower()) is not None


def decide(rules: Sequence[Rule], inputs: RuleInputs, open_firings: set[str]
           ) -> tuple[list[Decision], list[str]]:
    """Rules that fire now (held, not already open) and open firings that cleared."""
    fired: list[Decision] = []
    cleared: list[str] = []
    for rule in rules:
        evidence = holds(rule.when, inputs)
        if evidence is not None and rule.id not in open_firings:
            fired.append(Decision(rule, evidence))
        elif evidence is None and rule.id in open_firings:
            cleared.append(rule.id)
    return fired, cleared


def lookback(rules: Sequence[Rule]) -> int:
    """How many of a series' latest values the rules look at (at least the latest)."""
    needs = [1]
    for rule in rules:
        if rule.when.threshold is not None:
            needs.append(rule.when.threshold.for_checkins)
        if rule.when.plateau is not None:
            needs.append(rule.when.plateau.weeks + 1)
    return max(needs)
