"""Stories of booked sessions: a booking in Cal.com or Calendly plans the session's prep a
day before in the client's zone, a reschedule moves it, a cancellation removes it; one we
cannot place goes to a human."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from services.api import create_enrolment
from storage.db import session
from storage.models import Booking, Enrolment, InboundEvent
from tests.bot.integrations.conftest import team_posts
from tests.bot.integrations.senders import (
    calcom_booking,
    calendly_invitee,
    post_calcom,
    post_calendly,
)
from tests.conftest import INTAKE, Client
from tests.scheduler.conftest import rows, seen_of

THURSDAY_3PM_BERLIN = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
FRIDAY_11AM_BERLIN = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Berlin")


@pytest.fixture
def ana(app) -> Client:
    """Ana, enrolled with her email (as a website form would), joined and past intake."""
    view = create_enrolment(app.rt, "website", program="business_12w",
                            name="Ana Lima", timezone="Europe/Berlin",
                            email="Ana.Lima@example.com")
    client = Client(app=app, address="ana-chat")
    client.says(f"/start {view.invite_code}")
    for typed in INTAKE:
        client.says(typed)
    return client


def _prep(app) -> list[str]:
    """When each planned session prep is due, in Ana's own zone."""
    return [r.due_at.astimezone(ZONE).strftime("%a %d %b %H:%M")
            for r in rows(app, "session_prep") if r.status == "planned"]


def test_a_calcom_booking_plans_prep_a_day_before_a_reschedule_moves_it_a_cancel_drops_it(
        app, http, ana):
    booked = post_calcom(http.url, calcom_booking("BOOKING_CREATED", "cal-1",
                                                  THURSDAY_3PM_BERLIN))
    assert (booked.status, booked.body["outcome"]) == (200, "booked")
    assert _prep(app) == ["Wed 04 Mar 15:00"]

    moved = post_calcom(http.url, calcom_booking("BOOKING_RESCHEDULED", "cal-2",
                                                 FRIDAY_11AM_BERLIN, reschedule_uid="cal-1"))
    assert (moved.status, moved.body["outcome"]) == (200, "moved")
    assert _prep(app) == ["Thu 05 Mar 11:00"]

    gone = post_calcom(http.url, calcom_booking("BOOKING_CANCELLED", "cal-2",
                                                FRIDAY_11AM_BERLIN))
    assert (gone.status, gone.body["outcome"]) == (200, "cancelled")
    assert _prep(app) == []
    assert any("Ana Lima cancelled their coaching session of Fri 06 Mar 11:00" in post
               for post in team_posts(app))


def test_the_prep_reaches_the_client_a_day_before(app, http, ana, travel):
    post_calcom(http.url, calcom_booking("BOOKING_CREATED", "cal-1", THURSDAY_3PM_BERLIN))
    travel(THURSDAY_3PM_BERLIN - timedelta(hours=23), ana, step=timedelta(minutes=30))
    assert any("Your coaching session is tomorrow" in seen.text for seen in seen_of(ana))


def test_a_calcom_event_sent_twice_books_once(app, http, ana):
    event = calcom_booking("BOOKING_CREATED", "cal-1", THURSDAY_3PM_BERLIN)
    assert post_calcom(http.url, event).body["outcome"] == "booked"
    replay = post_calcom(http.url, event)
    assert (replay.status, replay.error["code"]) == (400, "replayed")
    assert _prep(app) == ["Wed 04 Mar 15:00"]


def test_a_wrongly_signed_calcom_event_is_refused_and_nothing_is_stored(app, http, ana):
    event = calcom_booking("BOOKING_CREATED", "cal-1", THURSDAY_3PM_BERLIN)
    for answer in (post_calcom(http.url, event, secret="not-the-secret"),
                   post_calcom(http.url, event, signature="")):
        assert (answer.status, answer.error["code"]) == (401, "bad_signature")
    with session(app.db) as s:
        assert s.exec(select(func.count()).select_from(Booking)).one() == 0
        assert s.exec(select(func.count()).select_from(InboundEvent).where(
            InboundEvent.channel.startswith("calcom"))).one() == 0  # type: ignore[union-attr]
    assert _prep(app) == []


def test_a_signed_calcom_event_without_a_start_time_names_the_field(http, ana):
    event = calcom_booking("BOOKING_CREATED", "cal-1", THURSDAY_3PM_BERLIN)
    del event["payload"]["startTime"]
    answer = post_calcom(http.url, event)
    assert (answer.status, answer.error["field"]) == (400, "payload.startTime")


@pytest.mark.parametrize("cancel_first", [False, True])
def test_a_calendly_reschedule_moves_the_session_whichever_half_comes_first(
        app, http, ana, clock, cancel_first):
    old, new = "https://api.calendly.com/invitees/OLD", "https://api.calendly.com/invitees/NEW"
    now = clock.now()
    post_calendly(http.url, calendly_invitee("invitee.created", old, THURSDAY_3PM_BERLIN),
                  at=now)
    cancel = calendly_invitee("invitee.canceled", old, THURSDAY_3PM_BERLIN, new_invitee=new)
    create = calendly_invitee("invitee.created", new, FRIDAY_11AM_BERLIN, old_invitee=old)
    for body in ([cancel, create] if cancel_first else [create, cancel]):
        assert post_calendly(http.url, body, at=now).status == 200
    assert _prep(app) == ["Thu 05 Mar 11:00"]


def test_a_calendly_event_signed_too_long_ago_is_refused(app, http, ana, clock):
    stale = clock.now() - timedelta(minutes=10)
    answer = post_calendly(http.url, calendly_invitee(
        "invitee.created", "https://api.calendly.com/invitees/X", THURSDAY_3PM_BERLIN),
        at=stale)
    assert (answer.status, answer.error["code"]) == (401, "bad_signature")
    assert _prep(app) == []


def test_a_booking_by_an_unknown_email_is_kept_and_goes_to_the_team(app, http, clock):
    answer = post_calendly(http.url, calendly_invitee(
        "invitee.created", "https://api.calendly.com/invitees/S", THURSDAY_3PM_BERLIN,
        email="stranger@example.com"), at=clock.now())
    assert (answer.status, answer.body["outcome"]) == (200, "unmatched")
    with session(app.db) as s:
        booking = s.exec(select(Booking)).one()
    assert (booking.status, booking.email) == ("unmatched", "stranger@example.com")
    [post] = team_posts(app)
    assert "stranger@example.com" in post and "not a client I know" in post


def test_a_booking_after_the_enrolment_ended_goes_to_the_coach_not_the_calendar(
        app, http, ana):
    with session(app.db) as s, s.begin():
        enrolment = s.exec(select(Enrolment)).one()
        enrolment.status = "dropped"
    answer = post_calcom(http.url, calcom_booking("BOOKING_CREATED", "cal-9",
                                                  THURSDAY_3PM_BERLIN))
    assert answer.body["outcome"] == "unmatched"
    assert _prep(app) == []
    assert any("Ana Lima booked a coaching session" in p and "has ended" in p
               for p in team_posts(app))


def test_a_cancellation_heard_before_its_booking_keeps_the_booking_out(app, http, ana):
    post_calcom(http.url, calcom_booking("BOOKING_CANCELLED", "cal-1", THURSDAY_3PM_BERLIN))
    late = post_calcom(http.url, calcom_booking("BOOKING_CREATED", "cal-1",
                                                THURSDAY_3PM_BERLIN))
    assert late.body["outcome"] == "ignored"
    assert _prep(app) == []
