"""The span a review covers: a calendar quarter or two dates, and the span before it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

_QUARTER = re.compile(r"(\d{4})-?[Qq]([1-4])")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class BadPeriod(ValueError):
    """A quarter or date that cannot be read, or a span that ends before it starts."""


@dataclass(frozen=True)
class Period:
    """Whole UTC days from `first` to `last`, both included."""

    label: str
    first: date
    last: date

    @property
    def start(self) -> datetime:
        """The first moment of the span (UTC)."""
        return datetime.combine(self.first, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the span (UTC)."""
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=UTC)

    @property
    def is_quarter(self) -> bool:
        return _QUARTER.fullmatch(self.label) is not None

    def previous(self) -> Period:
        """The quarter before a quarter; otherwise the same number of days just before."""
        if self.is_quarter:
            return quarter_of(self.first - timedelta(days=1))
        days = (self.last - self.first).days + 1
        return between(self.first - timedelta(days=days), self.first - timedelta(days=1))


def quarter_of(day: date) -> Period:
    """The calendar quarter `day` falls in."""
    q = (day.month - 1) // 3 + 1
    first = date(day.year, 3 * q - 2, 1)
    last = (date(day.year + 1, 1, 1) if q == 4 else date(day.year, 3 * q + 1, 1)) \
        - timedelta(days=1)
    return Period(f"{day.year}Q{q}", first, last)


def parse_quarter(text: str) -> Period:
    """'2026Q3' (also '2026-Q3', '2026q3') as a period."""
    match = _QUARTER.fullmatch(text.strip())
    if not match:
        raise BadPeriod(f"--quarter '{text}' is not a quarter like 2026Q3 (Q1 to Q4)")
    year, q = int(match[1]), int(match[2])
    return quarter_of(date(year, 3 * q - 2, 1))


def parse_day(text: str, option: str) -> date:
    """A strict YYYY-MM-DD date."""
    try:
        if not _DAY.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise BadPeriod(f"{option} '{text}' is not a date like 2026-03-31 (YYYY-MM-DD)"
                        ) from None


def between(first: date, last: date) -> Period:
    """The days from `first` to `last`, both included."""
    if last < first:
        raise BadPeriod(f"--to {last} is before --from {first}")
    return Period(f"{first} to {last}", first, last)


def choose(*, quarter: str | None, start: str | None, end: str | None, today: date) -> Period:
    """The period the options name; without any, the last quarter that has ended."""
    if quarter is not None and (start is not None or end is not None):
        raise BadPeriod("give --quarter or --from/--to, not both")
    if quarter is not None:
        return parse_quarter(quarter)
    if start is not None or end is not None:
        if start is None or end is None:
            raise BadPeriod("--from and --to go together: give both")
        return between(parse_day(start, "--from"), parse_day(end, "--to"))
    return quarter_of(today).previous()
