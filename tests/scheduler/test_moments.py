"""The moments that matter arrive by themselves, at the client's own local hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.scheduler.conftest import move_zone, onboarded, rows, seen_of, started

pytestmark = pytest.mark.slow  # started first, so it does not end the run alone

CHECKIN = "check-in. Five quick questions"


def test_new_client_gets_the_welcome_at_once_and_a_reminder_when_it_waits(app, enrol, travel):
    client = enrol("Ana Lima", join=False)
    travel(timedelta(minutes=30), client)
    assert client.received == []  # not joined yet: nobody to welcome
    client.says(f"/start {client.enrolled.code}")
    assert "welcome to Grow" in client.received[0].text
    travel(timedelta(minutes=10), client)
    welcome = rows(app, "welcome")[0]
    assert welcome.status == "done"
    assert seen_of(client) == []  # the welcome row does not repeat the open intake
    travel(timedelta(hours=24), client)
    assert len(started(client, "gentle reminder")) == 1
    assert "Are you happy to go ahead" in seen_of(client)[-1].text


@pytest.mark.parametrize("zone, utc_times", [
    ("Europe/Berlin", ["08:00", "08:00"]),
    # +05:30, no DST; intake ended at 13:30 local, after that Monday's slot.
    ("Asia/Kolkata", ["03:30"]),
    # New York springs forward on Sunday 8 March: same local hour, one hour earlier in UTC.
    ("America/New_York", ["14:00", "13:00"]),
])
def test_weekly_checkin_comes_on_the_clients_day_at_their_local_hour(enrol, travel, zone,
                                                                     utc_times):
    client = onboarded(enrol, zone=zone)
    travel(datetime(2026, 3, 10, 0, 0, tzinfo=UTC), client, step=timedelta(minutes=15))
    checkins = started(client, CHECKIN)
    assert [s.local(zone).strftime("%a %H:%M") for s in checkins] == ["Mon 09:00"] * len(
        utc_times)
    assert [f"{s.at:%H:%M}" for s in checkins] == utc_times


def test_schedule_command_moves_the_next_checkin(enrol, travel):
    client = onboarded(enrol)
    travel(timedelta(hours=1), client)
    client.says("/skip")  # nothing open; just a message
    assert "Tuesday" in client.says("/schedule tue 18:30")[0]
    travel(datetime(2026, 3, 11, 0, 0, tzinfo=UTC), client, step=timedelta(minutes=15))
    week_two = [s for s in started(client, "Week 2 check-in")]
    assert [s.local("Europe/Berlin").strftime("%a %H:%M") for s in week_two] == ["Tue 18:30"]


def test_pause_sends_nothing_but_replies_and_resume_picks_up_next_week(app, enrol, travel):
    client = onboarded(enrol)
    travel(timedelta(hours=2), client)
    client.says("1")  # answering the first check-in's first question
    assert "Paused" in client.says("/pause")[0]
    travel(datetime(2026, 3, 17, 0, 0, tzinfo=UTC), client, step=timedelta(minutes=30))
    assert started(client, "Week 2 check-in") == []
    assert any(r.reason == "paused" for r in rows(app, "weekly_checkin"))
    assert "I'm not asking anything" in client.says("hello?")[0]
    assert "Welcome back" in client.says("/resume")[0]
    before = len(seen_of(client))
    travel(datetime(2026, 3, 24, 0, 0, tzinfo=UTC), client, step=timedelta(minutes=30))
    assert [s.local("Europe/Berlin").strftime("%a %d %H:%M") for s in seen_of(client)[before:]
            if CHECKIN in s.text] == ["Mon 23 09:00"]


def test_a_client_who_moves_zones_gets_future_checkins_at_the_new_local_hour(app, enrol,
                                                                            travel):
    client = onboarded(enrol, zone="Europe/Berlin")
    travel(timedelta(hours=1), client)
    move_zone(app, client, "America/New_York")
    travel(datetime(2026, 3, 17, 0, 0, tzinfo=UTC), client, step=timedelta(minutes=15))
    week_two = started(client, "Week 2 check-in")
    assert [s.local("America/New_York").strftime("%a %H:%M") for s in week_two] == [
        "Mon 09:00"]
    assert len([r for r in rows(app, "weekly_checkin") if r.occurrence == "2026-W11"]) == 1


def test_unanswered_checkin_is_reminded_twice_then_recorded_as_missed(app, enrol, travel):
    client = onboarded(enrol)
    travel(datetime(2026, 3, 6, 0, 0, tzinfo=UTC), client, step=timedelta(minutes=30))
    reminders = started(client, "gentle reminder")
    assert [s.local("Europe/Berlin").strftime("%a %H:%M") for s in reminders] == [
        "Tue 09:00", "Wed 09:00"]
    first_week = next(r for r in rows(app, "weekly_checkin") if r.occurrence == "2026-W10")
    assert (first_week.status, first_week.reason) == ("missed", "no_answer")
    assert "nothing to answer" in client.says("7")[0]  # the missed check-in is closed
    travel(datetime(2026, 3, 10, 0, 0, tzinfo=UTC), client, step=timedelta(minutes=30))
    assert len(started(client, "Week 2 check-in")) == 1


def test_answering_stops_the_reminders(app, enrol, travel):
    client = onboarded(enrol)
    travel(timedelta(hours=1), client)
    for typed in ["8", "2500", "yes", "sales", "/skip"]:
        client.says(typed)
    travel(datetime(2026, 3, 6, 0, 0, tzinfo=UTC), client, step=timedelta(minutes=30))
    assert started(client, "gentle reminder") == []
    first_week = next(r for r in rows(app, "weekly_checkin") if r.occurrence == "2026-W10")
    assert first_week.status == "done"


def test_onboarding_moves_to_active_after_seven_days_and_week_four_is_marked(app, enrol,
                                                                            travel):
    client = onboarded(enrol)
    travel(datetime(2026, 3, 31, 0, 0, tzinfo=UTC), client, step=timedelta(hours=1))
    from storage.db import session
    from storage.models import Enrolment
    with session(app.db) as s:
        enrolment = s.get(Enrolment, client.enrolled.enrolment_id)
    assert enrolment.stage == "active"
    assert enrolment.stage_started_at == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    plateau = started(client, "Four weeks in")
    assert [s.local("Europe/Berlin").strftime("%a %d %H:%M") for s in plateau] == [
        "Mon 30 12:00"]
