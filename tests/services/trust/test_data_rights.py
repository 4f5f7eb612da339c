"""A client reads and erases their own data from chat, with no admin involved."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlmodel import select

from conversations.messages import Inbound
from services import bookings
from services.api import create_enrolment
from services.data_rights import erase_by_staff
from storage.db import session
from storage.models import AuditEntry, Booking, Identity, OutboxMessage, Person
from tests.conftest import CHECKIN_GOOD, INTAKE, Client

PERSONAL_TABLES = ["answer", "metricvalue", "rulefiring", "conversation", "consent",
                   "touchpoint", "touchpoint_plan", "identity", "enrolment", "escalation",
                   "coaching_session"]


def count(app, table: str) -> int:
    with app.db.connect() as connection:
        return connection.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one()


def test_mydata_sends_a_json_file_with_every_answer_and_a_short_summary(enrol):
    client = enrol("Ana Lima")
    for typed in INTAKE:
        client.says(typed)
    replies = client.says("/mydata")
    assert "everything I keep about you" in replies[-1]
    assert "5 answers" in replies[-1]
    file = client.last.attachment
    assert file is not None and file.filename.endswith(".json")
    data = json.loads(file.data)
    assert data["person"]["name"] == "Ana Lima"
    texts = [a["text"] for a in data["enrolments"][0]["answers"]]
    assert "Double my revenue" in texts and "12000" in texts
    assert data["enrolments"][0]["consents"][0]["given"] is True


def test_a_sent_export_does_not_linger_in_the_outbox(enrol, app):
    client = enrol("Ana Lima")
    client.says("yes")
    client.says("Double my revenue")
    client.says("/mydata")
    assert client.last.attachment is not None
    with session(app.db) as s:
        stored = json.dumps([m.payload for m in s.exec(select(OutboxMessage))])
    assert "attachment" not in stored and "Double my revenue" not in stored


def test_mydata_is_written_to_the_audit_log_without_content(enrol, app):
    client = enrol("Ana Lima")
    client.says("yes")
    client.says("/mydata")
    with session(app.db) as s:
        entries = list(s.exec(select(AuditEntry).where(AuditEntry.action == "data_exported")))
    assert len(entries) == 1 and entries[0].actor == "client"
    assert "Ana" not in json.dumps(entries[0].detail)


def test_delete_asks_for_confirmation_and_changes_nothing_until_then(enrol, app):
    client = enrol("Ana Lima")
    client.says("yes")
    replies = client.says("/delete")
    assert "/delete confirm" in replies[-1]
    assert count(app, "answer") == 1
    assert "In your own words" in client.says("/checkin")[-1]


def test_delete_confirm_erases_everything_keeps_one_anonymous_line_and_tells_the_coach(
        enrol, app):
    other = enrol("Ben Okafor")
    client = enrol("Ana Lima")
    for typed in [*INTAKE, "/checkin", *CHECKIN_GOOD]:
        client.says(typed)
    other.says("yes")
    with session(app.db) as s, s.begin():
        coach = s.exec(select(Person).where(Person.name == "Casey Coach")).one()
        s.add(Identity(person_id=coach.id, channel="slack", address="UCOACH"))
    assert count(app, "answer") > 5
    replies = client.says("/delete confirm")
    assert "erased" in replies[-1]
    # Only Ben (and the coach's Slack identity) is left.
    for table in ["answer", "consent", "enrolment"]:
        assert count(app, table) == 1, table
    assert count(app, "identity") == 2
    with session(app.db) as s:
        names = [p.name for p in s.exec(select(Person))]
        assert "Ana Lima" not in names
        erased = list(s.exec(select(AuditEntry).where(AuditEntry.action == "client_erased")))
        assert len(erased) == 1
        assert "Ana" not in json.dumps(erased[0].detail)
        to_ana = list(s.exec(select(OutboxMessage).where(
            OutboxMessage.address == client.address, OutboxMessage.status == "queued")))
        assert to_ana == []
        to_coach = list(s.exec(select(OutboxMessage).where(OutboxMessage.address == "UCOACH")))
    assert len(to_coach) == 1 and "erased" in to_coach[0].payload["text"]
    # The coach learns which of their programs lost a client, not who.
    assert "A client of yours in business_12w asked" in to_coach[0].payload["text"]
    assert f"on {app.rt.clock.now():%Y-%m-%d}." in to_coach[0].payload["text"]
    assert "Ana" not in to_coach[0].payload["text"]
    # Afterwards the bot no longer knows them.
    assert "I don't know you yet" in client.says("hello")[-1]


def test_a_declined_client_can_still_erase_their_consent_answer(enrol, app):
    client = enrol("Ana Lima")
    client.says("no")
    assert count(app, "consent") == 1
    client.says("/delete confirm")
    for table in PERSONAL_TABLES:
        assert count(app, table) == 0, table


def test_staff_erasing_by_id_erases_only_a_client(enrol, app):
    """`coachbot erase` takes a client: a coach's id, or one nobody has, erases nothing."""
    enrol("Ana Lima")
    with session(app.db) as s:
        coach_id = s.exec(select(Person.id).where(Person.name == "Casey Coach")).one()
    assert erase_by_staff(app.rt, coach_id, actor="cli") is None
    assert erase_by_staff(app.rt, 987_654, actor="cli") is None
    with session(app.db) as s:
        assert {p.name for p in s.exec(select(Person))} >= {"Casey Coach", "Ana Lima"}


def _outbox_to(app, address: str) -> list[str]:
    """The idempotency keys of every outbox row to `address`, queued or sent."""
    with session(app.db) as s:
        return [m.idempotency_key for m in s.exec(
            select(OutboxMessage).where(OutboxMessage.address == address))]


def test_a_reply_still_queued_from_before_a_client_joined_is_erased_with_them_and_no_other(
        enrol, app):
    """The bot's answer to Ana's first "hello" (before she joined) names no one, but it is
    addressed to her chat: it goes with her, and Ben's messages stay."""
    ben = enrol("Ben Ode")
    ben.says("yes")
    bens = _outbox_to(app, ben.address)
    ana = enrol("Ana Lima", join=False)
    # The platform was down: neither reply went out before the erasure.
    app.inbound.handle(Inbound(channel="test", sender=ana.address, event_id="a1",
                               text="hello"))
    app.inbound.handle(Inbound(channel="test", sender=ana.address, event_id="a2",
                               text=f"/start {ana.enrolled.code}"))
    assert len(_outbox_to(app, ana.address)) >= 2
    assert erase_by_staff(app.rt, ana.enrolled.person_id, actor="cli") is not None
    assert _outbox_to(app, ana.address) == []
    assert _outbox_to(app, ben.address) == bens


def test_a_booking_cancelled_before_it_arrived_is_erased_with_the_client_whose_email_it_has(
        app):
    """Cal.com told us of a cancellation before its booking, so the record holds only Ana's
    email: erasing Ana takes it, and another person's stays."""
    view = create_enrolment(app.rt, "website", program="business_12w", name="Ana Lima",
                            timezone="Europe/Berlin", email="ana.lima@example.com")
    ana = Client(app=app, address="ana-chat")
    ana.says(f"/start {view.invite_code}")
    ana.says("yes")
    with app.rt.transaction() as uow:
        for external_id, email in (("cal-ana", "ana.lima@example.com"),
                                   ("cal-eve", "eve@example.com")):
            assert bookings.cancel(app.rt, uow, source="calcom", external_id=external_id,
                                   email=email) == "cancelled"
    with session(app.db) as s:
        person_id = s.exec(select(Person.id).where(Person.name == "Ana Lima")).one()
    erased = erase_by_staff(app.rt, person_id, actor="cli")
    assert erased is not None and erased.answers == 1  # the staff member is told how many
    with session(app.db) as s:
        assert [(b.external_id, b.email) for b in s.exec(select(Booking))] == [
            ("cal-eve", "eve@example.com")]
