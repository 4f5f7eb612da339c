"""A client who paid and booked keeps their rights: the export shows the payment and the
booking, and erasure removes them with everything else."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import func, select

from services.data_rights import erase_by_staff, export_json
from storage.db import session
from storage.models import Booking, NextOffer, Payment, Person
from tests.bot.integrations.conftest import GROW_PRICE
from tests.bot.integrations.senders import (
    calcom_booking,
    checkout,
    post_calcom,
    post_stripe,
    stripe_event,
)


def test_the_export_shows_payments_and_bookings_and_erasure_removes_them(app, http,
                                                                           stripe_api):
    stripe_api.sells("cs_test_ana", GROW_PRICE)
    post_stripe(http.url, stripe_event("checkout.session.completed", checkout("cs_test_ana")))
    booked = post_calcom(http.url, calcom_booking("BOOKING_CREATED", "cal-1",
                                                  datetime(2026, 3, 5, 14, 0, tzinfo=UTC)))
    assert booked.body["outcome"] == "booked"  # invited, not yet joined: still hers
    # A booking under her address that came before she was a client.
    post_calcom(http.url, calcom_booking("BOOKING_CANCELLED", "cal-0",
                                         datetime(2026, 3, 4, 14, 0, tzinfo=UTC)))
    with session(app.db) as s:
        ana = s.exec(select(Person).where(Person.email == "ana.lima@example.com")).one()
        data, _ = export_json(s, ana, now=app.clock.now())
    assert data["person"]["email"] == "ana.lima@example.com"
    [enrolment] = data["enrolments"]
    assert [p["status"] for p in enrolment["payments"]] == ["enrolled"]
    assert [b["source"] for b in enrolment["bookings"]] == ["calcom"]

    erase_by_staff(app.rt, ana.id, actor="cli")
    with session(app.db) as s:
        for model in (Payment, Booking, NextOffer):
            assert s.exec(select(func.count()).select_from(model)).one() == 0
