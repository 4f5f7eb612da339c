"""Segments: the period's clients split by one of their answers (a number in bands, or a
choice), so "which client segments succeed fastest" has an answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conversations.program import (
    ChoiceQuestion,
    NumberQuestion,
    Program,
    ScaleQuestion,
    YesNoQuestion,
)
from services.review_delivery import CheckinCount
from services.review_stats import median, share
from storage.review_queries import WEEK_SECONDS

NO_ANSWER = "no answer"


class BadSegment(ValueError):
    """A --by question that does not exist or cannot be split on, or unreadable bands."""


@dataclass(frozen=True)
class SegmentBy:
    """The answer to split by ("intake.hours_per_week") and, for numbers, the band edges."""

    flow_id: str
    question_id: str
    kind: str  # bands | choice
    options: tuple[tuple[Any, str], ...] = ()  # (stored value, label) of a choice
    bands: tuple[float, ...] | None = None  # None: tertiles of the answers

    @property
    def ref(self) -> str:
        return f"{self.flow_id}.{self.question_id}"


@dataclass(frozen=True)
class SegmentFigures:
    """One segment: its clients, their check-ins, outcome change and milestones."""

    label: str
    clients: int
    checkins_asked: int
    checkins_answered: int
    response_rate: float | None
    outcome_changes: int  # clients with a baseline and a value
    outcome_change_median: float | None
    reached_milestone: int
    median_weeks_to_milestone: float | None


@dataclass(frozen=True)
class Segmentation:
    """The period's clients split by one answer."""

    question: str
    kind: str
    bands: tuple[float, ...]
    outcome_metric: str | None
    segments: tuple[SegmentFigures, ...]


def segment_by(program: Program, ref: str, bands: str | None = None) -> SegmentBy:
    """Check a --by FLOW.QUESTION (and --bands 5,10) against the program."""
    flow_id, dot, question_id = ref.partition(".")
    flow = next((f for f in program.flows if f.id == flow_id), None) if dot else None
    if flow is None:
        flows = ", ".join(f.id for f in program.flows)
        raise BadSegment(f"--by '{ref}' names no flow of {program.id}; give FLOW.QUESTION "
                         f"with a flow among {flows}")
    question = flow.question(question_id)
    if question is None:
        raise BadSegment(f"--by '{ref}': flow '{flow_id}' has no question '{question_id}'")
    if isinstance(question, NumberQuestion | ScaleQuestion):
        return SegmentBy(flow_id, question_id, "bands", bands=_edges(bands))
    if bands is not None:
        raise BadSegment(f"--bands is for number and scale questions; '{ref}' is a "
                         f"{question.type} question")
    if isinstance(question, ChoiceQuestion):
        return SegmentBy(flow_id, question_id, "choice",
                         options=tuple((o.id, o.label) for o in question.options))
    if isinstance(question, YesNoQuestion):
        return SegmentBy(flow_id, question_id, "choice", options=((True, "yes"), (False, "no")))
    raise BadSegment(f"--by '{ref}' is a {question.type} question (free answers); choose a "
                     f"number, scale, yes/no or choice question")


def _edges(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        edges = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise BadSegment(f"--bands '{text}' is not a list of numbers like 5,10") from None
    if list(edges) != sorted(set(edges)):
        raise BadSegment(f"--bands '{text}' must be increasing numbers like 5,10")
    return edges


def _label(edges: Sequence[float], index: int) -> str:
    def show(x: float) -> str:
        return f"{x:g}"
    if index == 0:
        return f"under {show(edges[0])}"
    if index == len(edges):
        return f"{show(edges[-1])} or more"
    return f"{show(edges[index - 1])} to under {show(edges[index])}"


def tertiles(values: Sequence[float]) -> tuple[float, ...]:
    """Edges that split the answers into three bands of about equal size (nearest rank);
    an edge at the lowest answer would leave a band empty, so it is dropped."""
    ordered = sorted(values)
    if not ordered:
        return ()
    n = len(ordered)
    edges = sorted({ordered[n // 3], ordered[2 * n // 3]})
    return tuple(e for e in edges if e > ordered[0])


def segments(by: SegmentBy, clients: Sequence[int], answers: Mapping[int, tuple[Any, Any]],
             checkins: Mapping[int, CheckinCount], changes: Mapping[int, float],
             milestone_seconds: Mapping[int, int], outcome_metric: str | None) -> Segmentation:
    """Split `clients` (enrolment ids) by their answer and add up each segment."""
    if by.kind == "bands":
        numbers = {e: answers[e][0] for e in clients
                   if e in answers and answers[e][0] is not None}
        edges = by.bands if by.bands is not None else tertiles(list(numbers.values()))
        labels = [_label(edges, i) for i in range(len(edges) + 1)] if edges else ["all"]
        member = {e: labels[sum(n >= edge for edge in edges)] for e, n in numbers.items()}
    else:
        edges = ()
        names = dict(by.options)
        labels = [label for _, label in by.options]
        member = {e: names[answers[e][1]] for e in clients
                  if e in answers and answers[e][1] in names}
    groups: dict[str, list[int]] = {label: [] for label in [*labels, NO_ANSWER]}
    for e in clients:
        groups[member.get(e, NO_ANSWER)].append(e)
    rows = tuple(_segment(label, group, checkins, changes, milestone_seconds)
                 for label, group in groups.items() if group or label != NO_ANSWER)
    return Segmentation(question=by.ref, kind=by.kind, bands=tuple(edges),
                        outcome_metric=outcome_metric, segments=rows)


def _segment(label: str, group: Sequence[int], checkins: Mapping[int, CheckinCount],
             changes: Mapping[int, float], milestone_seconds: Mapping[int, int]
             ) -> SegmentFigures:
    asked = sum(checkins[e].asked for e in group if e in checkins)
    answered = sum(checkins[e].answered for e in group if e in checkins)
    deltas = [changes[e] for e in group if e in changes]
    weeks = [milestone_seconds[e] / WEEK_SECONDS for e in group if e in milestone_seconds]
    return SegmentFigures(label=label, clients=len(group), checkins_asked=asked,
                          checkins_answered=answered, response_rate=share(answered, asked),
                          outcome_changes=len(deltas), outcome_change_median=median(deltas),
                          reached_milestone=len(weeks),
                          median_weeks_to_milestone=median(weeks))
