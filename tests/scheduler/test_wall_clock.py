"""A slot's fires read off its zone's wall clock (scheduler/wall_clock.py): where the
clock shows the slot's minute once, that is the fire; where a clock change skips or
repeats it, the slot says it cannot tell (the trigger is asked instead). Pure."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduler.wall_clock import WallClockSlot

LONDON = ZoneInfo("Europe/London")
MONDAY_0030 = WallClockSlot(0, time(0, 30), LONDON)
DAILY_1000 = WallClockSlot(None, time(10, 0), ZoneInfo("America/New_York"))


def local(moment: datetime | None, zone: ZoneInfo = LONDON) -> str | None:
    return None if moment is None else f"{moment.astimezone(zone):%a %d %b %H:%M %Z}"


def test_the_first_fire_after_a_moment_is_the_slot_on_its_next_weekday():
    # Tue 23 Mar 2027: the clocks go forward on Sun 28 Mar, and the next Monday is the 29th
    # (APScheduler 3.11's CronTrigger answers 5 April from here).
    first = MONDAY_0030.first(datetime(2027, 3, 23, 12, 0, tzinfo=UTC))
    assert local(first) == "Mon 29 Mar 00:30 BST"


def test_a_moment_that_is_a_fire_is_its_own_first_fire():
    fire = datetime(2027, 3, 22, 0, 30, tzinfo=UTC)  # Mon 22 Mar 00:30 GMT
    assert MONDAY_0030.first(fire) == fire


def test_a_moment_just_after_the_days_fire_waits_a_whole_period():
    assert local(MONDAY_0030.first(datetime(2027, 3, 22, 0, 31, tzinfo=UTC))) == \
        "Mon 29 Mar 00:30 BST"
    new_york = ZoneInfo("America/New_York")
    assert local(DAILY_1000.first(datetime(2026, 3, 7, 15, 1, tzinfo=UTC)), new_york) == \
        "Sun 08 Mar 10:00 EDT"  # the day the clocks go forward, 14:00 UTC not 15:00


def test_a_fire_steps_a_period_on_and_back_on_the_wall_clock():
    fire = datetime(2027, 3, 22, 0, 30, tzinfo=UTC)
    assert local(MONDAY_0030.step(fire, 1)) == "Mon 29 Mar 00:30 BST"
    assert local(MONDAY_0030.step(fire, -1)) == "Mon 15 Mar 00:30 GMT"
    assert MONDAY_0030.step(fire + timedelta(minutes=30), 1) is None  # not one of its fires


def test_a_minute_the_clock_skips_or_shows_twice_is_left_to_the_trigger():
    berlin_0230 = WallClockSlot(6, time(2, 30), ZoneInfo("Europe/Berlin"))
    # Sun 29 Mar 2026 has no 02:30 in Berlin; Sun 25 Oct 2026 has two.
    assert berlin_0230.first(datetime(2026, 3, 27, tzinfo=UTC)) is None
    assert berlin_0230.first(datetime(2026, 10, 23, tzinfo=UTC)) is None
    the_week_before = datetime(2026, 10, 18, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert berlin_0230.step(the_week_before, 1) is None
    first_of_two = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # its repeat may come next
    assert berlin_0230.step(first_of_two, 1) is None
