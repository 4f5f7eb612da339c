"""Bookings from Cal.com or Calendly become coaching sessions: added, moved and cancelled,
with the session prep and follow-up replanned each time.

The client is found by email. A booking for an email we do not know, or for a client whose
enrolment has ended, is kept and goes to a human (the coach, else the team): never dropped
in silence. Events may come in any order: a cancellation heard before its booking leaves a
record, and the booking arriving later is then ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from conversations.journey import is_open
from conversations.messages import Reply
from scheduler.replanning import replan
from services import keys, notices
from services.new_clients import ClientError, clean_email
from services.unit_of_work import Runtime, UnitOfWork
from services.webhook_events import Delivery, first_time
from storage import booking_store as bookings
from storage import enrolments, people, plans, staff
from storage.models import Booking, Enrolment, Person

log = logging.getLogger("coachbot.services.bookings")

Outcome = Literal["booked", "moved", "cancelled", "unmatched", "duplicate", "ignored"]


@dataclass(frozen=True)
class Booked:
    """A booking made or rescheduled in a scheduling tool, in our words."""

    source: str  # calcom | calendly | api
    external_id: str
    email: str | None
    starts_at: datetime  # aware
    replaces: str | None = None  # the booking a reschedule replaces
    organizer: str | None = None  # who it was booked with (a coach's name, with luck)


def booked(runtime: Runtime, delivery: Delivery, event: Booked) -> Outcome:
    """Add the session (or move it, for a reschedule) and replan its prep and follow-up."""
    with runtime.transaction() as uow:
        if not first_time(uow, delivery):
            return "duplicate"
        return book(runtime, uow, event)


def book(runtime: Runtime, uow: UnitOfWork, event: Booked) -> Outcome:
    """`booked` inside the caller's own transaction."""
    existing = bookings.booking_of(uow.session, event.source, event.external_id)
    if existing is not None:
        if existing.status == "cancelled":
            return "ignored"  # its cancellation arrived first
        return _move(runtime, uow, existing, event)
    old = bookings.booking_of(uow.session, event.source, event.replaces) \
        if event.replaces else None
    if old is not None and old.session_id is not None:
        return _move(runtime, uow, old, event)
    try:
        email = clean_email(event.email)
    except ClientError:
        email = None
    person = people.client_with_email(uow.session, email) if email else None
    enrolment = enrolments.current_enrolment(uow.session, person.id or 0, lock=True) \
        if person else None
    if person is None or enrolment is None or not is_open(enrolment.status):
        return _unmatched(runtime, uow, event, email, person, enrolment)
    add_session(runtime, uow, enrolment, source=event.source, external_id=event.external_id,
                at=event.starts_at, email=email)
    return "booked"


def add_session(runtime: Runtime, uow: UnitOfWork, enrolment: Enrolment, *, source: str,
                external_id: str, at: datetime, email: str | None = None) -> Booking:
    """Book a session for a known enrolment and plan its prep and follow-up."""
    at = _utc(at)
    booked_session = plans.add_session(uow.session, enrolment_id=enrolment.id or 0, at=at,
                                       now=uow.now)
    booking = bookings.record(uow.session, source=source, external_id=external_id,
                              status="booked", now=uow.now, email=email, starts_at=at,
                              session_id=booked_session.id, enrolment_id=enrolment.id)
    _replan(runtime, uow, enrolment)
    log.info("session booked source=%s enrolment=%s", source, enrolment.id)
    return booking


def _move(runtime: Runtime, uow: UnitOfWork, current: Booking, event: Booked) -> Outcome:
    """The session of `current` now starts at the event's time (a reschedule)."""
    at = _utc(event.starts_at)
    session = bookings.coaching_session(uow.session, current.session_id)
    if session is None or session.cancelled_at is not None:
        return "ignored"
    if current.external_id != event.external_id:
        bookings.set_status(uow.session, current, "moved", now=uow.now)
        bookings.record(uow.session, source=event.source, external_id=event.external_id,
                        status="booked", now=uow.now, email=current.email, starts_at=at,
                        session_id=session.id, enrolment_id=current.enrolment_id)
    elif current.starts_at == at:
        return "duplicate"
    else:
        current.starts_at = at
        bookings.set_status(uow.session, current, "booked", now=uow.now)
    before = session.at
    bookings.move_session(uow.session, session, at)
    enrolment = uow.session.get(Enrolment, session.enrolment_id, with_for_update=True)
    if enrolment is not None:
        _replan(runtime, uow, enrolment)
        name, local = _for_coach(uow, enrolment)
        notices.tell_coach(runtime, uow, enrolment,
                           key=keys.booking_notice(event.source, event.external_id,
                                                  f"moved:{at:%Y%m%d%H%M}"),
                           text=f"{name} moved their coaching session from {local(before)} "
                           f"to {local(at)}.")
    return "moved"


def cancelled(runtime: Runtime, delivery: Delivery, *, source: str, external_id: str,
              email: str | None, rescheduled: bool = False) -> Outcome:
    """Cancel the booking's session; `rescheduled`: the tool is about to send its new time."""
    with runtime.transaction() as uow:
        if not first_time(uow, delivery):
            return "duplicate"
        return cancel(runtime, uow, source=source, external_id=external_id, email=email,
                      rescheduled=rescheduled)


def cancel(runtime: Runtime, uow: UnitOfWork, *, source: str, external_id: str,
           email: str | None, rescheduled: bool = False) -> Outcome:
    """`cancelled` inside the caller's transaction."""
    existing = bookings.booking_of(uow.session, source, external_id)
    if existing is None:
        try:
            email = clean_email(email)
        except ClientError:
            email = None
        # Heard of before its booking: keep it so the booking, when it comes, is ignored.
        bookings.record(uow.session, source=source, external_id=external_id,
                        status="cancelled", now=uow.now, email=email)
        return "cancelled"
    if existing.status in ("cancelled", "moved"):
        return "duplicate"
    if rescheduled:
        # Calendly cancels the old invitee and creates a new one: the session stays until
        # the new one (which names this one) moves it.
        bookings.set_status(uow.session, existing, "moved", now=uow.now)
        return "moved"
    bookings.set_status(uow.session, existing, "cancelled", now=uow.now)
    session = bookings.coaching_session(uow.session, existing.session_id)
    if session is None or session.cancelled_at is not None:
        return "cancelled"
    bookings.cancel_session(uow.session, session, now=uow.now)
    enrolment = uow.session.get(Enrolment, session.enrolment_id, with_for_update=True)
    if enrolment is not None:
        _replan(runtime, uow, enrolment)
        name, local = _for_coach(uow, enrolment)
        notices.tell_coach(runtime, uow, enrolment,
                           key=keys.booking_notice(source, external_id, "cancelled"),
                           text=f"{name} cancelled their coaching session of "
                           f"{local(session.at)}.")
    return "cancelled"


def _unmatched(runtime: Runtime, uow: UnitOfWork, event: Booked, email: str | None,
               person: Person | None, enrolment: Enrolment | None) -> Outcome:
    at = _utc(event.starts_at)
    bookings.record(uow.session, source=event.source, external_id=event.external_id,
                    status="unmatched", now=uow.now, email=email, starts_at=at,
                    enrolment_id=enrolment.id if enrolment else None)
    key = keys.booking_notice(event.source, event.external_id, "unmatched")
    when = f"{at:%a %d %b %Y %H:%M} UTC"
    if person is not None and enrolment is not None:
        name, local = _for_coach(uow, enrolment)
        notices.tell_coach(runtime, uow, enrolment, key=key, text=(
            f"{name} booked a coaching session for {local(at)}, but their enrolment has "
            f"ended ({enrolment.status}): no prep was planned. Re-enrol them if that's "
            "right."))
        return "unmatched"
    text = (f"A coaching session was booked for {when} by {email or 'an unknown email'}, "
            "who is not a client I know: no prep was planned. Enrol them (with that email) "
            "or check the address they used.")
    organizer = staff.staff_named(uow.session, event.organizer) if event.organizer else None
    if organizer is not None and people.identities_of(uow.session, organizer.id or 0):
        uow.queue_to_person(organizer.id or 0, key, [Reply(text)])
    else:
        notices.tell_team(runtime, uow, key=key, text=text)
    log.warning("booking for no open enrolment source=%s", event.source)
    return "unmatched"


def _for_coach(uow: UnitOfWork, enrolment: Enrolment
               ) -> tuple[str, Callable[[datetime], str]]:
    """The client's name, and times as their coach reads them (in the coach's own zone)."""
    client = uow.session.get(Person, enrolment.person_id)
    coach = uow.session.get(Person, enrolment.coach_id) if enrolment.coach_id else None
    zone = ZoneInfo(coach.timezone if coach else client.timezone if client else "UTC")

    def local(moment: datetime) -> str:
        return f"{moment.astimezone(zone):%a %d %b %H:%M} ({zone.key})"

    return (client.name if client else "A client"), local


def _replan(runtime: Runtime, uow: UnitOfWork, enrolment: Enrolment) -> None:
    program = runtime.programs.get(enrolment.program_id)
    if program is not None:
        replan(uow.session, program, enrolment.id or 0, now=uow.now)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a booking time must carry its zone")
    return moment.astimezone(ZoneInfo("UTC"))

