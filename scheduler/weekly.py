"""A weekly slot's fire times read off its zone's wall clock, wherever that clock is plain.

APScheduler 3's CronTrigger can skip a whole week when its search crosses a day that a
clock change shortens: asked on Monday 22 March 2027 for London's Mondays at 00:30, it
answers 5 April, not 29 March (the clocks go forward on the Sunday between). A weekly slot
fires at one wall time on one weekday, so where the zone shows that time exactly once,
that is its fire. The planner asks the trigger only where it does not (the slot's minute
skipped or repeated by a clock change that very day).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

WEEK = timedelta(weeks=1)


class WeeklySlot(NamedTuple):
    """A weekday (Monday 0) and a time of day in a zone."""

    weekday: int
    at: time
    zone: ZoneInfo

    def first(self, moment: datetime) -> datetime | None:
        """The first fire at or after `moment`, in UTC; None where a clock change blurs it."""
        local = moment.astimezone(self.zone)
        day = local.date() + timedelta(days=(self.weekday - local.weekday()) % 7)
        fire = self.plain(datetime.combine(day, self.at))
        if fire is not None and fire < moment:
            fire = self.plain(datetime.combine(day + WEEK, self.at))
        return fire

    def step(self, fire: datetime, weeks: int) -> datetime | None:
        """The fire `weeks` weeks (or back) from `fire`, one of this slot's, in UTC; None
        where a clock change blurs either (`fire` moved off the slot by a skipped hour)."""
        local = fire.astimezone(self.zone)
        if local.time() != self.at:
            return None
        return self.plain(datetime.combine(local.date() + weeks * WEEK, self.at))

    def plain(self, wall: datetime) -> datetime | None:
        """The naive wall time `wall` in UTC, if the zone's clock shows it exactly once."""
        earlier, later = wall.replace(tzinfo=self.zone), wall.replace(tzinfo=self.zone, fold=1)
        if earlier.utcoffset() != later.utcoffset():
            return None  # skipped (spring forward) or repeated (fall back)
        return earlier.astimezone(UTC)
