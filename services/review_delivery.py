"""The delivery operations map as it ran: one line per touchpoint, per owner, the worst three.

Folded from the counts `storage.review_queries.delivery` returns for the send rows due in the
period; the same counts give the check-ins per program week and per client for the
journey and the segments.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from conversations.program import Program, Touchpoint
from services.review_stats import median_of_counts, percent, share
from storage.metric_store import checkin_touchpoints
from storage.review_queries import Delivery, FollowUp

# How many touchpoints the review names as the weakest.
WORST = 3


@dataclass(frozen=True)
class TouchpointFigures:
    """What one touchpoint did in the period.

    `planned` counts every send row due; `sent` those that went out; the answer figures
    count sent rows of a flow touchpoint (None for a message). A check-in answered ahead
    was asked but not sent: it counts in the journey's response rate, not here.
    """

    touchpoint_id: str
    title: str
    owner: str
    sends: str  # flow | message
    sla_hours: float | None
    on_no_answer: str | None  # mark_missed | flag_coach | escalate
    planned: int
    sent: int
    sent_on_time: int
    answered: int | None
    answered_within_sla: int | None
    median_hours_to_answer: float | None
    reminders: int
    missed: int
    flagged: int

    @property
    def headline(self) -> tuple[str, float | None]:
        """The figure this touchpoint is judged by, as (name, rate of sent)."""
        if self.answered_within_sla is not None:
            return "answered within SLA", share(self.answered_within_sla, self.sent)
        if self.answered is not None:
            return "answered", share(self.answered, self.sent)
        return "sent on time", share(self.sent_on_time, self.sent)


@dataclass(frozen=True)
class OwnerFigures:
    """The touchpoints of one owner role, added up."""

    owner: str
    touchpoints: int
    sent: int
    sent_on_time: int
    with_sla: int  # sent rows of flow touchpoints that have an SLA
    answered_within_sla: int
    missed: int
    flagged: int


@dataclass
class _Tally:
    planned: int = 0
    sent: int = 0
    on_time: int = 0
    answered: int = 0
    within_sla: int = 0
    missed: int = 0
    minutes: Counter[int] = field(default_factory=Counter)


@dataclass
class CheckinCount:
    """Check-ins asked (sent, or answered ahead) and answered."""

    asked: int = 0
    answered: int = 0


@dataclass
class DeliveryTally:
    """Everything one pass over the send rows counts."""

    clients: set[int] = field(default_factory=set)
    touchpoints: dict[str, _Tally] = field(default_factory=dict)
    weeks: dict[int, CheckinCount] = field(default_factory=dict)
    per_client: dict[int, CheckinCount] = field(default_factory=dict)


def tally(program: Program, counted: Delivery, period: int) -> DeliveryTally:
    """Fold one period's counts of send rows."""
    by_id = {tp.id: tp for tp in program.touchpoints}
    checkins = set(checkin_touchpoints(program))
    out = DeliveryTally()
    for c in counted.counts:
        tp = by_id.get(c.touchpoint_id)
        if c.period != period or tp is None:
            continue  # another period, or a touchpoint since removed from the file
        t = out.touchpoints.setdefault(tp.id, _Tally())
        t.planned += c.rows
        if c.sent:
            t.sent += c.rows
            t.on_time += c.rows if c.on_time else 0
            t.missed += c.rows if c.missed else 0
            if c.answered and tp.send.flow is not None:
                t.answered += c.rows
                t.within_sla += c.rows if c.within_sla else 0
        if tp.id in checkins and c.asked:
            # Capped like conversations.journey.program_week: the week the client saw.
            week = out.weeks.setdefault(min(max(1, c.week), program.weeks), CheckinCount())
            week.asked += c.rows
            week.answered += c.rows if c.answered else 0
    for a in counted.answer_times:
        if a.period == period and a.touchpoint_id in out.touchpoints:
            out.touchpoints[a.touchpoint_id].minutes[a.minutes] += a.rows
    for client in counted.clients:
        if client.period == period:
            out.clients.add(client.enrolment_id)
            out.per_client[client.enrolment_id] = CheckinCount(client.checkins_asked,
                                                               client.checkins_answered)
    return out


def touchpoint_figures(program: Program, counted: DeliveryTally,
                       follow_ups: Sequence[FollowUp]) -> list[TouchpointFigures]:
    """One line per touchpoint of the program, in the file's order."""
    reminders: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    for row in follow_ups:
        went = row.status == "done" and row.reason is None
        if row.kind == "remind" and went:
            reminders[row.touchpoint_id] += row.rows
        elif row.kind == "no_answer" and went:
            flagged[row.touchpoint_id] += row.rows
    return [_figures(tp, counted.touchpoints.get(tp.id, _Tally()), reminders[tp.id],
                     flagged[tp.id]) for tp in program.touchpoints]


def _figures(tp: Touchpoint, t: _Tally, reminders: int, no_answer_steps: int
             ) -> TouchpointFigures:
    flow = tp.send.flow is not None
    policy = tp.on_no_answer.then if tp.on_no_answer else None
    minutes = median_of_counts(t.minutes)
    return TouchpointFigures(
        touchpoint_id=tp.id, title=tp.title or tp.id, owner=tp.owner,
        sends="flow" if flow else "message",
        sla_hours=tp.sla.total_seconds() / 3600 if tp.sla else None, on_no_answer=policy,
        planned=t.planned, sent=t.sent, sent_on_time=t.on_time,
        answered=t.answered if flow else None,
        answered_within_sla=t.within_sla if flow and tp.sla else None,
        median_hours_to_answer=minutes / 60 if minutes is not None else None,
        reminders=reminders, missed=t.missed,
        # A no-answer step that ran hands the client to a human only under these policies.
        flagged=no_answer_steps if policy in ("flag_coach", "escalate") else 0)


def by_owner(lines: Sequence[TouchpointFigures]) -> list[OwnerFigures]:
    """The map added up per owner role, in order of first appearance."""
    owners: list[OwnerFigures] = []
    for owner in dict.fromkeys(line.owner for line in lines):
        mine = [line for line in lines if line.owner == owner]
        owners.append(OwnerFigures(
            owner=owner, touchpoints=len(mine), sent=sum(m.sent for m in mine),
            sent_on_time=sum(m.sent_on_time for m in mine),
            with_sla=sum(m.sent for m in mine if m.answered_within_sla is not None),
            answered_within_sla=sum(m.answered_within_sla or 0 for m in mine),
            missed=sum(m.missed for m in mine), flagged=sum(m.flagged for m in mine)))
    return owners


def worst(lines: Sequence[TouchpointFigures], count: int = WORST) -> list[str]:
    """The weakest touchpoints in words, weakest first: only those below 100%."""
    judged = [(rate, order, line, name) for order, line in enumerate(lines)
              for name, rate in [line.headline] if rate is not None and rate < 1]
    judged.sort(key=lambda item: (item[0], item[1]))
    return [f"{line.title}: {name} {percent(rate)}, owner {line.owner}"
            for rate, _, line, name in judged[:count]]

