"""Small statistics the review folds its counts with."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

from conversations.formatting import format_percent_value


def share(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide."""
    return part / whole if whole else None


def median_of_counts(counts: Mapping[int, int]) -> float | None:
    """The median of values given as {value: how many times}; None when empty.

    The value lists can be long (a minute per answer) but have few distinct values, so the
    middle is found by walking the sorted values, never by expanding them.
    """
    total = sum(counts.values())
    if not total:
        return None
    lower_rank, upper_rank = (total - 1) // 2, total // 2
    lower = upper = None
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if lower is None and seen > lower_rank:
            lower = value
        if seen > upper_rank:
            upper = value
            break
    assert lower is not None and upper is not None
    return (lower + upper) / 2


def median(values: Sequence[float]) -> float | None:
    """The median, or None without values."""
    return statistics.median(values) if values else None


def percent(rate: float | None, language: str = "en") -> str:
    """A rate as a whole percentage ('41%', '41 %' in German); '-' when there is none."""
    return "-" if rate is None else format_percent_value(rate, language)
