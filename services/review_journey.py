"""The journey over time: check-in response and the main metric by program week, and the
fade, where engagement drops most."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conversations.program import Program
from services.review_delivery import CheckinCount
from services.review_stats import percent, share

# A week with fewer check-ins asked than this is too thin to compare.
MIN_ASKED = 5
# The fade compares weeks at most this far apart ("between weeks 5 and 7").
FADE_SPAN = 2


@dataclass(frozen=True)
class WeekFigures:
    """One program week: check-ins asked and answered, and the main metric's mean."""

    week: int
    asked: int
    answered: int
    response_rate: float | None
    metric_values: int
    metric_mean: float | None


@dataclass(frozen=True)
class Fade:
    """The largest fall in response rate between two weeks at most two apart."""

    from_week: int
    to_week: int
    from_rate: float
    to_rate: float

    @property
    def sentence(self) -> str:
        return (f"response falls from {percent(self.from_rate)} to {percent(self.to_rate)} "
                f"between weeks {self.from_week} and {self.to_week}")


def weeks(program: Program, counts: Mapping[int, CheckinCount],
          sums: Sequence[tuple[int, int, float]]) -> list[WeekFigures]:
    """Every week with a check-in or a value of the main metric, in order.

    `sums` are (week, values, sum) from storage; weeks past the program's length fold into
    its last week, as the client's own week number does.
    """
    values: dict[int, tuple[int, float]] = {}
    for week, n, total in sums:
        capped = min(max(1, week), program.weeks)
        seen, so_far = values.get(capped, (0, 0.0))
        values[capped] = (seen + n, so_far + total)
    out = []
    for week in sorted(set(counts) | set(values)):
        count = counts.get(week, CheckinCount())
        n, total = values.get(week, (0, 0.0))
        out.append(WeekFigures(week=week, asked=count.asked, answered=count.answered,
                               response_rate=share(count.answered, count.asked),
                               metric_values=n, metric_mean=total / n if n else None))
    return out


def fade(lines: Sequence[WeekFigures]) -> Fade | None:
    """Where response falls most between weeks at most two apart, each with at least
    `MIN_ASKED` check-ins asked; on a tie the shorter fall, then the earlier one; None
    when response never falls."""
    rates = {w.week: w.response_rate for w in lines
             if w.asked >= MIN_ASKED and w.response_rate is not None}
    falls = []
    for start, rate in rates.items():
        for span in range(1, FADE_SPAN + 1):
            end = start + span
            if end in rates and rates[end] < rate:  # type: ignore[operator]
                # Rounded so that two equal falls computed differently compare equal.
                drop = round(rate - rates[end], 9)  # type: ignore[operator]
                falls.append((-drop, span, start, end))
    if not falls:
        return None
    _, _, start, end = min(falls)
    return Fade(start, end, rates[start], rates[end])  # type: ignore[arg-type]
