"""A daily or weekly slot's fire times read off its zone's wall clock, where that is plain.

APScheduler 3's CronTrigger can skip a whole day or week when its search crosses a day
that a clock change shortens: asked on Monday 22 March 2027 for London's Mondays at 00:30,
it answers 5 April, not 29 March (the clocks go forward on the Sunday between); asked on
the morning of 8 March 2026 for New York's midnights, it answers the 10th, not the 9th.
A slot fires at one wall time (on one weekday), so where the zone shows that time exactly
once, that is its fire. The planner asks the trigger only where it does not (the slot's
minute skipped or repeated by a clock change that very day).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

DAY = timedelta(days=1)
WEEK = timedelta(weeks=1)


class WallClockSlot(NamedTuple):
    """A time of day in a zone, every day or on one weekday (Monday 0)."""

    weekday: int | None
    at: time
    zone: ZoneInfo

    def first(self, moment: datetime) -> datetime | None:
        """The first fire at or after `moment`, in UTC; None where a clock change blurs it."""
        local = moment.astimezone(self.zone)
        ahead = 0 if self.weekday is None else (self.weekday - local.weekday()) % 7
        day = local.date() + timedelta(days=ahead)
        fire = self.plain(datetime.combine(day, self.at))
        if fire is not None and fire < moment:
            fire = self.plain(datetime.combine(day + self.period, self.at))
        return fire

    def step(self, fire: datetime, count: int) -> datetime | None:
        """The fire `count` periods (or back) from `fire`, one of this slot's, in UTC; None
        where a clock change blurs either (`fire` moved off the slot by a skipped hour, or
        shown twice: its repeat may come next)."""
        local = fire.astimezone(self.zone)
        if local.time() != self.at or self.plain(local.replace(tzinfo=None)) != fire:
            return None
        return self.plain(datetime.combine(local.date() + count * self.period, self.at))

    @property
    def period(self) -> timedelta:
        return DAY if self.weekday is None else WEEK

    def plain(self, wall: datetime) -> datetime | None:
        """The naive wall time `wall` in UTC, if the zone's clock shows it exactly once."""
        earlier, later = wall.replace(tzinfo=self.zone), wall.replace(tzinfo=self.zone, fold=1)
        if earlier.utcoffset() != later.utcoffset():
            return None  # skipped (spring forward) or repeated (fall back)
        return earlier.astimezone(UTC)
