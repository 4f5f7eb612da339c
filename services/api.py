"""The HTTP API's use cases: enrol a client, read an enrolment, book a session.

Called by the API adapter with input it has already validated for shape; here the rules
of the business are checked (a loaded program, a real zone, an open enrolment) and every
call is audited under the name of the token that made it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from conversations.journey import is_open
from services import bookings
from services.new_clients import ClientError, clean_email, display_name, enrol_new
from services.unit_of_work import Runtime
from storage import audit, next_offers, plans
from storage import booking_store as booking_rows
from storage.models import Enrolment, Person


class ApiError(Exception):
    """A refusal the API reports: HTTP status, a code, a message and the field at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class EnrolmentView:
    """An enrolment as the API shows it."""

    id: int
    program: str
    status: str
    stage: str
    name: str
    email: str | None
    timezone: str
    invite_code: str | None
    enrolled_at: datetime
    sessions: tuple[datetime, ...]
    took_next_step: bool


@dataclass(frozen=True)
class SessionView:
    """A booked session as the API shows it."""

    id: int
    enrolment_id: int
    starts_at: datetime


def create_enrolment(runtime: Runtime, caller: str, *, program: str, name: str,
                     timezone: str, email: str | None = None,
                     coach: str | None = None) -> EnrolmentView:
    """Enrol a new client; they join with the invite code (or the link made from it)."""
    loaded = runtime.programs.get(program)
    if loaded is None:
        raise ApiError(400, "unknown_program", f"no program '{program}' is loaded", "program")
    with runtime.transaction() as uow:
        try:
            enrolment = enrol_new(runtime, uow, program=loaded, name=display_name(name, email),
                                  email=clean_email(email), zone=timezone, coach=coach)
        except ClientError as exc:
            raise ApiError(400, "invalid", str(exc), exc.field) from None
        audit.record(uow.session, at=uow.now, actor=f"api:{caller}",
                     action="api_enrolment_created", enrolment_id=enrolment.id)
        return _view(uow.session, enrolment)


def read_enrolment(runtime: Runtime, caller: str, enrolment_id: int) -> EnrolmentView:
    """One enrolment; reading a client's data is audited like any other read."""
    with runtime.transaction() as uow:
        enrolment = uow.session.get(Enrolment, enrolment_id)
        if enrolment is None:
            raise ApiError(404, "not_found", f"no enrolment {enrolment_id}", "id")
        audit.record(uow.session, at=uow.now, actor=f"api:{caller}",
                     action="api_enrolment_read", enrolment_id=enrolment.id)
        return _view(uow.session, enrolment)


def add_session(runtime: Runtime, caller: str, *, enrolment_id: int, starts_at: datetime,
                external_id: str | None = None) -> SessionView:
    """Book a coaching session; a naive time is the client's own local time.

    `external_id` (the caller's id for the booking) makes a retried call harmless: the
    same id books nothing new and answers with the session it booked the first time.
    """
    with runtime.transaction() as uow:
        enrolment = uow.session.get(Enrolment, enrolment_id, with_for_update=True)
        if enrolment is None:
            raise ApiError(404, "not_found", f"no enrolment {enrolment_id}", "enrolment_id")
        person = uow.session.get(Person, enrolment.person_id)
        assert person is not None
        if starts_at.tzinfo is None:
            starts_at = starts_at.replace(tzinfo=ZoneInfo(person.timezone))
        if starts_at <= uow.now:
            raise ApiError(400, "invalid", "that time has passed", "starts_at")
        if not is_open(enrolment.status):
            raise ApiError(409, "enrolment_ended",
                           f"the enrolment has ended ({enrolment.status})", "enrolment_id")
        key = external_id or uuid.uuid4().hex
        booking = booking_rows.booking_of(uow.session, "api", key)
        if booking is None:
            booking = bookings.add_session(runtime, uow, enrolment, source="api",
                                           external_id=key, at=starts_at, email=person.email)
        elif booking.enrolment_id != enrolment.id:
            raise ApiError(409, "conflict", "that external_id books another enrolment",
                           "external_id")
        audit.record(uow.session, at=uow.now, actor=f"api:{caller}",
                     action="api_session_added", enrolment_id=enrolment.id)
        return SessionView(id=booking.session_id or 0, enrolment_id=enrolment.id or 0,
                           starts_at=booking.starts_at or starts_at.astimezone(UTC))


def _view(session: Session, enrolment: Enrolment) -> EnrolmentView:
    person = session.get(Person, enrolment.person_id)
    assert person is not None
    upcoming = plans.sessions_of_many(session, [enrolment.id or 0]).get(enrolment.id or 0, [])
    return EnrolmentView(
        id=enrolment.id or 0, program=enrolment.program_id, status=enrolment.status,
        stage=enrolment.stage, name=person.name, email=person.email, timezone=person.timezone,
        invite_code=enrolment.invite_code if enrolment.status == "invited" else None,
        enrolled_at=enrolment.enrolled_at, sessions=tuple(upcoming),
        took_next_step=bool(next_offers.taken_by(session, [enrolment.id or 0])))
