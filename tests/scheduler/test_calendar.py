"""Calendar maths of the planner: local hours kept across DST, missing and repeated hours,
30-minute zones and quiet hours. Pure: no database, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.program_files import load_file
from conversations.program import QuietHours, Weekly
from scheduler.occurrences import next_local_time, plan, quiet_adjusted
from tests.conftest import SAMPLE

PROGRAM = load_file(SAMPLE).program


def checkins(zone: str, start: datetime, slot: Weekly | None = None, *,
             chosen: bool = False, quiet: QuietHours | None = None) -> list[datetime]:
    """The check-in times planned for a client in the active stage from `start`."""
    return [o.due for o in plan(PROGRAM, enrolled_at=start, zone=zone, stage="active",
                                stage_started=start, checkin=slot, checkin_chosen=chosen,
                                quiet=quiet, wait_for_flows=True)
            if o.touchpoint.id == "weekly_checkin"]


@pytest.mark.parametrize("zone, start, before, after", [
    # spring forward: Berlin on Sun 29 Mar 2026, New York on Sun 8 Mar 2026
    ("Europe/Berlin", datetime(2026, 3, 16, tzinfo=UTC), "08:00", "07:00"),
    ("America/New_York", datetime(2026, 2, 23, tzinfo=UTC), "14:00", "13:00"),
    # fall back: Berlin on Sun 25 Oct 2026, New York on Sun 1 Nov 2026
    ("Europe/Berlin", datetime(2026, 10, 12, tzinfo=UTC), "07:00", "08:00"),
    ("America/New_York", datetime(2026, 10, 19, tzinfo=UTC), "13:00", "14:00"),
])
def test_checkin_stays_at_nine_local_across_both_dst_changes(zone, start, before, after):
    times = checkins(zone, start)[:4]
    assert {t.astimezone(ZoneInfo(zone)).strftime("%a %H:%M") for t in times} == {"Mon 09:00"}
    assert f"{times[0]:%H:%M}" == before
    assert f"{times[-1]:%H:%M}" == after


def test_half_hour_zone_gets_its_own_half_hour():
    times = checkins("Asia/Kolkata", datetime(2026, 3, 16, tzinfo=UTC))[:3]
    assert [f"{t:%a %H:%M}" for t in times] == ["Mon 03:30"] * 3


def test_a_checkin_hour_missing_on_spring_forward_day_comes_an_hour_later_that_day():
    """02:30 does not exist in Berlin on Sun 29 Mar 2026: the check-in comes at 03:30 CEST
    (the same instant 02:30 would have been), once; the next week it is 02:30 again."""
    slot = Weekly(day="sun", time=time(2, 30))
    times = checkins("Europe/Berlin", datetime(2026, 3, 16, tzinfo=UTC), slot, chosen=True)
    local = [t.astimezone(ZoneInfo("Europe/Berlin")) for t in times[:3]]
    assert [f"{t:%d %H:%M %Z}" for t in local] == ["22 02:30 CET", "29 03:30 CEST",
                                                   "05 02:30 CEST"]


def test_a_checkin_hour_repeated_on_fall_back_day_comes_once():
    slot = Weekly(day="sun", time=time(2, 30))
    times = checkins("Europe/Berlin", datetime(2026, 10, 12, tzinfo=UTC), slot, chosen=True)
    on_the_day = [t for t in times if t.date().isoformat() == "2026-10-25"]
    assert [f"{t:%H:%M}" for t in on_the_day] == ["00:30"]  # 02:30 CEST, the first one


@pytest.mark.parametrize("zone, slot, start, expected", [
    # London goes forward at 01:00 on Sun 28 Mar 2027; Lord Howe by half an hour at 02:00
    # on Sun 7 Oct 2012. APScheduler's CronTrigger, asked from the week before, answers the
    # week after: the Monday just after the change would have been skipped.
    ("Europe/London", Weekly(day="mon", time=time(0, 30)), datetime(2027, 3, 16, tzinfo=UTC),
     ["Mon 22 Mar 00:30 GMT", "Mon 29 Mar 00:30 BST", "Mon 05 Apr 00:30 BST"]),
    ("Australia/Lord_Howe", Weekly(day="mon", time=time(0, 0)),
     datetime(2012, 9, 25, tzinfo=UTC),
     ["Mon 01 Oct 00:00 +1030", "Mon 08 Oct 00:00 +11", "Mon 15 Oct 00:00 +11"]),
])
def test_the_checkin_just_after_a_clock_change_is_not_skipped(zone, slot, start, expected):
    times = checkins(zone, start, slot, chosen=True)[:3]
    assert [f"{t.astimezone(ZoneInfo(zone)):%a %d %b %H:%M %Z}" for t in times] == expected


def wall_clock_fires(zone: str, slot: Weekly, start: datetime, end: datetime,
                     ) -> dict[tuple[int, int], datetime]:
    """By brute force: each local ISO week's first half hour from `start` to `end` whose
    wall clock shows the slot (every zone here is on a whole or half hour)."""
    found: dict[tuple[int, int], datetime] = {}
    tz, moment = ZoneInfo(zone), start
    while moment < end:
        local = moment.astimezone(tz)
        if (local.strftime("%a").lower() == slot.day and local.time() == slot.time):
            found.setdefault(local.isocalendar()[:2], moment)
        moment += timedelta(minutes=30)
    return found


@pytest.mark.parametrize("zone", ["Europe/London", "Europe/Berlin", "America/New_York",
                                  "America/Santiago", "America/Havana", "Africa/Casablanca",
                                  "Australia/Lord_Howe", "Australia/Sydney", "Asia/Kolkata"])
def test_weekly_checkins_fall_where_the_wall_clock_shows_the_slot(zone):
    """Over two years of clock changes, for slots around midnight and in the day: every
    week the zone shows the slot's time, the check-in is at that instant, never a week
    skipped. (Weeks where the slot's minute is skipped or repeated are the tests above.)"""
    slots = [Weekly(day=d, time=time(h, m)) for d, h, m in
             [("mon", 0, 0), ("mon", 0, 30), ("sun", 0, 30), ("sat", 23, 30), ("sun", 9, 0)]]
    begin, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)
    for slot in slots:
        truth = wall_clock_fires(zone, slot, begin, end)
        for weeks in range(0, 100, 9):
            start = begin + timedelta(weeks=weeks, hours=weeks)
            planned = checkins(zone, start, slot, chosen=True)
            assert planned
            by_week = {t.astimezone(ZoneInfo(zone)).isocalendar()[:2]: t for t in planned}
            assert len(by_week) == len(planned)  # one a week
            for week, fire in truth.items():
                if planned[0] <= fire <= planned[-1]:
                    assert by_week.get(week) == fire, (slot, week)


@pytest.mark.parametrize("asked, expected", [
    # Berlin falls back at 03:00 CEST on Sun 25 Oct 2026: 02:30 is shown twice.
    (datetime(2026, 10, 24, 12, 0, tzinfo=UTC), "25 02:30 CEST"),
    (datetime(2026, 10, 25, 0, 45, tzinfo=UTC), "25 02:30 CET"),  # between the two
    (datetime(2026, 10, 25, 1, 45, tzinfo=UTC), "26 02:30 CET"),
    # ... and springs forward on Sun 29 Mar 2026: 02:30 is not shown at all.
    (datetime(2026, 3, 28, 12, 0, tzinfo=UTC), "29 03:30 CEST"),
])
def test_a_time_of_day_shown_twice_or_never_that_night(asked, expected):
    at = next_local_time(asked, time(2, 30), "Europe/Berlin")
    assert f"{at.astimezone(ZoneInfo('Europe/Berlin')):%d %H:%M %Z}" == expected


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/London", "America/Havana",
                                  "America/Santiago", "Australia/Lord_Howe"])
def test_a_time_of_day_comes_the_next_day_the_wall_clock_shows_it(zone):
    """A one-off nudge at a time of day (the welcome's "10:00", a quiet hour's end), asked
    from any moment over two years: the first instant the zone's clock shows that time.
    (APScheduler alone answers New York's midnight after 8 March 2026 with the 10th.)"""
    tz = ZoneInfo(zone)
    for at in (time(0, 0), time(0, 30), time(10, 0), time(23, 30)):
        moment = datetime(2026, 1, 1, 0, 7, tzinfo=UTC)
        while moment < datetime(2028, 1, 1, tzinfo=UTC):
            truth = moment.replace(minute=30 if moment.minute > 0 else 0) + timedelta(
                minutes=30 if moment.minute > 30 else 0)
            while truth.astimezone(tz).time() != at:
                truth += timedelta(minutes=30)
            assert next_local_time(moment, at, zone) == truth, (at, moment)
            moment += timedelta(hours=29, minutes=13)  # a different hour every day


def test_quiet_hours_move_a_default_nudge_to_the_next_allowed_minute():
    zone = ZoneInfo("Europe/Berlin")
    late = datetime(2026, 3, 3, 21, 30, tzinfo=zone)
    assert quiet_adjusted(late, zone, QuietHours()) == datetime(2026, 3, 4, 8, 0, tzinfo=zone)
    early = datetime(2026, 3, 4, 6, 0, tzinfo=zone)
    assert quiet_adjusted(early, zone, QuietHours()) == datetime(2026, 3, 4, 8, 0, tzinfo=zone)
    noon = datetime(2026, 3, 4, 12, 0, tzinfo=zone)
    assert quiet_adjusted(noon, zone, QuietHours()) == noon


def test_a_person_quiet_hours_override_the_programs():
    start = datetime(2026, 3, 16, tzinfo=UTC)
    quiet = QuietHours(start=time(7, 0), end=time(10, 30))
    times = checkins("Europe/Berlin", start, quiet=quiet)[:2]
    assert [t.astimezone(ZoneInfo("Europe/Berlin")).strftime("%a %H:%M") for t in times] == [
        "Mon 10:30"] * 2


def test_a_slot_the_client_chose_is_kept_even_in_quiet_hours():
    slot = Weekly(day="tue", time=time(22, 0))
    start = datetime(2026, 3, 16, tzinfo=UTC)
    chosen = checkins("Europe/Berlin", start, slot, chosen=True)[0]
    assert chosen.astimezone(ZoneInfo("Europe/Berlin")).strftime("%a %H:%M") == "Tue 22:00"


def test_planning_is_the_same_every_time():
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    first = plan(PROGRAM, enrolled_at=start, zone="Europe/Berlin", wait_for_flows=True)
    assert first == plan(PROGRAM, enrolled_at=start, zone="Europe/Berlin", wait_for_flows=True)
    assert len({(o.touchpoint.id, o.occurrence) for o in first}) == len(first)


BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize("quiet, local, expected", [
    # Overnight quiet hours (21:00-08:00): the first quiet minute is 21:00, the first
    # allowed one 08:00; neither edge may slip by a day.
    (QuietHours(), "2026-03-03 20:59", "2026-03-03 20:59"),
    (QuietHours(), "2026-03-03 21:00", "2026-03-04 08:00"),
    (QuietHours(), "2026-03-04 00:00", "2026-03-04 08:00"),
    (QuietHours(), "2026-03-04 07:59", "2026-03-04 08:00"),
    (QuietHours(), "2026-03-04 08:00", "2026-03-04 08:00"),
    # Daytime quiet hours (a person's 12:00-14:00 lunch): the same edges within one day.
    (QuietHours(start=time(12, 0), end=time(14, 0)), "2026-03-04 11:59", "2026-03-04 11:59"),
    (QuietHours(start=time(12, 0), end=time(14, 0)), "2026-03-04 12:00", "2026-03-04 14:00"),
    (QuietHours(start=time(12, 0), end=time(14, 0)), "2026-03-04 13:59", "2026-03-04 14:00"),
    (QuietHours(start=time(12, 0), end=time(14, 0)), "2026-03-04 14:00", "2026-03-04 14:00"),
    # Start equal to end: no quiet hours at all.
    (QuietHours(start=time(9, 0), end=time(9, 0)), "2026-03-04 09:00", "2026-03-04 09:00"),
])
def test_quiet_hours_hold_exactly_at_their_start_and_release_exactly_at_their_end(
        quiet, local, expected):
    moment = datetime.fromisoformat(local).replace(tzinfo=BERLIN)
    moved = quiet_adjusted(moment.astimezone(UTC), BERLIN, quiet)
    assert moved.astimezone(BERLIN) == datetime.fromisoformat(expected).replace(tzinfo=BERLIN)


def test_a_nudge_due_at_the_end_of_a_persons_quiet_hours_goes_out_at_that_minute():
    """A person's quiet hours ending at the program's 09:00 check-in keep it at 09:00."""
    start = datetime(2026, 3, 16, tzinfo=UTC)
    quiet = QuietHours(start=time(22, 0), end=time(9, 0))
    times = checkins("Europe/Berlin", start, quiet=quiet)[:2]
    assert [t.astimezone(BERLIN).strftime("%a %H:%M") for t in times] == ["Mon 09:00"] * 2
    starting = QuietHours(start=time(9, 0), end=time(11, 0))
    times = checkins("Europe/Berlin", start, quiet=starting)[:2]
    assert [t.astimezone(BERLIN).strftime("%a %H:%M") for t in times] == ["Mon 11:00"] * 2


@pytest.mark.parametrize("quiet, local", [
    (QuietHours(), "2026-03-04 08:00:30"),
    (QuietHours(start=time(12, 0), end=time(14, 0)), "2026-03-04 14:00:30"),
])
def test_a_nudge_due_seconds_into_the_last_quiet_minute_goes_at_once_not_the_next_day(
        quiet, local):
    """Ten minutes after an enrolment at 07:50:30 is 08:00:30: the quiet hours are over."""
    moment = datetime.fromisoformat(local).replace(tzinfo=BERLIN).astimezone(UTC)
    assert quiet_adjusted(moment, BERLIN, quiet) == moment
